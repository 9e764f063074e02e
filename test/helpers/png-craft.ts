/**
 * Hand-made PNG files for hostile-input tests: chunks with correct CRCs around whatever
 * header and data a test wants (a header claiming 60000x60000 pixels, an empty IDAT, ...).
 */
import * as zlib from 'zlib';

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

export function crc32(buf: Buffer): number {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

export function pngChunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}

/** A PNG with this header and IDAT payload (already deflated). */
export function pngFile(width: number, height: number, idat: Buffer, colorType = 0, bitDepth = 8): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = bitDepth;
  ihdr[9] = colorType;
  return Buffer.concat([SIGNATURE, pngChunk('IHDR', ihdr), pngChunk('IDAT', idat), pngChunk('IEND', Buffer.alloc(0))]);
}

/** A well-formed header claiming width x height, with an empty (far too short) IDAT. */
export function pngWithHeader(width: number, height: number, colorType = 0, bitDepth = 8): Buffer {
  return pngFile(width, height, zlib.deflateSync(Buffer.alloc(0)), colorType, bitDepth);
}

/** A complete grey PNG of w x h zeros: tiny on disk, w*h bytes when decoded. */
export function greyPng(width: number, height: number): Buffer {
  return pngFile(width, height, zlib.deflateSync(Buffer.alloc((width + 1) * height), { level: 9 }));
}
