import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import sharp from 'sharp';
import { CaffeLrpError } from '../../lib/errors';
import { readNpy } from '../../lib/io/npy';
import { type InputMean, loadInputMean } from '../../lib/image/mean';
import { preprocessImage, toGrey } from '../../lib/image/preprocess';
import { chooseFilter, imageMagickGeometry } from '../../lib/image/resize';
import { E2E_CASES, IMAGES, VECTORS, testIfShared } from './shared';

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'caffe-lrp-pre-'));
});
afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** Writes an 8-bit RGB PNG whose pixel (y, x, c) is f(y, x, c). */
async function rgbPng(name: string, w: number, h: number, f: (y: number, x: number, c: number) => number): Promise<string> {
  const data = Buffer.alloc(w * h * 3);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let c = 0; c < 3; c++) data[(y * w + x) * 3 + c] = f(y, x, c);
  const file = path.join(tmp, name);
  await sharp(data, { raw: { width: w, height: h, channels: 3 } }).png().toFile(file);
  return file;
}

// Distinct values per pixel and channel: column x, row y, channel c.
const code = (y: number, x: number, c: number) => (x * 16 + y * 3 + c * 50) % 256;

/** Mean whose value tells where it was read: c*10000 + row*100 + col. */
function probeMean(h: number, w: number, mode: 0 | 1 | 2): InputMean {
  const data = new Float32Array(3 * h * w);
  for (let c = 0; c < 3; c++) for (let r = 0; r < h; r++) for (let col = 0; col < w; col++) data[(c * h + r) * w + col] = c * 10000 + r * 100 + col;
  return { image: { channels: 3, height: h, width: w, data }, mode, file: 'probe-mean' };
}

function at(blob: Float32Array, S: number, c: number, y: number, x: number): number {
  return blob[(c * S + y) * S + x];
}

describe('ImageMagick geometry and filter choice', () => {
  test('the measured geometry (vectors/preprocess/README.md)', () => {
    expect(imageMagickGeometry(640, 426, 256)).toEqual({ width: 255, height: 170 });
    expect(imageMagickGeometry(640, 412, 256)).toEqual({ width: 256, height: 165 });
    expect(imageMagickGeometry(640, 480, 256)).toEqual({ width: 256, height: 192 });
    expect(imageMagickGeometry(429, 391, 256)).toEqual({ width: 256, height: 233 });
    expect(imageMagickGeometry(426, 640, 256)).toEqual({ width: 170, height: 255 });
    expect(imageMagickGeometry(67, 67, 67)).toEqual({ width: 67, height: 67 });
    expect(imageMagickGeometry(60, 45, 256)).toEqual({ width: 256, height: 192 });
    expect(imageMagickGeometry(5000, 1, 256)).toEqual({ width: 256, height: 1 });
  });

  test('Lanczos normally; Mitchell for alpha, palette, 8-bit grey PNG/JPEG and enlargements', () => {
    const rgb = { format: 'jpeg' as const, space: 'srgb' as const, isPalette: false, depth: 'uchar' as const, channels: 3 as const };
    expect(chooseFilter(rgb, false, 640, 480, 256, 192)).toBe('lanczos3');
    expect(chooseFilter(rgb, true, 640, 480, 256, 192)).toBe('mitchell');
    expect(chooseFilter(rgb, false, 60, 45, 256, 192)).toBe('mitchell');
    expect(chooseFilter({ ...rgb, format: 'png', isPalette: true }, false, 640, 480, 256, 192)).toBe('mitchell');
    expect(chooseFilter({ ...rgb, format: 'gif' }, false, 640, 480, 256, 192)).toBe('mitchell');
    expect(chooseFilter({ ...rgb, space: 'b-w', channels: 1 }, false, 640, 480, 256, 192)).toBe('mitchell');
    expect(chooseFilter({ ...rgb, format: 'png', space: 'grey16', depth: 'ushort', channels: 1 }, false, 640, 480, 256, 192)).toBe('lanczos3');
    expect(chooseFilter({ ...rgb, format: 'tiff', space: 'b-w', channels: 1 }, false, 640, 480, 256, 192)).toBe('lanczos3');
  });
});

describe('against the original demonstrator', () => {
  const cases = ['bw1.png', 'cat1.jpg', 'cat6.jpg', 'espresso1.jpg', 'frog5.jpg', 'ladybug5.jpg', 'rooster1.jpg', 'rooster5.jpg', 'scooter10.jpg', 'volcano2.jpg'];
  const pre = path.join(VECTORS, 'preprocess');

  testIfShared(pre, 'the preprocessing vectors')('photos: blob within 0.5 grey levels MAD of the original (227x227, baseimgsize 256)', async () => {
    const mean = loadInputMean(path.join(pre, 'mean_bgr_104_117_123_256.binaryproto'), 1);
    const report: string[] = [];
    for (const name of cases) {
      const ref = readNpy(path.join(pre, `${name.split('.')[0]}_input.npy`));
      expect(ref.shape).toEqual([1, 3, 227, 227]);
      const r = await preprocessImage(path.join(IMAGES, name), { size: 227, baseImgSize: 256, mean });
      let sum = 0;
      for (let i = 0; i < ref.data.length; i++) sum += Math.abs(ref.data[i] - r.blob[i]);
      const mad = sum / ref.data.length;
      report.push(`${name} ${r.resized.width}x${r.resized.height} ${r.resized.filter} MAD ${mad.toFixed(3)}`);
      expect(mad).toBeLessThan(0.5);
    }
    // eslint-disable-next-line no-console
    console.log(`preprocessing vs the original:\n  ${report.join('\n  ')}`);
  });

  testIfShared(pre, 'the preprocessing vectors')("resampler 'imagemagick' (our replica of ImageMagick 6's resize) reproduces the original's blobs", async () => {
    const mean = loadInputMean(path.join(pre, 'mean_bgr_104_117_123_256.binaryproto'), 1);
    const report: string[] = [];
    for (const name of cases) {
      const ref = readNpy(path.join(pre, `${name.split('.')[0]}_input.npy`));
      const r = await preprocessImage(path.join(IMAGES, name), { size: 227, baseImgSize: 256, mean, resampler: 'imagemagick' });
      let sum = 0;
      let worst = 0;
      for (let i = 0; i < ref.data.length; i++) {
        const d = Math.abs(ref.data[i] - r.blob[i]);
        sum += d;
        worst = Math.max(worst, d);
      }
      report.push(`${name} MAD ${(sum / ref.data.length).toExponential(1)} max ${worst.toExponential(1)}`);
      expect(sum / ref.data.length).toBeLessThan(1e-4);
      expect(worst).toBeLessThanOrEqual(255 / 65535 + 1e-4); // at most one 16-bit quantum
    }
    // eslint-disable-next-line no-console
    console.log(`replica resampler vs the original:\n  ${report.join('\n  ')}`);
  });

  testIfShared(E2E_CASES.map((c) => path.join(VECTORS, c)), 'the e2e images')('e2e images (identity resize): exactly png[h,w,2-c] - mean[c], equal to the e2e input.npy', async () => {
    for (const c of E2E_CASES) {
      const dir = path.join(VECTORS, c);
      const list = fs.readFileSync(path.join(dir, 'testfilelist.txt'), 'utf8').trim().split('\n').map((l) => l.split(/\s+/)[0]);
      const mean = loadInputMean(path.join(VECTORS, 'models/mini-caffenet/mean_bgr_104_117_123_67.binaryproto'), 1);
      const input = readNpy(path.join(dir, 'input.npy'));
      const S = 67;
      for (let n = 0; n < list.length; n++) {
        const file = path.join(dir, list[n]);
        const r = await preprocessImage(file, { size: S, baseImgSize: 67, mean });
        expect(r.resized.filter).toBe('none');
        const png = await sharp(file).removeAlpha().raw().toBuffer();
        const bgr = [104, 117, 123];
        for (let ch = 0; ch < 3; ch++)
          for (let p = 0; p < S * S; p++) {
            const expected = png[p * 3 + 2 - ch] - bgr[ch];
            if (r.blob[ch * S * S + p] !== expected) throw new Error(`${list[n]} c${ch} p${p}: ${r.blob[ch * S * S + p]} != ${expected}`);
          }
        expect(Array.from(r.blob)).toEqual(Array.from(input.data.subarray(n * 3 * S * S, (n + 1) * 3 * S * S)));
        // as-inputted = the 8-bit RGB pixels, interleaved
        expect(Buffer.from(r.asInputted).equals(png)).toBe(true);
      }
    }
  });
});

describe('crop and pad geometry (identity resize: base = long side)', () => {
  test('landscape, short side below S: rows padded by edge replication, columns centre-cropped at (base-S)/2', async () => {
    const file = await rgbPng('land.png', 10, 6, code);
    const r = await preprocessImage(file, { size: 8, baseImgSize: 10 });
    const rows = [0, 0, 1, 2, 3, 4, 5, 5];
    for (let y = 0; y < 8; y++) for (let x = 0; x < 8; x++) for (let c = 0; c < 3; c++) expect(at(r.blob, 8, c, y, x)).toBe(code(rows[y], x + 1, 2 - c));
  });

  test('portrait, short side below S: columns padded, rows cropped', async () => {
    const file = await rgbPng('port.png', 6, 10, code);
    const r = await preprocessImage(file, { size: 8, baseImgSize: 10 });
    const cols = [0, 0, 1, 2, 3, 4, 5, 5];
    for (let y = 0; y < 8; y++) for (let x = 0; x < 8; x++) for (let c = 0; c < 3; c++) expect(at(r.blob, 8, c, y, x)).toBe(code(y + 1, cols[x], 2 - c));
  });

  test('portrait with both sides >= S: centre crop on both axes', async () => {
    const file = await rgbPng('port2.png', 9, 12, code);
    const r = await preprocessImage(file, { size: 8, baseImgSize: 12 });
    for (let y = 0; y < 8; y++) for (let x = 0; x < 8; x++) expect(at(r.blob, 8, 0, y, x)).toBe(code(y + 2, x, 2));
  });

  test('square image: the landscape branch', async () => {
    const file = await rgbPng('sq.png', 10, 10, code);
    const r = await preprocessImage(file, { size: 8, baseImgSize: 10 });
    for (let y = 0; y < 8; y++) for (let x = 0; x < 8; x++) expect(at(r.blob, 8, 1, y, x)).toBe(code(y + 1, x + 1, 1));
  });

  test('as-inputted image is the crop in 8-bit RGB, interleaved', async () => {
    const file = await rgbPng('asin.png', 10, 6, code);
    const r = await preprocessImage(file, { size: 8, baseImgSize: 10, mean: probeMean(8, 8, 1) });
    expect(r.asInputted.length).toBe(8 * 8 * 3);
    expect(r.asInputted[(0 * 8 + 0) * 3 + 0]).toBe(code(0, 1, 0));
    expect(r.asInputted[(7 * 8 + 7) * 3 + 2]).toBe(code(5, 8, 2));
  });

  test('enlargement uses Mitchell (ImageMagick) and the replica; a constant image stays constant', async () => {
    const file = await rgbPng('tiny.png', 6, 4, () => 77);
    const r = await preprocessImage(file, { size: 10, baseImgSize: 12 });
    expect(r.resized).toEqual({ width: 12, height: 8, filter: 'mitchell' });
    for (const v of r.blob) expect(v).toBeCloseTo(77, 3);
  });

  test('both resamplers agree closely on a smooth downscale', async () => {
    const file = await rgbPng('smooth.png', 64, 48, (y, x, c) => Math.round(128 + 60 * Math.sin(x / 9 + c) * Math.cos(y / 7)));
    const a = await preprocessImage(file, { size: 24, baseImgSize: 32 });
    const b = await preprocessImage(file, { size: 24, baseImgSize: 32, resampler: 'imagemagick' });
    let sum = 0;
    for (let i = 0; i < a.blob.length; i++) sum += Math.abs(a.blob[i] - b.blob[i]);
    expect(sum / a.blob.length).toBeLessThan(0.5);
  });

  test('a downscale really resizes (long side = base) and keeps values in range', async () => {
    const file = await rgbPng('big.png', 40, 30, code);
    const r = await preprocessImage(file, { size: 16, baseImgSize: 20 });
    expect(r.resized).toEqual({ width: 20, height: 15, filter: 'lanczos3' });
    for (const v of r.blob) expect(v >= 0 && v <= 255).toBe(true);
  });
});

describe('mean subtraction', () => {
  async function landscapePad(mean: InputMean, compat: boolean) {
    const file = await rgbPng('meanland.png', 10, 6, code);
    const r = await preprocessImage(file, { size: 8, baseImgSize: 10, mean, compat });
    const rows = [0, 0, 1, 2, 3, 4, 5, 5];
    // recovered mean value at each output pixel
    return (c: number, y: number, x: number) => code(rows[y], x + 1, 2 - c) - at(r.blob, 8, c, y, x);
  }

  test('default: binaryproto mean as stored, read centred also in the pad branch', async () => {
    const m = await landscapePad(probeMean(12, 12, 1), false);
    // centred offset (12 - 8) / 2 = 2 on both axes
    expect(m(0, 0, 0)).toBe(0 * 10000 + 2 * 100 + 2);
    expect(m(2, 7, 5)).toBe(2 * 10000 + 9 * 100 + 7);
  });

  test('compat: transposed binaryproto mean, pad rows read at the image row index', async () => {
    const m = await landscapePad(probeMean(12, 12, 1), true);
    // row index = source image row (0,0,1,...), column = bsm + x = 2 + x, then transposed
    expect(m(0, 0, 0)).toBe(0 * 10000 + 2 * 100 + 0); // mean(r=0, c=2) read as stored (2, 0)
    expect(m(1, 3, 4)).toBe(1 * 10000 + 6 * 100 + 2); // r = row 2, c = 6 → stored (6, 2)
  });

  test('compat with a text mean: positions quirk only, no transposition', async () => {
    const m = await landscapePad(probeMean(12, 12, 0), true);
    expect(m(0, 0, 0)).toBe(0 * 10000 + 0 * 100 + 2);
    expect(m(1, 3, 4)).toBe(1 * 10000 + 2 * 100 + 6);
  });

  test('mode 2: the mean file is RGB, so blob channel c takes mean channel 2-c', async () => {
    const m = await landscapePad(probeMean(8, 8, 2), false);
    expect(m(0, 1, 1)).toBe(2 * 10000 + 1 * 100 + 1);
    expect(m(2, 1, 1)).toBe(0 * 10000 + 1 * 100 + 1);
  });

  test('non-square mean: centred per axis by default; the original min offset under compat', async () => {
    const file = await rgbPng('nsq.png', 8, 8, code);
    const mean = probeMean(12, 16, 0);
    const def = await preprocessImage(file, { size: 8, baseImgSize: 8, mean });
    expect(code(0, 0, 2) - at(def.blob, 8, 0, 0, 0)).toBe(2 * 100 + 4);
    const cmp = await preprocessImage(file, { size: 8, baseImgSize: 8, mean, compat: true });
    // square image → landscape branch: rows (Hm-S)/2 = 2, columns bsm = min(2, 4) = 2
    expect(code(0, 0, 2) - at(cmp.blob, 8, 0, 0, 0)).toBe(2 * 100 + 2);
  });

  test('a text mean file (mode 0) is detected without a mode', () => {
    const text = path.join(tmp, 'mean.txt');
    const vals: number[] = [];
    for (let c = 0; c < 3; c++) for (let w = 0; w < 2; w++) for (let h = 0; h < 2; h++) vals.push(c * 10 + h + 2 * w);
    fs.writeFileSync(text, `3 2 2\n${vals.join(' ')}\n`);
    const m = loadInputMean(text);
    expect(m.mode).toBe(0);
    expect(m.image.data[0 * 2 + 1]).toBe(2); // (h=0, w=1)
  });

  const bp = path.join(VECTORS, 'preprocess', 'mean_bgr_104_117_123_256.binaryproto');
  testIfShared(bp, 'the binaryproto mean')('a real binaryproto mean (mode 1) is detected without a mode', () => {
    const b = loadInputMean(bp);
    expect(b.mode).toBe(1);
    expect([b.image.data[0], b.image.data[256 * 256], b.image.data[2 * 256 * 256]]).toEqual([104, 117, 123]);
  });

  test('a mean smaller than the input or with the wrong channel count is an error', async () => {
    const file = await rgbPng('small.png', 8, 8, code);
    await expect(preprocessImage(file, { size: 8, mean: probeMean(6, 6, 1) })).rejects.toMatchObject({ code: 'SHAPE' });
    const grey: InputMean = { image: { channels: 1, height: 8, width: 8, data: new Float32Array(64) }, mode: 1, file: 'g' };
    await expect(preprocessImage(file, { size: 8, mean: grey })).rejects.toMatchObject({ code: 'SHAPE' });
  });
});

describe('decoding', () => {
  test('16-bit PNG: values v16 * 255 / 65535 (ImageMagick Q16 scale)', async () => {
    const w = 4;
    const h = 4;
    const data = new Uint16Array(w * h * 3);
    for (let i = 0; i < data.length; i++) data[i] = (i * 4099 + 17) % 65536;
    const file = path.join(tmp, 'deep.png');
    await sharp(data, { raw: { width: w, height: h, channels: 3 } }).toColourspace('rgb16').png().toFile(file);
    const meta = await sharp(file).metadata();
    expect(meta.depth).toBe('ushort');
    const r = await preprocessImage(file, { size: 4 });
    for (let p = 0; p < w * h; p++) for (let c = 0; c < 3; c++) expect(r.blob[c * 16 + p]).toBeCloseTo((data[p * 3 + 2 - c] * 255) / 65535, 3);
  });

  test('alpha ignored: raw colours of transparent pixels are used', async () => {
    const data = Buffer.alloc(4 * 4 * 4);
    for (let p = 0; p < 16; p++) data.set([200, 100, 50, p % 2 ? 0 : 255], p * 4);
    const file = path.join(tmp, 'alpha.png');
    await sharp(data, { raw: { width: 4, height: 4, channels: 4 } }).png().toFile(file);
    const r = await preprocessImage(file, { size: 4 });
    expect(r.blob[1]).toBe(50);
    expect(r.blob[16 + 1]).toBe(100);
    expect(r.blob[32 + 1]).toBe(200);
  });

  test('grey image: duplicated into the three channels for a 3-channel net', async () => {
    const data = Buffer.from(Array.from({ length: 16 }, (_, i) => i * 10));
    const file = path.join(tmp, 'grey.png');
    await sharp(data, { raw: { width: 4, height: 4, channels: 1 } }).png().toFile(file);
    const r = await preprocessImage(file, { size: 4 });
    for (let p = 0; p < 16; p++) for (let c = 0; c < 3; c++) expect(r.blob[c * 16 + p]).toBe(p * 10);
  });

  test('1-channel nets: grey sources exact, colour via Rec. 601 luma; as-inputted grey in RGB', async () => {
    const file = await rgbPng('col.png', 4, 4, code);
    const r = await preprocessImage(file, { size: 4, channels: 1 });
    expect(r.blob.length).toBe(16);
    expect(r.blob[5]).toBeCloseTo(0.299 * code(1, 1, 0) + 0.587 * code(1, 1, 1) + 0.114 * code(1, 1, 2), 3);
    expect(r.asInputted[15]).toBe(r.asInputted[16]);
    expect(r.asInputted[15]).toBe(Math.round(0.299 * code(1, 1, 0) + 0.587 * code(1, 1, 1) + 0.114 * code(1, 1, 2)));
    expect(toGrey(7, 7, 7)).toBe(7);
  });

  test('WebP, TIFF, GIF (first frame), JPEG all decode', async () => {
    const raw = Buffer.alloc(8 * 6 * 3, 128);
    for (const [ext, fn] of [
      ['webp', (s: sharp.Sharp) => s.webp({ lossless: true })],
      ['tiff', (s: sharp.Sharp) => s.tiff()],
      ['gif', (s: sharp.Sharp) => s.gif()],
      ['jpg', (s: sharp.Sharp) => s.jpeg({ quality: 100 })],
    ] as const) {
      const file = path.join(tmp, `x.${ext}`);
      await fn(sharp(raw, { raw: { width: 8, height: 6, channels: 3 } })).toFile(file);
      const r = await preprocessImage(file, { size: 6, baseImgSize: 8 });
      expect(r.blob.length).toBe(3 * 36);
      for (const v of r.blob) expect(Math.abs(v - 128)).toBeLessThan(3);
    }
  });

  test('missing file → IO, corrupt file → DECODE, both naming the file', async () => {
    const missing = path.join(tmp, 'nope.png');
    await expect(preprocessImage(missing, { size: 4 })).rejects.toMatchObject({ code: 'IO', file: missing });
    const bad = path.join(tmp, 'bad.jpg');
    fs.writeFileSync(bad, 'this is not an image');
    const e = await preprocessImage(bad, { size: 4 }).catch((x) => x);
    expect(e).toBeInstanceOf(CaffeLrpError);
    expect(e.code).toBe('DECODE');
    expect(e.message).toContain(bad);
    await expect(preprocessImage(tmp, { size: 4 })).rejects.toMatchObject({ code: 'IO' });
  });

  test('baseimgsize below the net input size is an option error', async () => {
    const file = await rgbPng('b.png', 4, 4, code);
    await expect(preprocessImage(file, { size: 8, baseImgSize: 4 })).rejects.toMatchObject({ code: 'OPTION' });
  });

  test('calls are independent and may run concurrently', async () => {
    const files = await Promise.all([0, 1, 2, 3].map((i) => rgbPng(`c${i}.png`, 12, 9, (y, x, c) => (code(y, x, c) + i * 7) % 256)));
    const results = await Promise.all(files.map((f) => preprocessImage(f, { size: 8, baseImgSize: 12 })));
    const single = await preprocessImage(files[2], { size: 8, baseImgSize: 12 });
    expect(Array.from(results[2].blob)).toEqual(Array.from(single.blob));
  });
});
