/**
 * The original demonstrator's text outputs (behaviour spec §5.11, contract §2): `_rawhm.txt`
 * (the relevance values) and the top-ten scores file (`_toptenscores.txt`; the original named
 * it `_top10scores.txt`). Written atomically (atomic-write.ts).
 */
import { CaffeLrpError } from '../errors';
import { loadNative } from '../native';
import type { Heatmap } from '../heatmap';
import { writeFileAtomic } from './atomic-write';
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
