/**
 * Data I/O for the toolbox's files: .npy read/write (incl. Python 2 headers), .npz, the
 * plain-text matrices of its data_io, and the MNIST preprocessing of its demos.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { CaffeLrpError } from '../../lib/errors';
import { encodeNpy, npyToFloat32, parseNpy, readNpy, writeNpy } from '../../lib/io/npy';
import { parseNpz } from '../../lib/io/npz';
import { formatTextMatrix, parseTextMatrix, readTextMatrix, writeTextMatrix } from '../../lib/io/text-matrix';
import { padImages, scaleDigits } from '../../lib/toolbox/data';
import { MODELS, describeIfExists } from '../helpers/vectors';

const TOOLBOX = path.join(MODELS, 'lrp-toolbox-mnist');
let tmp: string;
beforeAll(() => { tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'caffe-lrp-io-')); });
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('.npy', () => {
  test('writeNpy / readNpy round trip for every written dtype', async () => {
    const arrays = [Float32Array.of(1.5, -2, 3e-8, 0, 5, 6), Float64Array.of(Math.PI, -0, 1e300, 2, 3, 4), Uint8Array.of(0, 255, 7, 1, 2, 3), Int32Array.of(-5, 2 ** 31 - 1, 0, 1, 2, 3)];
    for (const a of arrays) {
      const file = path.join(tmp, `${a.constructor.name}.npy`);
      await writeNpy(file, a, [2, 3]);
      const back = readNpy(file);
      expect(back.shape).toEqual([2, 3]);
      expect(back.data.constructor).toBe(a.constructor);
      expect(Array.from(back.data)).toEqual(Array.from(a));
    }
    expect(npyToFloat32(parseNpy(encodeNpy(Uint8Array.of(1, 2), [2])))).toEqual(Float32Array.of(1, 2));
  });

  test('writing to a missing folder is an IO error naming the file', async () => {
    await expect(writeNpy('/nonexistent/x.npy', Float32Array.of(1), [1])).rejects.toThrow(/\/nonexistent\/x\.npy: cannot write/);
  });
});

describe('.npz', () => {
  test('stored members (numpy.savez) and errors', () => {
    // A hand-made ZIP with one stored member 'a.npy'.
    const member = encodeNpy(Float32Array.of(1, 2, 3), [3]);
    const name = Buffer.from('a.npy');
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt32LE(member.length, 18);
    local.writeUInt32LE(member.length, 22);
    local.writeUInt16LE(name.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt32LE(member.length, 20);
    central.writeUInt32LE(member.length, 24);
    central.writeUInt16LE(name.length, 28);
    const cdOffset = 30 + name.length + member.length;
    const end = Buffer.alloc(22);
    end.writeUInt32LE(0x06054b50, 0);
    end.writeUInt16LE(1, 8);
    end.writeUInt16LE(1, 10);
    end.writeUInt32LE(46 + name.length, 12);
    end.writeUInt32LE(cdOffset, 16);
    const zip = Buffer.concat([local, name, member, central, name, end]);
    const arrays = parseNpz(zip, 'a.npz');
    expect([...arrays.keys()]).toEqual(['a']);
    expect(Array.from(arrays.get('a')!.data)).toEqual([1, 2, 3]);
    expect(() => parseNpz(Buffer.from('not a zip at all, really'), 'b.npz')).toThrow(/b\.npz: not a readable \.npz archive: no end-of-central-directory record/);
  });
});

describe('plain-text matrices', () => {
  test('rows of whitespace-separated values; comments and empty lines skipped', () => {
    const m = parseTextMatrix('# header\n1 2.5\t-3\n\n4e-1 5 6  # trailing\n', 'm.txt');
    expect(m.shape).toEqual([2, 3]);
    expect(Array.from(m.data)).toEqual([1, 2.5, -3, 0.4, 5, 6]);
  });

  test('errors name the line and column', () => {
    expect(() => parseTextMatrix('1 2\n3\n', 'm.txt')).toThrow(/m\.txt:2: row has 1 values, but the row on line 1 has 2/);
    let err: CaffeLrpError | undefined;
    try { parseTextMatrix('1 2\n3  x\n', 'm.txt'); } catch (e) { err = e as CaffeLrpError; }
    expect(err?.message).toMatch(/m\.txt:2:4: 'x' is not a number/);
    expect(() => parseTextMatrix('\n# nothing\n', 'm.txt')).toThrow(/holds no values/);
  });

  test('write / read round trip is lossless (shortest repr numbers)', async () => {
    const data = Float64Array.of(0.1, -2.01595799878, 1e-7, 3);
    expect(formatTextMatrix(data, [2, 2])).toBe('0.1 -2.01595799878\n1e-07 3.0\n');
    const file = path.join(tmp, 'm.txt');
    await writeTextMatrix(file, data, [2, 2]);
    const back = await readTextMatrix(file);
    expect(back.shape).toEqual([2, 2]);
    expect(Array.from(back.data)).toEqual(Array.from(data));
    expect(formatTextMatrix(Float32Array.of(0.1), [1])).toBe('0.1\n');
  });
});

describe('MNIST preprocessing of the toolbox demos', () => {
  test('x / 127.5 - 1 and padding with -1', () => {
    expect(Array.from(scaleDigits([0, 255, 127.5]))).toEqual([-1, 1, 0]);
    const { data, shape } = padImages(Float32Array.of(1, 2, 3, 4), [1, 2, 2, 1], 1, -1);
    expect(shape).toEqual([1, 4, 4, 1]);
    expect(Array.from(data)).toEqual([-1, -1, -1, -1, -1, 1, 2, -1, -1, 3, 4, -1, -1, -1, -1, -1]);
    expect(() => padImages(Float32Array.of(1), [1, 2, 2, 1], 1, 0)).toThrow(CaffeLrpError);
  });
});

describeIfExists(TOOLBOX, "the toolbox's MNIST files", () => {
  test('Python 2 .npy header (10000L, 1L) and the uint8 digits', () => {
    const labels = readNpy(path.join(TOOLBOX, 'test_labels.npy'));
    expect(labels.shape).toEqual([10000, 1]);
    expect(labels.dtype).toBe('<f8');
    const digits = readNpy(path.join(TOOLBOX, 'test_images_first1000_uint8.npy'));
    expect(digits.shape).toEqual([1000, 784]);
    expect(digits.data).toBeInstanceOf(Uint8Array);
    const first = readNpy(path.join(TOOLBOX, 'test_labels_first1000_uint8.npy'));
    expect(Array.from(first.data.subarray(0, 1000))).toEqual(Array.from(labels.data.subarray(0, 1000)));
  });
});
