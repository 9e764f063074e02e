/**
 * The seeded random numbers of toolbox.train: our own generator (xoshiro128**, seeded through
 * splitmix32), NOT numpy's MT19937 sequence, so a seed here does not reproduce a toolbox run's
 * minibatches (replay those with the `indices` option instead). Same seed, same sequence, on
 * every platform: only 32-bit integer arithmetic.
 */

export class TrainRng {
  private s0: number; private s1: number; private s2: number; private s3: number;

  constructor(seed: number) {
    let x = seed >>> 0;
    const next = () => {
      // splitmix32: spreads a small seed over the 128-bit state (never all zero).
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.s0 = next(); this.s1 = next(); this.s2 = next(); this.s3 = next();
  }

  /** Uniform 32-bit unsigned integer. */
  nextU32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5) >>> 0, 7), 9) >>> 0;
    const t = (this.s1 << 9) >>> 0;
    this.s2 = (this.s2 ^ this.s0) >>> 0;
    this.s3 = (this.s3 ^ this.s1) >>> 0;
    this.s1 = (this.s1 ^ this.s2) >>> 0;
    this.s0 = (this.s0 ^ this.s3) >>> 0;
    this.s2 = (this.s2 ^ t) >>> 0;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform integer in [0, n), n <= 2^32, by masked rejection (no modulo bias). */
  below(n: number): number {
    const max = n - 1;
    let mask = max;
    mask |= mask >>> 1; mask |= mask >>> 2; mask |= mask >>> 4; mask |= mask >>> 8; mask |= mask >>> 16;
    mask >>>= 0;
    for (;;) {
      const v = (this.nextU32() & mask) >>> 0;
      if (v <= max) return v;
    }
  }

  /**
   * The toolbox's minibatch (its `randperm`): draw b - |I| indices in [0, n), merge them into
   * I without duplicates, repeat until I has b members; the batch is I in ascending order.
   */
  batch(n: number, b: number): Int32Array {
    const chosen = new Set<number>();
    while (chosen.size < b) {
      const k = b - chosen.size;
      for (let i = 0; i < k; ++i) chosen.add(this.below(n));
    }
    return Int32Array.from([...chosen].sort((p, q) => p - q));
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}
