/**
 * The fully connected layers' own vector kernels (native/engine/skinny_gemm.*): forward,
 * gradient, epsilon and alpha-beta through a wide InnerProduct layer, against float64
 * computations here, at batch sizes around the kernels' register tiles and past their limit
 * (16 images: sgemm takes over), with sizes that leave partial vectors and row groups. Child
 * processes repeat the run with the AVX2 kernels and with none (sgemm only): every path must
 * give the same numbers.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { loadNative } from '../../lib/native';
import { BATCHES, K, M, Results, runSkinnyCase } from '../helpers/skinny-case';
import { rand } from '../helpers/small-nets';

function reference(): Results {
  const out: Results = {};
  for (const n of BATCHES) {
    const xs = Array.from({ length: n }, (_, i) => rand(K, 200 + i, 1).map((v) => (i % 2 ? Math.abs(v) : v)));
    Object.assign(out, referenceFor(n, xs, ''));
    // (the non-negative case at two sizes only: the own kernels' path and sgemm's)
    if (n === 7 || n === 17) Object.assign(out, referenceFor(n, xs.map((x) => x.map(Math.abs)), 'NonNegative'));
  }
  return out;
}

// Both sets of inputs use the same weights: generated once.
const weights = rand(M * K, 101, 0.05);
const biases = rand(M, 102, 0.1);

function referenceFor(n: number, xs: Float32Array[], suffix: string): Results {
  const w = weights, b = biases;
  const seeds = Array.from({ length: n }, (_, i) => rand(M, 300 + i, 1));
  const fwd: number[] = [], grad: number[] = [], eps: number[] = [], ab: number[] = [];
  xs.forEach((x, img) => {
    const z = new Float64Array(M), zp = new Float64Array(M), zn = new Float64Array(M);
    for (let j = 0; j < M; ++j) {
      let s = 0, sp = Math.max(b[j], 0), sn = Math.min(b[j], 0);
      const row = j * K;
      for (let i = 0; i < K; ++i) { const c = w[row + i] * x[i]; s += c; if (c > 0) sp += c; else sn += c; }
      z[j] = s + b[j]; zp[j] = sp; zn[j] = sn;
    }
    fwd.push(...z);
    const g = new Float64Array(K), e = new Float64Array(K), a = new Float64Array(K);
    for (let j = 0; j < M; ++j) {
      const r = seeds[img][j];
      const q = r / (z[j] + (z[j] >= 0 ? 1 : -1));
      // alpha-beta (beta 1): 2 c R / Z+ for c > 0, -c R / Z- for c < 0
      const pos = zp[j] > 0 ? (2 * r) / zp[j] : 0;
      const neg = zn[j] < 0 ? -r / zn[j] : 0;
      const row = j * K;
      for (let i = 0; i < K; ++i) {
        const wji = w[row + i];
        const c = x[i] * wji;
        g[i] += wji * r;
        e[i] += c * q;
        a[i] += c * (c > 0 ? pos : neg);
      }
    }
    grad.push(...g); eps.push(...e); ab.push(...a);
  });
  if (suffix !== '') return { [`alphabeta${suffix}${n}`]: ab };
  return { [`forward${n}`]: fwd, [`gradient${n}`]: grad, [`epsilon${n}`]: eps, [`alphabeta${n}`]: ab };
}

function expectClose(got: number[], want: number[], rel: number, what: string): void {
  expect(got.length).toBe(want.length);
  let scale = 0, worst = 0;
  for (let i = 0; i < want.length; ++i) scale = Math.max(scale, Math.abs(want[i]));
  for (let i = 0; i < want.length; ++i) worst = Math.max(worst, Math.abs(got[i] - want[i]));
  if (!(worst <= rel * scale)) throw new Error(`${what}: worst difference ${worst} > ${rel} x ${scale}`);
}

test('wide InnerProduct products match float64 at batch 1, 7, 16 and 17', async () => {
  const got = await runSkinnyCase();
  const want = reference();
  for (const key of Object.keys(want)) expectClose(got[key], want[key], 2e-5, key);
});

test('the AVX2 kernels and plain sgemm give the same numbers as the default kernels', async () => {
  const here = await runSkinnyCase();
  const kernels = loadNative().blasInfo().skinnyKernels;
  // The child runs the compiled helper (dist/, built by `npm test`'s setup step).
  const compiled = path.resolve(__dirname, '..', '..', 'dist', 'test', 'helpers', 'skinny-case.js');
  if (!fs.existsSync(compiled)) throw new Error(`${compiled} is missing: run 'npm run build' first`);
  const script = `require(${JSON.stringify(compiled)}).printResults()`;
  for (const simd of ['avx2', 'none']) {
    const json = execFileSync(process.execPath, ['-e', script], {
      env: { ...process.env, CAFFE_LRP_SIMD: simd },
      encoding: 'utf8',
      maxBuffer: 1 << 28,
    });
    const { kernels: used, results } = JSON.parse(json) as { kernels: string; results: Results };
    expect(used).toBe(simd === 'avx2' && kernels === 'none' ? 'none' : simd);
    for (const key of Object.keys(here)) expectClose(results[key], here[key], 2e-5, `${simd}: ${key}`);
  }
}, 60000);
