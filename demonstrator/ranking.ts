/**
 * Class ranking and class choice from the scores of the first output blob (behaviour spec
 * §5.4, §5.10). The original sorts (score, index) pairs ascending with std::sort and reads
 * from the end; for ten classes (insertion sort, stable) equal scores therefore come out
 * highest index first, as its `_top10scores.txt` files show (`9 0`, `7 0`, `5 0`). We use that
 * order for every class count (std::sort's tie order for more classes is unspecified).
 * NaN scores rank last.
 */
import { CaffeLrpError } from '../lib/errors';
import type { ClassRequest } from './filelist';

/** Class indices, best first. */
export function rankClasses(scores: ArrayLike<number>): number[] {
  const idx = Array.from({ length: scores.length }, (_, i) => i);
  const key = (i: number) => (Number.isNaN(scores[i]) ? -Infinity : scores[i]);
  return idx.sort((a, b) => {
    const d = key(b) - key(a);
    if (d !== 0 && !Number.isNaN(d)) return d;
    if (Number.isNaN(scores[a]) !== Number.isNaN(scores[b])) return Number.isNaN(scores[a]) ? 1 : -1;
    return b - a;
  });
}

/**
 * The classes to explain for one image: top-1, top-k (the file list's −2 means top-5,
 * min(5, numclasses)), or one explicit class, which must exist (contract §1: a clear error,
 * where the original wrote past the blob).
 */
export function chooseClasses(request: ClassRequest, scores: ArrayLike<number>): number[] {
  if (request.kind === 'class') {
    if (request.index >= scores.length) {
      throw new CaffeLrpError('OPTION', `class index ${request.index} is out of range: the net has ${scores.length} classes (0..${scores.length - 1})`);
    }
    return [request.index];
  }
  return rankClasses(scores).slice(0, Math.min(request.k, scores.length));
}
