/**
 * The native `_rawhm.txt` formatter (C library %g) and the TypeScript specification of the
 * format (formatRawhm / formatFloatLikeCpp) agree byte for byte, on special values and on
 * the original implementation's own files.
 */
import * as fs from 'fs';
import * as path from 'path';
import { loadNative } from '../../lib/native';
import { formatRawhm } from '../../lib/outputs/text-files';
import { VECTORS, describeIfExists } from '../helpers/vectors';

const special = [0, -0, 1e-5, -1e-5, 0.1234565, 123456.5, 999999.5, 1e-45, -1.17549435e-38, 3.4028235e38, Infinity, -Infinity, NaN,
  100000, 1e6, 0.0001, 0.00001, 2.5, -7.25e-7, 1 / 3];

async function both(data: Float32Array, c: number, h: number, w: number): Promise<[string, string]> {
  const native = (await loadNative().formatRawhm(data, c, h, w)).toString('latin1');
  return [native, formatRawhm({ channels: c, height: h, width: w, data, channelOrder: 'RGB' })];
}

test('special values and random floats format identically', async () => {
  const data = new Float32Array(4 * 50 * 50);
  data.set(special);
  let seed = 7;
  for (let i = special.length; i < data.length; ++i) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    data[i] = (seed / 2 ** 32 - 0.5) * 10 ** ((i % 24) - 12);
  }
  const negNaN = new Float32Array(new Uint32Array([0xffc00000]).buffer);
  data[special.length] = negNaN[0];
  const [native, ts] = await both(data, 4, 50, 50);
  expect(native).toBe(ts);
  expect(native.split('\n')[2].split(' ').slice(0, 3)).toEqual(['0', '-0', '1e-05']);
});

test('adversarial floats format identically: every exponent, denormals, exact and near rounding ties', async () => {
  // The native formatter decides most numbers from a double product and defers only the
  // undecidable ones to an exact path: values near and at ties must still match.
  const values: number[] = [];
  let seed = 12345;
  const next = () => (seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0);
  const bits = new Uint32Array(1);
  const asFloat = new Float32Array(bits.buffer);
  for (let i = 0; i < 200000; ++i) {
    bits[0] = next(); // any bit pattern: all exponents, denormals, NaNs with payloads
    values.push(asFloat[0]);
  }
  for (let i = 0; i < 100000; ++i) {
    // nearest floats to d.dddddd5e+-E: just above or below a tie at the 7th digit
    const digits = 1000000 + (next() % 9000000);
    const e = (next() % 80) - 45;
    values.push(Math.fround(Number(`${digits}5e${e - 7}`)) * (next() & 1 ? 1 : -1));
  }
  for (let i = 0; i < 20000; ++i) {
    // exact ties: a 7-digit integer ending in 5 is a float; halving keeps it exact
    const n = (100000 + (next() % 900000)) * 10 + 5;
    values.push(n / 2 ** (next() % 4), n * 2 ** (next() % 3));
  }
  for (const base of [999999.5, 999999.4, 9.999995, 9.999994, 0.0001, 0.000099999995, 1e-5, 99999.95, 100000, 999999, 1e6]) {
    for (let k = -40; k <= 38; ++k) values.push(Math.fround(base * 10 ** k));
  }
  const w = 1000;
  const h = Math.ceil(values.length / w);
  const data = new Float32Array(w * h);
  data.set(values);
  const [native, ts] = await both(data, 1, h, w);
  if (native !== ts) {
    const a = native.split(/\s+/), b = ts.split(/\s+/);
    const k = a.findIndex((t, i) => t !== b[i]);
    throw new Error(`first difference at token ${k}: native ${a[k]} vs specification ${b[k]}`);
  }
});

test('bad arguments are rejected', () => {
  expect(() => loadNative().formatRawhm(new Float32Array(5), 1, 2, 2)).toThrow(/does not match/);
  expect(() => loadNative().formatRawhm([1, 2] as never, 1, 1, 2)).toThrow(/Float32Array/);
});

describeIfExists(VECTORS, "the original's rawhm files", () => {
  test('re-formatting the numbers of every original _rawhm.txt reproduces the file', async () => {
    const files: string[] = [];
    for (const e2e of fs.readdirSync(VECTORS).filter((d) => d.startsWith('e2e-'))) {
      const dir = path.join(VECTORS, e2e, 'expected_output', 'images');
      for (const f of fs.readdirSync(dir)) if (f.endsWith('_rawhm.txt')) files.push(path.join(dir, f));
    }
    expect(files.length).toBeGreaterThan(0);
    for (const file of files) {
      const text = fs.readFileSync(file, 'latin1');
      const lines = text.split('\n');
      const c = Number(lines[0]);
      const [h, w] = lines[1].split(' ').map(Number);
      const values = Float32Array.from(lines.slice(2, 2 + c * h).flatMap((l) => l.trim().split(' ').map(Number)));
      const [native] = await both(values, c, h, w);
      expect(native).toBe(text);
    }
  });
});
