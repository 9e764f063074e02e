/**
 * The two ImageMagick facts the original's resize depends on (behaviour spec §5.7, §9).
 */
import type { Metadata } from 'sharp';

/**
 * ImageMagick's resize geometry as the original asks for it: the box is
 * `round(w·r) × round(h·r)` with `r = base / max(w, h)`, and ImageMagick, preserving the aspect
 * ratio, fits the image inside that box: with `r2 = min(round(w·r)/w, round(h·r)/h)` the size
 * is `round(w·r2) × round(h·r2)`. So 640×426 at 256 gives 255×170, not 256×170
 * (vectors/preprocess/README.md). Rounding is ImageMagick's floor(x + 0.5).
 */
export function imageMagickGeometry(w: number, h: number, base: number): { width: number; height: number } {
  const r = base / Math.max(w, h);
  const bw = Math.max(1, Math.floor(w * r + 0.5));
  const bh = Math.max(1, Math.floor(h * r + 0.5));
  const r2 = Math.min(bw / w, bh / h);
  return { width: Math.max(1, Math.floor(w * r2 + 0.5)), height: Math.max(1, Math.floor(h * r2 + 0.5)) };
}

export type ResizeFilter = 'lanczos3' | 'mitchell';

/**
 * The filter ImageMagick 6 picks when none is set (the original sets none): Lanczos, except
 * Mitchell for images with alpha, colour-mapped ("PseudoClass") images, and enlargements.
 * ImageMagick's PNG and JPEG readers put palette images and 8-bit grey images into a colour
 * map; 16-bit grey PNGs, grey TIFFs and lossless grey WebPs are read as direct colour.
 * Checked against ImageMagick 6.9.11 Q16 (the original's build): with this choice sharp lands
 * within about 0.1 grey levels MAD of ImageMagick's resized image for every such case we
 * tried, against 0.6–3 grey levels with the other filter. (Palette TIFFs, which sharp does
 * not report as palette images, get Lanczos here; ImageMagick would use Mitchell.)
 */
export function chooseFilter(meta: Pick<Metadata, 'format' | 'space' | 'isPalette' | 'depth' | 'channels'>, hasAlpha: boolean, w: number, h: number, tw: number, th: number): ResizeFilter {
  if (hasAlpha) return 'mitchell';
  if ((tw / w) * (th / h) > 1) return 'mitchell';
  if (meta.isPalette === true || meta.format === 'gif') return 'mitchell';
  const grey = meta.space === 'b-w' || meta.space === 'grey16' || meta.channels === 1;
  const eightBit = meta.depth === undefined || meta.depth === 'uchar' || meta.depth === 'char';
  if (grey && eightBit && (meta.format === 'png' || meta.format === 'jpeg')) return 'mitchell';
  return 'lanczos3';
}
