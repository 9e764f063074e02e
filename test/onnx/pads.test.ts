/**
 * Asymmetric padding in ONNX models: Conv, MaxPool and AveragePool with explicit pads whose
 * bottom/right differ from top/left and with auto_pad SAME_UPPER / SAME_LOWER (any stride and
 * dilation), through the engine's own layers (padEnd). Pad nodes merged into the pool after
 * them where that is exact, a trailing LogSoftmax, and the refusals naming the node.
 * Oracles: onnxruntime-node (graph optimisations off, within 1e-5 relative), averages counted
 * by hand from ONNX's definition, central finite differences of our own forward pass, and
 * relevance conservation of the epsilon rule on a bias-free net.
 */
import { Net } from '../../lib/net';
import { encodeModel, GraphSpec, NodeSpec, TensorSpec, onnxruntime, relErr, runOrt } from '../helpers/onnx-builder';
import { randn } from '../helpers/reference-layers';
import { expectOnnxRefused as expectRefused } from '../helpers/expect-error';

const ortIt = onnxruntime() ? it : it.skip;
if (!onnxruntime()) console.warn('onnxruntime-node not available: the oracle comparisons of test/onnx/pads.test.ts are skipped');

const w = (name: string, dims: number[], seed: number, scale = 0.5): TensorSpec => ({ name, dims, data: randn(dims.reduce((a, b) => a * b, 1), seed, scale) });
const ints = (name: string, data: number[]): TensorSpec => ({ name, dims: [data.length], data, int64: true });
const size = (dims: number[]) => dims.reduce((a, b) => a * b, 1);

function graph(inputDims: (number | string)[], nodes: NodeSpec[], initializers: TensorSpec[] = [], opset = 13): GraphSpec {
  return { inputs: [{ name: 'x', dims: inputDims }], outputs: ['y'], nodes, initializers, opset };
}

/** Our forward output (all images, flat) for input x. */
async function ours(net: Net, x: Float32Array): Promise<Float32Array> {
  const scores = await net.forward(x);
  const out = new Float32Array(scores.reduce((a, s) => a + s.length, 0));
  scores.reduce((off, s) => { out.set(s, off); return off + s.length; }, 0);
  return out;
}

/** Loads g, compares its output with onnxruntime's for a random input of `dims`, returns the net (caller disposes). */
async function expectMatchesOrt(g: GraphSpec, dims: number[], seed = 7): Promise<Net> {
  const buf = encodeModel(g);
  const x = randn(size(dims), seed);
  const ref = (await runOrt(buf, { x: { dims, data: x } })).y;
  const net = await Net.load({ onnx: buf });
  const got = await ours(net, x);
  expect(got.length).toBe(ref.data.length);
  expect(relErr(got, ref.data)).toBeLessThanOrEqual(1e-5);
  return net;
}

describe('Conv with asymmetric pads against onnxruntime', () => {
  const cases: [string, number[], Record<string, number | number[] | string>, number[]][] = [
    // [what, input dims, attributes, weight dims]
    ['explicit pads [0, 0, 1, 1]', [2, 2, 5, 6], { pads: [0, 0, 1, 1] }, [3, 2, 3, 3]],
    ['explicit pads [2, 1, 0, 3], stride [2, 1], dilation [1, 2], group 2', [1, 4, 7, 6], { pads: [2, 1, 0, 3], strides: [2, 1], dilations: [1, 2], group: 2 }, [4, 2, 3, 2]],
    ['1x1 kernel with bottom/right padding only (no plain copy)', [2, 3, 4, 5], { pads: [0, 0, 1, 2] }, [2, 3, 1, 1]],
    ['SAME_UPPER, stride 2, even kernel, odd input', [1, 2, 7, 7], { auto_pad: 'SAME_UPPER', strides: [2, 2] }, [3, 2, 2, 2]],
    ['SAME_LOWER, stride 2, even kernel, odd input', [1, 2, 7, 7], { auto_pad: 'SAME_LOWER', strides: [2, 2] }, [3, 2, 2, 2]],
    ['SAME_LOWER, stride 1, kernel 2x4 (odd total padding)', [1, 3, 5, 6], { auto_pad: 'SAME_LOWER' }, [2, 3, 2, 4]],
    ['SAME_UPPER, depthwise, 676 output positions (one image per block)', [2, 3, 26, 26], { auto_pad: 'SAME_UPPER', group: 3 }, [3, 1, 2, 2]],
  ];
  for (const [what, dims, attrs, wd] of cases)
    ortIt(what, async () => {
      const g = graph(['N', ...dims.slice(1)], [{ op: 'Conv', inputs: ['x', 'w', 'b'], outputs: ['y'], attrs }], [w('w', wd, 11), w('b', [wd[0]], 12)]);
      const net = await expectMatchesOrt(g, dims);
      const p = net.spec.layers[0].params as { pad: number[]; padEnd?: number[] };
      expect(p.padEnd).toBeDefined(); // every case here pads unequally
      await net.dispose();
    });

  // onnxruntime refuses auto_pad SAME with dilations: the oracle is the same Conv with the pads
  // ONNX defines for it, total = (ceil(H / s) - 1) * s + (k - 1) * d + 1 - H, the odd one at the end (UPPER) or begin (LOWER).
  ortIt('SAME_UPPER / SAME_LOWER with dilation [2, 1], stride [2, 3], kernel 4x3 equal the explicit pads ONNX defines', async () => {
    const dims = [2, 2, 8, 9];
    const k = [4, 3];
    const s = [2, 3];
    const d = [2, 1];
    const x = randn(size(dims), 17);
    for (const mode of ['SAME_UPPER', 'SAME_LOWER']) {
      const pads = [0, 0, 0, 0];
      for (let i = 0; i < 2; i++) {
        const total = Math.max(0, (Math.ceil(dims[2 + i] / s[i]) - 1) * s[i] + (k[i] - 1) * d[i] + 1 - dims[2 + i]);
        const small = Math.floor(total / 2);
        pads[i] = mode === 'SAME_UPPER' ? small : total - small;
        pads[i + 2] = total - pads[i];
      }
      expect(pads[0]).not.toBe(pads[2]); // asymmetric along H (total 5)
      const conv = (attrs: Record<string, number[] | string>) => encodeModel(graph(['N', 2, 8, 9], [{ op: 'Conv', inputs: ['x', 'w'], outputs: ['y'], attrs: { strides: s, dilations: d, ...attrs } }], [w('w', [3, 2, 4, 3], 18)]));
      const ref = (await runOrt(conv({ pads }), { x: { dims, data: x } })).y;
      const net = await Net.load({ onnx: conv({ auto_pad: mode }) });
      expect(net.spec.layers[0].params).toMatchObject({ pad: [pads[0], pads[1]], padEnd: [pads[2], pads[3]] });
      expect(relErr(await ours(net, x), ref.data)).toBeLessThanOrEqual(1e-5);
      await net.dispose();
    }
  });

  ortIt('symmetric pads (and SAME_UPPER giving equal pads) keep Caffe\'s parameters: no padEnd', async () => {
    const g = graph(['N', 2, 5, 5], [{ op: 'Conv', inputs: ['x', 'w'], outputs: ['y'], attrs: { auto_pad: 'SAME_UPPER' } }], [w('w', [2, 2, 3, 3], 13)]);
    const net = await expectMatchesOrt(g, [1, 2, 5, 5]);
    expect(net.spec.layers[0].params).toMatchObject({ pad: [1, 1] });
    expect(net.spec.layers[0].params.padEnd).toBeUndefined();
    await net.dispose();
  });

  ortIt('an asymmetric zero Pad merged into a Conv with asymmetric pads of its own', async () => {
    const g = graph(['N', 2, 5, 6], [
      { op: 'Pad', inputs: ['x', 'pads'], outputs: ['p'] },
      { op: 'Conv', inputs: ['p', 'w'], outputs: ['y'], attrs: { pads: [0, 1, 1, 0], strides: [2, 2] } },
    ], [ints('pads', [0, 0, 1, 0, 0, 0, 0, 2]), w('w', [3, 2, 3, 3], 14)]);
    const net = await expectMatchesOrt(g, [2, 2, 5, 6]);
    expect(net.layers.map((l) => l.type)).toEqual(['Convolution']);
    expect(net.spec.layers[0].params).toMatchObject({ pad: [1, 1], padEnd: [1, 2] });
    await net.dispose();
  });

  ortIt('auto_pad SAME after a Pad is computed on the padded tensor', async () => {
    const g = graph(['N', 1, 6, 6], [
      { op: 'Pad', inputs: ['x', 'pads'], outputs: ['p'] },
      { op: 'Conv', inputs: ['p', 'w'], outputs: ['y'], attrs: { auto_pad: 'SAME_LOWER', strides: [2, 2] } },
    ], [ints('pads', [0, 0, 1, 0, 0, 0, 0, 1]), w('w', [2, 1, 2, 2], 15)]);
    await (await expectMatchesOrt(g, [1, 1, 6, 6])).dispose();
  });
});

describe('MaxPool / AveragePool with asymmetric pads', () => {
  const cases: Record<string, number | number[] | string>[] = [
    { kernel_shape: [2, 2], strides: [2, 2], auto_pad: 'SAME_UPPER' },
    { kernel_shape: [2, 2], strides: [2, 2], auto_pad: 'SAME_LOWER' },
    { kernel_shape: [4, 3], strides: [3, 2], auto_pad: 'SAME_UPPER', count_include_pad: 1 },
    { kernel_shape: [4, 3], strides: [3, 2], auto_pad: 'SAME_LOWER', count_include_pad: 1 },
    { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 0, 2, 1], ceil_mode: 1 },
    { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 0, 2, 1], ceil_mode: 1, count_include_pad: 1 },
    { kernel_shape: [3, 2], strides: [2, 3], pads: [0, 1, 2, 0], ceil_mode: 1, count_include_pad: 1 },
    // ceil mode without padding, stride > kernel: ONNX drops a last window starting past the image
    { kernel_shape: [1, 2], strides: [3, 3], ceil_mode: 1 },
    // bottom/right padding only, ceil mode: the last window would start in the padding
    { kernel_shape: [2, 2], strides: [3, 3], pads: [0, 0, 1, 1], ceil_mode: 1, count_include_pad: 1 },
  ];
  for (const attrs of cases)
    for (const op of ['MaxPool', 'AveragePool'])
      ortIt(`${op} ${JSON.stringify(attrs)} on 7x8 and 8x7 against onnxruntime`, async () => {
        const own = op === 'MaxPool' ? Object.fromEntries(Object.entries(attrs).filter(([k]) => k !== 'count_include_pad')) : attrs;
        for (const hw of [[7, 8], [8, 7]]) {
          const g = graph(['N', 2, ...hw], [{ op, inputs: ['x'], outputs: ['y'], attrs: own }]);
          await (await expectMatchesOrt(g, [2, 2, ...hw])).dispose();
        }
      });

  /**
   * AveragePool by ONNX's definition, counted here: windows at o * stride - begin; with
   * count_include_pad 1 the divisor is the window's part inside the padded input (image plus
   * both pads), with 0 its part inside the image; in ceil mode a window starting past the image
   * and its begin padding is dropped.
   */
  function averagePool(x: number[][], k: number[], s: number[], pads: number[], ceil: boolean, includePad: boolean): number[][] {
    const H = x.length;
    const W = x[0].length;
    const out = (n: number, i: number) => {
      const steps = (n + pads[i] + pads[i + 2] - k[i]) / s[i];
      let o = (ceil ? Math.ceil(steps) : Math.floor(steps)) + 1;
      if (ceil && (o - 1) * s[i] >= n + pads[i]) o--;
      return o;
    };
    const rows: number[][] = [];
    for (let oh = 0; oh < out(H, 0); oh++) {
      const row: number[] = [];
      for (let ow = 0; ow < out(W, 1); ow++) {
        let sum = 0;
        let n = 0;
        for (let h = oh * s[0] - pads[0]; h < oh * s[0] - pads[0] + k[0]; h++)
          for (let c = ow * s[1] - pads[1]; c < ow * s[1] - pads[1] + k[1]; c++) {
            const inImage = h >= 0 && h < H && c >= 0 && c < W;
            const inPadded = h >= -pads[0] && h < H + pads[2] && c >= -pads[1] && c < W + pads[3];
            if (inImage) sum += x[h][c];
            if (includePad ? inPadded : inImage) n++;
          }
        row.push(sum / n);
      }
      rows.push(row);
    }
    return rows;
  }

  it('AveragePool divisors with asymmetric pads and ceil mode are counted as ONNX defines them (count_include_pad 0 and 1)', async () => {
    const H = 5;
    const W = 6;
    const img = Array.from({ length: H }, (_, h) => Array.from({ length: W }, (_, c) => 1 + h * W + c));
    const settings: [number[], number[], number[]][] = [
      [[3, 3], [2, 2], [1, 0, 2, 1]],
      [[2, 3], [2, 2], [0, 2, 1, 0]],
      [[3, 2], [3, 3], [0, 0, 2, 1]],
    ];
    for (const [k, s, pads] of settings)
      for (const ceil of [false, true])
        for (const includePad of [false, true]) {
          const g = graph(['N', 1, H, W], [{ op: 'AveragePool', inputs: ['x'], outputs: ['y'], attrs: { kernel_shape: k, strides: s, pads, ceil_mode: ceil ? 1 : 0, count_include_pad: includePad ? 1 : 0 } }]);
          const net = await Net.load({ onnx: encodeModel(g) });
          const got = await ours(net, Float32Array.from(img.flat()));
          const want = averagePool(img, k, s, pads, ceil, includePad);
          expect(net.layers[0].outputShapes[0]).toEqual([1, 1, want.length, want[0].length]);
          expect(relErr(got, want.flat())).toBeLessThanOrEqual(1e-6);
          await net.dispose();
        }
  });
});

describe('a Pad node before MaxPool / AveragePool', () => {
  ortIt('a zero Pad after a Relu merges into the MaxPool (zeros never beat non-negative inputs)', async () => {
    const g = graph(['N', 2, 6, 7], [
      { op: 'Relu', inputs: ['x'], outputs: ['r'] },
      { op: 'Pad', inputs: ['r', 'pads'], outputs: ['p'] },
      { op: 'MaxPool', inputs: ['p'], outputs: ['y'], attrs: { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 0, 0, 0] } },
    ], [ints('pads', [0, 0, 0, 1, 0, 0, 2, 1])]);
    const net = await expectMatchesOrt(g, [2, 2, 6, 7]);
    expect(net.layers.map((l) => l.type)).toEqual(['ReLU', 'Pooling']);
    expect(net.spec.layers[1].params).toMatchObject({ pad: [1, 1], padEnd: [2, 1] });
    await net.dispose();
  });

  ortIt('a Pad of -inf (opset 9 attribute) and a Pad below a Clip\'s minimum merge into MaxPool', async () => {
    const g9 = graph(['N', 2, 5, 5], [
      { op: 'Pad', inputs: ['x'], outputs: ['p'], attrs: { pads: [0, 0, 1, 1, 0, 0, 0, 1], value: { float: -Infinity } } },
      { op: 'MaxPool', inputs: ['p'], outputs: ['y'], attrs: { kernel_shape: [2, 2], strides: [2, 2] } },
    ], [], 9);
    await (await expectMatchesOrt(g9, [1, 2, 5, 5])).dispose();
    const clip = graph(['N', 2, 5, 5], [
      { op: 'Clip', inputs: ['x', 'lo', 'hi'], outputs: ['c'] },
      { op: 'Pad', inputs: ['c', 'pads', 'v'], outputs: ['p'] },
      { op: 'MaxPool', inputs: ['p'], outputs: ['y'], attrs: { kernel_shape: [3, 3], strides: [2, 2], ceil_mode: 1 } },
    ], [{ name: 'lo', dims: [], data: [-0.5] }, { name: 'hi', dims: [], data: [0.5] }, ints('pads', [0, 0, 1, 0, 0, 0, 1, 2]), { name: 'v', dims: [], data: [-0.75] }]);
    await (await expectMatchesOrt(clip, [2, 2, 5, 5])).dispose();
  });

  ortIt('a zero Pad merges into AveragePool: with count_include_pad 1, and with 0 when the pool has no pads of its own', async () => {
    const g1 = graph(['N', 2, 6, 6], [
      { op: 'Pad', inputs: ['x', 'pads'], outputs: ['p'] },
      { op: 'AveragePool', inputs: ['p'], outputs: ['y'], attrs: { kernel_shape: [3, 3], strides: [2, 2], pads: [0, 1, 1, 0], count_include_pad: 1 } },
    ], [ints('pads', [0, 0, 1, 0, 0, 0, 0, 1])]);
    await (await expectMatchesOrt(g1, [2, 2, 6, 6])).dispose();
    const g0 = graph(['N', 2, 6, 6], [
      { op: 'Pad', inputs: ['x', 'pads'], outputs: ['p'] },
      { op: 'AveragePool', inputs: ['p'], outputs: ['y'], attrs: { kernel_shape: [3, 3], strides: [2, 2], ceil_mode: 1 } },
    ], [ints('pads', [0, 0, 1, 0, 0, 0, 1, 1])]);
    const net = await expectMatchesOrt(g0, [2, 2, 6, 6]);
    expect(net.spec.layers[0].params.excludePad).toBeUndefined(); // the Pad's zeros count in the average
    await net.dispose();
  });

  it('refusals where merging would not be exact name the node', async () => {
    // zero Pad before MaxPool on an input that may be negative: a zero could win the max
    await expectRefused(graph(['N', 1, 5, 5], [
      { op: 'Pad', inputs: ['x', 'pads'], outputs: ['p'], name: 'zero_pad' },
      { op: 'MaxPool', inputs: ['p'], outputs: ['y'], name: 'the_pool', attrs: { kernel_shape: [2, 2], strides: [2, 2] } },
    ], [ints('pads', [0, 0, 1, 1, 0, 0, 0, 0])]), 'UNSUPPORTED', /MaxPool node 1: .*Pad \(pads \[1,1,0,0\], value 0\) that a max could pick.*nothing bounds the input from below/);
    // non-zero Pad value before AveragePool
    await expectRefused(graph(['N', 1, 5, 5], [
      { op: 'Pad', inputs: ['x', 'pads', 'v'], outputs: ['p'] },
      { op: 'AveragePool', inputs: ['p'], outputs: ['y'], attrs: { kernel_shape: [2, 2] } },
    ], [ints('pads', [0, 0, 1, 1, 0, 0, 0, 0]), { name: 'v', dims: [], data: [1] }]), 'UNSUPPORTED', /AveragePool node 1: .*value 1\): only a zero Pad merges into an AveragePool/);
    // zero Pad + own pads with count_include_pad 0
    await expectRefused(graph(['N', 1, 5, 5], [
      { op: 'Pad', inputs: ['x', 'pads'], outputs: ['p'] },
      { op: 'AveragePool', inputs: ['p'], outputs: ['y'], attrs: { kernel_shape: [3, 3], pads: [1, 1, 1, 1] } },
    ], [ints('pads', [0, 0, 1, 1, 0, 0, 0, 0])]), 'UNSUPPORTED', /pads \[1,1,1,1\] of its own with count_include_pad = 0/);
    // ceil mode keeps a window in the Pad's padding that the merged pool would drop
    await expectRefused(graph(['N', 1, 4, 4], [
      { op: 'Relu', inputs: ['x'], outputs: ['r'] },
      { op: 'Pad', inputs: ['r', 'pads'], outputs: ['p'] },
      { op: 'MaxPool', inputs: ['p'], outputs: ['y'], attrs: { kernel_shape: [3, 3], strides: [2, 2], ceil_mode: 1 } },
    ], [ints('pads', [0, 0, 0, 0, 0, 0, 2, 0])]), 'UNSUPPORTED', /in ceil mode the pool keeps a last window in the Pad's padding/);
    // merged pads reaching the kernel size
    await expectRefused(graph(['N', 1, 5, 5], [
      { op: 'Pad', inputs: ['x', 'pads'], outputs: ['p'] },
      { op: 'AveragePool', inputs: ['p'], outputs: ['y'], attrs: { kernel_shape: [2, 2], pads: [1, 0, 0, 0], count_include_pad: 1 } },
    ], [ints('pads', [0, 0, 1, 0, 0, 0, 0, 0])]), 'UNSUPPORTED', /pads \[2,0,0,0\] \(its own plus the Pad before it\) must be smaller than the kernel/);
    // a Pad with a value before a Conv
    await expectRefused(graph(['N', 1, 5, 5], [
      { op: 'Pad', inputs: ['x', 'pads', 'v'], outputs: ['p'] },
      { op: 'Conv', inputs: ['p', 'w'], outputs: ['y'] },
    ], [ints('pads', [0, 0, 1, 1, 0, 0, 0, 0]), { name: 'v', dims: [], data: [2] }, w('w', [1, 1, 2, 2], 16)]), 'UNSUPPORTED', /Conv node 1: its input comes from a Pad with the value 2/);
    // a Pad that nothing merges: a graph output, or before a Relu
    await expectRefused(graph(['N', 1, 5, 5], [{ op: 'Pad', inputs: ['x', 'pads'], outputs: ['y'] }], [ints('pads', [0, 0, 1, 1, 0, 0, 0, 0])]),
      'UNSUPPORTED', /graph output 'y' comes from a non-zero Pad, which is only supported right before a Conv, MaxPool or AveragePool/);
    await expectRefused(graph(['N', 1, 5, 5], [
      { op: 'Pad', inputs: ['x', 'pads'], outputs: ['p'] },
      { op: 'Relu', inputs: ['p'], outputs: ['y'] },
    ], [ints('pads', [0, 0, 1, 1, 0, 0, 0, 0])]), 'UNSUPPORTED', /Relu node 1: input 'p' comes from a non-zero Pad/);
  });
});

describe('LogSoftmax and ConvTranspose', () => {
  const head = (last: NodeSpec[]): GraphSpec => graph(['N', 2, 4, 4], [
    { op: 'Conv', inputs: ['x', 'w1'], outputs: ['c'], attrs: { auto_pad: 'SAME_UPPER', strides: [2, 2] } },
    { op: 'Relu', inputs: ['c'], outputs: ['r'] },
    { op: 'Flatten', inputs: ['r'], outputs: ['f'] },
    ...last,
  ], [w('w1', [3, 2, 2, 2], 20), w('w2', [5, 12], 21)]);
  const gemmTo = (out: string): NodeSpec => ({ op: 'Gemm', inputs: ['f', 'w2'], outputs: [out], attrs: { transB: 1 } });

  ortIt('a trailing LogSoftmax gives onnxruntime\'s log-probabilities (opset 11 and 13 axes)', async () => {
    const net = await expectMatchesOrt(head([gemmTo('z'), { op: 'LogSoftmax', inputs: ['z'], outputs: ['y'] }]), [3, 2, 4, 4]);
    expect(net.layers[net.layers.length - 1]).toMatchObject({ type: 'Softmax', onnx: { op: 'LogSoftmax' } });
    await net.dispose();
    await (await expectMatchesOrt(graph(['N', 3, 2, 4], [{ op: 'LogSoftmax', inputs: ['x'], outputs: ['y'], attrs: { axis: 2 } }]), [2, 3, 2, 4])).dispose();
    await (await expectMatchesOrt(graph(['N', 6, 1, 1], [{ op: 'LogSoftmax', inputs: ['x'], outputs: ['y'] }], [], 11), [2, 6, 1, 1])).dispose();
  });

  it('a trailing LogSoftmax is explained from the logits below it: the same relevance as the net without it', async () => {
    const withLog = await Net.load({ onnx: encodeModel(head([gemmTo('z'), { op: 'LogSoftmax', inputs: ['z'], outputs: ['y'] }])) });
    const logits = await Net.load({ onnx: encodeModel(head([gemmTo('y')])) });
    try {
      const x = randn(2 * 2 * 4 * 4, 22);
      for (const opts of [{ relpropformulatype: 0, epsstab: 0.01 }, { relpropformulatype: 2, alphabeta_beta: 1 }]) {
        const a = await withLog.explain(x, { ...opts, targets: 'top1' });
        const b = await logits.explain(x, { ...opts, targets: 'top1' });
        expect(a.classes).toEqual(b.classes); // log-softmax keeps the order of the logits
        const sum = Array.from(b.heatmaps[0].data).reduce((s, v) => s + Math.abs(v), 0);
        expect(sum).toBeGreaterThan(1e-3);
        expect(Array.from(a.heatmaps[0].data)).toEqual(Array.from(b.heatmaps[0].data));
      }
    } finally {
      await withLog.dispose();
      await logits.dispose();
    }
  });

  it('the log-softmax gradient (walk started at it) matches finite differences of the forward pass', async () => {
    const net = await Net.load({ onnx: encodeModel(head([gemmTo('z'), { op: 'LogSoftmax', inputs: ['z'], outputs: ['y'] }])) });
    try {
      const x = randn(2 * 4 * 4, 23);
      const top = net.layers.length - 1;
      const [out] = await net.forward(x);
      const cls = 2;
      const [hm] = await net.backwardRelevanceMulti([[cls]], { relpropformulatype: 11, lastlayerindex: top });
      const grad = Array.from(hm.data, (v) => v / out[cls]); // formula 11: output x gradient
      const step = 1e-2;
      let worst = 0;
      let scale = 0;
      for (let j = 0; j < x.length; j++) {
        const plus = Float32Array.from(x);
        const minus = Float32Array.from(x);
        plus[j] += step;
        minus[j] -= step;
        const numeric = ((await net.forward(plus))[0][cls] - (await net.forward(minus))[0][cls]) / (2 * step);
        worst = Math.max(worst, Math.abs(numeric - grad[j]));
        scale = Math.max(scale, Math.abs(numeric));
      }
      expect(scale).toBeGreaterThan(1e-3);
      expect(worst).toBeLessThanOrEqual(1e-2 * scale);
    } finally {
      await net.dispose();
    }
  });

  it('a LogSoftmax inside the net and a ConvTranspose are refused, naming the node', async () => {
    await expectRefused(head([gemmTo('z'), { op: 'LogSoftmax', name: 'inner_log', inputs: ['z'], outputs: ['l'] }, { op: 'Relu', inputs: ['l'], outputs: ['y'] }]),
      'UNSUPPORTED', /LogSoftmax node 4: LogSoftmax is only supported as a graph output .*output 'l' is read by other nodes/);
    await expectRefused(graph(['N', 1, 3, 3], [{ op: 'ConvTranspose', name: 'up', inputs: ['x', 'w'], outputs: ['y'] }], [w('w', [1, 1, 2, 2], 24)]),
      'UNSUPPORTED', /node 0 'up' \(op type ConvTranspose, domain 'ai\.onnx', opset 13\) is not supported \(the engine has no transposed convolution layer/);
  });
});

describe('a net of asymmetric pads: gradient and relevance use the forward geometry', () => {
  // 13x12 -> Conv 2x2 SAME_UPPER stride 2 (7x6) -> Relu -> MaxPool 3x3 stride 2 pads [0, 1, 2, 1] ceil (4x4, the
  // ceil on W) -> Conv 2x3 pads [0, 1, 1, 0] (4x3) -> Relu -> AveragePool 2x2 SAME_LOWER, count_include_pad 0 (4x3)
  // -> Flatten -> Gemm. No biases, so the epsilon rule conserves relevance layer by layer (up to epsilon).
  // (onnxruntime's shape inference does not know ONNX's rule that drops a ceil-mode window
  // starting in the end padding, which its kernels apply: a Gemm after such a pool fails there.)
  const g = graph(['N', 2, 13, 12], [
    { op: 'Conv', inputs: ['x', 'w1'], outputs: ['c1'], attrs: { auto_pad: 'SAME_UPPER', strides: [2, 2] } },
    { op: 'Relu', inputs: ['c1'], outputs: ['r1'] },
    { op: 'MaxPool', inputs: ['r1'], outputs: ['p1'], attrs: { kernel_shape: [3, 3], strides: [2, 2], pads: [0, 1, 2, 1], ceil_mode: 1 } },
    { op: 'Conv', inputs: ['p1', 'w2'], outputs: ['c2'], attrs: { pads: [0, 1, 1, 0] } },
    { op: 'Relu', inputs: ['c2'], outputs: ['r2'] },
    { op: 'AveragePool', inputs: ['r2'], outputs: ['a'], attrs: { kernel_shape: [2, 2], auto_pad: 'SAME_LOWER' } },
    { op: 'Flatten', inputs: ['a'], outputs: ['f'] },
    { op: 'Gemm', inputs: ['f', 'w3'], outputs: ['y'], attrs: { transB: 1 } },
  ], [w('w1', [4, 2, 2, 2], 30), w('w2', [3, 4, 2, 3], 31), w('w3', [5, 36], 32)]);
  const perImage = 2 * 13 * 12;

  ortIt('the forward pass matches onnxruntime at batch 1 and 3, with the shapes the lowering promised', async () => {
    for (const n of [1, 3]) {
      const net = await expectMatchesOrt(g, [n, 2, 13, 12], 33);
      expect(net.layers.filter((l) => l.type !== 'ReLU').map((l) => l.outputShapes[0].slice(1)))
        .toEqual([[4, 7, 6], [4, 4, 4], [3, 4, 3], [3, 4, 3], [36], [5]]);
      await net.dispose();
    }
  });

  it('the gradient walk (formula 11) matches central finite differences of the forward pass', async () => {
    const net = await Net.load({ onnx: encodeModel(g) });
    try {
      const x = randn(perImage, 34);
      const { scores, classes, heatmaps } = await net.explain(x, { relpropformulatype: 11, targets: 'top1' });
      const c = classes[0][0];
      const logit = scores[0][c];
      expect(Math.abs(logit)).toBeGreaterThan(1e-2);
      // formula 11: heatmap = logit x d logit / d input, in the input's own channel order (ONNX)
      const analytic = Array.from(heatmaps[0].data, (v) => v / logit);
      const step = 1e-3;
      const perturbed: Float32Array[] = [];
      for (let j = 0; j < perImage; j++)
        for (const sign of [1, -1]) {
          const p = Float32Array.from(x);
          p[j] += sign * step;
          perturbed.push(p);
        }
      const z = await net.forward(perturbed);
      const numeric = Array.from({ length: perImage }, (_, j) => (z[2 * j][c] - z[2 * j + 1][c]) / (2 * step));
      const scale = numeric.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      expect(scale).toBeGreaterThan(1e-2);
      // the padding-only corner (bottom/right) still gets gradient through the SAME_UPPER taps
      expect(numeric.filter((v) => v !== 0).length).toBeGreaterThan(perImage / 4);
      const worst = numeric.reduce((m, v, j) => Math.max(m, Math.abs(v - analytic[j])), 0);
      expect(worst).toBeLessThanOrEqual(1e-2 * scale);
    } finally {
      await net.dispose();
    }
  }, 60_000);

  it('epsilon relevance is conserved by every layer and the heatmap sums to the seeded logit; rules 2, 100 and Zennit composites run', async () => {
    const net = await Net.load({ onnx: encodeModel(g) });
    try {
      const x = randn(2 * perImage, 35);
      const r = await net.explain(x, { relpropformulatype: 0, epsstab: 1e-7, targets: 'top1', conservation: true });
      expect(r.conservation!.map((row) => row.type)).toEqual(['InnerProduct', 'Flatten', 'Pooling', 'ReLU', 'Convolution', 'Pooling', 'ReLU', 'Convolution']);
      for (const row of r.conservation!)
        row.in.forEach((rin, i) => {
          expect(Math.abs(rin)).toBeGreaterThan(1e-3);
          expect(Math.abs(row.out[i] - rin)).toBeLessThanOrEqual(1e-4 * Math.abs(rin));
        });
      r.heatmaps.forEach((hm, i) => {
        const total = Array.from(hm.data).reduce((s, v) => s + v, 0);
        expect(Math.abs(total - r.scores[i][r.classes[i][0]])).toBeLessThanOrEqual(1e-4 * Math.abs(r.scores[i][r.classes[i][0]]));
      });
      for (const opts of [{ relpropformulatype: 2, alphabeta_beta: 1 }, { relpropformulatype: 100, epsstab: 0.01, alphabeta_beta: 1 }, { composite: 'EpsilonPlusFlat' as const }, { composite: 'EpsilonAlpha2Beta1' as const }]) {
        const e = await net.explain(x, { ...opts, targets: 'top1' });
        for (const hm of e.heatmaps) {
          expect(hm.data.every(Number.isFinite)).toBe(true);
          expect(hm.data.some((v) => v !== 0)).toBe(true);
        }
      }
      // Zennit's Flat rule on the first Conv spreads its relevance over the taps inside the image
      // only (the padding's taps hold the zeros of a padded ones-image): conserved there too.
      const flat = await net.explain(x, { composite: 'EpsilonPlusFlat', targets: 'top1', conservation: true });
      const first = flat.conservation!.find((row) => row.index === 0)!;
      first.in.forEach((rin, i) => expect(Math.abs(first.out[i] - rin)).toBeLessThanOrEqual(1e-4 * Math.abs(rin)));
    } finally {
      await net.dispose();
    }
  });
});
