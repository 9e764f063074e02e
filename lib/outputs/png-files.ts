/**
 * The demonstrator's picture outputs (behaviour spec §5.12, contract §2): `_heatmap.png`
 * (16-bit RGB, through renderHeatmap) and `_as_inputted_into_the_dnn.png` (8-bit RGB),
 * written atomically.
 */
import type { Heatmap } from '../heatmap';
import type { ColormapName } from '../image/colormaps';
import { encodeRgbPng, renderHeatmap } from '../image/render';
import { writeFileAtomic } from './atomic-write';

/**
 * zlib level of the PNGs: fast deflate. Batches write thousands of files, the original asked
 * ImageMagick for no compression at all, and level 1 is several times faster than the
 * default 6 for files about a fifth larger.
 */
const PNG_COMPRESSION = 1;

/** `_heatmap.png`: 16-bit RGB, as the original writes it. */
export async function writeHeatmapPng(file: string, hm: Heatmap, colormap: ColormapName = 'blue-black-yellow'): Promise<void> {
  await writeFileAtomic(file, await renderHeatmap(hm, { colormap, depth: 16, compressionLevel: PNG_COMPRESSION }));
}

/**
 * `_as_inputted_into_the_dnn.png`: the crop fed to the net, 8-bit RGB (the original's file is
 * 8-bit: its values are n/255). `rgb` is height×width×3 interleaved, as preprocessImage
 * returns it.
 */
export async function writeAsInputtedPng(file: string, rgb: Uint8Array, width: number, height: number): Promise<void> {
  await writeFileAtomic(file, await encodeRgbPng(rgb, width, height, PNG_COMPRESSION));
}
