/**
 * Heatmaps as pictures: a relevance map coloured with one of the demonstrator's colour maps
 * (colormaps.ts) as PNG or raw RGB bytes, and blended over the image the net saw. The
 * demonstrator's `_heatmap.png` files are made here too (16-bit, as the original's).
 */
import sharp from 'sharp';
import { CaffeLrpError } from '../errors';
import type { Heatmap } from '../heatmap';
import { showValue } from '../relevance/show-value';
import { colorize, COLORMAP_NAMES, type ColormapName } from './colormaps';

export interface RenderOptions {
  /** Colour map by name (default 'blue-black-yellow', the original demonstrator's). */
  colormap?: ColormapName;
  /** 'png' (default): an RGB PNG file's bytes; 'raw': height x width x 3 interleaved values. */
  format?: 'png' | 'raw';
  /**
   * Bits per value: 8 (default) or 16 (what the demonstrator writes). Raw 16-bit values are
   * in the machine's byte order (a Uint16Array's bytes).
   */
  depth?: 8 | 16;
  /** Output size in pixels (nearest-neighbour, so every pixel keeps a colour of the map); default the heatmap's. */
  size?: number | { width: number; height: number };
  /** zlib level of the PNG, 0-9 (default 6). */
  compressionLevel?: number;
}

export interface OverlayOptions {
  colormap?: ColormapName;
  /** Weight of the heatmap's colour, 0..1 (default 0.5): out = (1 - opacity) * image + opacity * colour. */
  opacity?: number;
}

/** 8-bit pixels of an image: height x width x channels interleaved (channels 1, 3 or 4; alpha is ignored). */
export interface Rgb8Image {
  data: Uint8Array;
  width: number;
  height: number;
  channels: number;
}

function fail(message: string): never {
  throw new CaffeLrpError('OPTION', message);
}

function checkHeatmap(hm: Heatmap, what: string): void {
  if (!hm || typeof hm !== 'object' || !(hm.data instanceof Float32Array)) fail(`${what}: the heatmap must be { channels, height, width, data: Float32Array }`);
  const { channels, height, width, data } = hm;
  for (const [k, v] of [['channels', channels], ['height', height], ['width', width]] as const)
    if (!Number.isInteger(v) || v < 1) fail(`${what}: heatmap ${k} must be a positive integer, got ${String(v)}`);
  if (data.length !== channels * height * width)
    throw new CaffeLrpError('SHAPE', `${what}: heatmap data has ${data.length} values, expected ${channels}x${height}x${width}`);
}

function colormapOf(name: unknown, what: string): ColormapName {
  if (name === undefined) return 'blue-black-yellow';
  if (!(COLORMAP_NAMES as readonly unknown[]).includes(name)) fail(`${what}: option 'colormap' must be one of ${COLORMAP_NAMES.join(', ')}, got ${showValue(name)}`);
  return name as ColormapName;
}

function sizeOf(size: RenderOptions['size'], hm: Heatmap): { width: number; height: number } {
  if (size === undefined) return { width: hm.width, height: hm.height };
  const s = typeof size === 'number' ? { width: size, height: size } : size;
  const ok = (v: unknown) => typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= 16384;
  if (!s || typeof s !== 'object' || !ok(s.width) || !ok(s.height))
    fail(`renderHeatmap: option 'size' must be an integer or { width, height } from 1 to 16384, got ${showValue(size)}`);
  if (s.width * s.height > MAX_PIXELS) fail(`renderHeatmap: option 'size' ${s.width}x${s.height} is more than ${MAX_PIXELS} pixels`);
  return s;
}

/** Largest picture renderHeatmap makes (2^26 pixels: 384 MB of 16-bit RGB). */
const MAX_PIXELS = 1 << 26;

/** Nearest-neighbour resampling of interleaved 3-channel values (pixel centres mapped onto pixel centres). */
function nearest<T extends Uint8Array | Uint16Array>(src: T, w: number, h: number, tw: number, th: number): T {
  if (tw === w && th === h) return src;
  const out = (src instanceof Uint16Array ? new Uint16Array(tw * th * 3) : new Uint8Array(tw * th * 3)) as T;
  for (let y = 0; y < th; y++) {
    const sy = Math.min(h - 1, Math.floor(((y + 0.5) * h) / th));
    for (let x = 0; x < tw; x++) {
      const sx = Math.min(w - 1, Math.floor(((x + 0.5) * w) / tw));
      const s = 3 * (sy * w + sx);
      const d = 3 * (y * tw + x);
      out[d] = src[s];
      out[d + 1] = src[s + 1];
      out[d + 2] = src[s + 2];
    }
  }
  return out;
}

/**
 * A colour in [0, 1] to an n-bit value by truncation (x · max cut to an integer) after
 * clamping: what the original's 16-bit PNGs show (contract §2), and the LRP Toolbox's
 * `astype(uint8)` for 8 bits.
 */
function quantise(rgb: Float64Array, max: number, out: Uint8Array | Uint16Array): void {
  for (let i = 0; i < rgb.length; i++) {
    const x = rgb[i];
    out[i] = x >= 1 ? max : x > 0 ? Math.floor(x * max) : 0;
  }
}

/** The demonstrator's heatmap colours as 16-bit values, height x width x 3. */
export function heatmapPixels16(hm: Heatmap, colormap: ColormapName = 'blue-black-yellow'): Uint16Array {
  const rgb = colorize(hm, colormap);
  const out = new Uint16Array(rgb.length);
  quantise(rgb, 65535, out);
  return out;
}

/**
 * A heatmap as a picture: the mean over channels per pixel (as the original demonstrator),
 * coloured by `colormap`. Default: an 8-bit RGB PNG at the heatmap's size.
 */
export async function renderHeatmap(heatmap: Heatmap, options: RenderOptions = {}): Promise<Buffer> {
  checkHeatmap(heatmap, 'renderHeatmap');
  const o = options ?? {};
  const colormap = colormapOf(o.colormap, 'renderHeatmap');
  const format = o.format ?? 'png';
  if (format !== 'png' && format !== 'raw') fail(`renderHeatmap: option 'format' must be 'png' or 'raw', got ${showValue(format)}`);
  const depth = o.depth ?? 8;
  if (depth !== 8 && depth !== 16) fail(`renderHeatmap: option 'depth' must be 8 or 16, got ${showValue(depth)}`);
  const level = o.compressionLevel ?? 6;
  if (!Number.isInteger(level) || level < 0 || level > 9) fail(`renderHeatmap: option 'compressionLevel' must be an integer from 0 to 9, got ${showValue(level)}`);
  const { width, height } = sizeOf(o.size, heatmap);
  // Colours at the heatmap's size, quantised, then replicated (memory: the output only).
  const rgb = colorize(heatmap, colormap);
  const small = depth === 16 ? new Uint16Array(rgb.length) : new Uint8Array(rgb.length);
  quantise(rgb, depth === 16 ? 65535 : 255, small);
  const px = nearest(small, heatmap.width, heatmap.height, width, height);
  const bytes = Buffer.from(px.buffer, px.byteOffset, px.byteLength);
  if (format === 'raw') return bytes;
  const img = sharp(depth === 16 ? px : bytes, { raw: { width, height, channels: 3 } });
  return (depth === 16 ? img.toColourspace('rgb16') : img).png({ compressionLevel: level }).toBuffer();
}

function checkImage(img: Rgb8Image, what: string): void {
  if (!img || typeof img !== 'object' || !(img.data instanceof Uint8Array))
    fail(`${what}: the image must be { data: Uint8Array, width, height, channels } (e.g. explainImage's asInputted)`);
  const { width, height, channels, data } = img;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) fail(`${what}: image width and height must be positive integers, got ${String(width)}x${String(height)}`);
  if (channels !== 1 && channels !== 3 && channels !== 4) fail(`${what}: image channels must be 1, 3 or 4, got ${String(channels)}`);
  if (data.length !== width * height * channels)
    throw new CaffeLrpError('SHAPE', `${what}: image data has ${data.length} values, expected ${width}x${height}x${channels}`);
}

/**
 * The heatmap's colours blended over an image (normally the `asInputted` image of
 * explainImage: the crop the net saw) as an 8-bit RGB PNG at the image's size; a heatmap of
 * another size is scaled to it (nearest neighbour).
 */
export async function overlayHeatmap(heatmap: Heatmap, image: Rgb8Image, options: OverlayOptions = {}): Promise<Buffer> {
  checkHeatmap(heatmap, 'overlayHeatmap');
  checkImage(image, 'overlayHeatmap');
  const o = options ?? {};
  const colormap = colormapOf(o.colormap, 'overlayHeatmap');
  const a = o.opacity ?? 0.5;
  if (typeof a !== 'number' || !(a >= 0 && a <= 1)) fail(`overlayHeatmap: option 'opacity' must be a number from 0 to 1, got ${String(a)}`);
  const { width, height, channels, data } = image;
  // 16-bit colours (the demonstrator's) scaled to the image: < 1/65535 from the exact colour.
  const rgb = nearest(heatmapPixels16(heatmap, colormap), heatmap.width, heatmap.height, width, height);
  const out = Buffer.alloc(width * height * 3);
  const scale = (a * 255) / 65535;
  for (let p = 0; p < width * height; p++) {
    for (let c = 0; c < 3; c++) {
      const v = data[p * channels + (channels === 1 ? 0 : c)];
      out[3 * p + c] = Math.round((1 - a) * v + scale * rgb[3 * p + c]);
    }
  }
  return sharp(out, { raw: { width, height, channels: 3 } }).png().toBuffer();
}

/** 8-bit RGB pixels (height x width x 3) as a PNG. */
export async function encodeRgbPng(rgb: Uint8Array, width: number, height: number, compressionLevel = 6): Promise<Buffer> {
  if (rgb.length !== width * height * 3) {
    throw new CaffeLrpError('SHAPE', `image has ${rgb.length} values, expected ${width}x${height}x3`);
  }
  const px = Buffer.from(rgb.buffer, rgb.byteOffset, rgb.byteLength);
  return sharp(px, { raw: { width, height, channels: 3 } }).png({ compressionLevel }).toBuffer();
}
