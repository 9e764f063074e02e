/**
 * Gradient checks per layer type: the engine's gradient walk (formula type 11, heatmap =
 * logit x d logit / d input, channels reversed) on a tiny net [layer(s) under test] ->
 * InnerProduct 'score' (seeded) must agree with central finite differences of the engine's
 * own forward pass (float32: step 1e-2 on inputs of scale ~1, tolerance 1e-2 of the largest
 * |gradient|). Inputs avoid ReLU/AbsVal/max kinks where the layer has them.
 */
import type { LayerSpec } from '../../lib/caffe/netspec-types';
import { Net } from '../../lib/net';
import {
  L, awayFromZero, blob, count, distinct, expectGradientMatchesFiniteDifferences, netSpec, pooling, randn, tensor,
} from '../helpers/reference-layers';

interface Case {
  shape: number[];
  layers: LayerSpec[];
  input: Float32Array;
  top?: string;
}

const convLayer = (inC: number, p: Parameters<typeof L.conv>[3], seed: number, bottom = 'data', name = 'conv'): LayerSpec =>
  L.conv(name, bottom, name, p, randn(p.numOutput * (inC / (p.group ?? 1)) * p.kernel[0] * p.kernel[1], seed, 0.5), randn(p.numOutput, seed + 1, 0.3), inC);

/** A smooth layer applied directly to a random input. */
const smooth = (shape: number[], layers: LayerSpec[], seed: number, scale = 1): Case => ({ shape, layers, input: randn(count(shape), seed, scale) });

const cases: [string, Case][] = [
  // ------------------------------------------------ Convolution
  ['Convolution 3x3 pad 1, odd 5x7, batch 2', smooth([2, 2, 5, 7], [convLayer(2, { numOutput: 3, kernel: [3, 3], pad: [1, 1] }, 1)], 2)],
  ['Convolution rectangular kernel/stride/pad (3x2, 2x1, 1x0)', smooth([1, 2, 7, 6], [convLayer(2, { numOutput: 2, kernel: [3, 2], stride: [2, 1], pad: [1, 0] }, 3)], 4)],
  ['Convolution stride 2 pad 1 on 7x7', smooth([1, 2, 7, 7], [convLayer(2, { numOutput: 3, kernel: [3, 3], stride: [2, 2], pad: [1, 1] }, 5)], 6)],
  ['Convolution dilation 2', smooth([1, 2, 7, 7], [convLayer(2, { numOutput: 2, kernel: [3, 3], pad: [2, 2], dilation: [2, 2] }, 7)], 8)],
  ['Convolution group 2', smooth([1, 4, 5, 5], [convLayer(4, { numOutput: 6, kernel: [3, 3], pad: [1, 1], group: 2 }, 9)], 10)],
  ['Convolution group 2, 576 output positions (image by image, group by group)', smooth([1, 4, 24, 24], [convLayer(4, { numOutput: 4, kernel: [3, 3], pad: [1, 1], group: 2 }, 31)], 32)],
  ['Convolution depthwise (group = channels)', smooth([2, 3, 5, 4], [convLayer(3, { numOutput: 3, kernel: [3, 3], pad: [1, 1], group: 3 }, 11)], 12)],
  ['Convolution 1x1', smooth([1, 5, 3, 4], [convLayer(5, { numOutput: 3, kernel: [1, 1] }, 13)], 14)],
  // ------------------------------------------------ InnerProduct (intermediate)
  ['InnerProduct axis 1 (intermediate)', smooth([2, 2, 3, 3], [L.ip('ip', 'data', 'ip', { numOutput: 4 }, blob([4, 18], randn(72, 15, 0.3)), randn(4, 16))], 17)],
  ['InnerProduct axis 2', smooth([1, 3, 2, 4], [L.ip('ip', 'data', 'ip', { numOutput: 5, axis: 2 }, blob([5, 8], randn(40, 18, 0.4)), randn(5, 19))], 20)],
  ['InnerProduct transposed', smooth([1, 2, 2, 3], [L.ip('ip', 'data', 'ip', { numOutput: 4, transpose: true }, blob([12, 4], randn(48, 21, 0.4)))], 22)],
  // ------------------------------------------------ Pooling
  ['Pooling MAX 7x7 kernel 3 stride 2 pad 1 (ceil), distinct values', { shape: [2, 2, 7, 7], layers: [L.pool('pool', 'data', 'pool', { pool: 'MAX', kernel: [3, 3], stride: [2, 2], pad: [1, 1] })], input: distinct(196, 23) }],
  ['Pooling MAX rectangular (3x2, 2x1, 1x0), overlapping windows', { shape: [1, 2, 7, 6], layers: [L.pool('pool', 'data', 'pool', { pool: 'MAX', kernel: [3, 2], stride: [2, 1], pad: [1, 0] })], input: distinct(84, 24) }],
  ['Pooling AVE 7x7 kernel 3 stride 2 pad 1 (clipped divisor)', smooth([2, 2, 7, 7], [L.pool('pool', 'data', 'pool', { pool: 'AVE', kernel: [3, 3], stride: [2, 2], pad: [1, 1] })], 25)],
  ['Pooling AVE 6x6 kernel 3 stride 2 pad 1 (window past the padding)', smooth([1, 2, 6, 6], [L.pool('pool', 'data', 'pool', { pool: 'AVE', kernel: [3, 3], stride: [2, 2], pad: [1, 1] })], 26)],
  // ONNX pools: bottom/right padding of its own (padEnd) and AVE divisors counting image pixels only (excludePad).
  ['Pooling MAX with padEnd (pads 0,0 / 1,2), distinct values', { shape: [1, 2, 7, 6], layers: [L.of('Pooling', 'pool', ['data'], ['pool'],
    { pool: 'MAX', kernel: [3, 3], stride: [2, 2], pad: [0, 0], padEnd: [1, 2], globalPooling: false, roundMode: 'FLOOR' })], input: distinct(84, 28) }],
  ['Pooling AVE with padEnd and excludePad', smooth([1, 2, 7, 6], [L.of('Pooling', 'pool', ['data'], ['pool'],
    { pool: 'AVE', kernel: [3, 2], stride: [2, 1], pad: [1, 0], padEnd: [2, 1], excludePad: true, globalPooling: false, roundMode: 'FLOOR' })], 29)],
  ['Pooling AVE 7x7 kernel 3 stride 2 pad 1, excludePad', smooth([2, 2, 7, 7], [L.of('Pooling', 'pool', ['data'], ['pool'],
    { pool: 'AVE', kernel: [3, 3], stride: [2, 2], pad: [1, 1], excludePad: true, globalPooling: false, roundMode: 'CEIL' })], 30)],
  ['Pooling AVE ceil without padding, 7x5 kernel 2 stride 2', smooth([1, 2, 7, 5], [L.pool('pool', 'data', 'pool', { pool: 'AVE', kernel: [2, 2], stride: [2, 2] })], 27)],
  ['Pooling AVE rectangular pad (1x2), kernel 3x4, stride 2x3', smooth([1, 1, 6, 7], [L.pool('pool', 'data', 'pool', { pool: 'AVE', kernel: [3, 4], stride: [2, 3], pad: [1, 2] })], 28)],
  ['Pooling MAX global', { shape: [2, 3, 4, 3], layers: [L.pool('pool', 'data', 'pool', { pool: 'MAX', globalPooling: true, kernel: [1, 1] })], input: distinct(72, 29) }],
  ['Pooling AVE global', smooth([2, 3, 4, 3], [L.pool('pool', 'data', 'pool', { pool: 'AVE', globalPooling: true, kernel: [1, 1] })], 30)],
  // ------------------------------------------------ LRN
  ['LRN across channels (n 5, 6 channels)', smooth([1, 6, 3, 3], [L.of('LRN', 'norm', ['data'], ['norm'], { localSize: 5, alpha: 0.5, beta: 0.75, k: 1, normRegion: 'ACROSS_CHANNELS' })], 31, 1.5)],
  ['LRN across channels (n 3, k 2), batch 2', smooth([2, 4, 2, 3], [L.of('LRN', 'norm', ['data'], ['norm'], { localSize: 3, alpha: 1, beta: 0.5, k: 2, normRegion: 'ACROSS_CHANNELS' })], 32, 1.5)],
  ['LRN within channel (n 3)', smooth([1, 2, 4, 5], [L.of('LRN', 'norm', ['data'], ['norm'], { localSize: 3, alpha: 1, beta: 0.75, k: 1, normRegion: 'WITHIN_CHANNEL' })], 33, 1.5)],
  // ------------------------------------------------ activations
  ['ReLU (inputs away from 0)', { shape: [2, 2, 3, 4], layers: [L.of('ReLU', 'act', ['data'], ['act'], { negativeSlope: 0 })], input: awayFromZero(48, 34) }],
  ['leaky ReLU slope 0.1', { shape: [1, 2, 3, 4], layers: [L.of('ReLU', 'act', ['data'], ['act'], { negativeSlope: 0.1 })], input: awayFromZero(24, 35) }],
  ['PReLU per channel', { shape: [1, 3, 3, 3], layers: [L.of('PReLU', 'act', ['data'], ['act'], { channelShared: false }, [blob([3], Float32Array.from([0.25, -0.5, 2]))])], input: awayFromZero(27, 36) }],
  ['PReLU channel-shared', { shape: [1, 3, 2, 3], layers: [L.of('PReLU', 'act', ['data'], ['act'], { channelShared: true }, [blob([1], Float32Array.from([0.3]))])], input: awayFromZero(18, 37) }],
  ['TanH', smooth([1, 2, 3, 4], [L.of('TanH', 'act', ['data'], ['act'])], 38)],
  // Inputs at least 0.2 from 0 and from the bounds +-0.75 (no kinks within the finite-difference step).
  ['Clip -0.75..0.75', { shape: [1, 2, 3, 4], layers: [L.of('Clip', 'act', ['data'], ['act'], { min: -0.75, max: 0.75 })],
    input: Float32Array.from(awayFromZero(24, 39, 0.2, 1), (v) => (Math.abs(Math.abs(v) - 0.75) < 0.2 ? v * 1.6 : v)) }],
  ['Sigmoid', smooth([1, 2, 3, 4], [L.of('Sigmoid', 'act', ['data'], ['act'])], 39, 2)],
  ['AbsVal (inputs away from 0)', { shape: [1, 2, 3, 4], layers: [L.of('AbsVal', 'act', ['data'], ['act'])], input: awayFromZero(24, 40) }],
  ['Power 2, scale 0.5, shift 1', smooth([1, 2, 3, 4], [L.of('Power', 'act', ['data'], ['act'], { power: 2, scale: 0.5, shift: 1 })], 41)],
  ['Power 3, scale -0.8, shift 0.2', smooth([1, 2, 3, 3], [L.of('Power', 'act', ['data'], ['act'], { power: 3, scale: -0.8, shift: 0.2 })], 42)],
  ['Power 0.5, scale 0.3, shift 2 (positive bases)', smooth([1, 2, 3, 3], [L.of('Power', 'act', ['data'], ['act'], { power: 0.5, scale: 0.3, shift: 2 })], 43)],
  ['Power 1, scale -2, shift 0.5', smooth([1, 2, 2, 3], [L.of('Power', 'act', ['data'], ['act'], { power: 1, scale: -2, shift: 0.5 })], 44)],
  ['Dropout (identity)', smooth([1, 2, 3, 3], [L.of('Dropout', 'drop', ['data'], ['drop'], { dropoutRatio: 0.5 })], 45)],
  ['Softmax over axis 1 of a 4-D blob', smooth([2, 4, 2, 3], [L.of('Softmax', 'prob', ['data'], ['prob'], { axis: 1 })], 46, 1.5)],
  ['Softmax over axis 3', smooth([1, 2, 2, 5], [L.of('Softmax', 'prob', ['data'], ['prob'], { axis: 3 })], 47, 1.5)],
  // ------------------------------------------------ structure
  ['Concat of 3 blobs (channels, reordered)', smooth([1, 4, 3, 2], [
    L.of('Slice', 'slice', ['data'], ['a', 'b', 'c'], { axis: 1, slicePoints: [1, 3] }),
    L.of('TanH', 'ta', ['a'], ['ta']),
    L.of('Concat', 'cat', ['c', 'ta', 'b'], ['cat'], { axis: 1 }),
  ], 48)],
  ['Concat of 3 conv branches along H (via Split)', smooth([1, 2, 5, 4], [
    L.of('Split', 'split', ['data'], ['d1', 'd2', 'd3']),
    convLayer(2, { numOutput: 2, kernel: [3, 3] }, 49, 'd1', 'c1'),
    convLayer(2, { numOutput: 2, kernel: [2, 3] }, 51, 'd2', 'c2'),
    convLayer(2, { numOutput: 2, kernel: [5, 3] }, 53, 'd3', 'c3'),
    L.of('Concat', 'cat', ['c1', 'c2', 'c3'], ['cat'], { axis: 2 }),
  ], 55)],
  ['Slice at points, one top unused', smooth([1, 5, 2, 2], [
    L.of('Slice', 'slice', ['data'], ['a', 'b', 'c'], { axis: 1, slicePoints: [2, 3] }),
    L.of('Eltwise', 'sum', ['a', 'c'], ['sum'], { operation: 'SUM', coeff: [2, -1] }), // 'b' is a dangling output
  ], 56)],
  ['Slice without points (equal parts) along W', smooth([1, 2, 3, 4], [
    L.of('Slice', 'slice', ['data'], ['a', 'b'], { axis: 3, slicePoints: [] }),
    L.of('Eltwise', 'prod', ['a', 'b'], ['prod'], { operation: 'PROD', coeff: [] }),
  ], 57)],
  ['Split into branches recombined', smooth([1, 2, 3, 3], [
    L.of('Split', 'split', ['data'], ['x1', 'x2']),
    L.of('TanH', 't', ['x1'], ['t']),
    L.of('Eltwise', 'sum', ['t', 'x2'], ['sum'], { operation: 'SUM', coeff: [1.5, -0.5] }),
  ], 58)],
  ['Flatten (axis 2 .. 3) then InnerProduct axis 2', smooth([1, 3, 2, 3], [
    L.of('Flatten', 'flat', ['data'], ['flat'], { axis: 2, endAxis: 3 }),
    L.of('TanH', 't', ['flat'], ['t']),
    L.ip('ip', 't', 'ip', { numOutput: 2, axis: 2 }, blob([2, 6], randn(12, 59))),
  ], 60)],
  ['Reshape with 0 and -1 between convolutions', smooth([1, 4, 3, 3], [
    L.of('Reshape', 'r', ['data'], ['r'], { shape: [0, 2, -1, 0], axis: 0, numAxes: -1 }),
    convLayer(2, { numOutput: 2, kernel: [3, 2], stride: [2, 1] }, 61, 'r', 'conv'),
  ], 62)],
  ['Permute NCHW -> NHWC then convolution', smooth([1, 2, 3, 4], [
    L.of('Permute', 'perm', ['data'], ['perm'], { order: [0, 2, 3, 1] }),
    convLayer(3, { numOutput: 2, kernel: [2, 2] }, 63, 'perm', 'conv'),
  ], 64)],
  ['Eltwise SUM with coefficients of 3 blobs', smooth([1, 6, 2, 2], [
    L.of('Slice', 'slice', ['data'], ['a', 'b', 'c'], { axis: 1, slicePoints: [] }),
    L.of('Eltwise', 'elt', ['a', 'b', 'c'], ['elt'], { operation: 'SUM', coeff: [1, -0.5, 2] }),
  ], 65)],
  ['Eltwise PROD of 3 blobs', smooth([1, 6, 2, 2], [
    L.of('Slice', 'slice', ['data'], ['a', 'b', 'c'], { axis: 1, slicePoints: [] }),
    L.of('Eltwise', 'elt', ['a', 'b', 'c'], ['elt'], { operation: 'PROD', coeff: [] }),
  ], 66)],
  ['Eltwise MAX of 3 blobs (distinct values)', { shape: [1, 6, 2, 3], layers: [
    L.of('Slice', 'slice', ['data'], ['a', 'b', 'c'], { axis: 1, slicePoints: [] }),
    L.of('Eltwise', 'elt', ['a', 'b', 'c'], ['elt'], { operation: 'MAX', coeff: [] }),
  ], input: distinct(36, 67, 0.1) }],
  // ------------------------------------------------ affine
  ['BatchNorm (global stats, factor 2.5)', smooth([2, 3, 2, 2], [
    L.of('BatchNorm', 'bn', ['data'], ['bn'], { useGlobalStats: true, eps: 1e-5, movingAverageFraction: 0.999 },
      [blob([3], Float32Array.from([0.5, -1, 2])), blob([3], Float32Array.from([1.5, 0.5, 4])), blob([1], Float32Array.from([2.5]))]),
  ], 68)],
  ['Scale with bias (per channel)', smooth([1, 3, 2, 3], [
    L.of('Scale', 's', ['data'], ['s'], { axis: 1, numAxes: 1, biasTerm: true }, [blob([3], Float32Array.from([2, -1, 0.5])), blob([3], Float32Array.from([-1, 0.25, 3]))]),
  ], 69)],
  ['Scale over C x H (numAxes 2)', smooth([1, 2, 3, 2], [
    L.of('Scale', 's', ['data'], ['s'], { axis: 1, numAxes: 2, biasTerm: false }, [blob([2, 3], randn(6, 70))]),
  ], 71)],
  ['Bias then TanH (the bias moves the operating point)', smooth([1, 3, 2, 2], [
    L.of('Bias', 'b', ['data'], ['b'], { axis: 1, numAxes: 1 }, [blob([3], Float32Array.from([1, -2, 0.5]))]),
    L.of('TanH', 't', ['b'], ['t']),
  ], 72)],
  // ------------------------------------------------ chains
  ['in-place chain conv -> ReLU -> Scale -> leaky ReLU -> TanH', {
    shape: [1, 1, 4, 4],
    layers: [
      // A 1x1 convolution with weight 1 keeps the input away from the first ReLU kink.
      L.conv('conv', 'data', 'conv', { numOutput: 2, kernel: [1, 1] }, Float32Array.from([1, -1]), undefined, 1),
      L.of('ReLU', 'relu1', ['conv'], ['conv'], { negativeSlope: 0 }),
      L.of('Scale', 'scale', ['conv'], ['conv'], { axis: 1, numAxes: 1, biasTerm: true }, [blob([2], Float32Array.from([-1, 0.5])), blob([2], Float32Array.from([0, 0]))]),
      L.of('ReLU', 'relu2', ['conv'], ['conv'], { negativeSlope: 0.2 }),
      L.of('TanH', 'tanh', ['conv'], ['conv']),
    ],
    input: awayFromZero(16, 73),
  }],
  ['conv -> LRN -> AVE pool -> Sigmoid, batch 2', smooth([2, 3, 6, 5], [
    convLayer(3, { numOutput: 4, kernel: [3, 3], pad: [1, 1] }, 74),
    L.of('LRN', 'norm', ['conv'], ['norm'], { localSize: 3, alpha: 0.5, beta: 0.75, k: 1, normRegion: 'ACROSS_CHANNELS' }),
    L.pool('pool', 'norm', 'pool', { pool: 'AVE', kernel: [3, 3], stride: [2, 2], pad: [1, 1] }),
    L.of('Sigmoid', 'sig', ['pool'], ['pool']),
  ], 76)],
];

describe('gradient (formula type 11) = finite differences of the forward pass', () => {
  test.each(cases)('%s', async (_label, c) => {
    const largest = await expectGradientMatchesFiniteDifferences(c.shape, c.layers, c.input, { top: c.top });
    expect(largest).toBeGreaterThan(1e-3); // not vacuous
  });
});

describe('gradient routing where finite differences are undefined', () => {
  test('MAX pooling ties send the gradient to the first maximum of each window', async () => {
    // Rows 1 3 3 0 / 3 3 2 2 / 2 2 2 2 / 0 0 0 0; 2x2 windows, stride 2. The top-left window holds three 3s
    // (first in row-major order: (0,1)); the bottom windows two 2s each (first: (2,0) and (2,2)).
    // The reference's argmax is [1, 2, 8, 10].
    const x = Float32Array.from([1, 3, 3, 0, 3, 3, 2, 2, 2, 2, 2, 2, 0, 0, 0, 0]);
    const pool = { pool: 'MAX' as const, kernel: [2, 2] as [number, number], stride: [2, 2] as [number, number] };
    const { argmax } = pooling(tensor([1, 1, 4, 4], x), { ...pool, pad: [0, 0], globalPooling: false, roundMode: 'CEIL' });
    const w = Float32Array.from([1, 2, 3, 4]); // d score / d pooled value of each window
    const net = new Net(netSpec([1, 1, 4, 4], [
      L.pool('pool', 'data', 'pool', pool),
      L.ip('score', 'pool', 'score', { numOutput: 1 }, blob([1, 4], w)),
    ]));
    try {
      const [scores] = await net.forward(x);
      const logit = scores[0];
      expect(logit).toBeCloseTo(3 * 1 + 3 * 2 + 2 * 3 + 2 * 4, 5);
      const [hm] = await net.backwardRelevanceMulti([[0]], { relpropformulatype: 11, lastlayerindex: 1 });
      const want = new Array<number>(16).fill(0);
      argmax!.forEach((at, k) => { want[at] += logit * w[k]; });
      expect(Array.from(hm.data)).toEqual(want.map((v) => expect.closeTo(v, 4)));
      expect(hm.channelOrder).toBe('GRAY');
    } finally {
      await net.dispose();
    }
  });

  test('ReLU at exactly 0 passes no gradient (Caffe: bottom > 0)', async () => {
    const x = Float32Array.from([0, 1, -1, 0]);
    const net = new Net(netSpec([1, 1, 2, 2], [
      L.of('ReLU', 'relu', ['data'], ['relu'], { negativeSlope: 0 }),
      L.ip('score', 'relu', 'score', { numOutput: 1 }, blob([1, 4], Float32Array.from([1, 1, 1, 1])), Float32Array.from([2])),
    ]));
    try {
      await net.forward(x);
      const [hm] = await net.backwardRelevanceMulti([[0]], { relpropformulatype: 11, lastlayerindex: 1 });
      expect(Array.from(hm.data)).toEqual([0, 3, 0, 0]);
    } finally {
      await net.dispose();
    }
  });

  test('Eltwise MAX ties send the gradient to the first bottom', async () => {
    // Two 1-channel slices with equal values everywhere: Caffe's max index keeps the first bottom on ties.
    const x = Float32Array.from([1, 2, 3, 4, 1, 2, 3, 4]);
    const net = new Net(netSpec([1, 2, 2, 2], [
      L.of('Slice', 'slice', ['data'], ['a', 'b'], { axis: 1, slicePoints: [] }),
      L.of('Eltwise', 'elt', ['a', 'b'], ['elt'], { operation: 'MAX', coeff: [] }),
      L.ip('score', 'elt', 'score', { numOutput: 1 }, blob([1, 4], Float32Array.from([1, 1, 1, 1]))),
    ]));
    try {
      await net.forward(x);
      const [hm] = await net.backwardRelevanceMulti([[0]], { relpropformulatype: 11, lastlayerindex: 2 });
      // Channels reversed: heatmap channel 1 is input channel 0 (bottom 'a').
      expect(Array.from(hm.data)).toEqual([0, 0, 0, 0, 10, 10, 10, 10]);
      expect(hm.channelOrder).toBe('reversed');
    } finally {
      await net.dispose();
    }
  });
});
