/**
 * Rendering helpers in the manner of the LRP Toolbox's `render` module: heatmaps to RGB
 * through a colour map (the demonstrator's maps, lib/image/colormaps.ts), an optional
 * outline of the input drawn in black, greyscale digits to RGB, enlargement by pixel
 * replication, and several images side by side with a black gap in one PNG.
 *
 * RGB images are height x width x 3 interleaved values in [0, 1]; PNG bytes are
 * floor(255 * v) like the toolbox's `astype(uint8)`. Departures: the outline uses this
 * module's own Canny-style edge detector (Gaussian smoothing with `sigma`, Sobel gradients,
 * non-maximum suppression, hysteresis at 0.1 / 0.2 of the gradient magnitude), so its pixels
 * can differ from scikit-image's; colour maps normalise by max|R| as the demonstrator's do.
 */
import { showValue } from '../relevance/show-value';
import sharp from 'sharp';
import { CaffeLrpError } from '../errors';
import type { Heatmap } from '../heatmap';
import { colorize, COLORMAP_NAMES, type ColormapName } from '../image/colormaps';

export { COLORMAP_NAMES, type ColormapName };

export interface RgbImage {
  width: number;
  height: number;
  /** height x width x 3, values in [0, 1]. */
  data: Float64Array;
}

/** A single-channel image: height x width values. */
export interface GrayImage {
  width: number;
  height: number;
  data: ArrayLike<number>;
}

function checkImage(img: { width: number; height: number; data: ArrayLike<number> }, channels: number, what: string): void {
  if (!Number.isInteger(img.width) || !Number.isInteger(img.height) || img.width < 1 || img.height < 1 || img.data.length !== img.width * img.height * channels)
    throw new CaffeLrpError('SHAPE', `${what}: ${img.data.length} values do not make a ${img.height}x${img.width}x${channels} image`);
}

function checkScaling(scaling: number): void {
  if (!Number.isInteger(scaling) || scaling < 1) throw new CaffeLrpError('OPTION', `scaling must be an integer >= 1, got ${showValue(scaling)}`);
}

/** Enlarges an image by repeating every pixel `scaling` times in both directions. */
export function enlarge<T extends GrayImage | RgbImage>(img: T, scaling = 3, channels = img.data.length === img.width * img.height * 3 ? 3 : 1): T {
  checkScaling(scaling);
  checkImage(img, channels, 'enlarge');
  const W = img.width * scaling, H = img.height * scaling;
  const out = new Float64Array(W * H * channels);
  for (let y = 0; y < H; ++y) {
    const sy = Math.floor(y / scaling);
    for (let x = 0; x < W; ++x) {
      const src = (sy * img.width + Math.floor(x / scaling)) * channels;
      for (let c = 0; c < channels; ++c) out[(y * W + x) * channels + c] = img.data[src + c];
    }
  }
  return { ...img, width: W, height: H, data: out };
}

/** The mean over channels of a heatmap, as a grey image. */
function toGray(hm: Heatmap | GrayImage): GrayImage {
  if (!('channels' in hm) || hm.channels === 1) return { width: hm.width, height: hm.height, data: hm.data };
  const plane = hm.width * hm.height;
  const out = new Float64Array(plane);
  for (let c = 0; c < hm.channels; ++c) for (let p = 0; p < plane; ++p) out[p] += hm.data[c * plane + p] / hm.channels;
  return { width: hm.width, height: hm.height, data: out };
}

export interface HeatmapRgbOptions {
  /** Pixel replication factor (default 3). */
  scaling?: number;
  /** Colour map (default 'jet', the toolbox's hm_to_rgb default); see COLORMAP_NAMES. */
  colormap?: ColormapName;
  /** The input the heatmap explains (grey, same height x width): its outline is drawn in black. */
  outline?: GrayImage | Heatmap;
  /** Smoothing of the outline's edge detection, in enlarged pixels (default 2). */
  sigma?: number;
}

/** A heatmap (channels averaged) as an RGB image: normalised by max|R|, coloured, enlarged, optionally outlined. */
export function heatmapToRgb(hm: Heatmap | GrayImage, options: HeatmapRgbOptions = {}): RgbImage {
  const { scaling = 3, colormap = 'jet', sigma = 2 } = options;
  if (!(COLORMAP_NAMES as readonly string[]).includes(colormap))
    throw new CaffeLrpError('OPTION', `unknown colour map '${colormap}' (known: ${COLORMAP_NAMES.join(', ')})`);
  checkScaling(scaling);
  const gray = toGray(hm);
  checkImage(gray, 1, 'heatmapToRgb');
  const colors = colorize({ channels: 1, height: gray.height, width: gray.width, data: Float32Array.from(gray.data), channelOrder: 'blob' }, colormap);
  const rgb = enlarge({ width: gray.width, height: gray.height, data: colors }, scaling, 3);
  if (options.outline) {
    const x = toGray(options.outline);
    if (x.width !== gray.width || x.height !== gray.height)
      throw new CaffeLrpError('SHAPE', `outline: the input is ${x.height}x${x.width}, the heatmap ${gray.height}x${gray.width}`);
    const edges = cannyEdges(enlarge(x, scaling, 1), sigma);
    for (let p = 0; p < edges.length; ++p) if (edges[p]) rgb.data[3 * p] = rgb.data[3 * p + 1] = rgb.data[3 * p + 2] = 0;
  }
  return rgb;
}

export interface DigitRgbOptions {
  scaling?: number;
  /** 'binary' (default: 0 -> white, 1 -> black, as the toolbox) or 'gray' (0 -> black, 1 -> white). */
  colormap?: 'binary' | 'gray';
}

/**
 * A grey image as RGB through matplotlib's 'binary' (or 'gray') map: values are clipped to
 * [0, 1] (the toolbox feeds [-1, 1] digits, so the background -1 and everything <= 0 is
 * white) and looked up in a 256-entry table.
 */
export function digitToRgb(img: GrayImage, options: DigitRgbOptions = {}): RgbImage {
  const { scaling = 3, colormap = 'binary' } = options;
  if (colormap !== 'binary' && colormap !== 'gray') throw new CaffeLrpError('OPTION', `digit colour map must be 'binary' or 'gray', got ${JSON.stringify(colormap)}`);
  checkImage(img, 1, 'digitToRgb');
  const out = new Float64Array(img.width * img.height * 3);
  for (let p = 0; p < img.width * img.height; ++p) {
    const v = Number(img.data[p]);
    const t = Number.isNaN(v) ? 0 : Math.min(1, Math.max(0, v));
    const level = Math.min(255, Math.floor(t * 256)) / 255;
    const g = colormap === 'binary' ? 1 - level : level;
    out[3 * p] = out[3 * p + 1] = out[3 * p + 2] = g;
  }
  return enlarge({ width: img.width, height: img.height, data: out }, scaling, 3);
}

/** Places images next to each other, separated by `gap` black columns (heights must match). */
export function combineImages(images: RgbImage[], gap = 2): RgbImage {
  if (!Array.isArray(images) || images.length === 0) throw new CaffeLrpError('OPTION', 'combineImages: no images');
  if (!Number.isInteger(gap) || gap < 0) throw new CaffeLrpError('OPTION', `gap must be an integer >= 0, got ${showValue(gap)}`);
  const height = images[0].height;
  images.forEach((img, i) => {
    checkImage(img, 3, `image ${i}`);
    if (img.height !== height) throw new CaffeLrpError('SHAPE', `image ${i} is ${img.height} pixels high, image 0 is ${height}: they cannot be placed side by side`);
  });
  const width = images.reduce((a, img) => a + img.width, 0) + gap * (images.length - 1);
  const data = new Float64Array(width * height * 3);
  let x0 = 0;
  for (const img of images) {
    for (let y = 0; y < height; ++y) data.set(img.data.subarray(y * img.width * 3, (y + 1) * img.width * 3), (y * width + x0) * 3);
    x0 += img.width + gap;
  }
  return { width, height, data };
}

/** 8-bit RGB bytes of an image: floor(255 * v), v clamped to [0, 1]. */
export function toRgbBytes(img: RgbImage): Buffer {
  checkImage(img, 3, 'toRgbBytes');
  const out = Buffer.alloc(img.data.length);
  for (let i = 0; i < img.data.length; ++i) {
    const v = img.data[i];
    out[i] = Number.isNaN(v) ? 0 : Math.floor(255 * Math.min(1, Math.max(0, v)));
  }
  return out;
}

/** Saves images side by side with a black gap (the toolbox's save_image) as one PNG. */
export async function saveImages(images: RgbImage[], file: string, gap = 2): Promise<RgbImage> {
  const combined = combineImages(images, gap);
  try {
    await sharp(toRgbBytes(combined), { raw: { width: combined.width, height: combined.height, channels: 3 } }).png().toFile(file);
  } catch (e) {
    throw new CaffeLrpError('IO', `cannot write the image: ${(e as Error).message}`, { file });
  }
  return combined;
}

// ---- edges for the outline ----

function gaussianBlur(img: GrayImage, sigma: number): Float64Array {
  const { width: W, height: H } = img;
  const src = Float64Array.from(img.data);
  if (!(sigma > 0)) return src;
  const radius = Math.max(1, Math.ceil(4 * sigma));
  const kernel = new Float64Array(2 * radius + 1);
  let sum = 0;
  for (let i = -radius; i <= radius; ++i) sum += kernel[i + radius] = Math.exp(-(i * i) / (2 * sigma * sigma));
  for (let i = 0; i < kernel.length; ++i) kernel[i] /= sum;
  const clampAt = (v: number, n: number) => (v < 0 ? 0 : v >= n ? n - 1 : v);
  const tmp = new Float64Array(W * H);
  for (let y = 0; y < H; ++y)
    for (let x = 0; x < W; ++x) {
      let s = 0;
      for (let k = -radius; k <= radius; ++k) s += kernel[k + radius] * src[y * W + clampAt(x + k, W)];
      tmp[y * W + x] = s;
    }
  const out = new Float64Array(W * H);
  for (let y = 0; y < H; ++y)
    for (let x = 0; x < W; ++x) {
      let s = 0;
      for (let k = -radius; k <= radius; ++k) s += kernel[k + radius] * tmp[clampAt(y + k, H) * W + x];
      out[y * W + x] = s;
    }
  return out;
}

/** Canny-style edge map (1 = edge) of a grey image; border pixels are never edges. */
export function cannyEdges(img: GrayImage, sigma = 2, low = 0.1, high = 0.2): Uint8Array {
  checkImage(img, 1, 'cannyEdges');
  const { width: W, height: H } = img;
  const s = gaussianBlur(img, sigma);
  const gx = new Float64Array(W * H), gy = new Float64Array(W * H), mag = new Float64Array(W * H);
  for (let y = 1; y < H - 1; ++y)
    for (let x = 1; x < W - 1; ++x) {
      const at = (dy: number, dx: number) => s[(y + dy) * W + x + dx];
      const p = y * W + x;
      gx[p] = at(-1, 1) + 2 * at(0, 1) + at(1, 1) - at(-1, -1) - 2 * at(0, -1) - at(1, -1);
      gy[p] = at(1, -1) + 2 * at(1, 0) + at(1, 1) - at(-1, -1) - 2 * at(-1, 0) - at(-1, 1);
      mag[p] = Math.hypot(gx[p], gy[p]);
    }
  // Non-maximum suppression along the gradient direction (quantised to 4 directions).
  const strong = new Uint8Array(W * H), weak = new Uint8Array(W * H);
  for (let y = 2; y < H - 2; ++y)
    for (let x = 2; x < W - 2; ++x) {
      const p = y * W + x;
      const m = mag[p];
      if (m < low) continue;
      const angle = ((Math.atan2(gy[p], gx[p]) * 180) / Math.PI + 180) % 180;
      const [dy, dx] = angle < 22.5 || angle >= 157.5 ? [0, 1] : angle < 67.5 ? [1, 1] : angle < 112.5 ? [1, 0] : [1, -1];
      if (m < mag[p + dy * W + dx] || m < mag[p - dy * W - dx]) continue;
      if (m >= high) strong[p] = 1; else weak[p] = 1;
    }
  // Hysteresis: weak pixels connected to strong ones.
  const stack: number[] = [];
  for (let p = 0; p < W * H; ++p) if (strong[p]) stack.push(p);
  while (stack.length) {
    const p = stack.pop() as number;
    const y = Math.floor(p / W), x = p % W;
    for (let dy = -1; dy <= 1; ++dy)
      for (let dx = -1; dx <= 1; ++dx) {
        const q = (y + dy) * W + x + dx;
        if (y + dy < 0 || y + dy >= H || x + dx < 0 || x + dx >= W || !weak[q]) continue;
        weak[q] = 0;
        strong[q] = 1;
        stack.push(q);
      }
  }
  return strong;
}
