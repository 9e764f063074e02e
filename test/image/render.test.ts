/**
 * renderHeatmap / overlayHeatmap (issue 13): PNG and raw output, depths, sizes, colours
 * against hand-computed values, and on a bundled image the strongest pixels of the picture
 * where heatmap.data is largest.
 */
import sharp from 'sharp';
import { demoModel } from '../../lib/demo-model';
import type { Heatmap } from '../../lib/heatmap';
import { Net } from '../../lib/net';
import { heatmapPixels16, overlayHeatmap, renderHeatmap } from '../../lib/image/render';
import { CaffeLrpError } from '../../lib/errors';

const tiny: Heatmap = { channels: 1, height: 2, width: 2, data: Float32Array.from([1, -1, 0.5, 0]), channelOrder: 'GRAY' };

async function decode(png: Buffer) {
  const meta = await sharp(png).metadata();
  const deep = meta.depth === 'ushort';
  const { data, info } = await (deep ? sharp(png).toColourspace('rgb16').raw({ depth: 'ushort' }) : sharp(png).raw()).toBuffer({ resolveWithObject: true });
  const values = deep ? new Uint16Array(data.buffer, data.byteOffset, data.length / 2) : new Uint8Array(data);
  return { meta, info, values: Array.from(values) };
}

describe('renderHeatmap', () => {
  test('default: 8-bit RGB PNG at the heatmap size, blue-black-yellow as hand-computed', async () => {
    const png = await renderHeatmap(tiny);
    const { meta, values } = await decode(png);
    expect([meta.format, meta.width, meta.height, meta.channels, meta.depth]).toEqual(['png', 2, 2, 3, 'uchar']);
    // max positive = 1: 1 → yellow, -1 → blue, 0.5 → floor(0.5 * 255) = 127 yellow, 0 → black
    expect(values).toEqual([255, 255, 0, 0, 0, 255, 127, 127, 0, 0, 0, 0]);
  });

  test('16-bit PNG = the demonstrator\'s pixels; raw = the PNG\'s values', async () => {
    const { meta, values } = await decode(await renderHeatmap(tiny, { depth: 16 }));
    expect([meta.channels, meta.depth]).toEqual([3, 'ushort']);
    expect(values).toEqual(Array.from(heatmapPixels16(tiny)));
    expect(values.slice(6, 9)).toEqual([32767, 32767, 0]);
    const raw16 = await renderHeatmap(tiny, { depth: 16, format: 'raw' });
    expect(Array.from(new Uint16Array(raw16.buffer, raw16.byteOffset, raw16.length / 2))).toEqual(values);
    const raw8 = await renderHeatmap(tiny, { format: 'raw', colormap: 'gray-red' });
    expect(Array.from(raw8)).toEqual((await decode(await renderHeatmap(tiny, { colormap: 'gray-red' }))).values);
  });

  test('size enlarges by pixel replication', async () => {
    const raw = await renderHeatmap(tiny, { format: 'raw', size: 4 });
    expect(raw.length).toBe(4 * 4 * 3);
    const at = (x: number, y: number) => Array.from(raw.subarray(3 * (y * 4 + x), 3 * (y * 4 + x) + 3));
    expect([at(0, 0), at(1, 1), at(3, 0), at(2, 1), at(0, 3), at(3, 3)]).toEqual([[255, 255, 0], [255, 255, 0], [0, 0, 255], [0, 0, 255], [127, 127, 0], [0, 0, 0]]);
    const rect = await decode(await renderHeatmap(tiny, { size: { width: 6, height: 2 } }));
    expect([rect.meta.width, rect.meta.height]).toEqual([6, 2]);
  });

  test('bad options are CaffeLrpErrors naming the option', async () => {
    await expect(renderHeatmap(tiny, { colormap: 'viridis' as never })).rejects.toThrow(/option 'colormap' must be one of blue-black-yellow/);
    await expect(renderHeatmap(tiny, { depth: 12 as never })).rejects.toThrow(/option 'depth' must be 8 or 16, got 12/);
    await expect(renderHeatmap(tiny, { size: NaN })).rejects.toThrow(/option 'size' must be an integer or \{ width, height \} from 1 to 16384, got NaN/);
    await expect(renderHeatmap(tiny, { size: 16384 })).rejects.toThrow(/16384x16384 is more than 67108864 pixels/);
    await expect(renderHeatmap({ ...tiny, data: new Float32Array(3) })).rejects.toMatchObject({ code: 'SHAPE' });
    await expect(overlayHeatmap(tiny, { data: new Uint8Array(12), width: 2, height: 2, channels: 3 }, { opacity: NaN })).rejects.toThrow(/option 'opacity' must be a number from 0 to 1, got NaN/);
    await expect(overlayHeatmap(tiny, { data: new Uint8Array(5), width: 2, height: 2, channels: 3 })).rejects.toBeInstanceOf(CaffeLrpError);
  });
});

describe('a bundled image through the API', () => {
  let net: Net;
  beforeAll(async () => { net = await Net.load({ prototxt: demoModel.prototxt, caffemodel: demoModel.caffemodel }); });
  afterAll(() => net.dispose());

  test('heatmap PNG: size, channels, and the brightest pixels where heatmap.data is largest', async () => {
    const r = await net.explainImage(demoModel.images[0]);
    const { info, values } = await decode(await renderHeatmap(r.heatmap));
    expect([info.width, info.height, info.channels]).toEqual([28, 28, 3]);
    const d = r.heatmap.data; // one channel (grey net): the mean over channels is the value itself
    let best = 0;
    let maxPos = 0;
    for (let p = 0; p < d.length; p++) if (d[p] > d[best]) best = p;
    maxPos = d[best];
    expect(maxPos).toBeGreaterThan(0);
    expect(values.slice(3 * best, 3 * best + 3)).toEqual([255, 255, 0]);
    // Every pixel: positive relevance is yellow in proportion, negative blue, by the same normaliser.
    for (let p = 0; p < d.length; p++) {
      const [R, G, B] = values.slice(3 * p, 3 * p + 3);
      const x = d[p] / maxPos;
      const q = (t: number) => (t >= 1 ? 255 : Math.floor(t * 255));
      const expected = x > 0 ? [q(x), q(x), 0] : x < 0 ? [0, 0, q(-x)] : [0, 0, 0];
      expect([R, G, B]).toEqual(expected);
    }
    // The ten brightest pixels of the picture are the ten largest relevance values.
    const byData = Array.from(d.keys()).sort((a, b) => d[b] - d[a]).slice(0, 10);
    const byPicture = Array.from(d.keys()).sort((a, b) => values[3 * b] - values[3 * a] || d[b] - d[a]).slice(0, 10);
    expect(new Set(byPicture)).toEqual(new Set(byData));
  });

  test('overlay: the image the net saw, blended with the heatmap\'s colours', async () => {
    const r = await net.explainImage(demoModel.images[1]);
    const png = await overlayHeatmap(r.heatmap, r.asInputted, { opacity: 0.4 });
    const { meta, values } = await decode(png);
    expect([meta.format, meta.width, meta.height, meta.channels, meta.depth]).toEqual(['png', 28, 28, 3, 'uchar']);
    const c16 = heatmapPixels16(r.heatmap);
    let sawStrong = false;
    for (let i = 0; i < values.length; i++) {
      const img = r.asInputted.data[i];
      const col = c16[i] / 65535;
      // 16-bit truncation loses < 1/65535 of the colour: within 1 grey level of the exact blend
      expect(Math.abs(values[i] - (0.6 * img + 0.4 * 255 * col))).toBeLessThanOrEqual(1);
      if (c16[i] === 65535) sawStrong = true;
    }
    expect(sawStrong).toBe(true);
    const { values: plain } = await decode(await overlayHeatmap(r.heatmap, r.asInputted, { opacity: 0 }));
    expect(plain).toEqual(Array.from(r.asInputted.data));
  });
});
