/**
 * Misuse of the public API and numbers that are not finite: every case is a CaffeLrpError
 * with a code and a message naming the thing, never a TypeError/RangeError from inside,
 * and never a silently NaN result.
 */
import { thrownCaffeLrpError } from '../helpers/expect-error';
import { Net } from '../../lib/net';
import { CaffeLrpError } from '../../lib/errors';
import type { NetSpec } from '../../lib/caffe/netspec-types';
import { smallNet } from '../helpers/small-nets';
import { rand } from '../helpers/small-nets';


const fc = (w: number[], b: number[]): NetSpec => ({
  name: 'fc',
  inputs: [{ name: 'x', shape: [1, 2] }],
  layers: [
    { name: 'fc1', type: 'InnerProduct', bottoms: ['x'], tops: ['h'], params: { numOutput: 2, biasTerm: true, axis: 1, transpose: false }, blobs: [{ shape: [2, 2], data: Float32Array.from(w) }, { shape: [2], data: Float32Array.from(b) }] },
    { name: 'relu', type: 'ReLU', bottoms: ['h'], tops: ['h'], params: { negativeSlope: 0 }, blobs: [] },
    { name: 'fc2', type: 'InnerProduct', bottoms: ['h'], tops: ['y'], params: { numOutput: 2, biasTerm: false, axis: 1, transpose: false }, blobs: [{ shape: [2, 2], data: Float32Array.of(3e38, 3e38, 1, 1) }] },
  ],
});

describe('new Net(spec) with a malformed spec', () => {
  test.each<[string, unknown, RegExp]>([
    ['no spec', undefined, /spec must be a NetSpec object .* got undefined/],
    ['a number', 5, /got number/],
    ['{}', {}, /spec\.inputs must be an array, got undefined/],
    ['layers: 5', { inputs: [], layers: 5 }, /spec\.layers must be an array, got number/],
    ['a layer that is not an object', { inputs: [{ name: 'x', shape: [1, 2] }], layers: [null] }, /spec\.layers\[0\] must be an object, got null/],
    ['a layer without a type', { inputs: [{ name: 'x', shape: [1, 2] }], layers: [{ name: 'a' }] }, /spec\.layers\[0\] needs a string name and type/],
    ['bottoms not an array', { inputs: [{ name: 'x', shape: [1, 2] }], layers: [{ name: 'a', type: 'ReLU', bottoms: 'x' }] }, /layer 'a': bottoms must be an array, got string/],
  ])('%s', (_name, spec, message) => {
    const e = thrownCaffeLrpError(() => new Net(spec as NetSpec));
    expect(e.code).toBe('OPTION');
    expect(e.message).toMatch(message);
  });

  test('inputs but no layers: a SHAPE error at construction, not a TypeError at forward', () => {
    expect(thrownCaffeLrpError(() => new Net({ name: 'n', inputs: [{ name: 'x', shape: [1, 2] }], layers: [] }))).toMatchObject({ code: 'SHAPE', message: expect.stringMatching(/no layers/) });
  });

  test('two inputs: refused when the net is built, naming them', () => {
    const spec: NetSpec = {
      name: 'two',
      inputs: [{ name: 'a', shape: [1, 2] }, { name: 'b', shape: [1, 2] }],
      layers: [{ name: 'sum', type: 'Eltwise', bottoms: ['a', 'b'], tops: ['y'], params: { operation: 'SUM', coeff: [] }, blobs: [] }],
    };
    expect(thrownCaffeLrpError(() => new Net(spec))).toMatchObject({ code: 'UNSUPPORTED', message: expect.stringMatching(/2 inputs \(a, b\)/) });
  });
});

describe('non-finite numbers', () => {
  test('NaN/Inf weights are an error naming the layers, unless allowed (then reported)', async () => {
    const spec = smallNet(1, true);
    spec.layers[3].blobs[0].data[5] = NaN;
    spec.layers[5].blobs[1].data[0] = Infinity;
    const e = thrownCaffeLrpError(() => new Net(spec));
    expect(e).toMatchObject({ code: 'NONFINITE', layer: 'conv2' });
    expect(e.message).toMatch(/'conv2', 'fc' contain NaN or Inf/);
    const net = new Net(spec, { allowNonFiniteWeights: true });
    expect(net.nonFiniteWeights()).toEqual(['conv2', 'fc']);
    await expect(net.forward(rand(300, 4, 20))).rejects.toMatchObject({ code: 'NONFINITE', layer: 'conv2' });
    await net.dispose();
  });

  test('finite weights that overflow float32: the forward pass names the layer where it happened', async () => {
    const net = new Net(fc([1, 0, 0, 1], [0, 0]));
    await expect(net.forward(Float32Array.of(10, 10))).rejects.toMatchObject({
      code: 'NONFINITE', layer: 'fc2', message: expect.stringMatching(/at layer 2 'fc2' \(InnerProduct\)/),
    });
    // small inputs stay finite: the same net works
    const [s] = await net.forward(Float32Array.of(1e-3, 1e-3));
    expect(s.every(Number.isFinite)).toBe(true);
    await net.dispose();
  });
});

test('a relevance map that is not finite is an error naming the layer, not a NaN heatmap', async () => {
  // forward finite (1e-30 * 1e20 * 1e20 = 1e10), gradient 1e20 * 1e20 * 3e38 overflows
  const spec = fc([1e20, 0, 0, 1e20], [0, 0]);
  spec.layers[2].blobs[0].data.set([1e20, 0, 0, 1e20]);
  const net = new Net(spec);
  await net.forward(Float32Array.of(1e-30, 1e-30));
  await expect(net.backwardRelevance([0], { relpropformulatype: 11, lastlayerindex: 2 })).rejects.toMatchObject({
    code: 'NONFINITE', message: expect.stringMatching(/the relevance became NaN or Inf at layer \d '(fc1|relu|fc2)'/),
  });
  await net.dispose();
});

describe('calls with bad arguments', () => {
  test('forward(new Array(3)) rejects instead of resolving to three empty results', async () => {
    const net = new Net(fc([1, 0, 0, 1], [0, 0]));
    await expect(net.forward(new Array(3))).rejects.toMatchObject({ code: 'OPTION', message: expect.stringMatching(/image 0 must be a Float32Array, got nothing/) });
    await expect(net.forward([Float32Array.of(1, 2), 'x' as unknown as Float32Array])).rejects.toMatchObject({ code: 'OPTION', message: expect.stringMatching(/image 1 must be a Float32Array, got string/) });
    await net.dispose();
  });

  test('a detached input buffer is named as such', async () => {
    const net = new Net(fc([1, 0, 0, 1], [0, 0]));
    const x = Float32Array.of(1, 2);
    structuredClone(x.buffer, { transfer: [x.buffer] });
    await expect(net.forward(x)).rejects.toMatchObject({ code: 'OPTION', message: expect.stringMatching(/detached/) });
    await net.dispose();
  });

  test("blob('nope') names the blobs there are", async () => {
    const net = new Net(fc([1, 0, 0, 1], [0, 0]));
    await net.forward(Float32Array.of(1e-3, 2e-3));
    expect(thrownCaffeLrpError(() => net.blob('nope'))).toMatchObject({ code: 'OPTION', message: expect.stringMatching(/blob\('nope'\):.*\(blobs: h, y\)/) });
    expect(thrownCaffeLrpError(() => net.blob(5 as unknown as string))).toMatchObject({ code: 'OPTION' });
    await net.dispose();
  });
});
