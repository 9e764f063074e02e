/**
 * Image → network input blob, as the original demonstrator does it (behaviour spec §5.7–5.8)
 * but with sharp instead of ImageMagick (contract §2). Used by Net.preprocess / explainImage
 * and by the demonstrators, so both feed the net the same numbers:
 *
 *  1. decode (a path, the file's bytes, or raw pixels) (JPEG, PNG incl. 16-bit/alpha/palette, WebP, TIFF, GIF first frame, greyscale);
 *     embedded ICC profiles and EXIF orientation are ignored, as ImageMagick's plain read does;
 *  2. resize so the long side is `baseImgSize`, with ImageMagick's geometry (resize.ts),
 *     in 16 bits per channel like ImageMagick's Q16 build, with the filter ImageMagick 6 would
 *     pick (Lanczos normally; Mitchell for alpha/palette/8-bit grey images and enlargements).
 *     Shrinking uses sharp by default (contract §2: ~0.1–0.2 grey levels MAD from the
 *     original on the reference photos); `resampler: 'imagemagick'` uses our replica of
 *     ImageMagick's resize (im-resample.ts), which reproduces the original's blobs to one
 *     16-bit quantum at similar speed. Enlargements always use the replica (libvips
 *     interpolates there and is several grey levels off);
 *  3. centre crop, or edge-replicating pad along a short side below S (§5.8);
 *  4. values on the 0..255 scale, minus the mean, into a C×S×S Float32Array in BGR order
 *     (blob channel c = image channel 2−c) for 3-channel nets.
 *
 * Alpha is ignored after resizing (the raw colour values are used, as the original does);
 * the resize itself weights colours by alpha, like ImageMagick. Grey images are replicated to
 * RGB (1-channel nets: see `toGrey`).
 *
 * Each call is independent and async (sharp decodes and resizes off the main thread; the
 * replica resampler runs on the calling thread, ~10 ms for a 640×480 photo), so a CLI can
 * prepare the next batch while the native engine computes the current one.
 */
import { checkAllocation, memoryBudget } from '../memory-budget';
import { readInputFile } from '../io/read-file';
import sharp from 'sharp';
import { CaffeLrpError } from '../errors';
import { InputMean, meanLookup, MeanLookup } from './mean';
import { imResize } from './im-resample';
import { MAX_BASE_IMG_SIZE, resizedImageBytes } from './settings';
import { chooseFilter, imageMagickGeometry, ResizeFilter } from './resize';

export type Resampler = 'sharp' | 'imagemagick';

export interface PreprocessOptions {
  /** Net input height = width (the original requires a square input). */
  size: number;
  /** Net input channels: 3 (BGR blob) or 1 (grey). Default 3. */
  channels?: 1 | 3;
  /** Long side after resizing; default `size`. Must be >= size. */
  baseImgSize?: number;
  /** Mean to subtract (none: nothing subtracted). */
  mean?: InputMean;
  /**
   * 'sharp' (default, contract §2): libvips' Lanczos 3 / Mitchell, about 0.1–0.2 grey levels
   * MAD from the original on photos. 'imagemagick': our replica of ImageMagick 6's resize
   * (im-resample.ts), which reproduces the original's blobs to within one 16-bit quantum
   * (MAD ~1e-7 on the reference photos) but is 2–7x slower on large photos.
   * Enlargements always use the replica.
   */
  resampler?: Resampler;
  /** caffe_lrp_compat 1: transposed binaryproto mean and uncentred pad-branch mean (§5.6, §5.8). */
  compat?: boolean;
}

export interface Preprocessed {
  /** Net input for one image: channels×size×size, row-major, BGR for 3 channels, mean subtracted. */
  blob: Float32Array;
  /**
   * The cropped/padded image before mean subtraction as 8-bit RGB, interleaved
   * height×width×3 (what `_as_inputted_into_the_dnn.png` holds: the original's file is 8-bit).
   * 16-bit sources are rounded to the nearest level. Grey nets: the grey value in all three.
   */
  asInputted: Uint8Array;
  width: number;
  height: number;
  channels: number;
  /** Size after resizing (before crop/pad) and the filter used, for diagnostics. */
  resized: { width: number; height: number; filter: ResizeFilter | 'none' };
}

/**
 * Decoded pixels given by the caller: height x width x channels interleaved, 8-bit
 * (Uint8Array, Buffer, Uint8ClampedArray) or 16-bit (Uint16Array) values; 1 (grey), 3 (RGB)
 * or 4 (RGBA) channels. They are treated as a direct-colour image (no palette).
 */
export interface RawPixels {
  data: Uint8Array | Uint8ClampedArray | Uint16Array;
  width: number;
  height: number;
  channels: 1 | 3 | 4;
}

/** An image to preprocess: a file path, the file's bytes (any format sharp reads), or raw pixels. */
export type ImageSource = string | Buffer | Uint8Array | RawPixels;

/** One image's pixels as 16-bit RGB (alpha dropped), ImageMagick Q16 style. */
interface Pixels16 {
  data: Uint16Array; // width*height*3
  width: number;
  height: number;
}

export async function preprocessImage(source: ImageSource, opts: PreprocessOptions): Promise<Preprocessed> {
  const S = opts.size;
  const netChannels = opts.channels ?? 3;
  const base = opts.baseImgSize ?? S;
  if (!Number.isInteger(S) || S < 1) throw new CaffeLrpError('OPTION', `net input size must be a positive integer, got ${S}`);
  if (netChannels !== 1 && netChannels !== 3) throw new CaffeLrpError('UNSUPPORTED', `nets with ${String(netChannels)} input channels are not supported (1 or 3)`);
  if (!Number.isInteger(base) || base < S) {
    throw new CaffeLrpError('OPTION', `baseimgsize (${base}) must be an integer >= the net input size (${S})`);
  }
  // the same bounds as checkPreprocessSettings, here too since callers may skip it (the demonstrator does)
  if (base > MAX_BASE_IMG_SIZE)
    throw new CaffeLrpError('OPTION', `baseimgsize (${base}) is larger than the ${MAX_BASE_IMG_SIZE} pixels an image side may have (libvips' limit)`);
  checkAllocation(resizedImageBytes(base), `resizing images to baseimgsize ${base}`);
  const resampler = opts.resampler ?? 'sharp';
  if (resampler !== 'sharp' && resampler !== 'imagemagick')
    throw new CaffeLrpError('OPTION', `option 'resampler' must be 'sharp' or 'imagemagick', got ${JSON.stringify(resampler)}`);
  const lookup = opts.mean ? meanLookup(opts.mean, netChannels, S, opts.compat ?? false) : undefined;

  const file = typeof source === 'string' ? source : undefined;
  let decoded: Decoded;
  if (isRawPixels(source)) {
    decoded = fromRawPixels(source);
  } else {
    let buf: Buffer | Uint8Array;
    if (typeof source === 'string') {
      buf = await readInputFile(source, 'the image');
    } else if (source instanceof Uint8Array) {
      buf = source;
    } else {
      throw new CaffeLrpError('OPTION', 'an image must be a file path, a Buffer with the file\'s bytes, or raw pixels { data, width, height, channels }');
    }
    try {
      decoded = await decode(buf, file);
    } catch (e) {
      if (e instanceof CaffeLrpError) throw e;
      throw new CaffeLrpError('DECODE', `cannot decode the image: ${(e as Error).message}`, { file });
    }
  }
  let resized: Pixels16;
  let filter: ResizeFilter | 'none';
  try {
    ({ pixels: resized, filter } = await resize(decoded, base, resampler));
  } catch (e) {
    if (e instanceof CaffeLrpError) throw e;
    throw new CaffeLrpError('DECODE', `cannot resize the image: ${(e as Error).message}`, { file });
  }
  const { blob, asInputted } = cropAndNormalise(resized, S, base, netChannels, lookup, opts.mean, opts.compat ?? false);
  return { blob, asInputted, width: S, height: S, channels: netChannels, resized: { width: resized.width, height: resized.height, filter } };
}

function isRawPixels(s: unknown): s is RawPixels {
  return typeof s === 'object' && s !== null && !(s instanceof Uint8Array) && 'data' in s;
}

/** A decoded image: 16-bit values with 3 or 4 channels, and what the filter choice needs to know. */
interface Decoded {
  src: Uint16Array;
  width: number;
  height: number;
  channels: 3 | 4;
  meta: Pick<sharp.Metadata, 'format' | 'space' | 'isPalette' | 'depth' | 'channels'>;
}

function fromRawPixels(p: RawPixels): Decoded {
  const { data, width, height, channels } = p;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1 || width * height > 1 << 28)
    throw new CaffeLrpError('OPTION', `raw pixels: width and height must be positive integers (at most 2^28 pixels), got ${String(width)}x${String(height)}`);
  if (channels !== 1 && channels !== 3 && channels !== 4)
    throw new CaffeLrpError('OPTION', `raw pixels: channels must be 1, 3 or 4, got ${String(channels)}`);
  const deep = data instanceof Uint16Array;
  if (!deep && !(data instanceof Uint8Array) && !(data instanceof Uint8ClampedArray))
    throw new CaffeLrpError('OPTION', 'raw pixels: data must be a Uint8Array, Uint8ClampedArray, Buffer or Uint16Array');
  if (data.length !== width * height * channels)
    throw new CaffeLrpError('SHAPE', `raw pixels: ${data.length} values do not fill ${width}x${height}x${channels} = ${width * height * channels}`);
  const wide = deep ? (data as Uint16Array) : widen8to16(data as Uint8Array);
  const outChannels = channels === 1 ? 3 : channels;
  let src = wide;
  if (channels === 1) {
    src = new Uint16Array(width * height * 3);
    for (let p = 0; p < width * height; p++) src[3 * p] = src[3 * p + 1] = src[3 * p + 2] = wide[p];
  }
  return { src, width, height, channels: outChannels, meta: { format: 'raw', isPalette: false, depth: deep ? 'ushort' : 'uchar', channels, space: channels === 1 ? 'b-w' : 'srgb' } };
}

/** Bytes per pixel while an image is decoded and widened: 16-bit RGBA from libvips plus our 16-bit copy. */
const DECODE_BYTES_PER_PIXEL = 4 * 2 * 2;

async function decode(buf: Buffer | Uint8Array, file: string | undefined): Promise<Decoded> {
  // The header says how large the decoded image is: check it against the memory budget before
  // decoding (a 250 KB PNG can say 16000 x 16000, 2.3 GB of pixels), and let libvips refuse
  // anything larger (limitInputPixels) should the header and the data disagree.
  const maxPixels = Math.max(1, Math.floor(memoryBudget().bytes / DECODE_BYTES_PER_PIXEL));
  // failOn 'error': images with recoverable flaws (e.g. a truncated JPEG) still load, as with ImageMagick.
  const input = () => sharp(buf, { ignoreIcc: true, failOn: 'error', pages: 1, page: 0, autoOrient: false, limitInputPixels: maxPixels });
  const meta = await sharp(buf, { limitInputPixels: false }).metadata();
  if (meta.width !== undefined && meta.height !== undefined)
    checkAllocation(meta.width * meta.height * DECODE_BYTES_PER_PIXEL, `decoding this ${meta.width}x${meta.height} image`, { file });
  // 16 bits whenever the source has more than 8 (ImageMagick Q16 keeps them). 8-bit data is
  // widened here as ImageMagick does (v * 257, exact) — libvips' own 8→16-bit conversion
  // multiplies by 256 — so resampling happens at 16-bit precision on the right scale.
  const deep = meta.depth !== undefined && meta.depth !== 'uchar' && meta.depth !== 'char';
  let src: Uint16Array;
  let info: sharp.OutputInfo;
  if (deep) {
    const out = await input().toColourspace('rgb16').raw({ depth: 'ushort' }).toBuffer({ resolveWithObject: true });
    src = new Uint16Array(out.data.buffer, out.data.byteOffset, out.data.length / 2);
    info = out.info;
  } else {
    const out = await input().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
    src = widen8to16(out.data);
    info = out.info;
  }
  const C = info.channels; // 3 or 4 (sharp expands grey to RGB in rgb16)
  if (C !== 3 && C !== 4) throw new Error(`unexpected ${C}-channel decode`);
  return { src, width: info.width, height: info.height, channels: C, meta: { ...meta, channels: meta.channels } };
}

async function resize(d: Decoded, base: number, resampler: Resampler): Promise<{ pixels: Pixels16; filter: ResizeFilter | 'none' }> {
  const { src, width: W, height: H, channels: C, meta } = d;
  const hasAlpha = C === 4;
  const { width: tw, height: th } = imageMagickGeometry(W, H, base);
  if (tw === W && th === H) {
    // ImageMagick returns an unchanged copy when the size does not change.
    return { pixels: { data: dropAlpha(src, W * H, C), width: W, height: H }, filter: 'none' };
  }
  const filter = chooseFilter(meta, hasAlpha, W, H, tw, th);
  if (resampler === 'imagemagick' || (tw / W) * (th / H) > 1) {
    // The replica; always for enlargements, where libvips interpolates instead of filtering
    // and lands several grey levels away from ImageMagick.
    return { pixels: { data: dropAlpha(imResize(src, W, H, C, tw, th, filter), tw * th, C), width: tw, height: th }, filter };
  }
  // With alpha, sharp premultiplies for the resize (colours weighted by alpha, as ImageMagick does).
  const out = await sharp(src, { raw: { width: W, height: H, channels: C } })
    .resize(tw, th, { kernel: filter, fit: 'fill', fastShrinkOnLoad: false })
    .toColourspace('rgb16')
    .raw({ depth: 'ushort' })
    .toBuffer({ resolveWithObject: true });
  const res = new Uint16Array(out.data.buffer, out.data.byteOffset, out.data.length / 2);
  if (out.info.width !== tw || out.info.height !== th) throw new Error(`resize gave ${out.info.width}x${out.info.height}, expected ${tw}x${th}`);
  return { pixels: { data: dropAlpha(res, tw * th, out.info.channels), width: tw, height: th }, filter };
}

/**
 * 8-bit values v → 16-bit v·257. Two at a time: a 32-bit word holding a and b becomes
 * (a + b·2^16)·257 = a·257 + b·257·2^16 (in either byte order), and a·257 <= 65535 never carries
 * into the other half.
 */
function widen8to16(bytes: Uint8Array | Uint8ClampedArray): Uint16Array {
  const out = new Uint16Array(bytes.length);
  out.set(bytes);
  const pairs = new Uint32Array(out.buffer, 0, out.length >> 1);
  for (let i = 0; i < pairs.length; i++) pairs[i] = pairs[i] * 257;
  if (out.length & 1) out[out.length - 1] *= 257;
  return out;
}

function dropAlpha(src: Uint16Array, pixels: number, channels: number): Uint16Array {
  if (channels === 3) return src.slice(0, pixels * 3);
  const out = new Uint16Array(pixels * 3);
  for (let p = 0; p < pixels; p++) {
    out[3 * p] = src[channels * p];
    out[3 * p + 1] = src[channels * p + 1];
    out[3 * p + 2] = src[channels * p + 2];
  }
  return out;
}

/** Where output index i along one axis reads the image and the mean (§5.8). */
interface AxisMap {
  src: Int32Array; // image index
  mean: Int32Array; // mean-image index
}

/**
 * The long axis (columns for landscape or square images, rows for portrait) is cropped at
 * `(base − S) / 2`; ImageMagick's geometry can leave it one pixel short of `base`, so reads are
 * clamped to the image (the original read past it only when base == S, never in practice).
 * Its mean offset is `min((Hm−S)/2, (Wm−S)/2)` in compat mode, the centred offset otherwise
 * (identical for square means).
 */
function longAxis(n: number, S: number, base: number, meanCentred: number, meanCompat: number, compat: boolean): AxisMap {
  const off = Math.floor((base - S) / 2);
  const src = new Int32Array(S);
  const mean = new Int32Array(S);
  for (let i = 0; i < S; i++) {
    src[i] = Math.min(n - 1, Math.max(0, off + i));
    mean[i] = (compat ? meanCompat : meanCentred) + i;
  }
  return { src, mean };
}

/**
 * The short axis: centre crop at `(n − S) / 2` when n >= S; otherwise the image is placed at
 * `(S − n) / 2` and its first/last line repeated into the border. The original then read the
 * mean at the image index (not centred, quirk 15); we read it centred unless compat.
 */
function shortAxis(n: number, S: number, meanCentred: number, compat: boolean): AxisMap {
  const src = new Int32Array(S);
  const mean = new Int32Array(S);
  if (n >= S) {
    const off = Math.floor((n - S) / 2);
    for (let i = 0; i < S; i++) {
      src[i] = off + i;
      mean[i] = meanCentred + i;
    }
  } else {
    const p = Math.floor((S - n) / 2);
    for (let i = 0; i < S; i++) {
      src[i] = Math.min(n - 1, Math.max(0, i - p));
      mean[i] = compat ? src[i] : meanCentred + i;
    }
  }
  return { src, mean };
}

function cropAndNormalise(
  img: Pixels16,
  S: number,
  base: number,
  netChannels: 1 | 3,
  lookup: MeanLookup | undefined,
  mean: InputMean | undefined,
  compat: boolean,
): { blob: Float32Array; asInputted: Uint8Array } {
  const { width: w, height: h, data } = img;
  const Hm = mean?.image.height ?? S;
  const Wm = mean?.image.width ?? S;
  const rowCentred = Math.floor((Hm - S) / 2);
  const colCentred = Math.floor((Wm - S) / 2);
  const bsm = Math.min(rowCentred, colCentred);
  const portrait = h > w;
  const rows = portrait ? longAxis(h, S, base, rowCentred, bsm, compat) : shortAxis(h, S, rowCentred, compat);
  const cols = portrait ? shortAxis(w, S, colCentred, compat) : longAxis(w, S, base, colCentred, bsm, compat);

  const plane = S * S;
  const blob = new Float32Array(netChannels * plane);
  const asInputted = new Uint8Array(plane * 3);
  const to255 = 255 / 65535; // Q16 → 0..255; exact for 8-bit sources (65535 = 257·255)
  // Without a mean every read lands on one zero (q·to255 − 0 is q·to255 exactly).
  const m = lookup ?? { data: new Float32Array(1), channelStart: [0, 0, 0], rowStride: 0, colStride: 0 };
  const md = m.data;
  const colSrc = new Int32Array(S);
  const colMean = new Int32Array(S);
  for (let x = 0; x < S; x++) {
    colSrc[x] = cols.src[x] * 3;
    colMean[x] = cols.mean[x] * m.colStride;
  }
  for (let y = 0; y < S; y++) {
    const rowAt = rows.src[y] * w * 3;
    const meanRow = rows.mean[y] * m.rowStride;
    const o0 = y * S;
    if (netChannels === 3) {
      // blob channel c (BGR) = image channel 2 − c (RGB)
      const mB = m.channelStart[0] + meanRow;
      const mG = m.channelStart[1] + meanRow;
      const mR = m.channelStart[2] + meanRow;
      for (let x = 0; x < S; x++) {
        const at = rowAt + colSrc[x];
        const mx = colMean[x];
        const o = o0 + x;
        const r = data[at];
        const g = data[at + 1];
        const b = data[at + 2];
        blob[o] = b * to255 - md[mB + mx];
        blob[plane + o] = g * to255 - md[mG + mx];
        blob[2 * plane + o] = r * to255 - md[mR + mx];
        asInputted[3 * o] = Math.round(r * to255);
        asInputted[3 * o + 1] = Math.round(g * to255);
        asInputted[3 * o + 2] = Math.round(b * to255);
      }
    } else {
      const m0 = m.channelStart[0] + meanRow;
      for (let x = 0; x < S; x++) {
        const at = rowAt + colSrc[x];
        const o = o0 + x;
        const g = toGrey(data[at], data[at + 1], data[at + 2]);
        blob[o] = g * to255 - md[m0 + colMean[x]];
        asInputted[3 * o] = asInputted[3 * o + 1] = asInputted[3 * o + 2] = Math.round(g * to255);
      }
    }
  }
  return { blob, asInputted };
}

/**
 * Grey value for 1-channel nets (the original supports 3-channel nets only). Grey sources
 * keep their value exactly; colour images use the Rec. 601 luma weights on the stored
 * (gamma-encoded) values — what OpenCV's colour→grey conversion does, and hence what Caffe's
 * own image tools (convert_imageset --gray) fed grey nets during training.
 */
export function toGrey(r: number, g: number, b: number): number {
  return r === g && g === b ? r : 0.299 * r + 0.587 * g + 0.114 * b;
}
