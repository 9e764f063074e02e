/**
 * Channels-last (toolbox) <-> channels-first (engine) conversions: data, convolution
 * filters, Linear weights behind a Flatten, and whole models checked against a plain
 * float64 forward pass written directly in the toolbox's NHWC layout.
 */
import { CaffeLrpError } from '../../lib/errors';
import type { LayerSpec, NetSpec } from '../../lib/caffe/netspec-types';
import { Net } from '../../lib/net';
import {
  convWeightsToEngine, convWeightsToToolbox, formatToolboxModel, hwcIndexOfChw, linearWeightsToEngine, linearWeightsToToolbox,
  nchwToNhwc, netSpecToToolbox, nhwcToNchw, parseToolboxModel, toolboxToNetSpec, type ToolboxLayer, type ToolboxModel,
} from '../../lib/toolbox';
import { rand } from '../helpers/small-nets';
import { relativeMax } from '../helpers/vectors';

/** A plain NHWC float64 forward pass of a toolbox model (the toolbox's definitions). */
function toolboxForward(model: ToolboxModel, x: Float64Array, shape: number[]): { data: Float64Array; shape: number[] } {
  let cur = { data: x, shape };
  for (const l of model.layers) {
    const [n, h, w, d] = cur.shape;
    const at = (i: number, y: number, xx: number, c: number) => cur.data[((i * h + y) * w + xx) * d + c];
    switch (l.type) {
      case 'Convolution': {
        const ho = Math.floor((h - l.h) / l.stride[0]) + 1, wo = Math.floor((w - l.w) / l.stride[1]) + 1;
        const out = new Float64Array(n * ho * wo * l.n);
        for (let i = 0; i < n; ++i) for (let y = 0; y < ho; ++y) for (let xx = 0; xx < wo; ++xx) for (let f = 0; f < l.n; ++f) {
          let s = l.bias[f];
          for (let a = 0; a < l.h; ++a) for (let b = 0; b < l.w; ++b) for (let c = 0; c < l.d; ++c)
            s += at(i, y * l.stride[0] + a, xx * l.stride[1] + b, c) * l.weights[((a * l.w + b) * l.d + c) * l.n + f];
          out[((i * ho + y) * wo + xx) * l.n + f] = s;
        }
        cur = { data: out, shape: [n, ho, wo, l.n] };
        break;
      }
      case 'MaxPool':
      case 'SumPool': {
        const [ph, pw] = l.pool;
        const ho = Math.floor((h - ph) / l.stride[0]) + 1, wo = Math.floor((w - pw) / l.stride[1]) + 1;
        const out = new Float64Array(n * ho * wo * d);
        for (let i = 0; i < n; ++i) for (let y = 0; y < ho; ++y) for (let xx = 0; xx < wo; ++xx) for (let c = 0; c < d; ++c) {
          let s = l.type === 'MaxPool' ? -Infinity : 0;
          for (let a = 0; a < ph; ++a) for (let b = 0; b < pw; ++b) {
            const v = at(i, y * l.stride[0] + a, xx * l.stride[1] + b, c);
            s = l.type === 'MaxPool' ? Math.max(s, v) : s + v;
          }
          out[((i * ho + y) * wo + xx) * d + c] = l.type === 'MaxPool' ? s : s / Math.sqrt(ph * pw);
        }
        cur = { data: out, shape: [n, ho, wo, d] };
        break;
      }
      case 'Flatten': cur = { data: cur.data, shape: [n, cur.data.length / n] }; break;
      case 'Linear': {
        const out = new Float64Array(cur.shape[0] * l.n);
        for (let i = 0; i < cur.shape[0]; ++i) for (let j = 0; j < l.n; ++j) {
          let s = l.bias[j];
          for (let k = 0; k < l.m; ++k) s += cur.data[i * l.m + k] * l.weights[k * l.n + j];
          out[i * l.n + j] = s;
        }
        cur = { data: out, shape: [cur.shape[0], l.n] };
        break;
      }
      case 'Rect': cur = { data: cur.data.map((v) => Math.max(0, v)), shape: cur.shape }; break;
      case 'Tanh': cur = { data: cur.data.map(Math.tanh), shape: cur.shape }; break;
      case 'SoftMax': {
        const k = cur.shape[cur.shape.length - 1];
        const out = new Float64Array(cur.data.length);
        for (let r = 0; r < cur.data.length / k; ++r) {
          const row = cur.data.subarray(r * k, (r + 1) * k);
          const m = Math.max(...row);
          const e = Array.from(row, (v) => Math.exp(v - m));
          const s = e.reduce((a, b) => a + b, 0);
          e.forEach((v, j) => { out[r * k + j] = v / s; });
        }
        cur = { data: out, shape: cur.shape };
        break;
      }
    }
  }
  return cur;
}

function weights(n: number, seed: number, scale = 0.5): Float64Array {
  return Float64Array.from(rand(n, seed, scale));
}

function conv(h: number, w: number, d: number, n: number, stride: [number, number], seed: number): ToolboxLayer {
  return { type: 'Convolution', h, w, d, n, stride, weights: weights(h * w * d * n, seed), bias: weights(n, seed + 1, 0.1) };
}

function linear(m: number, n: number, seed: number): ToolboxLayer {
  return { type: 'Linear', m, n, weights: weights(m * n, seed, 0.3), bias: weights(n, seed + 1, 0.1) };
}

async function engineOutput(model: ToolboxModel, x: Float32Array, shape: number[]): Promise<{ data: Float32Array; net: Net; spec: NetSpec }> {
  const spec = toolboxToNetSpec(model, { inputShape: shape.slice(1), batchSize: shape[0] });
  const net = new Net(spec);
  const scores = await net.forward(nhwcToNchw(x, shape));
  const data = new Float32Array(scores.reduce((a, s) => a + s.length, 0));
  scores.forEach((s, i) => data.set(s, i * s.length));
  return { data, net, spec };
}

describe('layout helpers', () => {
  test('NHWC <-> NCHW', () => {
    const x = Float32Array.from({ length: 2 * 3 * 4 * 5 }, (_, i) => i);
    const nchw = nhwcToNchw(x, [2, 3, 4, 5]);
    // element (n=1, h=2, w=3, c=4) of NHWC is (n=1, c=4, h=2, w=3) of NCHW
    expect(nchw[((1 * 5 + 4) * 3 + 2) * 4 + 3]).toBe(x[((1 * 3 + 2) * 4 + 3) * 5 + 4]);
    expect(Array.from(nchwToNhwc(nchw, [2, 5, 3, 4]))).toEqual(Array.from(x));
    expect(() => nhwcToNchw(x, [2, 3, 4, 4])).toThrow(CaffeLrpError);
  });

  test('convolution filters h x w x d x n -> n x d x h x w', () => {
    const [h, w, d, n] = [3, 2, 4, 5];
    const t = Float64Array.from({ length: h * w * d * n }, (_, i) => i);
    const e = convWeightsToEngine(t, h, w, d, n);
    expect(e).toBeInstanceOf(Float64Array);
    for (let y = 0; y < h; ++y) for (let x = 0; x < w; ++x) for (let c = 0; c < d; ++c) for (let f = 0; f < n; ++f)
      expect(e[((f * d + c) * h + y) * w + x]).toBe(t[((y * w + x) * d + c) * n + f]);
    expect(Array.from(convWeightsToToolbox(e, n, d, h, w))).toEqual(Array.from(t));
  });

  test('Linear rows in (H, W, C) order -> InnerProduct columns in (C, H, W) order', () => {
    const [c, h, w, n] = [3, 2, 2, 4];
    const m = c * h * w;
    const t = Float32Array.from({ length: m * n }, (_, i) => i);
    const e = linearWeightsToEngine(t, m, n, [c, h, w]);
    const map = hwcIndexOfChw(c, h, w);
    expect(map[(2 * h + 1) * w + 0]).toBe((1 * w + 0) * c + 2);
    for (let j = 0; j < n; ++j) for (let k = 0; k < m; ++k) expect(e[j * m + k]).toBe(t[map[k] * n + j]);
    expect(Array.from(linearWeightsToToolbox(e, n, m, [c, h, w]))).toEqual(Array.from(t));
    // Plain vectors: a transpose.
    expect(Array.from(linearWeightsToEngine(Float32Array.of(1, 2, 3, 4, 5, 6), 2, 3))).toEqual([1, 4, 2, 5, 3, 6]);
  });
});

describe('toolbox models in the engine equal a float64 NHWC forward pass', () => {
  const cases: { name: string; model: ToolboxModel; shape: number[] }[] = [
    {
      name: 'conv (strided, multi-channel) / pools / Flatten / Linear behind a C x H x W volume',
      shape: [3, 9, 8, 2],
      model: { layers: [
        conv(3, 2, 2, 3, [2, 1], 11), { type: 'Rect' }, { type: 'SumPool', pool: [2, 2], stride: [1, 1] },
        { type: 'MaxPool', pool: [2, 1], stride: [1, 2] }, { type: 'Tanh' }, { type: 'Flatten' },
        linear(2 * 3 * 3, 4, 21), { type: 'Rect' }, linear(4, 3, 31), { type: 'SoftMax' },
      ] },
    },
    {
      name: 'a Flatten at the end keeps the toolbox (H, W, C) order (channels-last Permute)',
      shape: [2, 5, 4, 2],
      model: { layers: [conv(2, 2, 2, 3, [1, 1], 41), { type: 'Tanh' }, { type: 'Flatten' }] },
    },
    {
      name: 'SoftMax over the channels of a volume',
      shape: [2, 4, 4, 1],
      model: { layers: [conv(2, 2, 1, 3, [2, 2], 51), { type: 'SoftMax' }, { type: 'Flatten' }] },
    },
  ];
  for (const c of cases) {
    test(c.name, async () => {
      const x = rand(c.shape.reduce((a, b) => a * b, 1), 7);
      const expected = toolboxForward(c.model, Float64Array.from(x), c.shape);
      const { data, net, spec } = await engineOutput(c.model, x, c.shape);
      try {
        expect(data.length).toBe(expected.data.length);
        expect(relativeMax(data, expected.data)).toBeLessThan(1e-5);
        if (c.name.includes('Permute')) expect(spec.layers.map((l) => l.type)).toEqual(['Convolution', 'TanH', 'Permute', 'Flatten']);
        // ... and the NetSpec writes back to the same model.
        expect(formatToolboxModel(netSpecToToolbox(spec))).toBe(formatToolboxModel(c.model));
      } finally {
        await net.dispose();
      }
    });
  }
});

describe('NetSpec -> toolbox model', () => {
  const blob = (shape: number[], seed: number) => ({ shape, data: rand(shape.reduce((a, b) => a * b, 1), seed, 0.4) });
  const caffeLike = (): NetSpec => ({
    name: 'caffe-like',
    inputs: [{ name: 'data', shape: [2, 2, 8, 8] }],
    layers: [
      { name: 'conv1', type: 'Convolution', bottoms: ['data'], tops: ['conv1'], blobs: [blob([4, 2, 3, 3], 1), blob([4], 2)],
        params: { numOutput: 4, biasTerm: true, kernel: [3, 3], stride: [1, 1], pad: [0, 0], dilation: [1, 1], group: 1, axis: 1 } },
      { name: 'relu1', type: 'ReLU', bottoms: ['conv1'], tops: ['conv1'], params: { negativeSlope: 0 }, blobs: [] },
      { name: 'pool1', type: 'Pooling', bottoms: ['conv1'], tops: ['pool1'], blobs: [],
        params: { pool: 'MAX', kernel: [2, 2], stride: [2, 2], pad: [0, 0], globalPooling: false, roundMode: 'CEIL' } },
      { name: 'drop', type: 'Dropout', bottoms: ['pool1'], tops: ['pool1'], params: { dropoutRatio: 0.5 }, blobs: [] },
      { name: 'ip1', type: 'InnerProduct', bottoms: ['pool1'], tops: ['ip1'], blobs: [blob([5, 36], 3), blob([5], 4)],
        params: { numOutput: 5, biasTerm: true, axis: 1, transpose: false } },
      { name: 'prob', type: 'Softmax', bottoms: ['ip1'], tops: ['prob'], params: { axis: 1 }, blobs: [] },
    ],
  });

  test('a Caffe-style net (InnerProduct straight on a volume) becomes Flatten + Linear and computes the same', async () => {
    const spec = caffeLike();
    const model = netSpecToToolbox(spec);
    expect(model.layers.map((l) => l.type)).toEqual(['Convolution', 'Rect', 'MaxPool', 'Flatten', 'Linear', 'SoftMax']);
    const text = formatToolboxModel(model);
    const back = toolboxToNetSpec(parseToolboxModel(text), { inputShape: [8, 8, 2], batchSize: 2 });
    const x = rand(2 * 2 * 8 * 8, 9);
    const a = new Net(spec), b = new Net(back);
    try {
      const ya = await a.forward(x), yb = await b.forward(x);
      ya.forEach((s, i) => expect(relativeMax(yb[i], s)).toBeLessThan(1e-6));
    } finally {
      await a.dispose();
      await b.dispose();
    }
  });

  test('layers without a toolbox counterpart are refused, naming the layer', () => {
    const variants: [string, (s: NetSpec) => void, RegExp][] = [
      ['padding', (s) => { (s.layers[0].params as any).pad = [1, 1]; }, /conv1.*no padding, dilation or groups/],
      ['average pooling', (s) => { (s.layers[2].params as any).pool = 'AVE'; }, /pool1.*AVE pooling has no toolbox counterpart/],
      ['leaky ReLU', (s) => { (s.layers[1].params as any).negativeSlope = 0.1; }, /relu1.*leaky ReLU/],
      ['a branch', (s) => { s.layers[4].bottoms = ['conv1']; }, /ip1.*chain of single-input layers/],
      ['LRN', (s) => { s.layers.splice(3, 1, { name: 'norm', type: 'LRN', bottoms: ['pool1'], tops: ['pool1'], params: {}, blobs: [] } as LayerSpec); }, /norm.*no toolbox counterpart/],
    ];
    for (const [, change, message] of variants) {
      const s = caffeLike();
      change(s);
      let err: unknown;
      try { netSpecToToolbox(s); } catch (e) { err = e; }
      expect(err).toBeInstanceOf(CaffeLrpError);
      expect((err as CaffeLrpError).code).toBe('UNSUPPORTED');
      expect((err as Error).message).toMatch(message);
    }
  });
});

describe('conversion errors name the model line', () => {
  const at = (text: string, options: Parameters<typeof toolboxToNetSpec>[1]) => () => toolboxToNetSpec(parseToolboxModel(text, 'm.txt'), options);
  test('shape mismatches', () => {
    expect(at('Convolution 1 1 2 1 1 1\n1 1\n0\n', { inputShape: [4, 4, 3] })).toThrow(/m\.txt:1: Convolution 1x1x2x1 \(module 0\) expects input depth 2, but its input has 3 channels/);
    expect(at('Rect\nLinear 3 1\n1 1 1\n0\n', { inputShape: [4] })).toThrow(/m\.txt:2: Linear 3 1 \(module 1\) expects 3 inputs, but its input has 4/);
    expect(at('Convolution 1 1 1 2 1 1\n1 1\n0 0\nLinear 8 1\n1 1 1 1 1 1 1 1\n0\n', { inputShape: [2, 2, 1] })).toThrow(/m\.txt:4: .*without a Flatten/);
    expect(at('Linear 1 1\n1\n0\nMaxPool 2 2 2 2\n', {})).toThrow(/m\.txt:4: MaxPool \(module 1\) needs an N x H x W x D input/);
    expect(at('Convolution 5 5 1 1 1 1\n' + '1 '.repeat(25) + '\n0\n', { inputShape: [4, 4, 1] })).toThrow(/larger than its 4x4 input/);
  });
  test('the input size is required when the model does not start with Linear', () => {
    expect(at('Convolution 1 1 1 1 1 1\n1\n0\n', {})).toThrow(/option 'inputShape': the model starts with Convolution/);
    expect(at('Linear 1 1\n1\n0\n', { inputShape: [1, 2] })).toThrow(/must be \[H, W, D\] or \[D\]/);
  });
});
