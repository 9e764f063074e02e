/**
 * Net.load's `preprocess` option: the demonstrator config keys that decide how an image
 * becomes the net's input (baseimgsize, use_mean_file_asbinaryprotoblob, caffe_lrp_compat),
 * validated once at load time against the net's input shape, with the demonstrator's defaults.
 */
import { checkAllocation } from '../memory-budget';
import { CaffeLrpError } from '../errors';
import { showValue } from '../relevance/show-value';
import { meanLookup, type InputMean, type MeanMode } from './mean';
import type { PreprocessOptions, Resampler } from './preprocess';

export interface PreprocessSettings {
  /** baseimgsize: long side after resizing (ImageMagick's geometry). Default: the net's input size (no crop). */
  baseImgSize?: number;
  /**
   * use_mean_file_asbinaryprotoblob: how the `mean` file is read — 0 text, 1 binaryproto
   * (BGR, as Caffe stores it), 2 binaryproto stored RGB. Default: the file's content decides
   * (text → 0, else 1), as in the demonstrator.
   */
  meanMode?: MeanMode;
  /** caffe_lrp_compat 1: the original's mean quirks (a binaryproto mean read transposed, uncentred mean in the pad branch). */
  compat?: boolean;
  /** 'sharp' (default) or 'imagemagick' (our replica of ImageMagick's resize: the original's blobs to one 16-bit level, slower). */
  resampler?: Resampler;
}

const KEYS = new Set(['baseImgSize', 'meanMode', 'compat', 'resampler']);

/**
 * The largest long side images are resized to: a hard bound before the memory check (at this
 * size one image is already about 100 GB in preprocessing), so absurd values such as 2^31 - 1
 * are refused at once instead of reaching libvips.
 */
export const MAX_BASE_IMG_SIZE = 65535;

/** Bytes of one image resized to `side` x `side` while it is preprocessed: 16-bit RGBA, a float copy and the crop. */
export function resizedImageBytes(side: number): number {
  return side * side * (4 * 2 + 3 * 4 + 3 * 4);
}

function fail(key: string, why: string): never {
  throw new CaffeLrpError('OPTION', `Net.load: option 'preprocess.${key}' ${why}`);
}

/** Checks the `preprocess` option's fields (the net's shape is checked by preprocessFor). */
export function checkPreprocessSettings(p: unknown): PreprocessSettings {
  if (p === undefined) return {};
  if (typeof p !== 'object' || p === null || Array.isArray(p)) throw new CaffeLrpError('OPTION', `Net.load: option 'preprocess' must be an object, got ${showValue(p)}`);
  const o = p as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!KEYS.has(k)) fail(k, `is unknown (known: ${[...KEYS].join(', ')})`);
  if (o.baseImgSize !== undefined && (typeof o.baseImgSize !== 'number' || !Number.isInteger(o.baseImgSize) || o.baseImgSize < 1))
    fail('baseImgSize', `must be a positive integer, got ${showValue(o.baseImgSize)}`);
  if (typeof o.baseImgSize === 'number' && o.baseImgSize > MAX_BASE_IMG_SIZE)
    fail('baseImgSize', `(${o.baseImgSize}) is larger than the ${MAX_BASE_IMG_SIZE} pixels an image side may have (libvips' limit)`);
  if (typeof o.baseImgSize === 'number') checkAllocation(resizedImageBytes(o.baseImgSize), `resizing images to baseImgSize ${o.baseImgSize}`);
  if (o.meanMode !== undefined && o.meanMode !== 0 && o.meanMode !== 1 && o.meanMode !== 2)
    fail('meanMode', `must be 0 (text), 1 (binaryproto) or 2 (binaryproto stored RGB), got ${showValue(o.meanMode)}`);
  if (o.compat !== undefined && typeof o.compat !== 'boolean') fail('compat', `must be true or false, got ${showValue(o.compat)}`);
  if (o.resampler !== undefined && o.resampler !== 'sharp' && o.resampler !== 'imagemagick')
    fail('resampler', `must be 'sharp' or 'imagemagick', got ${showValue(o.resampler)}`);
  return o as PreprocessSettings;
}

/**
 * What preprocessImage needs for this net, or why this net's input is not an image the
 * demonstrator's preprocessing can make (the original needs N x C x S x S, C = 3; grey nets
 * with C = 1 are ours).
 */
export function preprocessFor(inputShape: number[], settings: PreprocessSettings, mean: InputMean | undefined, file?: string): PreprocessOptions {
  const where = { file };
  if (inputShape.length !== 4)
    throw new CaffeLrpError('UNSUPPORTED', `image preprocessing needs an N x C x H x W net input, this net's is ${inputShape.join('x')}`, where);
  const [, c, h, w] = inputShape;
  if (h !== w) throw new CaffeLrpError('UNSUPPORTED', `image preprocessing needs a square net input (height = width), this net's is ${h}x${w}`, where);
  if (c !== 1 && c !== 3) throw new CaffeLrpError('UNSUPPORTED', `image preprocessing needs a net input with 3 (colour) or 1 (grey) channels, this net's has ${c}`, where);
  const base = settings.baseImgSize ?? h;
  if (base < h) fail('baseImgSize', `(${base}) must be >= the net input size ${h}`);
  const compat = settings.compat ?? false;
  if (mean) meanLookup(mean, c, h, compat); // throws when the mean does not fit the input
  return { size: h, channels: c, baseImgSize: base, mean, compat, resampler: settings.resampler };
}
