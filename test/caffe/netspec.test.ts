import { CaffeLrpError } from '../../lib/errors';
import { buildNetSpec, BuildOptions } from '../../lib/caffe/netspec';
import { parsePrototxt, writeCaffemodel, decodeCaffemodel } from '../../lib/caffe';
import { NetSpec } from '../../lib/caffe/netspec-types';
import { blobLegacy, blobWithShape, bytes, v1Layer, v2Layer, withRandomWeights } from '../helpers/caffe-fixtures';

const FILE = 'net.prototxt';

function build(text: string, opts: BuildOptions = {}, caffemodel?: Buffer): NetSpec {
  const weights = caffemodel ? { net: decodeCaffemodel(caffemodel, 'w.caffemodel'), file: 'w.caffemodel' } : undefined;
  return buildNetSpec(parsePrototxt(text, FILE), weights, { file: FILE, ...opts });
}

function fails(fn: () => unknown, code: string, ...parts: (string | RegExp)[]): CaffeLrpError {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  if (!(err instanceof CaffeLrpError)) throw new Error(`expected a CaffeLrpError, got ${String(err)}`);
  expect(err.code).toBe(code);
  for (const p of parts) expect(err.message).toMatch(p);
  return err;
}

/** 1-based line of the first line containing `marker`. */
const lineOf = (text: string, marker: string): number => text.split('\n').findIndex((l) => l.includes(marker)) + 1;

const summary = (s: NetSpec): string[] => s.layers.map((l) => `${l.name}:${l.type}:${l.bottoms.join(',')}>${l.tops.join(',')}`);

const CONV = (name: string, bottom: string, top: string, extra = 'num_output: 2 kernel_size: 1') =>
  `layer { name: "${name}" type: "Convolution" bottom: "${bottom}" top: "${top}" convolution_param { ${extra} } }\n`;
const RELU = (name: string, blob: string) => `layer { name: "${name}" type: "ReLU" bottom: "${blob}" top: "${blob}" }\n`;
const INPUT_SHAPE = (dims: number[], name = 'data') => `input: "${name}"\ninput_shape { ${dims.map((d) => `dim: ${d}`).join(' ')} }\n`;

describe('net inputs', () => {
  const body = CONV('conv1', 'data', 'conv1');

  test('input + input_dim, input + input_shape and an Input layer give the same spec', () => {
    const a = build(`input: "data"\ninput_dim: 1\ninput_dim: 3\ninput_dim: 4\ninput_dim: 5\n${body}`);
    const b = build(`${INPUT_SHAPE([1, 3, 4, 5])}${body}`);
    const c = build(`layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 1 dim: 3 dim: 4 dim: 5 } } }\n${body}`);
    for (const s of [a, b, c]) {
      expect(s.inputs).toEqual([{ name: 'data', shape: [1, 3, 4, 5] }]);
      expect(summary(s)).toEqual(['conv1:Convolution:data>conv1']);
    }
  });

  test('several inputs; input_dim takes 4 values per input', () => {
    const s = build(`input: "a"\ninput: "b"\ninput_dim: 1\ninput_dim: 2\ninput_dim: 3\ninput_dim: 3\ninput_dim: 1\ninput_dim: 4\ninput_dim: 3\ninput_dim: 3\n`);
    expect(s.inputs).toEqual([
      { name: 'a', shape: [1, 2, 3, 3] },
      { name: 'b', shape: [1, 4, 3, 3] },
    ]);
  });

  test('an Input layer with several tops: one shape for all, or one per top', () => {
    const one = build(`layer { name: "in" type: "Input" top: "a" top: "b" input_param { shape { dim: 2 dim: 3 } } }`);
    expect(one.inputs).toEqual([
      { name: 'a', shape: [2, 3] },
      { name: 'b', shape: [2, 3] },
    ]);
    const each = build(`layer { name: "in" type: "Input" top: "a" top: "b" input_param { shape { dim: 2 } shape { dim: 5 } } }`);
    expect(each.inputs.map((i) => i.shape)).toEqual([[2], [5]]);
    expect(each.layers).toEqual([]);
  });

  test('declaration errors name file and line', () => {
    fails(() => build(`input: "a"\ninput_dim: 1\ninput_dim: 2\n`), 'SCHEMA', /^net\.prototxt:1: 1 input\(s\) need 4 input_dim values, found 2/);
    fails(() => build(`input: "a"\ninput: "b"\ninput_shape { dim: 1 }\n`), 'SCHEMA', /2 input\(s\) but 1 input_shape/);
    fails(() => build(`input: "a"\ninput_shape { dim: 1 }\ninput_dim: 1\ninput_dim: 1\ninput_dim: 1\ninput_dim: 1\n`), 'SCHEMA', /either input_shape or the deprecated input_dim/);
    fails(() => build(`input: "a"\n`), 'SCHEMA', /input 'a' has no shape/);
    expect(build(`input: "a"\n`, { inputShape: [2, 3] }).inputs).toEqual([{ name: 'a', shape: [2, 3] }]);
    const text = `input: "a"\ninput_shape {\n dim: 1 dim: -3 }\n`;
    const e = fails(() => build(text), 'SCHEMA', /invalid dimension -3/);
    expect(e.line).toBe(2);
    fails(() => build(`input: "a"\ninput_shape { dim: 1 dim: 0 }\n`), 'SCHEMA', /invalid dimension 0/);
    const inputLayer = `\nlayer { name: "in" type: "Input" top: "a" top: "b" top: "c"\n input_param { shape { dim: 1 } shape { dim: 2 } } }`;
    const e2 = fails(() => build(inputLayer), 'SCHEMA', /3 tops but 2 shapes/);
    expect([e2.line, e2.layer]).toEqual([2, 'in']);
    fails(() => build(`layer { name: "in" type: "Input" top: "a" }`), 'SCHEMA', /input 'a' has no shape/, /inputShape/);
    expect(build(`layer { name: "in" type: "Input" top: "a" }`, { inputShape: [1, 2] }).inputs).toEqual([{ name: 'a', shape: [1, 2] }]);
  });

  test('inputShape replaces the shape of a single declared input', () => {
    const s = build(`${INPUT_SHAPE([64, 3, 4, 5])}${body}`, { inputShape: [1, 3, 4, 5] });
    expect(s.inputs[0].shape).toEqual([1, 3, 4, 5]);
    expect(s.layers[0].topShapes).toEqual([[1, 2, 4, 5]]);
    fails(() => build(`input: "a"\ninput: "b"\ninput_dim: 1\ninput_dim: 1\ninput_dim: 1\ninput_dim: 1\ninput_dim: 1\ninput_dim: 1\ninput_dim: 1\ninput_dim: 1\n`, { inputShape: [1, 1, 1, 1] }), 'OPTION', /ambiguous/, /a, b/);
    fails(() => build(`${INPUT_SHAPE([1, 1])}`, { inputShape: [1, 0] }), 'OPTION', /positive integers/);
    fails(() => build(`${INPUT_SHAPE([1, 1])}`, { inputShape: [] }), 'OPTION', /positive integers/);
  });
});

describe('NetState filtering', () => {
  const net = `${INPUT_SHAPE([1, 2])}
layer { name: "always" type: "ReLU" bottom: "data" top: "r0" }
layer { name: "test" type: "ReLU" bottom: "data" top: "r1" include { phase: TEST } }
layer { name: "train" type: "ReLU" bottom: "data" top: "r2" include { phase: TRAIN } }
layer { name: "not-test" type: "ReLU" bottom: "data" top: "r3" exclude { phase: TEST } }
layer { name: "level2" type: "ReLU" bottom: "data" top: "r4" include { min_level: 2 } }
layer { name: "upto1" type: "ReLU" bottom: "data" top: "r5" include { max_level: 1 } }
layer { name: "stage-a" type: "ReLU" bottom: "data" top: "r6" include { stage: "a" } }
layer { name: "not-a" type: "ReLU" bottom: "data" top: "r7" include { not_stage: "a" } }
layer { name: "either" type: "ReLU" bottom: "data" top: "r8" include { phase: TRAIN } include { stage: "b" } }
`;
  const names = (s: NetSpec) => s.layers.filter((l) => l.type === 'ReLU').map((l) => l.name);

  test('TEST phase, level 0, no stages by default', () => {
    expect(names(build(net))).toEqual(['always', 'test', 'upto1', 'not-a']);
  });
  test('TRAIN phase, levels and stages from options', () => {
    expect(names(build(net, { phase: 'TRAIN' }))).toEqual(['always', 'train', 'not-test', 'upto1', 'not-a', 'either']);
    expect(names(build(net, { level: 2, stages: ['a'] }))).toEqual(['always', 'test', 'level2', 'stage-a']);
    expect(names(build(net, { stages: ['b'] }))).toEqual(['always', 'test', 'upto1', 'not-a', 'either']);
  });
  test('level and stages from the file\'s state', () => {
    expect(names(build(`state { level: 3 stage: "a" }\n${net}`))).toEqual(['always', 'test', 'level2', 'stage-a']);
  });
  test('include and exclude together is an error; so is an invalid phase option', () => {
    const text = `${INPUT_SHAPE([1])}layer { name: "x" type: "ReLU" bottom: "data" top: "y"\n include { phase: TEST } exclude { phase: TRAIN } }`;
    const e = fails(() => build(text), 'SCHEMA', /include rules or exclude rules, not both/);
    expect([e.line, e.layer]).toEqual([3, 'x']);
    fails(() => build(net, { phase: 'VAL' as 'TEST' }), 'OPTION', /phase/);
  });
});

describe('train_test prototxts become deploy nets', () => {
  const trainTest = `name: "tt"
layer { name: "mnist" type: "Data" top: "data" top: "label" include { phase: TRAIN } data_param { source: "train_lmdb" batch_size: 64 } }
layer { name: "mnist" type: "Data" top: "data" top: "label" include { phase: TEST } data_param { source: "test_lmdb" batch_size: 100 } }
${CONV('conv1', 'data', 'conv1')}${RELU('relu1', 'conv1')}layer { name: "ip" type: "InnerProduct" bottom: "conv1" top: "ip" inner_product_param { num_output: 3 } }
layer { name: "accuracy" type: "Accuracy" bottom: "ip" bottom: "label" top: "accuracy" include { phase: TEST } }
layer { name: "loss" type: "SoftmaxWithLoss" bottom: "ip" bottom: "label" top: "loss" }
`;

  test('the data layer becomes an input of the given shape; loss and accuracy go (and with them the split of ip)', () => {
    const s = build(trainTest, { inputShape: [1, 1, 4, 4] });
    expect(s.name).toBe('tt');
    expect(s.inputs).toEqual([{ name: 'data', shape: [1, 1, 4, 4] }]);
    expect(summary(s)).toEqual(['conv1:Convolution:data>conv1', 'relu1:ReLU:conv1>conv1', 'ip:InnerProduct:conv1>ip']);
  });

  test('without inputShape: an OPTION error saying what to pass', () => {
    const e = fails(() => build(trainTest), 'OPTION', /data layer top 'data'/, /inputShape/);
    expect(e.line).toBe(3);
  });

  test('label-processing layers go too (a Slice of the labels feeding losses)', () => {
    const text = `
layer { name: "h5" type: "HDF5Data" top: "label" top: "img" hdf5_data_param { source: "x" batch_size: 1 } }
layer { name: "slicer" type: "Slice" bottom: "label" top: "l1" top: "l2" top: "l3" slice_param { axis: 1 slice_point: 1 slice_point: 2 } }
layer { name: "silence" type: "Silence" bottom: "l3" }
${CONV('conv1', 'img', 'conv1')}
layer { name: "loss1" type: "SoftmaxWithLoss" bottom: "conv1" bottom: "l1" top: "loss1" }
layer { name: "loss2" type: "EuclideanLoss" bottom: "conv1" bottom: "l2" top: "loss2" }
`;
    const s = build(text, { inputShape: [1, 3, 2, 2] });
    expect(s.inputs).toEqual([{ name: 'img', shape: [1, 3, 2, 2] }]);
    expect(summary(s)).toEqual(['conv1:Convolution:img>conv1']);
  });

  test('DummyData and MemoryData state their shapes; inputShape still wins', () => {
    const dummy = `layer { name: "d" type: "DummyData" top: "x" top: "y" dummy_data_param { shape { dim: 1 dim: 2 dim: 3 dim: 3 } shape { dim: 1 } } }
${CONV('c', 'x', 'c')}layer { name: "l" type: "EuclideanLoss" bottom: "c" bottom: "y" top: "l" }`;
    expect(build(dummy).inputs).toEqual([{ name: 'x', shape: [1, 2, 3, 3] }]);
    const legacy = `layer { name: "d" type: "DummyData" top: "x" dummy_data_param { num: 2 channels: 1 height: 5 width: 5 } }\n${CONV('c', 'x', 'c')}`;
    expect(build(legacy).inputs).toEqual([{ name: 'x', shape: [2, 1, 5, 5] }]);
    const mem = `layer { name: "m" type: "MemoryData" top: "x" top: "lbl" memory_data_param { batch_size: 4 channels: 3 height: 8 width: 8 } }\n${CONV('c', 'x', 'c')}`;
    expect(build(mem).inputs).toEqual([{ name: 'x', shape: [4, 3, 8, 8] }]);
    expect(build(mem, { inputShape: [1, 3, 8, 8] }).inputs[0].shape).toEqual([1, 3, 8, 8]);
  });

  test('a kept layer that reads a label is an error naming it', () => {
    const text = `layer { name: "d" type: "ImageData" top: "data" top: "label" }\n${CONV('c', 'data', 'c')}layer { name: "odd" type: "Eltwise" bottom: "c" bottom: "label" top: "e" }`;
    const e = fails(() => build(text, { inputShape: [1, 1, 2, 2] }), 'SCHEMA', /reads blob 'label'/);
    expect([e.layer, e.line]).toEqual(['odd', 3]);
  });

  test('HDF5Output and layers fed only by removed blobs are removed', () => {
    const text = `${INPUT_SHAPE([1, 2])}layer { name: "ip" type: "InnerProduct" bottom: "data" top: "ip" inner_product_param { num_output: 2 } }
layer { name: "loss" type: "EuclideanLoss" bottom: "ip" bottom: "data" top: "loss" }
layer { name: "after" type: "Power" bottom: "loss" top: "p" }
layer { name: "out" type: "HDF5Output" bottom: "ip" }`;
    expect(summary(build(text))).toEqual(['ip:InnerProduct:data>ip']);
  });
});

describe('automatic Split insertion (Caffe naming)', () => {
  test('a net input read twice is split at the very beginning, producer "input"', () => {
    const s = build(`${INPUT_SHAPE([1, 1, 2, 2])}${CONV('a', 'data', 'a')}${CONV('b', 'data', 'b')}`);
    expect(summary(s)).toEqual([
      'data_input_0_split:Split:data>data_input_0_split_0,data_input_0_split_1',
      'a:Convolution:data_input_0_split_0>a',
      'b:Convolution:data_input_0_split_1>b',
    ]);
    expect(s.layers[0].inserted).toBe(true);
    expect(s.layers[1].inserted).toBeUndefined();
  });

  test('the top index of inputs and of multi-top producers is part of the name', () => {
    const text = `input: "x"\ninput: "y"\ninput_shape { dim: 1 dim: 4 }\ninput_shape { dim: 1 dim: 2 }
layer { name: "s" type: "Slice" bottom: "x" top: "s0" top: "s1" }
layer { name: "e1" type: "Eltwise" bottom: "s1" bottom: "s1" bottom: "y" top: "e1" }
layer { name: "e2" type: "Eltwise" bottom: "y" bottom: "s0" top: "e2" }
`;
    expect(summary(build(text))).toEqual([
      'y_input_1_split:Split:y>y_input_1_split_0,y_input_1_split_1',
      's:Slice:x>s0,s1',
      's1_s_1_split:Split:s1>s1_s_1_split_0,s1_s_1_split_1',
      'e1:Eltwise:s1_s_1_split_0,s1_s_1_split_1,y_input_1_split_0>e1',
      'e2:Eltwise:y_input_1_split_1,s0>e2',
    ]);
  });

  test('an in-place layer is the new producer; a single reader after it needs no split', () => {
    const chain = build(`${INPUT_SHAPE([1, 1, 3, 3])}${CONV('conv', 'data', 'c')}${RELU('relu', 'c')}layer { name: "pool" type: "Pooling" bottom: "c" top: "p" pooling_param { kernel_size: 2 } }`);
    expect(chain.layers.map((l) => l.type)).toEqual(['Convolution', 'ReLU', 'Pooling']);
    const branched = build(`${INPUT_SHAPE([1, 1, 3, 3])}${CONV('conv', 'data', 'c')}${RELU('relu', 'c')}${CONV('x', 'c', 'x')}${CONV('y', 'c', 'y')}`);
    expect(summary(branched)).toEqual([
      'conv:Convolution:data>c',
      'relu:ReLU:c>c',
      'c_relu_0_split:Split:c>c_relu_0_split_0,c_relu_0_split_1',
      'x:Convolution:c_relu_0_split_0>x',
      'y:Convolution:c_relu_0_split_1>y',
    ]);
  });

  test('a blob read before and after an in-place layer: each version counted separately', () => {
    // conv output read by "x" and by relu (in place): 2 readers → split after conv; relu's output read once.
    const s = build(`${INPUT_SHAPE([1, 1, 3, 3])}${CONV('conv', 'data', 'c')}${CONV('x', 'c', 'x')}${RELU('relu', 'c')}${CONV('y', 'c', 'y')}`);
    expect(summary(s)).toEqual([
      'conv:Convolution:data>c',
      'c_conv_0_split:Split:c>c_conv_0_split_0,c_conv_0_split_1',
      'x:Convolution:c_conv_0_split_0>x',
      'relu:ReLU:c_conv_0_split_1>c',
      'y:Convolution:c>y',
    ]);
  });

  test('explicit Split layers stay as written', () => {
    const s = build(`${INPUT_SHAPE([1, 1, 2, 2])}layer { name: "mysplit" type: "Split" bottom: "data" top: "d1" top: "d2" }\n${CONV('a', 'd1', 'a')}${CONV('b', 'd2', 'b')}`);
    expect(summary(s)).toEqual(['mysplit:Split:data>d1,d2', 'a:Convolution:d1>a', 'b:Convolution:d2>b']);
    expect(s.layers[0].inserted).toBeUndefined();
  });

  test('an unknown bottom is an error naming layer and line', () => {
    const text = `${INPUT_SHAPE([1, 1, 2, 2])}\n${CONV('a', 'nope', 'a')}`;
    const e = fails(() => build(text), 'SCHEMA', /unknown bottom blob 'nope'/);
    expect([e.layer, e.line]).toEqual(['a', 4]);
  });
});

describe('parameter normalisation', () => {
  const one = (text: string, dims = [1, 4, 9, 9]) => build(`${INPUT_SHAPE(dims)}${text}`).layers.filter((l) => !l.inserted);

  test('Convolution: defaults, 1 or 2 kernel values, _h/_w forms, dilation, group', () => {
    expect(one(CONV('c', 'data', 'c', 'num_output: 4 kernel_size: 3'))[0].params).toEqual({
      numOutput: 4, biasTerm: true, kernel: [3, 3], stride: [1, 1], pad: [0, 0], dilation: [1, 1], group: 1, axis: 1,
    });
    expect(one(CONV('c', 'data', 'c', 'num_output: 4 kernel_size: 3 kernel_size: 1 pad: 1 pad: 0 stride: 2 stride: 1 dilation: 2 bias_term: false group: 2'))[0].params).toEqual({
      numOutput: 4, biasTerm: false, kernel: [3, 1], stride: [2, 1], pad: [1, 0], dilation: [2, 2], group: 2, axis: 1,
    });
    expect(one(CONV('c', 'data', 'c', 'num_output: 4 kernel_h: 3 kernel_w: 1 pad_h: 1 stride_h: 2 stride_w: 3'))[0].params).toMatchObject({
      kernel: [3, 1], pad: [1, 0], stride: [2, 3],
    });
    expect(one(CONV('c', 'data', 'c', 'num_output: 2 kernel_size: 3 dilation: 2 pad: 1'))[0].topShapes).toEqual([[1, 2, 7, 7]]);
  });

  test('Convolution errors name file, line of convolution_param and layer', () => {
    const cases: [string, RegExp][] = [
      ['num_output: 4', /needs kernel_size/],
      ['num_output: 4 kernel_size: 0', /kernel must be at least 1/],
      ['kernel_size: 3', /num_output must be given/],
      ['num_output: 4 kernel_size: 3 kernel_h: 3 kernel_w: 3', /either kernel_size or kernel_h\/kernel_w/],
      ['num_output: 4 kernel_h: 3', /kernel_h and kernel_w must be given together/],
      ['num_output: 4 kernel_size: 3 stride: 0', /stride must be at least 1/],
      ['num_output: 4 kernel_size: 1 kernel_size: 2 kernel_size: 3', /only 2-D convolution/],
      ['num_output: 5 kernel_size: 1 group: 2', /num_output 5 is not divisible by group 2/],
      ['num_output: 6 kernel_size: 1 group: 3', /input channels 4 are not divisible by group 3/],
      ['num_output: 2 kernel_size: 1 group: 0', /group must be positive/],
      ['num_output: 2 kernel_size: 1 dilation: 0', /dilation must be at least 1/],
      ['num_output: 2 kernel_size: 11', /smaller than the \(dilated\) kernel/],
    ];
    for (const [param, msg] of cases) {
      const text = `${INPUT_SHAPE([1, 4, 9, 9])}layer {\n name: "bad" type: "Convolution" bottom: "data" top: "c"\n convolution_param {\n ${param} } }`;
      const e = fails(() => build(text), /smaller/.test(String(msg)) ? 'SHAPE' : 'SCHEMA', msg, /^net\.prototxt:\d+ \(layer 'bad'\)/);
      expect([e.file, e.layer]).toEqual([FILE, 'bad']);
      // Parameter errors point at convolution_param, shape errors at the layer.
      expect(e.line).toBe(/channels/.test(String(msg)) || /smaller/.test(String(msg)) ? 3 : 5);
    }
  });

  test('Pooling: defaults, ceil mode, clip rule, global pooling, FLOOR', () => {
    const pool = (p: string, dims = [1, 1, 6, 6]) => one(`layer { name: "p" type: "Pooling" bottom: "data" top: "p" pooling_param { ${p} } }`, dims)[0];
    expect(pool('kernel_size: 3').params).toEqual({ pool: 'MAX', kernel: [3, 3], stride: [1, 1], pad: [0, 0], globalPooling: false, roundMode: 'CEIL' });
    expect(pool('kernel_size: 3 stride: 2', [1, 1, 32, 32]).topShapes).toEqual([[1, 1, 16, 16]]);
    expect(pool('kernel_size: 3 stride: 2', [1, 1, 6, 6]).topShapes).toEqual([[1, 1, 3, 3]]);
    expect(pool('kernel_size: 3 stride: 2 round_mode: FLOOR', [1, 1, 6, 6]).topShapes).toEqual([[1, 1, 2, 2]]);
    // ceil((5 + 2 - 2) / 2) + 1 = 4, but window 3 would start at 6 = 5 + 1 (in the padding): clipped to 3.
    expect(pool('kernel_size: 2 stride: 2 pad: 1', [1, 1, 5, 5]).topShapes).toEqual([[1, 1, 3, 3]]);
    expect(pool('kernel_h: 3 kernel_w: 1 stride_h: 3 stride_w: 1 pad_h: 1 pad_w: 0 pool: AVE', [1, 1, 6, 6]).params).toMatchObject({
      pool: 'AVE', kernel: [3, 1], stride: [3, 1], pad: [1, 0],
    });
    const g = pool('pool: AVE global_pooling: true', [1, 3, 7, 5]);
    expect(g.params).toMatchObject({ kernel: [7, 5], globalPooling: true });
    expect(g.topShapes).toEqual([[1, 3, 1, 1]]);
  });

  test('Pooling errors', () => {
    const cases: [string, RegExp][] = [
      ['pool: MAX', /needs kernel_size/],
      ['kernel_size: 0', /kernel size must be positive/],
      ['kernel_size: 2 kernel_h: 2 kernel_w: 2', /either kernel_size or kernel_h/],
      ['kernel_h: 2', /kernel_h and kernel_w must be given together/],
      ['kernel_size: 2 pad: 2', /pad \[2, 2\] must be smaller than the kernel/],
      ['global_pooling: true kernel_size: 2', /do not give a kernel size/],
      ['global_pooling: true stride: 2', /needs pad 0 and stride 1/],
      ['kernel_size: 2 stride: 0', /stride must be positive/],
      ['kernel_size: 2 pad: 1 pool: STOCHASTIC', /only implemented for MAX and AVE/],
    ];
    for (const [param, msg] of cases) {
      const text = `${INPUT_SHAPE([1, 1, 6, 6])}layer { name: "pool" type: "Pooling" bottom: "data" top: "p"\n pooling_param { ${param} } }`;
      const e = fails(() => build(text), 'SCHEMA', msg);
      expect([e.layer, e.line]).toEqual(['pool', 4]);
    }
    fails(() => build(`${INPUT_SHAPE([1, 1, 2, 2])}layer { name: "p" type: "Pooling" bottom: "data" top: "p" pooling_param { kernel_size: 3 } }`), 'SHAPE', /smaller than the kernel/);
    fails(() => build(`${INPUT_SHAPE([1, 4])}layer { name: "p" type: "Pooling" bottom: "data" top: "p" pooling_param { kernel_size: 3 } }`), 'SHAPE', /needs a 4-D/);
  });

  test('InnerProduct: axis flattening, transpose, negative axis', () => {
    const ip = (p: string, dims: number[]) => one(`layer { name: "ip" type: "InnerProduct" bottom: "data" top: "ip" inner_product_param { ${p} } }`, dims)[0];
    expect(ip('num_output: 7', [2, 3, 4, 5]).params).toEqual({ numOutput: 7, biasTerm: true, axis: 1, transpose: false });
    expect(ip('num_output: 7', [2, 3, 4, 5]).topShapes).toEqual([[2, 7]]);
    expect(ip('num_output: 7 axis: -1 transpose: true bias_term: false', [2, 3, 4, 5])).toMatchObject({ params: { axis: 3, transpose: true, biasTerm: false }, topShapes: [[2, 3, 4, 7]] });
    fails(() => ip('num_output: 7 axis: 4', [2, 3, 4, 5]), 'SCHEMA', /axis 4 is out of range for a 4-axis input/);
    fails(() => ip('axis: 1', [2, 3]), 'SCHEMA', /num_output must be given/);
  });

  test('LRN, ReLU, PReLU, Softmax, Dropout, Power, BatchNorm, Scale, Bias defaults (floats as float32)', () => {
    const layer = (type: string, p = '') => one(`layer { name: "x" type: "${type}" bottom: "data" top: "x" ${p} }`)[0].params;
    expect(layer('LRN')).toEqual({ localSize: 5, alpha: 1, beta: 0.75, k: 1, normRegion: 'ACROSS_CHANNELS' });
    expect(layer('LRN', 'lrn_param { local_size: 3 alpha: 5e-05 norm_region: WITHIN_CHANNEL k: 2 }')).toEqual({
      localSize: 3, alpha: Math.fround(5e-5), beta: 0.75, k: 2, normRegion: 'WITHIN_CHANNEL',
    });
    expect(layer('ReLU')).toEqual({ negativeSlope: 0 });
    expect(layer('ReLU', 'relu_param { negative_slope: 0.1 }')).toEqual({ negativeSlope: Math.fround(0.1) });
    expect(layer('PReLU')).toEqual({ channelShared: false });
    expect(layer('Softmax', 'softmax_param { axis: -1 }')).toEqual({ axis: 3 });
    expect(layer('Dropout')).toEqual({ dropoutRatio: 0.5 });
    expect(layer('Power', 'power_param { power: 2 }')).toEqual({ power: 2, scale: 1, shift: 0 });
    expect(layer('BatchNorm')).toEqual({ useGlobalStats: true, eps: Math.fround(1e-5), movingAverageFraction: Math.fround(0.999) });
    expect(layer('Scale')).toEqual({ axis: 1, numAxes: 1, biasTerm: false });
    expect(layer('Bias', 'bias_param { axis: 0 num_axes: -1 }')).toEqual({ axis: 0, numAxes: -1 });
    expect(layer('TanH')).toEqual({});
    fails(() => layer('LRN', 'lrn_param { local_size: 4 }'), 'SCHEMA', /odd/);
    fails(() => layer('Dropout', 'dropout_param { dropout_ratio: 1 }'), 'SCHEMA', /dropout_ratio must be in \[0, 1\)/);
    fails(() => layer('Softmax', 'softmax_param { axis: -5 }'), 'SCHEMA', /out of range/);
  });

  test('Concat axis and legacy concat_dim; Slice axis/slice_dim and points', () => {
    const text = (p: string) => `${INPUT_SHAPE([1, 2, 3, 3], 'a')}input: "b"\ninput_shape { dim: 1 dim: 5 dim: 3 dim: 3 }\nlayer { name: "cat" type: "Concat" bottom: "a" bottom: "b" top: "c" ${p} }`;
    expect(build(text('')).layers[0]).toMatchObject({ params: { axis: 1 }, topShapes: [[1, 7, 3, 3]] });
    expect(build(text('concat_param { concat_dim: 1 }')).layers[0].params).toEqual({ axis: 1 });
    expect(build(text('concat_param { axis: -3 }')).layers[0].params).toEqual({ axis: 1 });
    fails(() => build(text('concat_param { axis: 1 concat_dim: 1 }')), 'SCHEMA', /either axis or concat_dim/);
    fails(() => build(text('concat_param { axis: 2 }')), 'SHAPE', /bottom 1 \[1, 5, 3, 3\] does not fit bottom 0 \[1, 2, 3, 3\] outside axis 2/);

    const slice = (p: string, tops = 3) =>
      one(`layer { name: "s" type: "Slice" bottom: "data" ${Array.from({ length: tops }, (_, i) => `top: "t${i}"`).join(' ')} ${p} }`, [1, 6, 2, 2])[0];
    expect(slice('')).toMatchObject({ params: { axis: 1, slicePoints: [] }, topShapes: [[1, 2, 2, 2], [1, 2, 2, 2], [1, 2, 2, 2]] });
    expect(slice('slice_param { slice_dim: 1 slice_point: 1 slice_point: 4 }').topShapes).toEqual([[1, 1, 2, 2], [1, 3, 2, 2], [1, 2, 2, 2]]);
    expect(slice('slice_param { axis: 3 }', 2).topShapes).toEqual([[1, 6, 2, 1], [1, 6, 2, 1]]);
    fails(() => slice('', 4), 'SHAPE', /cannot be sliced evenly into 4 tops/);
    fails(() => slice('slice_param { slice_point: 1 }'), 'SHAPE', /1 slice points need 2 tops, found 3/);
    fails(() => slice('slice_param { slice_point: 4 slice_point: 2 }'), 'SCHEMA', /must increase/);
    fails(() => slice('slice_param { slice_point: 2 slice_point: 6 }'), 'SHAPE', /do not lie inside/);
    fails(() => slice('slice_param { axis: 1 slice_dim: 1 }'), 'SCHEMA', /either axis or slice_dim/);
  });

  test('Eltwise coefficients, Flatten, Reshape, Permute', () => {
    const two = `${INPUT_SHAPE([1, 2, 3, 4], 'a')}input: "b"\ninput_shape { dim: 1 dim: 2 dim: 3 dim: 4 }\n`;
    const elt = (p: string) => build(`${two}layer { name: "e" type: "Eltwise" bottom: "a" bottom: "b" top: "e" ${p} }`).layers[0];
    expect(elt('').params).toEqual({ operation: 'SUM', coeff: [1, 1] });
    expect(elt('eltwise_param { coeff: 1 coeff: -1 }').params).toEqual({ operation: 'SUM', coeff: [1, -1] });
    expect(elt('eltwise_param { operation: MAX }').params).toEqual({ operation: 'MAX', coeff: [1, 1] });
    fails(() => elt('eltwise_param { operation: PROD coeff: 1 coeff: 2 }'), 'SCHEMA', /only allowed for SUM/);
    fails(() => elt('eltwise_param { coeff: 1 }'), 'SCHEMA', /2 bottoms but 1 coefficients/);
    fails(() => build(`${INPUT_SHAPE([1, 2], 'a')}input: "b"\ninput_shape { dim: 1 dim: 3 }\nlayer { name: "e" type: "Eltwise" bottom: "a" bottom: "b" top: "e" }`), 'SHAPE', /bottom 1 \[1, 3\] differs/);
    fails(() => build(`${INPUT_SHAPE([1, 2], 'a')}layer { name: "e" type: "Eltwise" bottom: "a" top: "e" }`), 'SCHEMA', /takes at least 2 bottom/);

    const flat = (p: string) => one(`layer { name: "f" type: "Flatten" bottom: "data" top: "f" ${p} }`, [2, 3, 4, 5])[0];
    expect(flat('')).toMatchObject({ params: { axis: 1, endAxis: 3 }, topShapes: [[2, 60]] });
    expect(flat('flatten_param { axis: 2 }').topShapes).toEqual([[2, 3, 20]]);
    expect(flat('flatten_param { axis: 0 end_axis: 1 }').topShapes).toEqual([[6, 4, 5]]);
    fails(() => flat('flatten_param { axis: 3 end_axis: 1 }'), 'SHAPE', /end_axis 1 lies before axis 3/);

    const rs = (p: string) => one(`layer { name: "r" type: "Reshape" bottom: "data" top: "r" reshape_param { ${p} } }`, [2, 3, 4, 5])[0];
    expect(rs('shape { dim: 0 dim: -1 }')).toMatchObject({ params: { shape: [0, -1], axis: 0, numAxes: -1 }, topShapes: [[2, 60]] });
    expect(rs('shape { dim: 1 dim: -1 dim: 2 }').topShapes).toEqual([[1, 60, 2]]);
    expect(rs('shape { dim: 12 } axis: 1 num_axes: 2').topShapes).toEqual([[2, 12, 5]]);
    expect(rs('shape { dim: 1 dim: 1 } axis: -1 num_axes: 0').topShapes).toEqual([[2, 3, 4, 5, 1, 1]]);
    expect(rs('shape { dim: -1 } axis: -3 num_axes: 2').topShapes).toEqual([[2, 3, 20]]);
    fails(() => rs('shape { dim: -1 dim: -1 }'), 'SCHEMA', /-1 only once/);
    fails(() => rs('shape { dim: 7 dim: -1 }'), 'SHAPE', /cannot infer the -1 dim/);
    fails(() => rs('shape { dim: 7 }'), 'SHAPE', /changes the count/);
    fails(() => rs('shape { dim: -2 }'), 'SCHEMA', /invalid dimension/);

    const perm = (p: string) => one(`layer { name: "p" type: "Permute" bottom: "data" top: "p" permute_param { ${p} } }`, [2, 3, 4, 5])[0];
    expect(perm('order: 0 order: 2 order: 3 order: 1')).toMatchObject({ params: { order: [0, 2, 3, 1] }, topShapes: [[2, 4, 5, 3]] });
    expect(perm('order: 1').params).toEqual({ order: [1, 0, 2, 3] });
    fails(() => perm('order: 4'), 'SCHEMA', /beyond/);
    fails(() => perm('order: 1 order: 1'), 'SCHEMA', /repeats/);
  });

  test('unknown types pass through with their raw *_param and unknown shapes', () => {
    const layers = one(`layer { name: "dc" type: "Deconvolution" bottom: "data" top: "dc" convolution_param { num_output: 3 kernel_size: 2 } }
layer { name: "after" type: "ReLU" bottom: "dc" top: "dc" }
layer { name: "elu" type: "ELU" bottom: "data" top: "elu" elu_param { alpha: 0.5 } }`);
    expect(layers[0]).toMatchObject({ type: 'Deconvolution', params: { num_output: 3, kernel_size: [2] }, rawParamName: 'convolution_param' });
    expect(layers[0].topShapes).toBeUndefined();
    expect(layers[1].topShapes).toBeUndefined();
    expect(layers[2]).toMatchObject({ params: { alpha: 0.5 }, rawParamName: 'elu_param', topShapes: [[1, 4, 9, 9]] });
  });

  test('arity and missing type errors', () => {
    fails(() => one(`layer { name: "r" type: "ReLU" bottom: "data" bottom: "data" top: "r" }`), 'SCHEMA', /ReLU takes 1 bottom\(s\), found 2/);
    fails(() => one(`layer { name: "c" type: "Convolution" bottom: "data" top: "a" top: "b" convolution_param { num_output: 1 kernel_size: 1 } }`), 'SCHEMA', /as many tops as bottoms/);
    fails(() => one(`layer { name: "t" bottom: "data" top: "r" }`), 'SCHEMA', /layer has no type/);
  });
});

describe('weights matched by layer name', () => {
  const text = `${INPUT_SHAPE([1, 2, 3, 3])}${CONV('conv1', 'data', 'conv1', 'num_output: 4 kernel_size: 3')}${RELU('relu1', 'conv1')}layer { name: "ip1" type: "InnerProduct" bottom: "conv1" top: "ip1" inner_product_param { num_output: 2 } }`;
  const structure = build(text);
  const weighted = withRandomWeights(structure, 7);

  test('without a caffemodel: structure only, no blobs, flag false', () => {
    expect(structure.weightsLoaded).toBe(false);
    expect(structure.layers.every((l) => l.blobs.length === 0)).toBe(true);
  });

  test('blobs arrive by name with the expected shapes; extra caffemodel layers are ignored', () => {
    const model = Buffer.concat([
      writeCaffemodel(weighted),
      bytes(v2Layer('unused_loss', 'SoftmaxWithLoss', ['ip1', 'label'], ['loss'])),
      bytes(v2Layer('extra_fc', 'InnerProduct', ['x'], ['y'], [blobWithShape([1, 1], [3])])),
    ]);
    const s = build(text, {}, model);
    expect(s.weightsLoaded).toBe(true);
    expect(s.weightsSource).toBe('w.caffemodel');
    expect(s.layers.map((l) => l.blobs.map((b) => b.shape))).toEqual([[[4, 2, 3, 3], [4]], [], [[2, 4], [2]]]);
    expect(Buffer.from(s.layers[2].blobs[0].data.buffer).equals(Buffer.from(weighted.layers[2].blobs[0].data.buffer))).toBe(true);
  });

  test('legacy 4-D dims are reshaped when the count matches (V1 files)', () => {
    const w = weighted.layers;
    const model = bytes(
      v1Layer('conv1', 4, ['data'], ['conv1'], [blobLegacy([4, 2, 3, 3], [...w[0].blobs[0].data]), blobLegacy([1, 1, 1, 4], [...w[0].blobs[1].data])]),
      v1Layer('ip1', 14, ['conv1'], ['ip1'], [blobLegacy([1, 1, 2, 4], [...w[2].blobs[0].data]), blobLegacy([1, 1, 1, 2], [...w[2].blobs[1].data])]),
    );
    const s = build(text, {}, model);
    expect(s.layers.map((l) => l.blobs.map((b) => b.shape))).toEqual([[[4, 2, 3, 3], [4]], [], [[2, 4], [2]]]);
    const bad = bytes(v1Layer('conv1', 4, ['data'], ['conv1'], [blobLegacy([1, 1, 1, 3], [1, 2, 3]), blobLegacy([1, 1, 1, 4], [1, 2, 3, 4])]));
    fails(() => build(text, {}, bad), 'SHAPE', /blob 0 in w\.caffemodel has shape \[1, 1, 1, 3\] \(legacy dims\), but the prototxt needs \[4, 2, 3, 3\]/);
  });

  test('shape mismatch names layer, blob index and both shapes', () => {
    const model = bytes(v2Layer('conv1', 'Convolution', [], [], [blobWithShape([4, 2, 3, 3], Array(72).fill(0)), blobWithShape([1, 4], [1, 2, 3, 4])]));
    const e = fails(() => build(text, {}, model), 'SHAPE', /blob 1 in w\.caffemodel has shape \[1, 4\], but the prototxt needs \[4\]/);
    expect([e.layer, e.file, e.line]).toEqual(['conv1', FILE, 3]);
  });

  test('a weighted layer missing from the caffemodel, or with the wrong blob count', () => {
    fails(() => build(text, {}, bytes(v2Layer('relu1', 'ReLU', [], []))), 'SHAPE', /Convolution layer needs 2 learned blob\(s\), but w\.caffemodel has no layer named 'conv1'/);
    fails(() => build(text, {}, bytes(v2Layer('conv1', 'Convolution', [], []))), 'SHAPE', /has no blobs for it/);
    const one = bytes(v2Layer('conv1', 'Convolution', [], [], [blobWithShape([4, 2, 3, 3], Array(72).fill(0))]));
    fails(() => build(text, {}, one), 'SHAPE', /w\.caffemodel has 1 blob\(s\) for this Convolution layer, but the prototxt defines 2/);
    const reluBlobs = Buffer.concat([writeCaffemodel(weighted), bytes(v2Layer('relu1', 'ReLU', [], [], [blobWithShape([1], [1])]))]);
    fails(() => build(text, {}, reluBlobs), 'SHAPE', /has 1 blob\(s\) for this ReLU layer, but the prototxt defines 0/);
  });

  test('PReLU, BatchNorm, Scale and Bias blob shapes; two-bottom Scale needs only its bias', () => {
    const net = `${INPUT_SHAPE([1, 3, 2, 2])}input: "s"\ninput_shape { dim: 3 }
layer { name: "bn" type: "BatchNorm" bottom: "data" top: "data" }
layer { name: "sc" type: "Scale" bottom: "data" top: "data" scale_param { bias_term: true } }
layer { name: "pr" type: "PReLU" bottom: "data" top: "data" }
layer { name: "pr2" type: "PReLU" bottom: "data" top: "data" prelu_param { channel_shared: true } }
layer { name: "bi" type: "Bias" bottom: "data" top: "b" bias_param { axis: 2 num_axes: 2 } }
layer { name: "sc2" type: "Scale" bottom: "b" bottom: "s" top: "sc2" scale_param { bias_term: true } }
layer { name: "sc3" type: "Scale" bottom: "b" bottom: "s" top: "sc3" }
`;
    const w = withRandomWeights(build(net), 3);
    expect(w.layers.filter((l) => !l.inserted).map((l) => [l.name, l.blobs.map((b) => b.shape)])).toEqual([
      ['bn', [[3], [3], [1]]],
      ['sc', [[3], [3]]],
      ['pr', [[3]]],
      ['pr2', [[]]],
      ['bi', [[2, 2]]],
      ['sc2', [[3]]],
      ['sc3', []],
    ]);
    const s = build(net, {}, writeCaffemodel(w));
    expect(s.layers.map((l) => l.blobs.length)).toEqual(w.layers.map((l) => l.blobs.length));
    fails(() => build(net.replace('input_shape { dim: 3 }', 'input_shape { dim: 4 }')), 'SHAPE', /bottom 1 \[4\] does not match bottom 0/);
  });

  test('two weighted layers with the same name are ambiguous', () => {
    const dup = `${INPUT_SHAPE([1, 2, 3, 3])}${CONV('c', 'data', 'a')}${CONV('c', 'data', 'b')}`;
    const w = withRandomWeights(build(dup));
    fails(() => build(dup, {}, writeCaffemodel(w)), 'SCHEMA', /share this name/);
  });

  test('blobs written inline in a prototxt are used when no caffemodel names the layer', () => {
    const inline = `${INPUT_SHAPE([1, 2])}layer { name: "ip" type: "InnerProduct" bottom: "data" top: "ip" inner_product_param { num_output: 1 bias_term: false }
 blobs { shape { dim: 1 dim: 2 } data: 0.5 data: -1 } }`;
    const s = build(inline);
    expect(s.layers[0].blobs.map((b) => [b.shape, [...b.data]])).toEqual([[[1, 2], [0.5, -1]]]);
    fails(() => build(inline.replace('data: -1', '')), 'SHAPE', /blob 0 has 1 values but its shape \[1, 2\] needs 2/);
  });
});

describe('V1 prototxts', () => {
  test('V1 layers are upgraded; both layer and layers is an error', () => {
    const v1 = `input: "data"\ninput_dim: 1\ninput_dim: 1\ninput_dim: 4\ninput_dim: 4
layers { name: "conv" type: CONVOLUTION bottom: "data" top: "conv" blobs_lr: 1 blobs_lr: 2 convolution_param { num_output: 2 kernel_size: 3 } }
layers { name: "relu" type: RELU bottom: "conv" top: "conv" }
layers { name: "pool" type: POOLING bottom: "conv" top: "pool" pooling_param { pool: AVE kernel_size: 2 } }
layers { name: "drop" type: DROPOUT bottom: "pool" top: "pool" }
layers { name: "ip" type: INNER_PRODUCT bottom: "pool" top: "ip" inner_product_param { num_output: 3 } }
layers { name: "prob" type: SOFTMAX bottom: "ip" top: "prob" }
`;
    const s = build(v1);
    expect(s.layers.map((l) => [l.name, l.type, l.line])).toEqual([
      ['conv', 'Convolution', 6],
      ['relu', 'ReLU', 7],
      ['pool', 'Pooling', 8],
      ['drop', 'Dropout', 9],
      ['ip', 'InnerProduct', 10],
      ['prob', 'Softmax', 11],
    ]);
    fails(() => build(`${v1}layer { name: "x" type: "ReLU" bottom: "prob" top: "prob" }`), 'SCHEMA', /both V2 'layer' and legacy V1 'layers'/);
  });
});
