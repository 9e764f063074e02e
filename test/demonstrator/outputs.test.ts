import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import sharp from 'sharp';
import { Heatmap } from '../../lib/heatmap';
import { readNpy } from '../../lib/io/npy';
import { COLORMAP_NAMES, colorize } from '../../lib/image/colormaps';
import { formatFloatLikeCpp } from '../../lib/outputs/cpp-float';
import { formatRawhm, formatTopScores, writeRawhm, writeTopScores } from '../../lib/outputs/text-files';
import { writeFileAtomic } from '../../lib/outputs/atomic-write';
import { writeAsInputtedPng, writeHeatmapPng } from '../../lib/outputs/png-files';
import { heatmapPixels16 } from '../../lib/image/render';
import { loadInputMean } from '../../lib/image/mean';
import { preprocessImage } from '../../lib/image/preprocess';
import { E2E_CASES, VECTORS, testIfShared } from './shared';

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'caffe-lrp-out-'));
});
afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

function expectedDir(c: string): string {
  return path.join(VECTORS, c, 'expected_output', 'images');
}

function rawhmFiles(): string[] {
  const out: string[] = [];
  for (const c of E2E_CASES) {
    const d = expectedDir(c);
    if (!fs.existsSync(d)) continue;
    for (const f of fs.readdirSync(d)) if (f.endsWith('_rawhm.txt')) out.push(path.join(d, f));
  }
  return out;
}

/** Parses a rawhm text file into a Heatmap (channels in file order). */
function parseRawhm(text: string): Heatmap {
  const lines = text.split('\n');
  const channels = Number(lines[0]);
  const [height, width] = lines[1].split(' ').map(Number);
  const data = new Float32Array(channels * height * width);
  let k = 0;
  for (let i = 0; i < channels * height; i++) for (const t of lines[2 + i].split(' ').filter((s) => s)) data[k++] = Number(t);
  return { channels, height, width, data, channelOrder: channels === 3 ? 'RGB' : 'GRAY' };
}

describe('formatFloatLikeCpp', () => {
  // Expected strings are glibc's printf("%g") of the same doubles (C++ ostream defaults).
  const cases: [number, string][] = [
    [0.1234567, '0.123457'],
    [1e-5, '1e-05'],
    [1.5e10, '1.5e+10'],
    [100000.5, '100000'], // exact tie: half to even
    [100001.5, '100002'],
    [999999.5, '1e+06'],
    [1234565, '1.23456e+06'], // exact tie
    [123456.5, '123456'],
    [65536.5, '65536.5'],
    [0.0001, '0.0001'],
    [0.00001234565, '1.23456e-05'], // not a tie: the double is just below
    [2.5e-5, '2.5e-05'],
    [1e100, '1e+100'],
    [1e-310, '1e-310'],
    [5e-324, '4.94066e-324'],
    [0.5, '0.5'],
    [1, '1'],
    [100000, '100000'],
    [1e6, '1e+06'],
    [123456789, '1.23457e+08'],
    [-0, '-0'],
    [0, '0'],
    [3.0517578125e-5, '3.05176e-05'],
    [0.000244140625, '0.000244141'],
    [1.0000005, '1'],
    [33554432, '3.35544e+07'],
    [4.76837158203125e-7, '4.76837e-07'],
    [-43.7392, '-43.7392'],
    [-1.5, '-1.5'],
    [Infinity, 'inf'],
    [-Infinity, '-inf'],
  ];
  test.each(cases)('%p → %s', (v, s) => {
    expect(formatFloatLikeCpp(v)).toBe(s);
  });

  test('nan and -nan', () => {
    expect(formatFloatLikeCpp(NaN)).toBe('nan');
    expect(formatFloatLikeCpp(NaN, true)).toBe('-nan');
  });

  testIfShared(E2E_CASES.map(expectedDir), 'the original rawhm files')('every number of the original rawhm and score files re-formats byte-identically', () => {
    const files = rawhmFiles();
    let n = 0;
    for (const f of files) {
      const tokens = fs.readFileSync(f, 'utf8').split(/\s+/).filter((s) => s);
      for (const t of tokens) {
        if (formatFloatLikeCpp(Number(t)) !== t) throw new Error(`${path.basename(f)}: '${t}' → '${formatFloatLikeCpp(Number(t))}'`);
        n++;
      }
      const top = f.replace('_rawhm.txt', '_top10scores.txt');
      for (const t of fs.readFileSync(top, 'utf8').split(/\s+/).filter((s) => s)) expect(formatFloatLikeCpp(Number(t))).toBe(t);
    }
    expect(n).toBeGreaterThan(90000);
  });

  test('float32 values round-trip through their printed form as the original prints them', () => {
    // Random float32 values across magnitudes: parse(format(v)) must be v to 6 digits.
    let seed = 7;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const f = new Float32Array(1);
    for (let i = 0; i < 5000; i++) {
      f[0] = (rnd() - 0.5) * 10 ** Math.floor(rnd() * 20 - 10);
      const s = formatFloatLikeCpp(f[0]);
      expect(Math.abs(Number(s) - f[0])).toBeLessThanOrEqual(Math.abs(f[0]) * 5e-6);
      expect(s).toMatch(/^-?(\d+(\.\d*[1-9])?|\d(\.\d*[1-9])?e[+-]\d{2,3})$/);
    }
  });
});

describe('rawhm text', () => {
  test('layout: count, "H W", rows with a space after every value', () => {
    const hm: Heatmap = { channels: 3, height: 2, width: 2, data: Float32Array.from([1, -0.5, 0, 2e-7, 3, 3, 3, 3, 0.1, 0.2, 0.3, 0.4]), channelOrder: 'RGB' };
    expect(formatRawhm(hm)).toBe('3\n2 2\n1 -0.5 \n0 2e-07 \n3 3 \n3 3 \n0.1 0.2 \n0.3 0.4 \n');
  });

  test('1-channel heatmaps: count 1 and one block of rows', () => {
    const hm: Heatmap = { channels: 1, height: 1, width: 3, data: Float32Array.from([1, 2, 3]), channelOrder: 'GRAY' };
    expect(formatRawhm(hm)).toBe('1\n1 3\n1 2 3 \n');
  });

  test('a negative NaN prints as -nan', () => {
    const data = new Float32Array(2);
    new Uint32Array(data.buffer).set([0x7fc00000, 0xffc00000]);
    expect(formatRawhm({ channels: 1, height: 1, width: 2, data, channelOrder: 'GRAY' })).toBe('1\n1 2\nnan -nan \n');
  });

  testIfShared(E2E_CASES.map(expectedDir), 'the original rawhm files')("the original's rawhm files: parse → write is byte-identical", async () => {
    const files = rawhmFiles();
    for (const f of files) {
      const text = fs.readFileSync(f, 'utf8');
      const out = path.join(tmp, 'rt', path.basename(f));
      await writeRawhm(out, parseRawhm(text));
      expect(fs.readFileSync(out, 'utf8')).toBe(text);
    }
  });

  testIfShared(E2E_CASES.map((c) => path.join(VECTORS, c)), 'the e2e rawhm.npy')('from the full-precision rawhm.npy: nearly every token equals the original text', () => {
    for (const c of E2E_CASES) {
      const dir = path.join(VECTORS, c);
      const npy = readNpy(path.join(dir, 'rawhm.npy'));
      const [n, C, H, W] = npy.shape;
      const names = fs.readFileSync(path.join(dir, 'testfilelist.txt'), 'utf8').trim().split('\n').map((l) => path.basename(l.split(/\s+/)[0]));
      for (let i = 0; i < n; i++) {
        const hm: Heatmap = { channels: C, height: H, width: W, data: (npy.data as Float32Array).slice(i * C * H * W, (i + 1) * C * H * W), channelOrder: 'RGB' };
        const ours = formatRawhm(hm).split(/\s+/);
        const theirs = fs.readFileSync(path.join(expectedDir(c), `${names[i]}_rawhm.txt`), 'utf8').split(/\s+/);
        expect(ours.length).toBe(theirs.length);
        const same = ours.filter((t, k) => t === theirs[k]).length;
        // rawhm.npy was recomputed by the oracle, so the last printed digit may differ
        expect(same / ours.length).toBeGreaterThan(0.9);
      }
    }
  });
});

describe('top-ten scores', () => {
  test('best first, ties highest index first, min(10, numclasses) lines', () => {
    expect(formatTopScores([0.1, 0, 0.7, 0, 0.2])).toBe('2 0.7\n4 0.2\n0 0.1\n3 0\n1 0\n');
    const many = Array.from({ length: 12 }, (_, i) => i / 100);
    expect(formatTopScores(many).split('\n').length - 1).toBe(10);
  });

  testIfShared(path.join(VECTORS, E2E_CASES[0]), 'the sequential e2e run')("the original's _top10scores.txt from the same scores (sequential e2e run)", async () => {
    const c = E2E_CASES[0];
    const dir = path.join(VECTORS, c);
    // the scores of expected files are only printed to 6 digits: parse them back, re-rank, re-write
    for (const f of fs.readdirSync(expectedDir(c)).filter((x) => x.endsWith('_top10scores.txt'))) {
      const text = fs.readFileSync(path.join(expectedDir(c), f), 'utf8');
      const scores = new Array<number>(10).fill(0);
      for (const l of text.trim().split('\n')) {
        const [i, s] = l.split(' ');
        scores[Number(i)] = Number(s);
      }
      const out = path.join(tmp, 'scores', f);
      await writeTopScores(out, scores);
      expect(fs.readFileSync(out, 'utf8')).toBe(text);
    }
  });
});

describe('heatmap PNG', () => {
  const h1 = (data: number[], w = data.length): Heatmap => ({ channels: 1, height: data.length / w, width: w, data: Float32Array.from(data), channelOrder: 'GRAY' });

  test('blue-black-yellow: positive by the max positive, negative blue, clamped', () => {
    const rgb = colorize(h1([2, 1, 0, -1, -4]));
    expect(Array.from(rgb)).toEqual([1, 1, 0, 0.5, 0.5, 0, 0, 0, 0, 0, 0, 0.5, 0, 0, 1]);
  });

  test('blue-black-yellow without positive evidence: normalised by max|v|', () => {
    expect(Array.from(colorize(h1([-2, -1, 0])))).toEqual([0, 0, 1, 0, 0, 0.5, 0, 0, 0]);
    expect(Array.from(colorize(h1([0, 0])))).toEqual([0, 0, 0, 0, 0, 0]);
  });

  test('channel mean per pixel', () => {
    const hm: Heatmap = { channels: 3, height: 1, width: 2, data: Float32Array.from([3, 0, 0, -3, 3, 0]), channelOrder: 'RGB' };
    // means: 2, -1 → max positive 2
    expect(Array.from(colorize(hm))).toEqual([1, 1, 0, 0, 0, 0.5]);
  });

  test('matplotlib maps at their ends and centre', () => {
    const hm = h1([-1, 0, 1]);
    const close = (a: Float64Array, b: number[]) => b.forEach((v, i) => expect(a[i]).toBeCloseTo(v, 2));
    close(colorize(hm, 'bwr'), [0, 0, 1, 1, 1, 1, 1, 0, 0]);
    close(colorize(hm, 'seismic'), [0, 0, 0.3, 1, 0.992, 0.992, 0.5, 0, 0]); // matplotlib: seismic(0.5) = (1, .992, .992)
    close(colorize(hm, 'jet'), [0, 0, 0.5, 0.49, 1, 0.48, 0.5, 0, 0]);
    close(colorize(hm, 'afmhot'), [0, 0, 0, 1, 0.504, 0.004, 1, 1, 1]);
    close(colorize(hm, 'gray-red'), [0, 0, 1, 0.8, 0.8, 0.8, 1, 0, 0]);
    close(colorize(hm, 'black-firered'), [1, 1, 1, 0, 0, 0, 1, 1, 1]); // both ends run out to white
    for (const name of COLORMAP_NAMES) for (const v of colorize(h1([-3, -0.2, 0, 0.7, 5, NaN]), name)) expect(v >= 0 && v <= 1).toBe(true);
  });

  testIfShared(E2E_CASES.map(expectedDir), 'the original heatmaps')("matches the original's 16-bit heatmaps rendered from their rawhm (clamped where the original wrapped)", async () => {
    for (const c of E2E_CASES) {
      const d = expectedDir(c);
      for (const f of fs.readdirSync(d).filter((x) => x.endsWith('_rawhm.txt'))) {
        const hm = parseRawhm(fs.readFileSync(path.join(d, f), 'utf8'));
        const out = path.join(tmp, 'hm', c, f.replace('_rawhm.txt', '_heatmap.png'));
        await writeHeatmapPng(out, hm);
        const meta = await sharp(out).metadata();
        expect([meta.depth, meta.channels, meta.width, meta.height]).toEqual(['ushort', 3, hm.width, hm.height]);
        const decode = async (p: string) => {
          const { data } = await sharp(p).toColourspace('rgb16').raw({ depth: 'ushort' }).toBuffer({ resolveWithObject: true });
          return new Uint16Array(data.buffer, data.byteOffset, data.length / 2);
        };
        const ours = await decode(out);
        const theirs = await decode(path.join(d, f.replace('_rawhm.txt', '_heatmap.png')));
        // The original left blue > 1 unclamped (it wrapped around in 16 bits): there we must be
        // saturated. Elsewhere the original truncated x·65535 like us; its x came from full
        // precision relevances, ours from the 6-digit text, so allow one quantum.
        const v = colorize(hm);
        let exact = 0;
        for (let i = 0; i < ours.length; i++) {
          if (v[i] >= 1) {
            expect(ours[i]).toBe(65535);
            continue;
          }
          const d16 = Math.abs(ours[i] - theirs[i]);
          if (d16 > 1) throw new Error(`${c}/${f} value ${i}: ours ${ours[i]} original ${theirs[i]}`);
          if (d16 === 0) exact++;
        }
        expect(exact / ours.length).toBeGreaterThan(0.99);
      }
    }
  });

  test('every colour map writes a 16-bit PNG', async () => {
    const hm: Heatmap = { channels: 3, height: 4, width: 5, data: Float32Array.from({ length: 60 }, (_, i) => Math.sin(i)), channelOrder: 'RGB' };
    for (const name of COLORMAP_NAMES) {
      const out = path.join(tmp, 'maps', `${name}.png`);
      await writeHeatmapPng(out, hm, name);
      const meta = await sharp(out).metadata();
      expect(meta.depth).toBe('ushort');
    }
    expect(heatmapPixels16(hm).length).toBe(60);
  });
});

describe('as-inputted PNG', () => {
  testIfShared(path.join(VECTORS, E2E_CASES[1]), 'the parallel e2e run')("equals the original's file for the e2e images", async () => {
    const c = E2E_CASES[1];
    const dir = path.join(VECTORS, c);
    const mean = loadInputMean(path.join(VECTORS, 'models/mini-caffenet/mean_bgr_104_117_123_67.binaryproto'), 1);
    for (const f of fs.readdirSync(path.join(dir, 'images'))) {
      const r = await preprocessImage(path.join(dir, 'images', f), { size: 67, baseImgSize: 67, mean });
      const out = path.join(tmp, 'asin', `${f}_as_inputted_into_the_dnn.png`);
      await writeAsInputtedPng(out, r.asInputted, r.width, r.height);
      const meta = await sharp(out).metadata();
      expect([meta.depth, meta.channels]).toEqual(['uchar', 3]);
      const ours = await sharp(out).raw().toBuffer();
      const theirs = await sharp(path.join(expectedDir(c), `${f}_as_inputted_into_the_dnn.png`)).raw().toBuffer();
      expect(ours.equals(theirs)).toBe(true);
    }
  });
});

describe('atomic writes', () => {
  test('creates directories, replaces existing files, leaves no temporary files', async () => {
    const file = path.join(tmp, 'a', 'b', 'c', 'x.txt');
    await writeFileAtomic(file, 'one');
    await writeFileAtomic(file, 'two');
    expect(fs.readFileSync(file, 'utf8')).toBe('two');
    expect(fs.readdirSync(path.dirname(file))).toEqual(['x.txt']);
  });

  test('a failed write is an IO error naming the file and leaves nothing behind', async () => {
    const blocker = path.join(tmp, 'blocker');
    fs.writeFileSync(blocker, '');
    const file = path.join(blocker, 'sub', 'x.txt'); // parent is a file
    await expect(writeFileAtomic(file, 'x')).rejects.toMatchObject({ code: 'IO', file });
    const dir = path.join(tmp, 'isdir');
    fs.mkdirSync(path.join(dir, 'target'), { recursive: true }); // rename onto a directory fails
    await expect(writeFileAtomic(path.join(dir, 'target'), 'x')).rejects.toMatchObject({ code: 'IO' });
    expect(fs.readdirSync(dir)).toEqual(['target']);
  });
});
