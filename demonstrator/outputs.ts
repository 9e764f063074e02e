/**
 * The demonstrator's output files (behaviour spec §5.11–5.12, contract §2):
 * `_rawhm.txt`, the top-ten scores, `_heatmap.png` (16-bit RGB) and
 * `_as_inputted_into_the_dnn.png` (8-bit RGB). Every file is written to a temporary name in
 * its directory and renamed into place, so a reader never sees a half-written file; missing
 * directories are created.
 */
import { promises as fsp } from 'fs';
import * as path from 'path';
import sharp from 'sharp';
import { CaffeLrpError } from '../lib/errors';
import { loadNative } from '../lib/native';
import { Heatmap } from '../lib/heatmap';
import { colorize, ColormapName } from './colormaps';
import { formatFloatLikeCpp } from './cpp-float';
import { rankClasses } from './ranking';

export { formatFloatLikeCpp } from './cpp-float';

/**
 * The rawhm text (§5.11): the channel count, `H W`, then for each channel (in the heatmap's
 * order: a net-input heatmap with channelOrder 'RGB' already holds the reversed blob
 * channels, R first, as the original writes) each row as values each followed by one space.
 * The original knows only 3-channel inputs; for a 1-channel net the same layout with `1` and
 * one block of rows is written (a reader of the format takes the count from line 1).
 */
export function formatRawhm(hm: Heatmap): string {
  const { channels, height, width, data } = hm;
  if (data.length !== channels * height * width) {
    throw new CaffeLrpError('SHAPE', `heatmap data has ${data.length} values, expected ${channels}x${height}x${width}`);
  }
  // NaN sign bits are only visible in the float32 bits; glibc prints a negative NaN as -nan.
  const bits = new Uint32Array(data.buffer, data.byteOffset, data.length);
  const lines: string[] = [String(channels), `${height} ${width}`];
  for (let c = 0; c < channels; c++) {
    for (let y = 0; y < height; y++) {
      let line = '';
      const off = (c * height + y) * width;
      for (let x = 0; x < width; x++) {
        const v = data[off + x];
        line += formatFloatLikeCpp(v, v !== v && bits[off + x] >>> 31 === 1) + ' ';
      }
      lines.push(line);
    }
  }
  return lines.join('\n') + '\n';
}

/**
 * Top-ten scores (§5.11): min(10, numclasses) lines `<class> <score>`, best first (ties: higher
 * class index first, as the original's files show), scores printed like C++.
 */
export function formatTopScores(scores: ArrayLike<number>, count = 10): string {
  return rankClasses(scores)
    .slice(0, Math.min(count, scores.length))
    .map((i) => `${i} ${formatFloatLikeCpp(scores[i])}\n`)
    .join('');
}

/**
 * Writes `_rawhm.txt`. The text comes from the native engine (the C library's %g, which is
 * what the original's C++ streams used, formatted off the main thread); formatRawhm above is
 * the same format in TypeScript, kept as the specification the native output is tested against.
 */
export async function writeRawhm(file: string, hm: Heatmap): Promise<void> {
  const { channels, height, width, data } = hm;
  if (data.length !== channels * height * width)
    throw new CaffeLrpError('SHAPE', `heatmap data has ${data.length} values, expected ${channels}x${height}x${width}`);
  await writeFileAtomic(file, await loadNative().formatRawhm(data, channels, height, width));
}

export async function writeTopScores(file: string, scores: ArrayLike<number>): Promise<void> {
  await writeFileAtomic(file, formatTopScores(scores));
}

/**
 * Heatmap colours as 16-bit values. The original converts each colour in [0,1] to its 16-bit
 * quantum by truncation (x·65535 cut to an integer), which its PNGs show; we do the same
 * after clamping (contract §2).
 */
export function heatmapPixels16(hm: Heatmap, colormap: ColormapName = 'blue-black-yellow'): Uint16Array {
  const rgb = colorize(hm, colormap);
  const out = new Uint16Array(rgb.length);
  for (let i = 0; i < rgb.length; i++) {
    const x = rgb[i];
    out[i] = x >= 1 ? 65535 : x > 0 ? Math.floor(x * 65535) : 0;
  }
  return out;
}

/**
 * zlib level of the PNGs: fast deflate. Batches write thousands of files, the original asked
 * ImageMagick for no compression at all, and level 1 is several times faster than the
 * default 6 for files about a fifth larger.
 */
const PNG_COMPRESSION = 1;

/** `_heatmap.png`: 16-bit RGB, as the original writes it. */
export async function writeHeatmapPng(file: string, hm: Heatmap, colormap: ColormapName = 'blue-black-yellow'): Promise<void> {
  const px = heatmapPixels16(hm, colormap);
  const png = await sharp(px, { raw: { width: hm.width, height: hm.height, channels: 3 } })
    .toColourspace('rgb16')
    .png({ compressionLevel: PNG_COMPRESSION })
    .toBuffer();
  await writeFileAtomic(file, png);
}

/**
 * `_as_inputted_into_the_dnn.png`: the crop fed to the net, 8-bit RGB (the original's file is
 * 8-bit: its values are n/255). `rgb` is height×width×3 interleaved, as preprocessImage
 * returns it.
 */
export async function writeAsInputtedPng(file: string, rgb: Uint8Array, width: number, height: number): Promise<void> {
  if (rgb.length !== width * height * 3) {
    throw new CaffeLrpError('SHAPE', `as-inputted image has ${rgb.length} values, expected ${width}x${height}x3`);
  }
  const px = Buffer.from(rgb.buffer, rgb.byteOffset, rgb.byteLength);
  const png = await sharp(px, { raw: { width, height, channels: 3 } }).png({ compressionLevel: PNG_COMPRESSION }).toBuffer();
  await writeFileAtomic(file, png);
}

let tmpCounter = 0;

/**
 * Writes to `<dir>/.<name>.<pid>.<n>.tmp` and renames onto `file` (atomic on one file system);
 * creates the directory first. On failure the temporary file is removed and an IO error
 * naming the file is thrown.
 */
export async function writeFileAtomic(file: string, content: string | Uint8Array): Promise<void> {
  const dir = path.dirname(file);
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${++tmpCounter}.tmp`);
  try {
    await fsp.mkdir(dir, { recursive: true });
    await fsp.writeFile(tmp, content);
    await fsp.rename(tmp, file);
  } catch (e) {
    await fsp.rm(tmp, { force: true }).catch(() => undefined);
    throw new CaffeLrpError('IO', `cannot write the output file: ${(e as Error).message}`, { file });
  }
}
