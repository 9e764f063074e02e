/**
 * Per-layer forward tests of the native engine against the float64 reference layers of
 * test/helpers/reference-layers.ts (written from Caffe's documented semantics): vision
 * layers (Convolution, Pooling, InnerProduct, LRN), activations, Softmax, Dropout.
 * Every blob of each small net is compared, |engine - reference| <= 1e-5 max(1, |reference|).
 * Structure/affine layers: layers-structure.test.ts; gradients: layers-gradient.test.ts.
 */
import type { LayerSpec } from '../../lib/caffe/netspec-types';
import {
  L, awayFromZero, blob, count, expectForwardMatches, netSpec, poolOutputSize, pooling, randn, tensor,
} from '../helpers/reference-layers';

/** One convolution on a fresh input; weights and bias from seeds. */
function convCase(inputShape: number[], p: Parameters<typeof L.conv>[3], bias = true, seed = 1): { spec: ReturnType<typeof netSpec>; x: Float32Array } {
  const C = inputShape[1];
  const G = p.group ?? 1;
  const w = randn(p.numOutput * (C / G) * p.kernel[0] * p.kernel[1], seed);
  const b = bias ? randn(p.numOutput, seed + 1, 0.5) : undefined;
  const spec = netSpec(inputShape, [L.conv('conv', 'data', 'conv', p, w, b, C)]);
  return { spec, x: randn(count(inputShape), seed + 2) };
}

describe('Convolution', () => {
  test.each<[string, number[], Parameters<typeof L.conv>[3], boolean]>([
    ['3x3 pad 1 on an odd 7x5 input, batch 2, bias', [2, 3, 7, 5], { numOutput: 4, kernel: [3, 3], pad: [1, 1] }, true],
    ['3x3 stride 2 pad 1 on 7x7, no bias', [1, 2, 7, 7], { numOutput: 3, kernel: [3, 3], stride: [2, 2], pad: [1, 1] }, false],
    ['stride 2 on an even 8x8 where the last column is not reached', [1, 2, 8, 8], { numOutput: 2, kernel: [3, 3], stride: [2, 2] }, true],
    ['rectangular kernel/stride/pad (3x2, 2x1, 1x0) on 7x6', [2, 2, 7, 6], { numOutput: 3, kernel: [3, 2], stride: [2, 1], pad: [1, 0] }, true],
    ['rectangular the other way (1x4, 1x3, 0x2) on 5x9', [1, 3, 5, 9], { numOutput: 2, kernel: [1, 4], stride: [1, 3], pad: [0, 2] }, true],
    ['dilation 2, kernel 3, pad 2 on 9x7', [2, 2, 9, 7], { numOutput: 3, kernel: [3, 3], pad: [2, 2], dilation: [2, 2] }, true],
    ['dilation 2x1 with stride 2 on 9x8', [1, 2, 9, 8], { numOutput: 2, kernel: [3, 3], stride: [2, 2], pad: [1, 1], dilation: [2, 1] }, true],
    ['group 2 (4 -> 6 channels)', [2, 4, 6, 5], { numOutput: 6, kernel: [3, 3], pad: [1, 1], group: 2 }, true],
    ['depthwise (group = channels = 3)', [2, 3, 5, 5], { numOutput: 3, kernel: [3, 3], pad: [1, 1], group: 3 }, true],
    ['group 2 with 576 output positions (image by image, group by group)', [2, 4, 24, 24], { numOutput: 6, kernel: [3, 3], pad: [1, 1], group: 2 }, true],
    ['depthwise with multiplier 2 (group 3, 3 -> 6)', [1, 3, 6, 4], { numOutput: 6, kernel: [3, 3], stride: [2, 1], pad: [1, 1], group: 3 }, true],
    ['1x1 convolution', [2, 5, 3, 4], { numOutput: 3, kernel: [1, 1] }, true],
    ['1x1 convolution with stride 2 and pad 1', [1, 3, 5, 5], { numOutput: 2, kernel: [1, 1], stride: [2, 2], pad: [1, 1] }, false],
    ['kernel exactly the padded input (one output)', [2, 2, 3, 4], { numOutput: 3, kernel: [5, 4], pad: [1, 0] }, true],
    ['stride larger than the kernel (1x1 stride 3)', [1, 2, 7, 8], { numOutput: 2, kernel: [1, 1], stride: [3, 3] }, true],
    ['5x5 kernel on a 1-pixel-high input padded to 5 rows', [1, 1, 1, 6], { numOutput: 2, kernel: [5, 5], pad: [2, 2] }, true],
  ])('%s', async (_label, shape, p, bias) => {
    const { spec, x } = convCase(shape, p, bias, shape.reduce((a, b) => a * 7 + b, 3));
    await expectForwardMatches(spec, x);
  });

  test('output size follows floor((H + 2p - (d(k-1)+1))/s) + 1', async () => {
    const { spec, x } = convCase([1, 1, 11, 10], { numOutput: 1, kernel: [3, 4], stride: [3, 2], pad: [2, 1], dilation: [2, 3] });
    const ref = await expectForwardMatches(spec, x);
    // H: (11 + 4 - 5) / 3 -> 3 + 1 = 4; W: (10 + 2 - 10) / 2 -> 1 + 1 = 2
    expect(ref.get('conv')!.shape).toEqual([1, 1, 4, 2]);
  });

  test('is a cross-correlation: a one-hot kernel picks the input shifted, not flipped', async () => {
    // Kernel with a single 1 at (0, 2): output (h, w) = input (h - 1, w + 1) with pad 1.
    const w = new Float32Array(9);
    w[2] = 1;
    const spec = netSpec([1, 1, 4, 4], [L.conv('conv', 'data', 'conv', { numOutput: 1, kernel: [3, 3], pad: [1, 1] }, w, undefined, 1)]);
    const x = Float32Array.from({ length: 16 }, (_, i) => i + 1);
    const ref = await expectForwardMatches(spec, x);
    expect(Array.from(ref.get('conv')!.data)).toEqual([0, 0, 0, 0, 2, 3, 4, 0, 6, 7, 8, 0, 10, 11, 12, 0]);
  });
});

describe('Pooling', () => {
  type P = Parameters<typeof L.pool>[3];
  const cases: [string, number[], P][] = [
    ['MAX 7x7 kernel 3 stride 2 pad 1 (ceil)', [2, 2, 7, 7], { pool: 'MAX', kernel: [3, 3], stride: [2, 2], pad: [1, 1] }],
    ['AVE 7x7 kernel 3 stride 2 pad 1 (ceil): clipped divisor at the borders', [2, 2, 7, 7], { pool: 'AVE', kernel: [3, 3], stride: [2, 2], pad: [1, 1] }],
    ['AVE 6x6 kernel 3 stride 2 pad 1: last window reaches past the padding', [1, 2, 6, 6], { pool: 'AVE', kernel: [3, 3], stride: [2, 2], pad: [1, 1] }],
    ['MAX 6x6 kernel 3 stride 2 pad 1', [1, 2, 6, 6], { pool: 'MAX', kernel: [3, 3], stride: [2, 2], pad: [1, 1] }],
    ['MAX 5x5 kernel 2 stride 2 pad 1: last window dropped ((out-1)s >= H+p)', [1, 2, 5, 5], { pool: 'MAX', kernel: [2, 2], stride: [2, 2], pad: [1, 1] }],
    ['AVE 5x5 kernel 2 stride 2 pad 1: last window dropped', [1, 2, 5, 5], { pool: 'AVE', kernel: [2, 2], stride: [2, 2], pad: [1, 1] }],
    ['MAX ceil mode without padding on 7x7 kernel 2 stride 2 (partial last window)', [2, 1, 7, 7], { pool: 'MAX', kernel: [2, 2], stride: [2, 2] }],
    ['AVE ceil mode without padding on 7x5 kernel 2 stride 2 (divisor of the partial window)', [1, 2, 7, 5], { pool: 'AVE', kernel: [2, 2], stride: [2, 2] }],
    ['MAX floor mode on 7x7 kernel 2 stride 2', [1, 2, 7, 7], { pool: 'MAX', kernel: [2, 2], stride: [2, 2], roundMode: 'FLOOR' }],
    ['AVE floor mode on 7x7 kernel 3 stride 2 pad 1', [1, 2, 7, 7], { pool: 'AVE', kernel: [3, 3], stride: [2, 2], pad: [1, 1], roundMode: 'FLOOR' }],
    ['MAX rectangular kernel/stride/pad (3x2, 2x1, 1x0) on 7x6', [2, 2, 7, 6], { pool: 'MAX', kernel: [3, 2], stride: [2, 1], pad: [1, 0] }],
    ['AVE rectangular kernel/stride/pad (2x3, 1x2, 0x1) on 5x8', [2, 2, 5, 8], { pool: 'AVE', kernel: [2, 3], stride: [1, 2], pad: [0, 1] }],
    ['AVE rectangular pad (1x2) with kernel 3x4 stride 2x3 on 6x7', [1, 1, 6, 7], { pool: 'AVE', kernel: [3, 4], stride: [2, 3], pad: [1, 2] }],
    ['MAX global pooling on 5x3', [2, 3, 5, 3], { pool: 'MAX', globalPooling: true, kernel: [1, 1] }],
    ['AVE global pooling on 5x3', [2, 3, 5, 3], { pool: 'AVE', globalPooling: true, kernel: [1, 1] }],
    ['MAX kernel 3 stride 1 pad 1 (same size)', [1, 2, 5, 4], { pool: 'MAX', kernel: [3, 3], stride: [1, 1], pad: [1, 1] }],
    ['AVE kernel 3 stride 1 pad 2 (every window hits padding)', [1, 1, 4, 4], { pool: 'AVE', kernel: [3, 3], stride: [1, 1], pad: [2, 2] }],
  ];
  test.each(cases)('%s', async (_label, shape, p) => {
    const spec = netSpec(shape, [L.pool('pool', 'data', 'pool', p)]);
    await expectForwardMatches(spec, randn(count(shape), shape.reduce((a, b) => a * 5 + b, 11)));
  });

  test('ceil-mode output sizes (7x7 k3 s2 p1 -> 4x4; 5x5 k2 s2 p1 -> 3x3; floor 7x7 k2 s2 -> 3x3)', () => {
    const base = { pool: 'MAX' as const, globalPooling: false, roundMode: 'CEIL' as const };
    expect(poolOutputSize(7, 7, { ...base, kernel: [3, 3], stride: [2, 2], pad: [1, 1] })).toMatchObject({ Ho: 4, Wo: 4 });
    expect(poolOutputSize(5, 5, { ...base, kernel: [2, 2], stride: [2, 2], pad: [1, 1] })).toMatchObject({ Ho: 3, Wo: 3 });
    expect(poolOutputSize(7, 7, { ...base, kernel: [2, 2], stride: [2, 2], pad: [0, 0], roundMode: 'FLOOR' })).toMatchObject({ Ho: 3, Wo: 3 });
  });

  test('AVE divisor counts padding: a constant image pools to 4/9, 6/9 and 1 in a 3x3 pad-1 grid', async () => {
    const spec = netSpec([1, 1, 3, 3], [L.pool('pool', 'data', 'pool', { pool: 'AVE', kernel: [3, 3], stride: [1, 1], pad: [1, 1] })]);
    const ref = await expectForwardMatches(spec, new Float32Array(9).fill(9));
    expect(Array.from(ref.get('pool')!.data)).toEqual([4, 6, 4, 6, 9, 6, 4, 6, 4]);
  });

  test('MAX over an all-negative image never returns the zero padding', async () => {
    const spec = netSpec([1, 2, 5, 5], [L.pool('pool', 'data', 'pool', { pool: 'MAX', kernel: [3, 3], stride: [2, 2], pad: [1, 1] })]);
    const x = Float32Array.from(randn(50, 5), (v) => -1 - Math.abs(v));
    const ref = await expectForwardMatches(spec, x);
    expect(Math.max(...ref.get('pool')!.data)).toBeLessThan(-1);
  });

  test('MAX with ties (and a plateau) still gives the tied value; the reference picks the first maximum', async () => {
    const x = Float32Array.from([1, 3, 3, 0, 3, 3, 2, 2, 2, 2, 2, 2, 0, 0, 0, 0]);
    const p = { pool: 'MAX' as const, kernel: [2, 2] as [number, number], stride: [2, 2] as [number, number] };
    const ref = await expectForwardMatches(netSpec([1, 1, 4, 4], [L.pool('pool', 'data', 'pool', p)]), x);
    expect(Array.from(ref.get('pool')!.data)).toEqual([3, 3, 2, 2]);
    const { argmax } = pooling(tensor([1, 1, 4, 4], x), { ...p, pad: [0, 0], globalPooling: false, roundMode: 'CEIL' });
    expect(Array.from(argmax!)).toEqual([1, 2, 8, 10]);
  });
});

describe('InnerProduct', () => {
  test.each<[string, number[], { numOutput: number; axis?: number; transpose?: boolean }, boolean]>([
    ['axis 1 on a 4-D blob, batch 2, bias', [2, 3, 4, 5], { numOutput: 7 }, true],
    ['axis 1 without bias', [3, 2, 3, 3], { numOutput: 4 }, false],
    ['axis 2: one output vector per (n, c)', [2, 3, 4, 5], { numOutput: 6, axis: 2 }, true],
    ['axis 3', [2, 2, 3, 4], { numOutput: 2, axis: 3 }, true],
    ['axis -1 (= 3)', [1, 2, 3, 4], { numOutput: 3, axis: -1 }, true],
    ['transposed weights [K, N]', [2, 3, 2, 2], { numOutput: 5, transpose: true }, true],
    ['transposed weights with axis 2', [2, 3, 2, 5], { numOutput: 4, axis: 2, transpose: true }, false],
  ])('%s', async (_label, shape, p, bias) => {
    const axis = (p.axis ?? 1) < 0 ? (p.axis ?? 1) + shape.length : (p.axis ?? 1);
    const K = count(shape, axis);
    const wShape = p.transpose ? [K, p.numOutput] : [p.numOutput, K];
    const w = blob(wShape, randn(K * p.numOutput, 31, 1 / Math.sqrt(K)));
    const spec = netSpec(shape, [L.ip('ip', 'data', 'ip', p, w, bias ? randn(p.numOutput, 32) : undefined)]);
    const ref = await expectForwardMatches(spec, randn(count(shape), 33));
    expect(ref.get('ip')!.shape).toEqual([...shape.slice(0, axis), p.numOutput]);
  });
});

describe('LRN', () => {
  test.each<[string, number[], { localSize: number; alpha: number; beta: number; k: number; normRegion: 'ACROSS_CHANNELS' | 'WITHIN_CHANNEL' }]>([
    ['across channels, n 5, 7 channels (window clipped at both ends)', [2, 7, 3, 4], { localSize: 5, alpha: 1e-1, beta: 0.75, k: 1, normRegion: 'ACROSS_CHANNELS' }],
    ['across channels, n 3, k 2, beta 0.5', [1, 4, 3, 3], { localSize: 3, alpha: 0.5, beta: 0.5, k: 2, normRegion: 'ACROSS_CHANNELS' }],
    ['across channels, n 5 wider than 3 channels', [1, 3, 2, 5], { localSize: 5, alpha: 2, beta: 0.75, k: 1.5, normRegion: 'ACROSS_CHANNELS' }],
    ['across channels, n 1', [1, 3, 2, 2], { localSize: 1, alpha: 0.3, beta: 1, k: 1, normRegion: 'ACROSS_CHANNELS' }],
    ['within channel, n 3 on 5x6', [2, 2, 5, 6], { localSize: 3, alpha: 0.5, beta: 0.75, k: 1, normRegion: 'WITHIN_CHANNEL' }],
    ['within channel, n 5 on 4x3 (window clipped everywhere), k ignored', [1, 2, 4, 3], { localSize: 5, alpha: 1, beta: 0.6, k: 7, normRegion: 'WITHIN_CHANNEL' }],
  ])('%s', async (_label, shape, p) => {
    const spec = netSpec(shape, [L.of('LRN', 'norm', ['data'], ['norm'], p)]);
    await expectForwardMatches(spec, randn(count(shape), shape.length * 13 + p.localSize, 1.5));
  });
});

describe('Pooling with ONNX padding (padEnd: bottom/right padding of its own; excludePad: AVE over image pixels only)', () => {
  test.each<[string, number[], Record<string, unknown>]>([
    ['MAX, pads 0,0 / 1,2, floor', [1, 2, 7, 6], { pool: 'MAX', kernel: [3, 3], stride: [2, 2], pad: [0, 0], padEnd: [1, 2], roundMode: 'FLOOR' }],
    ['AVE, pads 1,0 / 2,1, excludePad', [2, 2, 7, 6], { pool: 'AVE', kernel: [3, 2], stride: [2, 1], pad: [1, 0], padEnd: [2, 1], excludePad: true, roundMode: 'FLOOR' }],
    ['AVE, pads 0,0 / 1,1, divisor counting the end padding', [1, 3, 7, 7], { pool: 'AVE', kernel: [7, 7], stride: [1, 1], pad: [0, 0], padEnd: [1, 1], roundMode: 'FLOOR' }],
    ['AVE, symmetric pad 1, excludePad, ceil', [1, 2, 6, 6], { pool: 'AVE', kernel: [3, 3], stride: [2, 2], pad: [1, 1], excludePad: true, roundMode: 'CEIL' }],
  ])('%s', async (_label, shape, p) => {
    await expectForwardMatches(netSpec(shape, [L.of('Pooling', 'pool', ['data'], ['pool'], { globalPooling: false, ...p })]), randn(count(shape), shape[3] * 31 + 5));
  });
});

describe('activations', () => {
  const shape = [2, 3, 4, 5];
  const x = randn(count(shape), 41, 1.5);
  test.each<[string, LayerSpec]>([
    ['ReLU', L.of('ReLU', 'act', ['data'], ['act'], { negativeSlope: 0 })],
    ['leaky ReLU (slope 0.1)', L.of('ReLU', 'act', ['data'], ['act'], { negativeSlope: 0.1 })],
    ['leaky ReLU (slope -0.5)', L.of('ReLU', 'act', ['data'], ['act'], { negativeSlope: -0.5 })],
    ['PReLU per channel', L.of('PReLU', 'act', ['data'], ['act'], { channelShared: false }, [blob([3], Float32Array.from([0.25, -0.5, 2]))])],
    ['PReLU channel-shared', L.of('PReLU', 'act', ['data'], ['act'], { channelShared: true }, [blob([1], Float32Array.from([0.3]))])],
    ['TanH', L.of('TanH', 'act', ['data'], ['act'])],
    ['Sigmoid', L.of('Sigmoid', 'act', ['data'], ['act'])],
    ['AbsVal', L.of('AbsVal', 'act', ['data'], ['act'])],
    ['Power 2, scale 0.5, shift 1', L.of('Power', 'act', ['data'], ['act'], { power: 2, scale: 0.5, shift: 1 })],
    ['Power 3, scale -1.5, shift 0.25 (negative bases)', L.of('Power', 'act', ['data'], ['act'], { power: 3, scale: -1.5, shift: 0.25 })],
    ['Power 1 (affine)', L.of('Power', 'act', ['data'], ['act'], { power: 1, scale: 2.5, shift: -0.75 })],
    ['Power 0.5 on positive bases', L.of('Power', 'act', ['data'], ['act'], { power: 0.5, scale: 0.1, shift: 1 })],
    ['Power -1 on positive bases', L.of('Power', 'act', ['data'], ['act'], { power: -1, scale: 0.2, shift: 2 })],
    ['Power 0 (constant 1)', L.of('Power', 'act', ['data'], ['act'], { power: 0, scale: 3, shift: 1 })],
    ['Dropout (identity at test time)', L.of('Dropout', 'act', ['data'], ['act'], { dropoutRatio: 0.5 })],
    ['Clip 0..1 (both bounds active on inputs of scale 1.5)', L.of('Clip', 'act', ['data'], ['act'], { min: 0, max: 1 })],
    ['Clip -0.5..0.75 (both bounds active)', L.of('Clip', 'act', ['data'], ['act'], { min: -0.5, max: 0.75 })],
  ])('%s', async (_label, layer) => {
    await expectForwardMatches(netSpec(shape, [layer]), x);
  });

  test('Sigmoid and TanH saturate without overflow for large inputs', async () => {
    const big = Float32Array.from([-100, -30, -5, 0, 5, 30, 100, 1e4]);
    for (const type of ['Sigmoid', 'TanH'])
      await expectForwardMatches(netSpec([1, 2, 2, 2], [L.of(type, 'act', ['data'], ['act'])]), big);
  });

  test('in-place chain: conv -> ReLU -> Scale -> leaky ReLU -> TanH -> Dropout, all on one blob', async () => {
    const inShape = [2, 2, 5, 5];
    const layers: LayerSpec[] = [
      L.conv('conv', 'data', 'conv', { numOutput: 3, kernel: [3, 3], pad: [1, 1] }, randn(54, 51), randn(3, 52), 2),
      L.of('ReLU', 'relu1', ['conv'], ['conv'], { negativeSlope: 0 }),
      L.of('Scale', 'scale', ['conv'], ['conv'], { axis: 1, numAxes: 1, biasTerm: true }, [blob([3], Float32Array.from([-1, 0.5, 2])), blob([3], Float32Array.from([0.5, -1, 0.25]))]),
      L.of('ReLU', 'relu2', ['conv'], ['conv'], { negativeSlope: 0.2 }),
      L.of('TanH', 'tanh', ['conv'], ['conv']),
      L.of('Dropout', 'drop', ['conv'], ['conv'], { dropoutRatio: 0.3 }),
    ];
    const ref = await expectForwardMatches(netSpec(inShape, layers), randn(count(inShape), 53));
    expect(ref.get('conv')!.shape).toEqual([2, 3, 5, 5]);
  });

  test('in-place ReLU between two non-in-place layers leaves the later layer reading the rectified blob', async () => {
    const inShape = [1, 2, 4, 4];
    const layers: LayerSpec[] = [
      L.conv('conv', 'data', 'conv', { numOutput: 2, kernel: [1, 1] }, Float32Array.from([1, -1, 0.5, 2]), undefined, 2),
      L.of('ReLU', 'relu', ['conv'], ['conv'], { negativeSlope: 0 }),
      L.pool('pool', 'conv', 'pool', { pool: 'AVE', kernel: [2, 2], stride: [2, 2] }),
      L.of('ReLU', 'relu2', ['pool'], ['pool'], { negativeSlope: 0 }),
      L.of('Power', 'sq', ['pool'], ['pool'], { power: 2, scale: 1, shift: 0 }),
    ];
    await expectForwardMatches(netSpec(inShape, layers), randn(count(inShape), 54));
  });
});

describe('Softmax', () => {
  test.each<[string, number[], number, number]>([
    ['axis 1 of a 4-D blob', [2, 4, 3, 5], 1, 1],
    ['axis 2 of a 4-D blob', [2, 3, 4, 2], 2, 1],
    ['axis 3 of a 4-D blob', [1, 2, 3, 6], 3, 1],
    ['axis -1 (= 3)', [2, 2, 2, 5], -1, 1],
    ['axis 0 (over the batch)', [3, 2, 2, 2], 0, 1],
    ['large logits (shifted by the maximum)', [2, 5, 2, 2], 1, 40],
  ])('%s', async (_label, shape, axis, scale) => {
    const spec = netSpec(shape, [L.of('Softmax', 'prob', ['data'], ['prob'], { axis })]);
    await expectForwardMatches(spec, randn(count(shape), 61 + axis, scale));
  });

  test('softmax after an InnerProduct sums to 1 per image', async () => {
    const spec = netSpec([3, 2, 3, 3], [
      L.ip('ip', 'data', 'ip', { numOutput: 5 }, blob([5, 18], randn(90, 62)), randn(5, 63)),
      L.of('Softmax', 'prob', ['ip'], ['prob'], { axis: 1 }),
    ]);
    const ref = await expectForwardMatches(spec, randn(54, 64));
    const p = ref.get('prob')!.data;
    for (let n = 0; n < 3; ++n) expect(p.subarray(n * 5, n * 5 + 5).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
  });
});

describe('batches of different images', () => {
  test('a conv/pool/LRN/IP stack gives each image of a batch of 3 its own result', async () => {
    const shape = [3, 3, 9, 7];
    const layers: LayerSpec[] = [
      L.conv('conv1', 'data', 'conv1', { numOutput: 4, kernel: [3, 3], stride: [1, 1], pad: [1, 1] }, randn(108, 71, 0.5), randn(4, 72), 3),
      L.of('ReLU', 'relu1', ['conv1'], ['conv1'], { negativeSlope: 0 }),
      L.pool('pool1', 'conv1', 'pool1', { pool: 'MAX', kernel: [3, 3], stride: [2, 2], pad: [1, 1] }),
      L.of('LRN', 'norm1', ['pool1'], ['norm1'], { localSize: 3, alpha: 0.1, beta: 0.75, k: 1, normRegion: 'ACROSS_CHANNELS' }),
      L.conv('conv2', 'norm1', 'conv2', { numOutput: 4, kernel: [2, 3], group: 2 }, randn(48, 73, 0.5), randn(4, 74), 4),
      L.pool('pool2', 'conv2', 'pool2', { pool: 'AVE', kernel: [2, 2], stride: [2, 2], pad: [1, 1] }),
      L.ip('fc', 'pool2', 'fc', { numOutput: 3 }, blob([3, 24], randn(72, 75, 0.3)), randn(3, 76)),
      L.of('Softmax', 'prob', ['fc'], ['prob'], { axis: 1 }),
    ];
    const x = randn(count(shape), 77);
    const ref = await expectForwardMatches(netSpec(shape, layers), x);
    expect(ref.get('pool2')!.shape).toEqual([3, 4, 3, 2]);
    const fc = ref.get('fc')!.data;
    expect(fc[0]).not.toBeCloseTo(fc[3], 3);
    expect(fc[3]).not.toBeCloseTo(fc[6], 3);
  });

  test('an all-zero image next to a non-zero one (exact zeros through conv, ReLU and MAX pooling)', async () => {
    const shape = [2, 2, 3, 3];
    const x = awayFromZero(count(shape), 78);
    x.fill(0, 0, 18);
    const spec = netSpec(shape, [
      L.conv('conv', 'data', 'conv', { numOutput: 2, kernel: [2, 2], pad: [1, 1] }, randn(16, 79), randn(2, 80), 2),
      L.of('ReLU', 'relu', ['conv'], ['conv'], { negativeSlope: 0 }),
      L.pool('pool', 'conv', 'pool', { pool: 'MAX', kernel: [2, 2], stride: [2, 2] }),
    ]);
    await expectForwardMatches(spec, x);
  });
});
