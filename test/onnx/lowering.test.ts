/**
 * The ONNX lowering op by op: small models written with our proto/onnx.proto, run by our
 * engine and by onnxruntime-node (the oracle: graph optimisations off), outputs within
 * 1e-5 relative (max abs error / max abs value). Also the opset differences (Clip, Pad,
 * Squeeze/Unsqueeze, Softmax, Reshape allowzero), the exporter's shape subgraph at several
 * batch sizes, and every refusal: a CaffeLrpError naming the node.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Net } from '../../lib/net';
import { CaffeLrpError } from '../../lib/errors';
import { loadOnnxNetSpecSync } from '../../lib/onnx';
import { encodeModel, GraphSpec, NodeSpec, TensorSpec, onnxruntime, relErr, runOrt } from '../helpers/onnx-builder';
import { randn } from '../helpers/reference-layers';
import { expectOnnxRefused as expectRefused } from '../helpers/expect-error';

const ortIt = onnxruntime() ? it : it.skip;
if (!onnxruntime()) console.warn('onnxruntime-node not available: the oracle comparisons of test/onnx/lowering.test.ts are skipped');

const w = (name: string, dims: number[], seed: number, scale = 0.5): TensorSpec => ({ name, dims, data: randn(dims.reduce((a, b) => a * b, 1), seed, scale) });
const ints = (name: string, data: number[]): TensorSpec => ({ name, dims: [data.length], data, int64: true });

function graph(inputDims: (number | string)[], nodes: NodeSpec[], initializers: TensorSpec[] = [], opset = 13, outputs = ['y']): GraphSpec {
  return { inputs: [{ name: 'x', dims: inputDims }], outputs, nodes, initializers, opset };
}

/** Our output (the first graph output) vs onnxruntime's, for a random input of `dims`. */
async function expectMatchesOrt(g: GraphSpec, dims: number[], tol = 1e-5, seed = 7): Promise<Net> {
  const buf = encodeModel(g);
  const x = randn(dims.reduce((a, b) => a * b, 1), seed);
  const ref = (await runOrt(buf, { x: { dims, data: x } }))[g.outputs[0]];
  const net = await Net.load({ onnx: buf });
  const scores = await net.forward(x);
  const ours = new Float32Array(scores.length * scores[0].length);
  scores.forEach((s, i) => ours.set(s, i * s.length));
  expect(ours.length).toBe(ref.data.length);
  expect(relErr(ours, ref.data)).toBeLessThanOrEqual(tol);
  return net;
}

describe('operators against onnxruntime', () => {
  ortIt('Conv (group 2, dilation, stride, pads) + Relu + MaxPool ceil_mode + Flatten + Gemm (transB, alpha, beta)', async () => {
    const g = graph(['N', 4, 9, 8], [
      { op: 'Conv', inputs: ['x', 'w1', 'b1'], outputs: ['c1'], attrs: { group: 2, dilations: [2, 1], strides: [1, 2], pads: [2, 1, 2, 1], kernel_shape: [3, 3] } },
      { op: 'Relu', inputs: ['c1'], outputs: ['r1'] },
      { op: 'MaxPool', inputs: ['r1'], outputs: ['p1'], attrs: { kernel_shape: [2, 2], strides: [2, 2], ceil_mode: 1 } },
      { op: 'Flatten', inputs: ['p1'], outputs: ['f'], attrs: { axis: 1 } },
      { op: 'Gemm', inputs: ['f', 'w2', 'b2'], outputs: ['y'], attrs: { transB: 1, alpha: { float: 0.5 }, beta: { float: 2 } } },
    ], [w('w1', [6, 2, 3, 3], 1), w('b1', [6], 2), w('w2', [5, 6 * 5 * 2], 3, 0.2), w('b2', [5], 4)]);
    const net = await expectMatchesOrt(g, [2, 4, 9, 8]);
    expect(net.layers.map((l) => [l.type, l.onnx?.op])).toEqual([
      ['Convolution', 'Conv'], ['ReLU', 'Relu'], ['Pooling', 'MaxPool'], ['Flatten', 'Flatten'], ['InnerProduct', 'Gemm'],
    ]);
    expect(net.layers[0].name).toBe('n0');
    await net.dispose();
  });

  ortIt('Gemm with transB = 0 and a [1, K] bias; MatMul + Add fused into one InnerProduct', async () => {
    const g = graph(['N', 6], [
      { op: 'Gemm', inputs: ['x', 'w1', 'c1'], outputs: ['g'], attrs: { beta: { float: -1 } } },
      { op: 'Tanh', inputs: ['g'], outputs: ['t'] },
      { op: 'MatMul', inputs: ['t', 'w2'], outputs: ['m'] },
      { op: 'Add', inputs: ['m', 'b2'], outputs: ['y'] },
    ], [w('w1', [6, 4], 5), w('c1', [1, 4], 6), w('w2', [4, 3], 7), w('b2', [3], 8)]);
    const net = await expectMatchesOrt(g, [3, 6]);
    expect(net.layers.map((l) => l.type)).toEqual(['InnerProduct', 'TanH', 'InnerProduct']);
    await net.dispose();
  });

  ortIt('BatchNormalization after a bias-free Conv is merged into it; a BN after a Relu becomes a Scale layer', async () => {
    const bn = (p: string, c: number, s: number): TensorSpec[] => [
      w(`${p}g`, [c], s), w(`${p}b`, [c], s + 1), w(`${p}m`, [c], s + 2), { name: `${p}v`, dims: [c], data: Array.from(randn(c, s + 3), (v) => 0.5 + v * v) },
    ];
    const g = graph(['N', 3, 5, 5], [
      { op: 'Conv', inputs: ['x', 'w1'], outputs: ['c1'], attrs: { pads: [1, 1, 1, 1] } },
      { op: 'BatchNormalization', inputs: ['c1', 'ag', 'ab', 'am', 'av'], outputs: ['n1'], attrs: { epsilon: { float: 1e-3 } } },
      { op: 'Relu', inputs: ['n1'], outputs: ['r1'] },
      { op: 'BatchNormalization', inputs: ['r1', 'bg', 'bb', 'bm', 'bv'], outputs: ['y'] },
    ], [w('w1', [4, 3, 3, 3], 9), ...bn('a', 4, 10), ...bn('b', 4, 20)]);
    const net = await expectMatchesOrt(g, [2, 3, 5, 5]);
    expect(net.layers.map((l) => l.type)).toEqual(['Convolution', 'ReLU', 'Scale']);
    await net.dispose();
  });

  ortIt('AveragePool with pads and count_include_pad = 1, GlobalMaxPool, LRN, LeakyRelu, PRelu, Sigmoid, Dropout, Identity', async () => {
    const g = graph(['N', 3, 6, 7], [
      { op: 'AveragePool', inputs: ['x'], outputs: ['a'], attrs: { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], count_include_pad: 1 } },
      { op: 'LRN', inputs: ['a'], outputs: ['l'], attrs: { size: 3, alpha: { float: 0.3 }, beta: { float: 0.6 }, bias: { float: 2 } } },
      { op: 'LeakyRelu', inputs: ['l'], outputs: ['lr'], attrs: { alpha: { float: 0.2 } } },
      { op: 'PRelu', inputs: ['lr', 'slope'], outputs: ['pr'] },
      { op: 'Sigmoid', inputs: ['pr'], outputs: ['s'] },
      { op: 'Dropout', inputs: ['s'], outputs: ['d'] },
      { op: 'Identity', inputs: ['d'], outputs: ['i'] },
      { op: 'GlobalMaxPool', inputs: ['i'], outputs: ['y'] },
    ], [{ name: 'slope', dims: [3, 1, 1], data: [0.1, -0.5, 2] }]);
    const net = await expectMatchesOrt(g, [2, 3, 6, 7]);
    expect(net.layers.map((l) => l.type)).toEqual(['Pooling', 'LRN', 'ReLU', 'PReLU', 'Sigmoid', 'Dropout', 'Pooling']);
    await net.dispose();
  });

  ortIt('broadcast Add/Sub/Mul/Div with constants (scalar, per channel, per position) and Add/Sub/Mul/Sum of two tensors', async () => {
    const g = graph(['N', 3, 4, 4], [
      { op: 'Mul', inputs: ['x', 'pc'], outputs: ['m'] },
      { op: 'Sub', inputs: ['two', 'm'], outputs: ['s'] },
      { op: 'Div', inputs: ['s', 'four'], outputs: ['d'] },
      { op: 'Add', inputs: ['d', 'pp'], outputs: ['a'] },
      { op: 'Sub', inputs: ['a', 'pc'], outputs: ['b'] },
      { op: 'Add', inputs: ['a', 'b'], outputs: ['e1'] },
      { op: 'Sub', inputs: ['e1', 'x'], outputs: ['e2'] },
      { op: 'Mul', inputs: ['e2', 'b'], outputs: ['e3'] },
      { op: 'Sum', inputs: ['e3', 'e1', 'x'], outputs: ['y'] },
    ], [
      { name: 'pc', dims: [3, 1, 1], data: [0.5, -2, 1.5] }, { name: 'two', dims: [], data: [2] }, { name: 'four', dims: [1], data: [4] },
      w('pp', [1, 3, 4, 4], 30),
    ]);
    const net = await expectMatchesOrt(g, [2, 3, 4, 4]);
    expect(net.layers.filter((l) => l.type === 'Eltwise').length).toBe(4);
    await net.dispose();
  });

  ortIt('Concat, Split (opset 13: sizes as an input), Transpose to NHWC, Softmax on the last axis', async () => {
    const g = graph(['N', 4, 3, 2], [
      { op: 'Split', inputs: ['x', 'sizes'], outputs: ['p', 'q'], attrs: { axis: 1 } },
      { op: 'Relu', inputs: ['q'], outputs: ['rq'] },
      { op: 'Concat', inputs: ['rq', 'p', 'rq'], outputs: ['c'], attrs: { axis: 1 } },
      { op: 'Transpose', inputs: ['c'], outputs: ['t'], attrs: { perm: [0, 2, 3, 1] } },
      { op: 'Softmax', inputs: ['t'], outputs: ['y'] },
    ], [ints('sizes', [1, 3])]);
    const net = await expectMatchesOrt(g, [2, 4, 3, 2]);
    expect(net.layers.map((l) => l.type)).toEqual(['Slice', 'ReLU', 'Split', 'Concat', 'Permute', 'Softmax']);
    await net.dispose();
  });

  ortIt('Split before opset 13 (sizes as an attribute) and equal splits', async () => {
    const g = graph(['N', 4, 2, 2], [
      { op: 'Split', inputs: ['x'], outputs: ['p', 'q'], attrs: { axis: 1, split: [3, 1] } },
      { op: 'Split', inputs: ['p'], outputs: ['p1', 'p2', 'p3'], attrs: { axis: 1 } },
      { op: 'Concat', inputs: ['p3', 'q', 'p1', 'p2'], outputs: ['y'], attrs: { axis: 1 } },
    ], [], 11);
    await (await expectMatchesOrt(g, [1, 4, 2, 2])).dispose();
  });

  ortIt('Pad (zeros, pads as an input from opset 11) merged into the next Conv; Pad with pads as an attribute at opset 9', async () => {
    for (const opset of [9, 13]) {
      const padNode: NodeSpec = opset >= 11
        ? { op: 'Pad', inputs: ['x', 'pads'], outputs: ['p'] }
        : { op: 'Pad', inputs: ['x'], outputs: ['p'], attrs: { pads: [0, 0, 2, 1, 0, 0, 2, 1] } };
      const g = graph(['N', 2, 5, 5], [padNode, { op: 'Conv', inputs: ['p', 'w1'], outputs: ['y'], attrs: { pads: [1, 1, 1, 1] } }],
        [w('w1', [3, 2, 3, 3], 40), ...(opset >= 11 ? [ints('pads', [0, 0, 2, 1, 0, 0, 2, 1])] : [])], opset);
      const net = await expectMatchesOrt(g, [1, 2, 5, 5]);
      expect(net.layers.map((l) => l.type)).toEqual(['Convolution']);
      await net.dispose();
    }
  });

  ortIt('pooling with pads of its own at the bottom/right (MAX and AVE, floor and ceil) and AVE excluding the padding (ONNX default)', async () => {
    const cases: Record<string, number | number[]>[] = [
      { kernel_shape: [3, 3], strides: [2, 2], pads: [0, 0, 1, 1] },
      { kernel_shape: [3, 2], strides: [2, 1], pads: [1, 0, 2, 1], ceil_mode: 1 },
      { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] },
      { kernel_shape: [2, 3], strides: [1, 2], pads: [1, 1, 0, 2], count_include_pad: 1 },
      { kernel_shape: [7, 7], strides: [1, 1], pads: [0, 0, 1, 1] },
    ];
    for (const attrs of cases)
      for (const op of ['MaxPool', 'AveragePool']) {
        const own = op === 'MaxPool' ? Object.fromEntries(Object.entries(attrs).filter(([k]) => k !== 'count_include_pad')) : attrs;
        const g = graph(['N', 2, 7, 7], [{ op, inputs: ['x'], outputs: ['y'], attrs: own }]);
        await (await expectMatchesOrt(g, [2, 2, 7, 7])).dispose();
      }
  });

  ortIt('Clip: min/max attributes before opset 11, inputs from 11 on; min 0 without max is a ReLU', async () => {
    const old = graph(['N', 3], [{ op: 'Clip', inputs: ['x'], outputs: ['y'], attrs: { min: { float: -0.5 }, max: { float: 0.25 } } }], [], 9);
    const net1 = await expectMatchesOrt(old, [4, 3]);
    expect(net1.layers.map((l) => l.type)).toEqual(['Clip']);
    const relu6 = graph(['N', 3], [{ op: 'Clip', inputs: ['x', 'lo', 'hi'], outputs: ['c'] }, { op: 'Clip', inputs: ['c', 'lo'], outputs: ['y'] }],
      [{ name: 'lo', dims: [], data: [0] }, { name: 'hi', dims: [], data: [0.7] }], 13);
    const net2 = await expectMatchesOrt(relu6, [4, 3]);
    expect(net2.layers.map((l) => l.type)).toEqual(['Clip', 'ReLU']);
    await net1.dispose();
    await net2.dispose();
  });

  ortIt('Softmax: before opset 13 over the flattened trailing axes (size-1 axes allowed), from 13 over one axis', async () => {
    const old = graph(['N', 5, 1, 1], [{ op: 'Softmax', inputs: ['x'], outputs: ['y'] }], [], 11);
    await (await expectMatchesOrt(old, [2, 5, 1, 1])).dispose();
    const opset13 = graph(['N', 3, 4], [{ op: 'Softmax', inputs: ['x'], outputs: ['y'], attrs: { axis: 1 } }], [], 13);
    await (await expectMatchesOrt(opset13, [2, 3, 4])).dispose();
    // Opset 11 axis 1 of [N, 3, 4] normalises over all 12 values: not one engine axis.
    await expectRefused(graph(['N', 3, 4], [{ op: 'Softmax', inputs: ['x'], outputs: ['y'] }], [], 11), 'UNSUPPORTED', /Softmax \(opset 11\) over the flattened axes/);
  });

  ortIt('Squeeze/Unsqueeze: axes as attributes before opset 13, as inputs from 13 on', async () => {
    const nodes13: NodeSpec[] = [
      { op: 'GlobalAveragePool', inputs: ['x'], outputs: ['g'] },
      { op: 'Squeeze', inputs: ['g', 'ax'], outputs: ['s'] },
      { op: 'Unsqueeze', inputs: ['s', 'ax2'], outputs: ['u'] },
      { op: 'Flatten', inputs: ['u'], outputs: ['y'] },
    ];
    await (await expectMatchesOrt(graph(['N', 3, 4, 4], nodes13, [ints('ax', [2, 3]), ints('ax2', [2])], 13), [2, 3, 4, 4])).dispose();
    const nodes11: NodeSpec[] = [
      { op: 'GlobalAveragePool', inputs: ['x'], outputs: ['g'] },
      { op: 'Squeeze', inputs: ['g'], outputs: ['s'], attrs: { axes: [2, 3] } },
      { op: 'Unsqueeze', inputs: ['s'], outputs: ['u'], attrs: { axes: [2] } },
      { op: 'Flatten', inputs: ['u'], outputs: ['y'] },
    ];
    await (await expectMatchesOrt(graph(['N', 3, 4, 4], nodes11, [], 11), [2, 3, 4, 4])).dispose();
  });

  ortIt("the exporter's x.view(x.size(0), -1) subgraph folds to a batch-keeping Reshape (batch 1 and 3)", async () => {
    const g = graph(['N', 2, 3, 3], [
      { op: 'Shape', inputs: ['x'], outputs: ['sh'] },
      { op: 'Constant', inputs: [], outputs: ['zero'], attrs: { value: { tensor: { dims: [], data: [0], int64: true } } } },
      { op: 'Gather', inputs: ['sh', 'zero'], outputs: ['n'], attrs: { axis: 0 } },
      { op: 'Unsqueeze', inputs: ['n', 'ax'], outputs: ['n1'] },
      { op: 'Concat', inputs: ['n1', 'minus1'], outputs: ['target'], attrs: { axis: 0 } },
      { op: 'Reshape', inputs: ['x', 'target'], outputs: ['r'] },
      { op: 'Gemm', inputs: ['r', 'wt'], outputs: ['y'], attrs: { transB: 1 } },
    ], [ints('ax', [0]), ints('minus1', [-1]), w('wt', [4, 18], 50)]);
    for (const n of [1, 3]) {
      const net = await expectMatchesOrt(g, [n, 2, 3, 3]);
      expect(net.layers.map((l) => l.type)).toEqual(['Reshape', 'InnerProduct']);
      expect(net.spec.layers[0].params.shape).toEqual([0, 18]); // 0: copy the batch dimension
      await net.dispose();
    }
  });

  ortIt('Reshape allowzero (opset 14): 0 copies the dimension when allowzero = 0; an empty dimension is refused', async () => {
    const g = graph(['N', 2, 6], [{ op: 'Reshape', inputs: ['x', 's'], outputs: ['y'], attrs: { allowzero: 0 } }], [ints('s', [0, 3, 4])], 14);
    await (await expectMatchesOrt(g, [2, 2, 6])).dispose();
    await expectRefused(graph(['N', 2, 6], [{ op: 'Reshape', inputs: ['x', 's'], outputs: ['y'], attrs: { allowzero: 1 } }], [ints('s', [0, 3, 4])], 14),
      'SHAPE', /allowzero = 1 would make an empty tensor/);
  });

  ortIt('int64 tensors in int64_data (typed, negative values) and float_data decode like raw_data', async () => {
    const g = graph(['N', 2, 2, 2], [
      { op: 'Reshape', inputs: ['x', 's'], outputs: ['r'] },
      { op: 'MatMul', inputs: ['r', 'm'], outputs: ['y'] },
    ], [{ name: 's', dims: [2], data: [-1, 8], int64: true, typed: true }, { name: 'm', dims: [8, 2], data: Array.from(randn(16, 60)), typed: true }]);
    await (await expectMatchesOrt(g, [3, 2, 2, 2])).dispose();
  });
});

describe('relevance through ONNX-only layer parameters', () => {
  it('pools with bottom/right padding and AVE excluding padding pass relevance on conserved; Clip passes it unchanged', async () => {
    const g = graph(['N', 2, 7, 7], [
      { op: 'Conv', inputs: ['x', 'w1'], outputs: ['c'], attrs: { pads: [1, 1, 1, 1] } },
      { op: 'Clip', inputs: ['c', 'lo', 'hi'], outputs: ['r'] },
      { op: 'MaxPool', inputs: ['r'], outputs: ['p'], attrs: { kernel_shape: [3, 3], strides: [2, 2], pads: [0, 0, 1, 1] } },
      { op: 'AveragePool', inputs: ['p'], outputs: ['a'], attrs: { kernel_shape: [3, 3], strides: [1, 1], pads: [1, 1, 1, 1] } },
      { op: 'Flatten', inputs: ['a'], outputs: ['f'] },
      { op: 'Gemm', inputs: ['f', 'w2'], outputs: ['y'], attrs: { transB: 1 } },
    ], [w('w1', [3, 2, 3, 3], 70), { name: 'lo', dims: [], data: [0] }, { name: 'hi', dims: [], data: [1] }, w('w2', [4, 3 * 3 * 3], 71)]);
    const net = await Net.load({ onnx: encodeModel(g) });
    try {
      const x = Float32Array.from(randn(98, 72), (v) => Math.abs(v) + 0.1);
      for (const type of [0, 2]) {
        const r = await net.explain(x, { relpropformulatype: type, epsstab: 1e-6, alphabeta_beta: 0, targets: 'top1', conservation: true });
        const rows = r.conservation!.filter((row) => ['Pooling', 'Clip', 'Flatten'].includes(row.type));
        expect(rows.map((row) => row.type)).toEqual(['Flatten', 'Pooling', 'Pooling', 'Clip']);
        for (const row of rows) expect(row.out[0]).toBeCloseTo(row.in[0], 4);
        expect(Math.abs(rows[0].in[0])).toBeGreaterThan(1e-3);
      }
    } finally {
      await net.dispose();
    }
  });
});

describe('batch sizes', () => {
  it('a model with a fixed batch dimension refuses another batch size with a clear error', async () => {
    const g = graph([1, 3], [{ op: 'Relu', inputs: ['x'], outputs: ['y'] }]);
    const net = await Net.load({ onnx: encodeModel(g) });
    await expect(net.forward(new Float32Array(3))).resolves.toHaveLength(1);
    await expect(net.forward(new Float32Array(6))).rejects.toThrow(/only runs at batch size 1, not 2/);
    await expect(net.reshape(4)).rejects.toMatchObject({ code: 'SHAPE' });
    await net.dispose();
  });

  it('a Reshape with a literal batch dimension in a dynamic-batch model fixes the batch size (and says why)', async () => {
    const g = graph(['N', 2, 3], [{ op: 'Reshape', inputs: ['x', 's'], outputs: ['y'] }], [ints('s', [1, 6])]);
    const net = await Net.load({ onnx: encodeModel(g) });
    const [y] = await net.forward(Float32Array.from([1, 2, 3, 4, 5, 6]));
    expect(Array.from(y)).toEqual([1, 2, 3, 4, 5, 6]);
    await expect(net.reshape(2)).rejects.toThrow(/does not keep the batch dimension first/);
    await net.dispose();
  });
});

describe('refusals name the node', () => {
  it('an unsupported op: node name, op type, index, domain, opset and the supported list', async () => {
    const g = graph(['N', 3], [{ op: 'Relu', inputs: ['x'], outputs: ['r'] }, { op: 'Erf', name: 'my_erf', inputs: ['r'], outputs: ['y'] }]);
    await expectRefused(g, 'UNSUPPORTED', /node 1 'my_erf' \(op type Erf, domain 'ai\.onnx', opset 13\) is not supported; supported ops: Add, .*Conv,.*Unsqueeze/);
  });

  it('an op of another domain', async () => {
    const g = graph(['N', 3], [{ op: 'Relu', domain: 'com.microsoft', inputs: ['x'], outputs: ['y'] }]);
    await expectRefused(g, 'UNSUPPORTED', /op type Relu, domain 'com\.microsoft'.*only the default ai\.onnx domain/);
  });

  it('dilated pooling (asymmetric pads, Pad before pools and LogSoftmax: test/onnx/pads.test.ts)', async () => {
    await expectRefused(graph(['N', 1, 5, 5], [{ op: 'MaxPool', inputs: ['x'], outputs: ['y'], attrs: { kernel_shape: [2, 2], dilations: [2, 2] } }]),
      'UNSUPPORTED', /dilated pooling/);
  });

  it('IR and opset versions outside the supported ranges', async () => {
    await expectRefused({ ...graph(['N', 3], [{ op: 'Relu', inputs: ['x'], outputs: ['y'] }]), irVersion: 2 }, 'UNSUPPORTED', /IR version 2 is not supported/);
    await expectRefused(graph(['N', 3], [{ op: 'Relu', inputs: ['x'], outputs: ['y'] }], [], 5), 'UNSUPPORTED', /opset 5 is not supported \(opsets 6\.\.21/);
    await expectRefused(graph(['N', 3], [{ op: 'Relu', inputs: ['x'], outputs: ['y'] }], [], 22), 'UNSUPPORTED', /opset 22 is not supported/);
  });

  it('a missing initializer names the input', async () => {
    await expectRefused(graph(['N', 3], [{ op: 'MatMul', inputs: ['x', 'nowhere'], outputs: ['y'] }]), 'SCHEMA', /input 'nowhere' is neither a graph input, an initializer/);
  });

  it('external data: refused for a buffer and outside the model folder, read from a file beside the model', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'onnx-ext-'));
    try {
      const weights = Float32Array.from([1, -2, 3, 0.5, 4, -1]);
      fs.writeFileSync(path.join(dir, 'w.bin'), Buffer.concat([Buffer.alloc(8), Buffer.from(weights.buffer)]));
      const model = (location: string) => {
        const g = graph(['N', 3], [{ op: 'MatMul', inputs: ['x', 'w'], outputs: ['y'] }]);
        const obj = require('../helpers/onnx-builder').modelObject(g);
        obj.graph.initializer = [{ name: 'w', dims: [3, 2], data_type: 1, data_location: 1,
          external_data: [{ key: 'location', value: location }, { key: 'offset', value: '8' }, { key: 'length', value: '24' }] }];
        return encodeModel(obj);
      };
      fs.writeFileSync(path.join(dir, 'ok.onnx'), model('w.bin'));
      fs.writeFileSync(path.join(dir, 'escape.onnx'), model('../w.bin'));
      const net = await Net.load({ onnx: path.join(dir, 'ok.onnx') });
      const [y] = await net.forward(Float32Array.from([1, 1, 1]));
      expect(Array.from(y)).toEqual([1 + 3 + 4, -2 + 0.5 - 1]);
      await net.dispose();
      expect(() => loadOnnxNetSpecSync(model('w.bin'))).toThrow(/external data can only be read when the model is loaded from a path/);
      expect(() => loadOnnxNetSpecSync(path.join(dir, 'escape.onnx'))).toThrow(/is not inside the model's folder/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a .onnx path or ONNX bytes given as prototxt (no caffemodel) load as ONNX', async () => {
    const buf = encodeModel(graph(['N', 2], [{ op: 'Relu', inputs: ['x'], outputs: ['y'] }]));
    const net = await Net.load({ prototxt: buf });
    expect((await net.forward(Float32Array.from([-1, 2]))).map((s) => Array.from(s))).toEqual([[0, 2]]);
    await net.dispose();
  });
});
