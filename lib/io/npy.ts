/**
 * NumPy .npy files: read (format 1.0-3.0, little/big endian, C or Fortran order, the
 * numeric dtypes, and Python 2 headers with `10000L`-style shapes) and write (float32,
 * float64, uint8, int32, C order). Data is returned as a typed array in C order.
 */
import * as fs from 'fs';
import { CaffeLrpError } from '../errors';
import { readInputFileSync } from './read-file';

export type NpyArray =
  | Float32Array | Float64Array | Uint8Array | Int8Array | Int16Array | Uint16Array | Int32Array | Uint32Array;

export interface Npy<T extends NpyArray = NpyArray> {
  dtype: string; // numpy dtype string, e.g. '<f4'
  shape: number[];
  data: T;
}

const MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]); // \x93NUMPY

interface DtypeInfo { bytes: number; read: (b: Buffer, off: number, little: boolean) => number; make: (n: number) => NpyArray }

const DTYPES: Record<string, DtypeInfo> = {
  f4: { bytes: 4, read: (b, o, le) => (le ? b.readFloatLE(o) : b.readFloatBE(o)), make: (n) => new Float32Array(n) },
  f8: { bytes: 8, read: (b, o, le) => (le ? b.readDoubleLE(o) : b.readDoubleBE(o)), make: (n) => new Float64Array(n) },
  u1: { bytes: 1, read: (b, o) => b.readUInt8(o), make: (n) => new Uint8Array(n) },
  i1: { bytes: 1, read: (b, o) => b.readInt8(o), make: (n) => new Int8Array(n) },
  b1: { bytes: 1, read: (b, o) => b.readUInt8(o), make: (n) => new Uint8Array(n) },
  i2: { bytes: 2, read: (b, o, le) => (le ? b.readInt16LE(o) : b.readInt16BE(o)), make: (n) => new Int16Array(n) },
  u2: { bytes: 2, read: (b, o, le) => (le ? b.readUInt16LE(o) : b.readUInt16BE(o)), make: (n) => new Uint16Array(n) },
  i4: { bytes: 4, read: (b, o, le) => (le ? b.readInt32LE(o) : b.readInt32BE(o)), make: (n) => new Int32Array(n) },
  u4: { bytes: 4, read: (b, o, le) => (le ? b.readUInt32LE(o) : b.readUInt32BE(o)), make: (n) => new Uint32Array(n) },
  i8: { bytes: 8, read: (b, o, le) => Number(le ? b.readBigInt64LE(o) : b.readBigInt64BE(o)), make: (n) => new Float64Array(n) },
  u8: { bytes: 8, read: (b, o, le) => Number(le ? b.readBigUInt64LE(o) : b.readBigUInt64BE(o)), make: (n) => new Float64Array(n) },
};

function headerValue(header: string, key: string, file: string): string {
  const m = new RegExp(`['"]${key}['"]\\s*:\\s*`).exec(header);
  if (!m) throw new CaffeLrpError('DECODE', `npy header has no '${key}'`, { file });
  return header.slice(m.index + m[0].length);
}

export function parseNpy(buf: Buffer, file = '<buffer>'): Npy {
  if (buf.length < 10 || !buf.subarray(0, 6).equals(MAGIC)) throw new CaffeLrpError('DECODE', 'not a .npy file (bad magic)', { file });
  const major = buf[6];
  const lenBytes = major === 1 ? 2 : 4;
  if (major < 1 || major > 3) throw new CaffeLrpError('DECODE', `unsupported .npy version ${major}`, { file });
  const headerLen = lenBytes === 2 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const start = 8 + lenBytes;
  if (start + headerLen > buf.length) throw new CaffeLrpError('DECODE', 'truncated .npy header', { file });
  const header = buf.subarray(start, start + headerLen).toString('latin1');
  const descr = /^['"]([<>|=])?([a-zA-Z])(\d+)['"]/.exec(headerValue(header, 'descr', file));
  if (!descr) throw new CaffeLrpError('DECODE', 'unsupported dtype in .npy header', { file });
  const kind = descr[2] + descr[3];
  const info = DTYPES[kind];
  if (!info) throw new CaffeLrpError('DECODE', `unsupported dtype '${kind}'`, { file });
  const little = descr[1] !== '>';
  const fortran = /^True/.test(headerValue(header, 'fortran_order', file));
  const shapeText = /^\(([^)]*)\)/.exec(headerValue(header, 'shape', file));
  if (!shapeText) throw new CaffeLrpError('DECODE', 'bad shape in .npy header', { file });
  const shape = shapeText[1]
    .split(',')
    .map((s) => s.trim().replace(/L$/, '')) // Python 2 wrote long ints as 10000L
    .filter((s) => s.length > 0)
    .map((s) => {
      const v = Number(s);
      if (!Number.isInteger(v) || v < 0) throw new CaffeLrpError('DECODE', `bad dimension '${s}' in .npy shape`, { file });
      return v;
    });
  const count = shape.reduce((a, b) => a * b, 1);
  const dataStart = start + headerLen;
  if (dataStart + count * info.bytes > buf.length)
    throw new CaffeLrpError('DECODE', `truncated .npy data: ${count} values of ${info.bytes} bytes need ${count * info.bytes} bytes`, { file });
  const out = info.make(count);
  const strides = shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));
  for (let i = 0; i < count; ++i) {
    // Fortran order: file element i is at C index with reversed axis significance.
    let dst = i;
    if (fortran && shape.length > 1) {
      let rem = i;
      dst = 0;
      for (let a = 0; a < shape.length; ++a) {
        const idx = rem % shape[a];
        rem = Math.floor(rem / shape[a]);
        dst += idx * strides[a];
      }
    }
    out[dst] = info.read(buf, dataStart + i * info.bytes, little);
  }
  return { dtype: `${little ? '<' : '>'}${kind}`, shape, data: out };
}

export function readNpy(file: string): Npy {
  return parseNpy(readInputFileSync(file), file);
}

export function encodeNpy(data: Float32Array | Float64Array | Uint8Array | Int32Array, shape: number[]): Buffer {
  const count = shape.reduce((a, b) => a * b, 1);
  if (count !== data.length) throw new CaffeLrpError('SHAPE', `npy: shape ${shape.join('x')} does not hold ${data.length} values`);
  const descr = data instanceof Float32Array ? '<f4' : data instanceof Float64Array ? '<f8' : data instanceof Uint8Array ? '|u1' : '<i4';
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const head = Buffer.alloc(10);
  MAGIC.copy(head, 0);
  head[6] = 1;
  head[7] = 0;
  head.writeUInt16LE(header.length, 8);
  const body = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return Buffer.concat([head, Buffer.from(header, 'latin1'), body]);
}

/** Writes a C-order .npy file (format 1.0). */
export async function writeNpy(file: string, data: Float32Array | Float64Array | Uint8Array | Int32Array, shape: number[]): Promise<void> {
  const bytes = encodeNpy(data, shape);
  try {
    await fs.promises.writeFile(file, bytes);
  } catch (e) {
    throw new CaffeLrpError('IO', `cannot write: ${(e as Error).message}`, { file });
  }
}

/** An .npy array as float32 in C order (any numeric dtype; values outside float32 are rounded). */
export function npyToFloat32(npy: Npy): Float32Array {
  return npy.data instanceof Float32Array ? npy.data : Float32Array.from(npy.data as ArrayLike<number>);
}
