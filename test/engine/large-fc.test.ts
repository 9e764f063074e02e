/**
 * A large fully connected layer (2 M weights) on a few vector inputs (2-D input blob),
 * against float64 references: forward, epsilon and alpha-beta relevance, gradient.
 */
import { Net } from '../../lib/net';
import type { NetSpec } from '../../lib/caffe/netspec-types';
import { rand } from '../helpers/small-nets';

const K = 2048, M = 1024, N = 3; // 2 M weights
const W = rand(M * K, 5, 0.05);
const B = rand(M, 6, 0.5);
const X = Array.from({ length: N }, (_, i) => rand(K, 10 + i).map(Math.abs)); // non-negative, as after a ReLU

function spec(): NetSpec {
  return {
    name: 'large-fc', inputs: [{ name: 'data', shape: [N, K] }],
    layers: [{ name: 'fc', type: 'InnerProduct', bottoms: ['data'], tops: ['fc'], params: { numOutput: M, biasTerm: true, axis: 1, transpose: false },
      blobs: [{ shape: [M, K], data: W }, { shape: [M], data: B }] }],
  };
}

const z = X.map((x) => Array.from({ length: M }, (_, j) => { let s = B[j]; for (let k = 0; k < K; ++k) s += W[j * K + k] * x[k]; return s; }));

function close(a: ArrayLike<number>, b: ArrayLike<number>, rel = 1e-4): void {
  let scale = 0, worst = 0;
  for (let i = 0; i < b.length; ++i) { scale = Math.max(scale, Math.abs(b[i])); worst = Math.max(worst, Math.abs(a[i] - b[i])); }
  expect(worst).toBeLessThanOrEqual(rel * scale);
}

test('forward, epsilon, alpha-beta and gradient through a large fc layer with 3 images', async () => {
  const net = new Net(spec());
  const scores = await net.forward(X);
  scores.forEach((s, i) => close(s, z[i]));
  const cls = [[3], [500], [1023]];
  const eps = await net.backwardRelevanceMulti(cls, { relpropformulatype: 0, epsstab: 0.5, lastlayerindex: 0 });
  const ab = await net.backwardRelevanceMulti(cls, { relpropformulatype: 2, alphabeta_beta: 1, lastlayerindex: 0 });
  const grad = await net.backwardRelevanceMulti(cls, { relpropformulatype: 11, lastlayerindex: 0 });
  for (let i = 0; i < N; ++i) {
    const j = cls[i][0], zj = z[i][j], x = X[i];
    const d = zj > 0 ? zj + 0.5 : zj - 0.5;
    const refEps = Array.from({ length: K }, (_, k) => (x[k] * W[j * K + k] * zj) / d);
    let zp = Math.max(B[j], 0), zn = Math.min(B[j], 0);
    for (let k = 0; k < K; ++k) { const v = x[k] * W[j * K + k]; if (v > 0) zp += v; else zn += v; }
    const refAb = Array.from({ length: K }, (_, k) => { const v = x[k] * W[j * K + k]; return v > 0 ? (2 * v * zj) / zp : v < 0 ? (-1 * v * zj) / zn : 0; });
    const refGrad = Array.from({ length: K }, (_, k) => zj * W[j * K + k]);
    close(eps[i].data, refEps);
    close(ab[i].data, refAb);
    close(grad[i].data, refGrad);
  }
  await net.dispose();
});
