/**
 * NumPy .npz archives (numpy.savez / savez_compressed): a ZIP file of .npy members, stored
 * or deflated, with ZIP64 sizes as numpy writes them. Returns the arrays by name (without
 * the '.npy' suffix).
 */
import * as zlib from 'zlib';
import { CaffeLrpError } from '../errors';
import { parseNpy, type Npy } from './npy';
import { readInputFileSync } from './read-file';

const EOCD = 0x06054b50, EOCD64 = 0x06064b50, EOCD64_LOCATOR = 0x07064b50, CENTRAL = 0x02014b50, LOCAL = 0x04034b50;

export function parseNpz(buf: Buffer, file = '<buffer>'): Map<string, Npy> {
  const bad = (why: string) => new CaffeLrpError('DECODE', `not a readable .npz archive: ${why}`, { file });
  let eocd = -1;
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 22 - 0xffff); --i)
    if (buf.readUInt32LE(i) === EOCD) { eocd = i; break; }
  if (eocd < 0) throw bad('no end-of-central-directory record');
  let entries = buf.readUInt16LE(eocd + 10);
  let offset = buf.readUInt32LE(eocd + 16);
  if ((entries === 0xffff || offset === 0xffffffff) && eocd >= 20 && buf.readUInt32LE(eocd - 20) === EOCD64_LOCATOR) {
    const at = Number(buf.readBigUInt64LE(eocd - 20 + 8));
    if (at + 56 > buf.length || buf.readUInt32LE(at) !== EOCD64) throw bad('broken ZIP64 end record');
    entries = Number(buf.readBigUInt64LE(at + 32));
    offset = Number(buf.readBigUInt64LE(at + 48));
  }
  const out = new Map<string, Npy>();
  for (let e = 0; e < entries; ++e) {
    if (offset + 46 > buf.length || buf.readUInt32LE(offset) !== CENTRAL) throw bad(`central directory entry ${e} is damaged`);
    const method = buf.readUInt16LE(offset + 10);
    let compressed = buf.readUInt32LE(offset + 20);
    let size = buf.readUInt32LE(offset + 24);
    const nameLen = buf.readUInt16LE(offset + 28), extraLen = buf.readUInt16LE(offset + 30), commentLen = buf.readUInt16LE(offset + 32);
    let local = buf.readUInt32LE(offset + 42);
    const name = buf.subarray(offset + 46, offset + 46 + nameLen).toString('utf8');
    // ZIP64 extra field: the 0xffffffff fields, in order size, compressed size, local offset.
    let x = offset + 46 + nameLen;
    const xEnd = x + extraLen;
    while (x + 4 <= xEnd) {
      const id = buf.readUInt16LE(x), len = buf.readUInt16LE(x + 2);
      if (id === 0x0001) {
        let p = x + 4;
        if (size === 0xffffffff) { size = Number(buf.readBigUInt64LE(p)); p += 8; }
        if (compressed === 0xffffffff) { compressed = Number(buf.readBigUInt64LE(p)); p += 8; }
        if (local === 0xffffffff) { local = Number(buf.readBigUInt64LE(p)); p += 8; }
      }
      x += 4 + len;
    }
    offset = xEnd + commentLen;
    if (local + 30 > buf.length || buf.readUInt32LE(local) !== LOCAL) throw bad(`member '${name}' has no local header`);
    const start = local + 30 + buf.readUInt16LE(local + 26) + buf.readUInt16LE(local + 28);
    if (start + compressed > buf.length) throw bad(`member '${name}' is truncated`);
    const raw = buf.subarray(start, start + compressed);
    let data: Buffer;
    if (method === 0) data = raw;
    else if (method === 8) data = zlib.inflateRawSync(raw);
    else throw bad(`member '${name}' uses compression method ${method} (stored and deflate are supported)`);
    if (data.length !== size) throw bad(`member '${name}' inflates to ${data.length} bytes, expected ${size}`);
    out.set(name.replace(/\.npy$/, ''), parseNpy(data, `${file}:${name}`));
  }
  return out;
}

export function readNpz(file: string): Map<string, Npy> {
  return parseNpz(readInputFileSync(file), file);
}
