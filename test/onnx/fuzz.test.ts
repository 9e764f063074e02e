/**
 * Fuzz: mutated ONNX files (seeded, so failures reproduce) — truncated, bit-flipped,
 * overwritten, spliced bytes, and structural damage (wrong field types, absurd dimensions,
 * cycles, missing initializers, unknown enum values) — must either load (and then run, or
 * fail cleanly) or throw a CaffeLrpError. Never a RangeError, TypeError, a crash or a hang.
 */
import { CaffeLrpError } from '../../lib/errors';
import { Net } from '../../lib/net';
import { decodeOnnxModel, lowerOnnxModel } from '../../lib/onnx';
import { encodeModel, modelObject, GraphSpec } from '../helpers/onnx-builder';
import { randn } from '../helpers/reference-layers';

function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const BASE: GraphSpec = {
  inputs: [{ name: 'x', dims: ['N', 2, 6, 6] }],
  outputs: ['y'],
  opset: 13,
  nodes: [
    { op: 'Conv', inputs: ['x', 'w1', 'b1'], outputs: ['c'], attrs: { pads: [1, 1, 1, 1], group: 2 } },
    { op: 'BatchNormalization', inputs: ['c', 'g', 'b', 'm', 'v'], outputs: ['n'] },
    { op: 'Clip', inputs: ['n', 'lo', 'hi'], outputs: ['r'] },
    { op: 'MaxPool', inputs: ['r'], outputs: ['p'], attrs: { kernel_shape: [2, 2], strides: [2, 2] } },
    { op: 'Shape', inputs: ['p'], outputs: ['s'] },
    { op: 'Gather', inputs: ['s', 'zero'], outputs: ['n0'], attrs: { axis: 0 } },
    { op: 'Unsqueeze', inputs: ['n0', 'ax'], outputs: ['n1'] },
    { op: 'Concat', inputs: ['n1', 'm1'], outputs: ['t'], attrs: { axis: 0 } },
    { op: 'Reshape', inputs: ['p', 't'], outputs: ['f'] },
    { op: 'Gemm', inputs: ['f', 'w2', 'b2'], outputs: ['z'], attrs: { transB: 1 } },
    { op: 'Softmax', inputs: ['z'], outputs: ['y'] },
  ],
  initializers: [
    { name: 'w1', dims: [4, 1, 3, 3], data: randn(36, 1) }, { name: 'b1', dims: [4], data: randn(4, 2) },
    { name: 'g', dims: [4], data: [1, 2, 0.5, 1] }, { name: 'b', dims: [4], data: [0, 1, 0, -1] },
    { name: 'm', dims: [4], data: [0, 0.1, 0.2, 0] }, { name: 'v', dims: [4], data: [1, 2, 3, 4] },
    { name: 'lo', dims: [], data: [0] }, { name: 'hi', dims: [], data: [6] },
    { name: 'zero', dims: [], data: [0], int64: true }, { name: 'ax', dims: [1], data: [0], int64: true },
    { name: 'm1', dims: [1], data: [-1], int64: true, typed: true },
    { name: 'w2', dims: [3, 36], data: randn(108, 3) }, { name: 'b2', dims: [3], data: [0, 0, 0] },
  ],
};
const base = encodeModel(BASE);

/** Load, lower, build and run; every failure must be our error type. */
async function attempt(buf: Buffer): Promise<'ran' | 'error'> {
  try {
    const spec = lowerOnnxModel(decodeOnnxModel(buf, 'fuzz.onnx'));
    const net = new Net(spec);
    try {
      await net.forward(new Float32Array(net.inputShape.slice(1).reduce((a, b) => a * b, 1)));
    } finally {
      await net.dispose();
    }
    return 'ran';
  } catch (e) {
    if (!(e instanceof CaffeLrpError)) throw e;
    return 'error';
  }
}

function mutate(src: Buffer, rnd: () => number): Buffer {
  const pick = (n: number) => Math.floor(rnd() * n);
  const b = Buffer.from(src);
  switch (pick(5)) {
    case 0: return b.subarray(0, pick(b.length));
    case 1: { const n = 1 + pick(8); for (let i = 0; i < n; i++) b[pick(b.length)] ^= 1 << pick(8); return b; }
    case 2: { const n = 1 + pick(4); for (let i = 0; i < n; i++) b[pick(b.length)] = pick(256); return b; }
    case 3: {
      const at = pick(b.length);
      return Buffer.concat([b.subarray(0, at), Buffer.from(Array.from({ length: 1 + pick(16) }, () => pick(256))), b.subarray(at)]);
    }
    default: { const s = pick(b.length); const e = s + pick(b.length - s); return Buffer.concat([b.subarray(0, e), b.subarray(s)]); }
  }
}

describe('ONNX fuzz', () => {
  it('the unmutated model runs', async () => {
    expect(await attempt(base)).toBe('ran');
  });

  it('400 byte-level mutations: each loads and runs or throws CaffeLrpError', async () => {
    const rnd = prng(20261202);
    const outcomes = { ran: 0, error: 0 };
    for (let i = 0; i < 400; i++) outcomes[await attempt(mutate(base, rnd))]++;
    // Both outcomes occur (the mutations are neither all harmless nor all fatal).
    expect(outcomes.ran).toBeGreaterThan(0);
    expect(outcomes.error).toBeGreaterThan(0);
  }, 120_000);

  const structural: [string, (o: any) => void][] = [
    ['a missing initializer', (o) => { o.graph.initializer = o.graph.initializer.filter((t: any) => t.name !== 'w2'); }],
    ['a cycle (the Conv reads the Softmax output)', (o) => { o.graph.node[0].input[0] = 'y'; }],
    ['two nodes reading each other', (o) => { o.graph.node[2].input[0] = 'p'; }],
    ['an output defined twice', (o) => { o.graph.node[3].output[0] = 'r'; }],
    ['absurd tensor dims', (o) => { o.graph.initializer[0].dims = [1e9, 1e9, 3, 3]; }],
    ['negative tensor dims', (o) => { o.graph.initializer[0].dims = [-4, 1, 3, 3]; }],
    ['absurd input dims', (o) => { o.graph.input[0].type.tensor_type.shape.dim[2] = { dim_value: 2 ** 40 }; }],
    ['a zero input dim', (o) => { o.graph.input[0].type.tensor_type.shape.dim[3] = { dim_value: 0 }; }],
    ['a dynamic spatial dim', (o) => { o.graph.input[0].type.tensor_type.shape.dim[2] = { dim_param: 'H' }; }],
    ['an unknown tensor data type', (o) => { o.graph.initializer[0].data_type = 99; }],
    ['a STRING initializer', (o) => { o.graph.initializer[0].data_type = 8; }],
    ['data of the wrong length', (o) => { o.graph.initializer[1].dims = [5]; }],
    ['a float attribute where ints are expected', (o) => { o.graph.node[0].attribute[0] = { name: 'pads', type: 1, f: 1.5 }; }],
    ['a string attribute where an int is expected', (o) => { o.graph.node[0].attribute[1] = { name: 'group', type: 3, s: Buffer.from('two') }; }],
    ['a group that does not divide the channels', (o) => { o.graph.node[0].attribute[1] = { name: 'group', type: 2, i: 3 }; }],
    ['a huge ConstantOfShape', (o) => {
      o.graph.node.unshift({ input: ['bigshape'], output: ['big'], op_type: 'ConstantOfShape', name: 'cos' });
      o.graph.initializer.push({ name: 'bigshape', dims: [2], data_type: 7, int64_data: [1e6, 1e6] });
      o.graph.node[1 + 9].input[2] = 'big';
    }],
    ['a Gather index out of range', (o) => { o.graph.initializer.find((t: any) => t.name === 'zero').raw_data = Buffer.from(new BigInt64Array([7n]).buffer); }],
    ['a Reshape to the wrong size', (o) => { o.graph.initializer.find((t: any) => t.name === 'm1').int64_data = [35]; }],
    ['no graph', (o) => { delete o.graph; }],
    ['no opset import', (o) => { o.opset_import = []; }],
    ['a node without op type', (o) => { o.graph.node[2].op_type = ''; }],
    ['a subgraph attribute', (o) => { o.graph.node[2].attribute = [{ name: 'then_branch', type: 5, g: { name: 'g' } }]; }],
    ['external data for a buffer', (o) => { Object.assign(o.graph.initializer[0], { data_location: 1, external_data: [{ key: 'location', value: 'w.bin' }] }); delete o.graph.initializer[0].raw_data; }],
  ];
  test.each(structural)('%s: CaffeLrpError', async (_label, damage) => {
    const o = modelObject(BASE) as any;
    damage(o);
    expect(await attempt(encodeModel(o))).toBe('error');
  });
});
