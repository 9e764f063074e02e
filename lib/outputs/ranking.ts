/**
 * Class ranking of the original demonstrator's score files (behaviour spec §5.4, §5.10).
 * The original sorts (score, index) pairs ascending with std::sort and reads from the end; for ten classes (insertion sort, stable) equal scores therefore come out
 * highest index first, as its `_top10scores.txt` files show (`9 0`, `7 0`, `5 0`). We use that
 * order for every class count (std::sort's tie order for more classes is unspecified).
 * NaN scores rank last.
 */

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
