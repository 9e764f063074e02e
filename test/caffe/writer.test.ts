import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  loadNetSpecSync,
  netParameterObject,
  parsePrototxt,
  saveCaffemodel,
  savePrototxt,
  loadNetSpec,
  writeCaffemodel,
  writePrototxt,
  PrototxtOptions,
} from '../../lib/caffe';
import { buildNetSpec } from '../../lib/caffe/netspec';
import { caffeType } from '../../lib/caffe/schema';
import { LayerSpec, NetSpec } from '../../lib/caffe/netspec-types';
import { CaffeLrpError } from '../../lib/errors';
import { MODELS, withRandomWeights } from '../helpers/caffe-fixtures';
import { testIfShared } from '../helpers/shared-data';

const structure = (text: string, inputShape?: number[]): NetSpec => buildNetSpec(parsePrototxt(text, 'fixture.prototxt'), undefined, { file: 'fixture.prototxt', inputShape });

/** Re-reads a spec from the files the writer makes. */
function reread(spec: NetSpec, opts: PrototxtOptions = {}): NetSpec {
  return loadNetSpecSync({ prototxt: Buffer.from(writePrototxt(spec, opts)), caffemodel: writeCaffemodel(spec) });
}

/** Everything but the source line (the written prototxt has its own layout). */
const comparable = (l: LayerSpec) => {
  const { line, blobs, ...rest } = l;
  void line;
  return { ...rest, blobShapes: blobs.map((b) => b.shape) };
};

function expectSameNet(a: NetSpec, b: NetSpec): void {
  expect(b.name).toBe(a.name);
  expect(b.inputs).toEqual(a.inputs);
  expect(b.layers.map(comparable)).toEqual(a.layers.map(comparable));
  a.layers.forEach((l, i) =>
    l.blobs.forEach((blob, j) => {
      const other = b.layers[i].blobs[j].data;
      const same = Buffer.from(blob.data.buffer, blob.data.byteOffset, blob.data.byteLength).equals(Buffer.from(other.buffer, other.byteOffset, other.byteLength));
      if (!same) throw new Error(`blob ${j} of layer ${l.name} differs after the round trip`);
    }),
  );
}

/** Every normalised type, an unknown type, explicit and inserted Splits, multi-input. */
const ZOO = `name: "zoo"
input: "data"
input_shape { dim: 1 dim: 4 dim: 8 dim: 6 }
input: "aux"
input_shape { dim: 4 }
layer { name: "conv" type: "Convolution" bottom: "data" top: "conv" convolution_param { num_output: 6 kernel_h: 3 kernel_w: 1 pad_h: 1 stride: 1 stride: 2 group: 2 } }
layer { name: "bn" type: "BatchNorm" bottom: "conv" top: "conv" batch_norm_param { eps: 0.001 } }
layer { name: "sc" type: "Scale" bottom: "conv" top: "conv" scale_param { bias_term: true } }
layer { name: "relu" type: "ReLU" bottom: "conv" top: "conv" relu_param { negative_slope: 0.1 } }
layer { name: "prelu" type: "PReLU" bottom: "conv" top: "pr" }
layer { name: "dil" type: "Convolution" bottom: "pr" top: "dil" convolution_param { num_output: 6 kernel_size: 3 dilation: 2 pad: 2 bias_term: false } }
layer { name: "sum" type: "Eltwise" bottom: "pr" bottom: "dil" top: "sum" eltwise_param { coeff: 0.5 coeff: -1 } }
layer { name: "mx" type: "Eltwise" bottom: "pr" bottom: "sum" top: "mx" eltwise_param { operation: MAX } }
layer { name: "cat" type: "Concat" bottom: "sum" bottom: "mx" top: "cat" }
layer { name: "lrn" type: "LRN" bottom: "cat" top: "lrn" lrn_param { local_size: 3 alpha: 0.0001 beta: 0.75 norm_region: WITHIN_CHANNEL } }
layer { name: "pool" type: "Pooling" bottom: "lrn" top: "pool" pooling_param { pool: AVE kernel_size: 3 stride: 2 pad: 1 } }
layer { name: "fpool" type: "Pooling" bottom: "lrn" top: "fpool" pooling_param { kernel_h: 2 kernel_w: 3 stride_h: 2 stride_w: 3 round_mode: FLOOR } }
layer { name: "gpool" type: "Pooling" bottom: "lrn" top: "gpool" pooling_param { pool: MAX global_pooling: true } }
layer { name: "sl" type: "Slice" bottom: "pool" top: "s1" top: "s2" slice_param { axis: 1 slice_point: 4 } }
layer { name: "sp" type: "Split" bottom: "s2" top: "sp1" top: "sp2" }
layer { name: "tanh" type: "TanH" bottom: "sp1" top: "sp1" }
layer { name: "sig" type: "Sigmoid" bottom: "sp2" top: "sig" }
layer { name: "abs" type: "AbsVal" bottom: "s1" top: "abs" }
layer { name: "pow" type: "Power" bottom: "abs" top: "pow" power_param { power: 2 shift: 1 } }
layer { name: "bias" type: "Bias" bottom: "pow" top: "pow" }
layer { name: "perm" type: "Permute" bottom: "pow" top: "perm" permute_param { order: 0 order: 2 order: 3 order: 1 } }
layer { name: "rs" type: "Reshape" bottom: "perm" top: "rs" reshape_param { shape { dim: 0 dim: -1 } } }
layer { name: "fl" type: "Flatten" bottom: "sig" top: "fl" flatten_param { axis: 1 } }
layer { name: "cat2" type: "Concat" bottom: "rs" bottom: "fl" top: "cat2" concat_param { axis: 1 } }
layer { name: "drop" type: "Dropout" bottom: "cat2" top: "cat2" dropout_param { dropout_ratio: 0.3 } }
layer { name: "ip" type: "InnerProduct" bottom: "cat2" top: "ip" inner_product_param { num_output: 4 } }
layer { name: "ipt" type: "InnerProduct" bottom: "cat2" top: "ipt" inner_product_param { num_output: 4 transpose: true bias_term: false } }
layer { name: "scale2" type: "Scale" bottom: "ip" bottom: "aux" top: "scale2" scale_param { axis: 1 } }
layer { name: "elu" type: "ELU" bottom: "scale2" top: "elu" elu_param { alpha: 0.5 } }
layer { name: "sm" type: "Softmax" bottom: "elu" top: "prob" }
`;

describe('round trip: read → write → read', () => {
  const zoo = withRandomWeights(structure(ZOO), 11);

  test('the zoo net has inserted and explicit splits and every normalised type', () => {
    expect(zoo.layers.filter((l) => l.inserted).map((l) => l.name)).toEqual(['pr_prelu_0_split', 'sum_sum_0_split', 'lrn_lrn_0_split', 'cat2_drop_0_split']);
    expect(zoo.layers.find((l) => l.name === 'sp')!.inserted).toBeUndefined();
    expect(new Set(zoo.layers.map((l) => l.type))).toEqual(
      new Set(['Convolution', 'BatchNorm', 'Scale', 'ReLU', 'PReLU', 'Split', 'Eltwise', 'Concat', 'LRN', 'Pooling', 'Slice', 'TanH', 'Sigmoid', 'AbsVal', 'Power', 'Bias', 'Permute', 'Reshape', 'Flatten', 'Dropout', 'InnerProduct', 'ELU', 'Softmax']),
    );
  });

  test.each<PrototxtOptions['inputStyle']>(['input_shape', 'Input', 'input_dim'])('identical layers and bit-identical weights (inputs as %s)', (style) => {
    const net = style === 'input_dim' ? withRandomWeights(structure(ZOO.replace('input: "aux"\ninput_shape { dim: 4 }\n', '').replace(/bottom: "aux"/, 'bottom: "ip"').replace('scale_param { axis: 1 }', 'scale_param { axis: 0 }')), 5) : zoo;
    expectSameNet(net, reread(net, { inputStyle: style }));
  });

  test('written twice gives the same bytes and text', () => {
    const again = reread(zoo);
    expect(writeCaffemodel(again).equals(writeCaffemodel(zoo))).toBe(true);
    expect(writePrototxt(again)).toBe(writePrototxt(zoo));
  });

  test('the caffemodel is valid protobuf for protobufjs too', () => {
    const type = caffeType('NetParameter');
    const obj = type.toObject(type.decode(writeCaffemodel(zoo)), { longs: Number, enums: String }) as { layer: { name: string; blobs?: { shape: { dim: number[] }; data: number[] }[] }[] };
    const conv = obj.layer.find((l) => l.name === 'conv')!;
    expect(conv.blobs!.map((b) => b.shape.dim)).toEqual([[6, 2, 3, 1], [6]]);
    expect(conv.blobs![0].data).toEqual([...zoo.layers[0].blobs[0].data]);
    expect(obj.layer.map((l) => l.name)).not.toContain('conv_relu_0_split');
  });

  test('a scalar (0-axis) blob survives', () => {
    const net = withRandomWeights(structure(`input: "x"\ninput_shape { dim: 1 dim: 2 }\nlayer { name: "p" type: "PReLU" bottom: "x" top: "y" prelu_param { channel_shared: true } }`));
    expect(net.layers[0].blobs[0].shape).toEqual([]);
    expectSameNet(net, reread(net));
  });

  test('a train_test net written back is its deploy form', () => {
    const tt = `layer { name: "d" type: "Data" top: "data" top: "label" }
layer { name: "ip" type: "InnerProduct" bottom: "data" top: "ip" inner_product_param { num_output: 2 } }
layer { name: "loss" type: "SoftmaxWithLoss" bottom: "ip" bottom: "label" top: "loss" }`;
    const net = withRandomWeights(structure(tt, [1, 3]));
    const text = writePrototxt(net);
    expect(text).not.toMatch(/Data|loss|label/);
    expectSameNet(net, reread(net));
  });
});

describe('written prototxt text', () => {
  test('Caffe field names, defaults left out, inserted splits gone and readers renamed back', () => {
    const text = writePrototxt(structure(ZOO));
    expect(text).toContain('input: "data"\ninput: "aux"\ninput_shape {\n  dim: 1\n  dim: 4\n  dim: 8\n  dim: 6\n}\ninput_shape {\n  dim: 4\n}');
    expect(text).toMatch(/name: "conv"\n  type: "Convolution"\n  bottom: "data"\n  top: "conv"\n  convolution_param \{\n    num_output: 6\n    pad_h: 1\n    pad_w: 0\n    kernel_h: 3\n    kernel_w: 1\n    stride_h: 1\n    stride_w: 2\n    group: 2\n  \}/);
    expect(text).toMatch(/pooling_param \{\n    pool: AVE\n    kernel_size: 3\n    stride: 2\n    pad: 1\n  \}/);
    expect(text).toMatch(/round_mode: FLOOR/);
    expect(text).not.toMatch(/round_mode: CEIL/);
    expect(text).not.toContain('_split');
    expect(text).toMatch(/name: "dil"\n  type: "Convolution"\n  bottom: "pr"/);
    expect(text).toMatch(/elu_param \{\n    alpha: 0\.5\n  \}/);
    expect(text).toMatch(/lrn_param \{\n    local_size: 3\n    alpha: 0\.0001\n    beta: 0\.75\n    norm_region: WITHIN_CHANNEL\n  \}/);
  });

  test('Input-layer and input_dim styles', () => {
    const net = structure(`input: "data"\ninput_shape { dim: 1 dim: 3 dim: 2 dim: 2 }\nlayer { name: "r" type: "ReLU" bottom: "data" top: "r" }`);
    expect(netParameterObject(net, { inputStyle: 'Input' }).layer).toEqual([
      { name: 'data', type: 'Input', top: ['data'], input_param: { shape: [{ dim: [1, 3, 2, 2] }] } },
      { name: 'r', type: 'ReLU', bottom: ['data'], top: ['r'] },
    ]);
    expect(writePrototxt(net, { inputStyle: 'input_dim' })).toMatch(/^input: "data"\ninput_dim: 1\ninput_dim: 3\ninput_dim: 2\ninput_dim: 2\n/);
    const flat = structure(`input: "v"\ninput_shape { dim: 1 dim: 3 }`);
    expect(() => writePrototxt(flat, { inputStyle: 'input_dim' })).toThrow(CaffeLrpError);
  });
});

describe('save to files', () => {
  test('saveCaffemodel / savePrototxt write atomically and read back', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'caffe-lrp-writer-'));
    try {
      const net = withRandomWeights(structure(ZOO), 3);
      await saveCaffemodel(net, path.join(dir, 'zoo.caffemodel'));
      await savePrototxt(net, path.join(dir, 'zoo.prototxt'));
      expect(fs.readdirSync(dir).sort()).toEqual(['zoo.caffemodel', 'zoo.prototxt']);
      expectSameNet(net, await loadNetSpec({ prototxt: path.join(dir, 'zoo.prototxt'), caffemodel: path.join(dir, 'zoo.caffemodel') }));
      await expect(saveCaffemodel(net, path.join(dir, 'missing', 'x.caffemodel'))).rejects.toMatchObject({ code: 'IO', file: path.join(dir, 'missing', 'x.caffemodel') });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('round trip of the shared models (skipped when absent)', () => {
  const models: [string, string, number[] | undefined][] = [
    ['lenet-mnist/lenet.prototxt', 'lenet-mnist/lenet_iter_10000.caffemodel', undefined],
    ['lenet-mnist-v1/lenet.prototxt', 'lenet-mnist-v1/lenet_iter_10000.caffemodel', undefined],
    ['cifar10-quick-v1/cifar10_quick.prototxt', 'cifar10-quick-v1/cifar10_quick_iter_5000.caffemodel', undefined],
    ['cifar10-full-v1/cifar10_full.prototxt', 'cifar10-full-v1/cifar10_full_iter_70000.caffemodel', undefined],
    ['resnet20-cifar10/res20_cifar_train_test.prototxt', 'resnet20-cifar10/ResNet_20.caffemodel', [1, 3, 32, 32]],
    ['mtcnn/det1.prototxt', 'mtcnn/det1.caffemodel', undefined],
    ['mtcnn/det4.prototxt', 'mtcnn/det4.caffemodel', undefined],
    ['ultraface-rfb320/RFB-320.prototxt', 'ultraface-rfb320/RFB-320.caffemodel', undefined],
  ];
  testIfShared('models', 'round trips of the shared models').each(models)('%s', (p, m, inputShape) => {
    const spec = loadNetSpecSync({ prototxt: `${MODELS}/${p}`, caffemodel: `${MODELS}/${m}`, inputShape });
    expectSameNet(spec, reread(spec));
    expectSameNet(spec, reread(spec, { inputStyle: 'Input' }));
  });

  testIfShared('models/prototxt-only', 'prototxt-only round trip')('prototxt-only nets', () => {
    for (const p of ['squeezenet-v1.1/deploy.prototxt', 'lrp-toolbox-googlenet/deploy.prototxt', 'lrp-toolbox-caffenet/deploy.prototxt']) {
      const spec = loadNetSpecSync({ prototxt: `${MODELS}/prototxt-only/${p}` });
      const again = loadNetSpecSync({ prototxt: Buffer.from(writePrototxt(spec)) });
      expect(again.layers.map(comparable)).toEqual(spec.layers.map(comparable));
    }
  });
});

describe('parameters Caffe cannot express', () => {
  const pool = (params: Record<string, unknown>) => ({
    name: 'refuse', inputs: [{ name: 'data', shape: [1, 1, 6, 6] }],
    layers: [{ name: 'pool', type: 'Pooling', bottoms: ['data'], tops: ['pool'], blobs: [],
      params: { pool: 'AVE', kernel: [2, 2], stride: [2, 2], pad: [1, 1], globalPooling: false, roundMode: 'CEIL', ...params } }],
  }) as unknown as NetSpec;

  test.each([
    [{ padEnd: [0, 1] }, /padEnd \[0, 1\]/],
    [{ excludePad: true }, /excludePad/],
    [{ lastWindowInside: true }, /lastWindowInside/],
  ])('%j is refused by name, never dropped', (params, message) => {
    let err: unknown;
    try { writePrototxt(pool(params)); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(CaffeLrpError);
    expect((err as CaffeLrpError).code).toBe('UNSUPPORTED');
    expect((err as Error).message).toMatch(/layer 'pool' \(Pooling\)/);
    expect((err as Error).message).toMatch(message);
    expect(() => writeCaffemodel(pool(params))).toThrow(message);
  });

  test('an end padding equal to the begin padding is plain Caffe padding', () => {
    expect(writePrototxt(pool({ padEnd: [1, 1] }))).toMatch(/pad: 1/);
  });
});
