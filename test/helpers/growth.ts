/**
 * Checks that work grows linearly with input size without asserting absolute times (speed
 * belongs to `npm run bench`; a busy shared machine makes absolute limits flaky). The input
 * is made at size n and at size k·n; the best of a few runs of each is compared. Linear work
 * gives a ratio near k, quadratic near k², so the bound sits well between them (default k = 8,
 * bound 24 against 64 for quadratic) and holds however loaded the machine is, because load
 * slows both sizes alike and the best of several runs drops the outliers.
 */
export interface GrowthResult {
  smallMs: number;
  largeMs: number;
  ratio: number;
}

function bestOf(runs: number, fn: () => void): number {
  let best = Infinity;
  for (let i = 0; i < runs; i++) {
    const start = process.hrtime.bigint();
    fn();
    best = Math.min(best, Number(process.hrtime.bigint() - start) / 1e6);
  }
  return best;
}

/**
 * Measures `run(make(n))` and `run(make(k*n))`. `make` builds the input outside the timed
 * part. The small size should take at least a few milliseconds so timer resolution does not
 * dominate its time.
 */
export function measureGrowth<T>(make: (n: number) => T, run: (input: T) => void, n: number, k = 8, runs = 3): GrowthResult {
  const small = make(n);
  const large = make(k * n);
  run(small); // warm up the JIT on the small input
  const smallMs = Math.max(bestOf(runs, () => run(small)), 0.05);
  const largeMs = bestOf(runs, () => run(large));
  return { smallMs, largeMs, ratio: largeMs / smallMs };
}

/** Fails when the time for k·n is more than `bound` times the time for n (linear: ≈ k). */
export function expectLinearGrowth<T>(
  what: string,
  make: (n: number) => T,
  run: (input: T) => void,
  n: number,
  { k = 8, bound = 3 * k, runs = 3 }: { k?: number; bound?: number; runs?: number } = {},
): GrowthResult {
  const r = measureGrowth(make, run, n, k, runs);
  if (!(r.ratio <= bound)) {
    throw new Error(
      `${what}: ${k}x the input took ${r.ratio.toFixed(1)}x the time (${r.smallMs.toFixed(1)} ms -> ${r.largeMs.toFixed(1)} ms); ` +
        `linear work gives about ${k}x, the bound is ${bound}x`,
    );
  }
  return r;
}
