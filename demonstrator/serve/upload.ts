/**
 * What an upload really is, decided by its bytes (never by its name or declared type): the
 * raster formats the decoder reads, recognised by their magic numbers, and their header
 * dimensions checked against the pixel limit BEFORE anything is decoded (a 60000x60000 PNG
 * is a few hundred bytes; decoding it would need gigabytes).
 */
import sharp from 'sharp';
import { HttpError } from './http-error';

export type ImageFormat = 'png' | 'jpeg' | 'webp' | 'gif' | 'tiff';

const ACCEPTED = 'PNG, JPEG, WebP, GIF or TIFF';

function startsWith(buf: Buffer, bytes: number[], at = 0): boolean {
  if (buf.length < at + bytes.length) return false;
  return bytes.every((b, i) => buf[at + i] === b);
}

const ascii = (s: string) => [...s].map((c) => c.charCodeAt(0));

/** The format by magic number, or undefined. */
export function sniffFormat(buf: Buffer): ImageFormat | undefined {
  if (startsWith(buf, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'png';
  if (startsWith(buf, [0xff, 0xd8, 0xff])) return 'jpeg';
  if (startsWith(buf, ascii('RIFF')) && startsWith(buf, ascii('WEBP'), 8)) return 'webp';
  if (startsWith(buf, ascii('GIF87a')) || startsWith(buf, ascii('GIF89a'))) return 'gif';
  if (startsWith(buf, [0x49, 0x49, 0x2a, 0x00]) || startsWith(buf, [0x4d, 0x4d, 0x00, 0x2a])) return 'tiff';
  return undefined;
}

/** Text that starts like XML/SVG/HTML (after an optional BOM and white space). */
function looksLikeMarkup(buf: Buffer): boolean {
  let i = startsWith(buf, [0xef, 0xbb, 0xbf]) ? 3 : 0;
  while (i < buf.length && i < 1024 && (buf[i] === 0x20 || buf[i] === 0x09 || buf[i] === 0x0a || buf[i] === 0x0d)) i++;
  return buf[i] === 0x3c; // '<'
}

export interface CheckedImage {
  format: ImageFormat;
  width: number;
  height: number;
}

/**
 * Checks an uploaded file: not empty, a raster format we accept by content, header
 * readable, width x height within `maxPixels`. Throws HttpError (400/413/415/422).
 */
export async function checkUpload(buf: Buffer, maxPixels: number): Promise<CheckedImage> {
  if (buf.length === 0) throw new HttpError(400, 'EMPTY_UPLOAD', "the file in field 'image' is empty (0 bytes)");
  const format = sniffFormat(buf);
  if (!format) {
    if (looksLikeMarkup(buf)) throw new HttpError(415, 'UNSUPPORTED_MEDIA_TYPE', `SVG and other markup are not accepted; upload a ${ACCEPTED} image`);
    throw new HttpError(415, 'UNSUPPORTED_MEDIA_TYPE', `the upload is not a ${ACCEPTED} image (checked by its content)`);
  }
  let meta: sharp.Metadata;
  try {
    // metadata() reads the header only; limitInputPixels guards any decoder that would look further
    meta = await sharp(buf, { limitInputPixels: maxPixels, pages: 1, failOn: 'error' }).metadata();
  } catch (e) {
    const text = String((e as Error).message);
    if (/pixel limit/i.test(text)) {
      // refused by the limit: read the header once more, unlimited (header only), for the message
      const size = await sharp(buf, { limitInputPixels: false, pages: 1 }).metadata().catch(() => undefined);
      throw tooManyPixels(size?.width, size?.height, maxPixels);
    }
    throw new HttpError(422, 'DECODE', `cannot read the ${format.toUpperCase()} image's header`);
  }
  const { width, height } = meta;
  if (!width || !height) throw new HttpError(422, 'DECODE', `the ${format.toUpperCase()} image's header has no size`);
  if (meta.format !== format && !(format === 'tiff' && meta.format === 'tiff'))
    throw new HttpError(415, 'UNSUPPORTED_MEDIA_TYPE', `the upload looks like ${format.toUpperCase()} but decodes as ${String(meta.format)}`);
  if (width * height > maxPixels) throw tooManyPixels(width, height, maxPixels);
  return { format, width, height };
}

function tooManyPixels(width: number | undefined, height: number | undefined, maxPixels: number): HttpError {
  const size = width && height ? `${width}x${height} = ${width * height} pixels` : 'the image';
  return new HttpError(413, 'IMAGE_TOO_LARGE', `${size} is more than the limit of ${maxPixels} pixels`);
}
