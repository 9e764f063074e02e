/**
 * The load-time weight check (native AllFinite: a vectorised, multi-threaded test of the
 * exponent bits) on a weight blob large enough for the threaded path, with every kind of
 * non-finite value at the positions a split into chunks or vectors could miss, and the
 * extreme finite values that must pass.
 */
import { Net } from '../../lib/net';
import type { NetSpec } from '../../lib/caffe';

const IN = 1000;
const OUT = 600; // 600k weights: well past the engine's parallel grain

function fcNet(weights: Float32Array): NetSpec {
  return {
    name: 'fc-check',
    inputs: [{ name: 'data', shape: [1, IN] }],
    layers: [
      { name: 'fc', type: 'InnerProduct', bottoms: ['data'], tops: ['fc'], blobs: [{ shape: [OUT, IN], data: weights }],
        params: { numOutput: OUT, biasTerm: false, axis: 1, transpose: false } },
    ],
  } as NetSpec;
}

function withBits(at: number, bits: number): Float32Array {
  const w = new Float32Array(OUT * IN).fill(0.25);
  new Uint32Array(w.buffer)[at] = bits;
  return w;
}

const N = OUT * IN;
const nonFinite: [string, number][] = [
  ['+Inf', 0x7f800000], ['-Inf', 0xff800000], ['quiet NaN', 0x7fc00000], ['negative NaN', 0xffc00000],
  ['signalling NaN', 0x7f800001], ['NaN with all mantissa bits', 0x7fffffff],
];
const positions = [0, 1, 7, 8, 15, 16, 31, N / 2 - 1, N / 2, N - 17, N - 2, N - 1];

test.each(nonFinite)('%s is found wherever it sits in a large weight blob', (_, bits) => {
  for (const at of positions) {
    expect(() => new Net(fcNet(withBits(at, bits)))).toThrow(expect.objectContaining({ code: 'NONFINITE', layer: 'fc' }));
  }
});

test('the largest finite values, denormals and signed zeros pass', async () => {
  const w = new Float32Array(N).fill(0.25);
  const bits = new Uint32Array(w.buffer);
  const finite = [0x7f7fffff, 0xff7fffff, 0x00000001, 0x807fffff, 0x80000000, 0x00000000];
  finite.forEach((b, i) => {
    bits[positions[i]] = b;
    bits[positions[positions.length - 1 - i]] = b;
  });
  const net = new Net(fcNet(w));
  expect(net.nonFiniteWeights()).toEqual([]);
  await net.dispose();
});
