/**
 * Shared pieces of the service tests: one loaded bundled model (the engine is the slow
 * part), multipart forms, crafted image files.
 */
import * as fs from 'fs';
import * as zlib from 'zlib';
import { demoModel, type Net } from '../../lib/index';
import { loadServedModel, type ServedModel } from '../../demonstrator/serve/model';

let served: Promise<ServedModel> | undefined;

/** The bundled model, loaded once per test file. */
export function bundledModel(): Promise<ServedModel> {
  served ??= loadServedModel({ kind: 'bundled' });
  return served;
}

export async function disposeModel(): Promise<void> {
  if (served) await (await served).net.dispose();
  served = undefined;
}

export function bundledImage(i: number): Buffer {
  return fs.readFileSync(demoModel.images[i]);
}

/** A multipart body with the file in field `image` (unless undefined) and text fields. */
export function form(image: Buffer | undefined, fields: Record<string, string> = {}, filename = 'upload.png'): FormData {
  const f = new FormData();
  if (image !== undefined) f.append('image', new Blob([new Uint8Array(image)]), filename);
  for (const [k, v] of Object.entries(fields)) f.append(k, v);
  return f;
}

function crc32(buf: Buffer): number {
  let c = ~0;
  for (const b of buf) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
  }
  return ~c >>> 0;
}

function chunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}

/** A well-formed PNG header claiming width x height grey pixels, with one tiny IDAT (not enough data). */
export function pngWithHeader(width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 0; // greyscale
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', zlib.deflateSync(Buffer.alloc(width + 1 > 1024 ? 1024 : width + 1))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

export type { Net };
