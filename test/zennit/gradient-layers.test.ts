/**
 * Layers Zennit hooks no rule to propagate the plain gradient (autograd's backward): max
 * pooling sends R to the first maximum of its window, LRN applies its Jacobian transposed.
 * On a small net, LRN (across channels) -> MAX pooling 2x2/2, the relevance a Zennit walk
 * sends from the pooling's output to the input, for a random seed s, must be J^T s: checked
 * against central finite differences of s . f(x), with f the float64 reference forward pass
 * (test/helpers/reference-layers.ts), whose agreement with the engine's forward is checked too.
 */
import { Net } from '../../lib';
import { L, distinct, netSpec, randn, runReference, tensor } from '../helpers/reference-layers';

const shape = [2, 4, 6, 6];
const per = 4 * 6 * 6;
const layers = [
  L.of('LRN', 'norm', ['data'], ['norm'], { localSize: 3, alpha: 2, beta: 0.75, k: 1, normRegion: 'ACROSS_CHANNELS' }),
  L.pool('pool', 'norm', 'pool', { pool: 'MAX', kernel: [2, 2], stride: [2, 2] }),
];
const spec = netSpec(shape, layers);
// distinct values: no near-ties inside a pooling window, so the differences see one maximum
const input = distinct(shape[0] * per, 41, 0.01);
const outPer = 4 * 3 * 3;
const seeds = Array.from({ length: shape[0] }, (_, i) => Array.from(randn(outPer, 50 + i)));

function objective(x: Float64Array, image: number): number {
  const y = runReference(netSpec([1, 4, 6, 6], layers), { data: tensor([1, 4, 6, 6], x) }).get('pool');
  if (!y) throw new Error('no pool output');
  return Array.from(y.data).reduce((s, v, k) => s + v * seeds[image][k], 0);
}

describe("semantics 'zennit': layers without a rule take the plain gradient", () => {
  it('LRN (Jacobian) and MAX pooling (first maximum): relevance = J^T seed, by finite differences', async () => {
    const net = new Net(spec);
    try {
      await net.forward(input);
      const ref = runReference(spec, { data: tensor(shape, input) }).get('pool');
      const got = net.blob('pool').data;
      got.forEach((v, k) => expect(Math.abs(v - (ref as { data: ArrayLike<number> }).data[k])).toBeLessThan(1e-5));
      const heatmaps = await net.backwardRelevanceSeeded(seeds, { rule: 'zennit:Epsilon', lastlayerindex: 1 });
      const h = 1e-6;
      for (let n = 0; n < shape[0]; n++) {
        const x = Float64Array.from(input.subarray(n * per, (n + 1) * per));
        const numeric = Array.from(x, (_, i) => {
          const plus = x.slice(), minus = x.slice();
          plus[i] += h;
          minus[i] -= h;
          return (objective(plus, n) - objective(minus, n)) / (2 * h);
        });
        const scale = Math.max(...numeric.map(Math.abs));
        expect(scale).toBeGreaterThan(0.1);
        heatmaps[n].data.forEach((v, i) => expect(Math.abs(v - numeric[i])).toBeLessThan(1e-4 * scale));
      }
    } finally {
      await net.dispose();
    }
  });

  it('the Caffe rules keep their LRN rule (identity, R conserved); the Jacobian does not conserve', async () => {
    const net = new Net(spec);
    try {
      await net.forward(input);
      const zennit = await net.backwardRelevanceSeeded(seeds, { rule: 'zennit:Epsilon', lastlayerindex: 1 });
      const caffe = await net.backwardRelevanceSeeded(seeds, { rule: 'epsilon', lastlayerindex: 1 });
      const total = (a: ArrayLike<number>) => Array.from(a).reduce((s, v) => s + v, 0);
      for (let n = 0; n < shape[0]; n++) {
        const seed = total(seeds[n]);
        // identity LRN + winner-take-all: the seed lands unchanged on the maxima
        expect(Math.abs(total(caffe[n].data) - seed)).toBeLessThan(1e-4 * Math.max(1, Math.abs(seed)));
        expect(Math.abs(total(zennit[n].data) - seed)).toBeGreaterThan(1e-2 * Math.max(1, Math.abs(seed)));
      }
    } finally {
      await net.dispose();
    }
  });
});
