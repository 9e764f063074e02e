/** Rendering helpers in the manner of the toolbox's render module. */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import sharp from 'sharp';
import { colorize } from '../../lib/image/colormaps';
import { cannyEdges, combineImages, digitToRgb, enlarge, heatmapToRgb, saveImages, toRgbBytes, type RgbImage } from '../../lib/toolbox/render';

let tmp: string;
beforeAll(() => { tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'caffe-lrp-render-')); });
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const solid = (width: number, height: number, rgb: [number, number, number]): RgbImage => {
  const data = new Float64Array(width * height * 3);
  for (let p = 0; p < width * height; ++p) data.set(rgb, 3 * p);
  return { width, height, data };
};

test('enlarge replicates pixels', () => {
  const e = enlarge({ width: 2, height: 1, data: [1, 2] }, 2);
  expect([e.width, e.height, Array.from(e.data)]).toEqual([4, 2, [1, 1, 2, 2, 1, 1, 2, 2]]);
  const rgb = enlarge(solid(1, 1, [0.1, 0.2, 0.3]), 3);
  expect(rgb.data.length).toBe(27);
  expect(Array.from(rgb.data.subarray(24))).toEqual([0.1, 0.2, 0.3]);
  expect(() => enlarge({ width: 1, height: 1, data: [1] }, 0)).toThrow(/scaling must be an integer >= 1/);
});

test("digits through matplotlib's 'binary' map: <= 0 white, 1 black", () => {
  const img = digitToRgb({ width: 4, height: 1, data: [-1, 0, 0.5, 1] }, { scaling: 1 });
  const grey = [0, 1, 2, 3].map((p) => img.data[3 * p]);
  expect(grey).toEqual([1, 1, 1 - 128 / 255, 0]);
  expect(digitToRgb({ width: 1, height: 1, data: [1] }, { scaling: 1, colormap: 'gray' }).data[0]).toBe(1);
});

test('heatmaps: the colour map of the demonstrator, enlarged', () => {
  const hm = { channels: 1, height: 1, width: 3, data: Float32Array.of(1, -1, 0.25), channelOrder: 'GRAY' as const };
  const rgb = heatmapToRgb(hm, { colormap: 'bwr', scaling: 2 });
  expect([rgb.width, rgb.height]).toEqual([6, 2]);
  const colours = colorize(hm, 'bwr');
  expect(Array.from(rgb.data.subarray(0, 3))).toEqual(Array.from(colours.subarray(0, 3)));
  expect(Array.from(rgb.data.subarray(3 * 8, 3 * 9))).toEqual(Array.from(colours.subarray(3, 6)));
  expect(Array.from(colours.subarray(0, 3))).toEqual([1, 0, 0]);
  expect(Array.from(colours.subarray(3, 6))).toEqual([0, 0, 1]);
  expect(() => heatmapToRgb(hm, { colormap: 'viridis' as never })).toThrow(/unknown colour map 'viridis'/);
});

test('the outline of the input is drawn in black around a shape, nowhere else', () => {
  const n = 12;
  const x = Array.from({ length: n * n }, (_, p) => (Math.abs((p % n) - 5.5) < 3 && Math.abs(Math.floor(p / n) - 5.5) < 3 ? 1 : -1));
  const edges = cannyEdges(enlarge({ width: n, height: n, data: x }, 3), 2);
  const count = edges.reduce((a, v) => a + v, 0);
  expect(count).toBeGreaterThan(20);
  // No edges far from the square's border (corners of the image, its centre).
  const W = 3 * n;
  for (const [y, xx] of [[2, 2], [W - 3, W - 3], [W / 2, W / 2]]) expect(edges[y * W + xx]).toBe(0);
  const hm = { width: n, height: n, data: new Float32Array(n * n).fill(1) };
  const rgb = heatmapToRgb(hm, { outline: { width: n, height: n, data: x } });
  let black = 0;
  for (let p = 0; p < rgb.width * rgb.height; ++p) if (rgb.data[3 * p] === 0 && rgb.data[3 * p + 1] === 0 && rgb.data[3 * p + 2] === 0) ++black;
  expect(black).toBe(count);
  expect(() => heatmapToRgb(hm, { outline: { width: 2, height: 2, data: [0, 0, 0, 0] } })).toThrow(/outline: the input is 2x2, the heatmap 12x12/);
});

test('images side by side with a black gap, saved as one PNG', async () => {
  const a = solid(2, 3, [1, 1, 1]), b = solid(1, 3, [0.5, 0.25, 1]);
  const c = combineImages([a, b], 2);
  expect([c.width, c.height]).toEqual([5, 3]);
  const bytes = toRgbBytes(c);
  expect(Array.from(bytes.subarray(0, 15))).toEqual([255, 255, 255, 255, 255, 255, 0, 0, 0, 0, 0, 0, 127, 63, 255]);
  const file = path.join(tmp, 'pair.png');
  await saveImages([a, b], file);
  const { data, info } = await sharp(file).raw().toBuffer({ resolveWithObject: true });
  expect([info.width, info.height, info.channels]).toEqual([5, 3, 3]);
  expect(Buffer.compare(data, bytes)).toBe(0);
  expect(() => combineImages([a, solid(1, 2, [0, 0, 0])])).toThrow(/image 1 is 2 pixels high, image 0 is 3/);
});
