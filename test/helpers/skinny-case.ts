/** The run behind test/engine/skinny-gemm.test.ts, also run in child processes. */
import { Net } from '../../lib/net';
import { loadNative } from '../../lib/native';
import { rand } from './small-nets';

export const M = 1001; // outputs: odd, not a multiple of the row groups
export const K = 1100; // inputs: not a multiple of 16 lanes; M*K > 2^20, so the kernels are used
export const BATCHES = [1, 7, 16, 17];

export interface Results { [key: string]: number[] }

/** Runs every product shape through the engine; returns the outputs by name. */
export async function runSkinnyCase(): Promise<Results> {
  const w = rand(M * K, 101, 0.05);
  const b = rand(M, 102, 0.1);
  const out: Results = {};
  for (const n of BATCHES) {
    const net = new Net({
      name: 'wide', inputs: [{ name: 'data', shape: [n, K] }],
      layers: [{ name: 'fc', type: 'InnerProduct', bottoms: ['data'], tops: ['fc'], params: { numOutput: M, biasTerm: true, axis: 1, transpose: false },
        blobs: [{ shape: [M, K], data: w }, { shape: [M], data: b }] }],
    });
    const xs = Array.from({ length: n }, (_, i) => rand(K, 200 + i, 1).map((v) => (i % 2 ? Math.abs(v) : v))); // odd images non-negative
    const seeds = Array.from({ length: n }, (_, i) => rand(M, 300 + i, 1));
    out[`forward${n}`] = (await net.forward(xs)).flatMap((s) => Array.from(s));
    for (const [name, opts] of [
      ['gradient', { relpropformulatype: 11 }],
      ['epsilon', { relpropformulatype: 0, epsstab: 1 }],
      ['alphabeta', { relpropformulatype: 2, alphabeta_beta: 1 }],
    ] as const) {
      const maps = await net.backwardRelevanceSeeded(seeds, { ...opts, lastlayerindex: 0 });
      out[`${name}${n}`] = maps.flatMap((h) => Array.from(h.data));
    }
    // all inputs non-negative (after a ReLU): alpha-beta's W+ / W- products from W directly
    await net.forward(xs.map((x) => x.map(Math.abs)));
    const maps = await net.backwardRelevanceSeeded(seeds, { relpropformulatype: 2, alphabeta_beta: 1, lastlayerindex: 0 });
    out[`alphabetaNonNegative${n}`] = maps.flatMap((h) => Array.from(h.data));
    await net.dispose();
  }
  return out;
}


/** For a child process: the kernels in use and the results, as JSON on stdout. */
export async function printResults(): Promise<void> {
  const results = await runSkinnyCase();
  process.stdout.write(JSON.stringify({ kernels: loadNative().blasInfo().skinnyKernels, results }));
}
