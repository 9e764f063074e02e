/**
 * The native `_rawhm.txt` formatter (C library %g) and the TypeScript specification of the
 * format (formatRawhm / formatFloatLikeCpp) agree byte for byte, on special values and on
 * the original implementation's own files.
 */
import * as fs from 'fs';
import * as path from 'path';
import { loadNative } from '../../lib/native';
import { formatRawhm } from '../../demonstrator/outputs';
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
