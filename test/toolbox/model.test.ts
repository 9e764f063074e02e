/**
 * The toolbox's text model format: reading, writing, the round trips text -> model -> text
 * and text -> NetSpec -> text, and errors that name the line.
 */
import * as fs from 'fs';
import * as path from 'path';
import { CaffeLrpError } from '../../lib/errors';
import {
  formatToolboxModel, netSpecToToolbox, parseToolboxModel, readToolboxModelSync, toolboxToNetSpec,
  type ToolboxConvolution, type ToolboxLinear, type ToolboxModel,
} from '../../lib/toolbox';
import { formatPyFloat, parsePyFloat } from '../../lib/io/pyfloat';
import { MODELS, VECTORS, describeIfExists } from '../helpers/vectors';

const TOOLBOX_MODELS = path.join(MODELS, 'lrp-toolbox-mnist');
const OWN_MODELS = path.join(VECTORS, 'toolbox-python', 'models');

function expectError(text: string, line: number, message: RegExp, column?: number): void {
  let err: unknown;
  try {
    parseToolboxModel(text, 'm.txt');
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(CaffeLrpError);
  const e = err as CaffeLrpError;
  expect(e.code).toBe('PARSE');
  expect(e.line).toBe(line);
  expect(e.message).toMatch(message);
  expect(e.message.startsWith(`m.txt:${line}`)).toBe(true);
  if (column !== undefined) expect(e.column).toBe(column);
}

/** The float64 values of every layer, for numeric comparison of two models. */
function values(model: ToolboxModel): number[][] {
  return model.layers.flatMap((l) => ('weights' in l ? [Array.from(l.weights), Array.from(l.bias)] : []));
}

function headers(model: ToolboxModel): string[] {
  return formatToolboxModel(model).split('\n').filter((l) => /^[A-Z]/.test(l));
}

describe('Python float syntax', () => {
  test('repr-style output', () => {
    const cases: [number, string][] = [
      [0.0168, '0.0168'], [-0.002, '-0.002'], [1, '1.0'], [1e-5, '1e-05'], [1.5e-7, '1.5e-07'], [1e16, '1e+16'],
      [1e15, '1000000000000000.0'], [0.0001, '0.0001'], [-2.01595799878, '-2.01595799878'], [0.1 + 0.2, '0.30000000000000004'],
      [-0, '-0.0'], [NaN, 'nan'], [-Infinity, '-inf'],
    ];
    for (const [v, s] of cases) expect(formatPyFloat(v)).toBe(s);
  });

  test('float32 values get the shortest digits that read back to the same float32', () => {
    for (const v of [0.0168, -0.345, 0.1, 3.4e38, 1e-40, 123456.789]) {
      const s = formatPyFloat(Math.fround(v), true);
      expect(Math.fround(Number(s))).toBe(Math.fround(v));
      expect(s.replace(/^-|e.*$|\./g, '').replace(/^0+/, '').length).toBeLessThanOrEqual(9);
    }
    expect(formatPyFloat(Math.fround(0.0168), true)).toBe('0.0168');
  });

  test('input accepts what float() accepts', () => {
    expect(parsePyFloat('+1.')).toBe(1);
    expect(parsePyFloat('.5e-3')).toBe(0.0005);
    expect(parsePyFloat('1_000.5')).toBe(1000.5);
    expect(parsePyFloat('-Infinity')).toBe(-Infinity);
    expect(Number.isNaN(parsePyFloat('NaN'))).toBe(true);
    for (const bad of ['', '1.2.3', 'e5', '0x10', '1__0', '1_', '--1', '1e']) expect(parsePyFloat(bad)).toBeUndefined();
  });
});

describe('reading', () => {
  test('all layer types, C-order parameters', () => {
    const m = parseToolboxModel([
      'Convolution 2 1 1 2 1 1', '1 2 3 4', '0.5 -0.5', 'Rect', 'MaxPool 2 2 2 2', 'SumPool 2 1 1 1', 'Tanh', 'Flatten',
      'Linear 2 3', '1 2 3 4 5 6', '0.1 0.2 0.3', 'SoftMax', '',
    ].join('\n'), 'm.txt');
    expect(m.layers.map((l) => l.type)).toEqual(['Convolution', 'Rect', 'MaxPool', 'SumPool', 'Tanh', 'Flatten', 'Linear', 'SoftMax']);
    const conv = m.layers[0] as ToolboxConvolution;
    expect([conv.h, conv.w, conv.d, conv.n, ...conv.stride, conv.line]).toEqual([2, 1, 1, 2, 1, 1, 1]);
    expect(Array.from(conv.weights)).toEqual([1, 2, 3, 4]);
    expect(m.layers[3]).toMatchObject({ pool: [2, 1], stride: [1, 1], line: 6 });
    const lin = m.layers[6] as ToolboxLinear;
    expect([lin.m, lin.n, lin.line]).toEqual([2, 3, 9]);
    expect(lin.weights).toBeInstanceOf(Float64Array);
    expect(Array.from(lin.bias)).toEqual([0.1, 0.2, 0.3]);
  });

  test('CRLF line ends, trailing empty lines and the legacy Linear layout (m lines of n weights)', () => {
    const m = parseToolboxModel('Linear 2 2\r\n1 2\r\n3 4\r\n0 0\r\nRect\r\n\r\n\r\n');
    expect(m.layers.map((l) => l.type)).toEqual(['Linear', 'Rect']);
    expect(Array.from((m.layers[0] as ToolboxLinear).weights)).toEqual([1, 2, 3, 4]);
  });

  test('sizes after the parameterless names of old files are ignored', () => {
    expect(parseToolboxModel('Linear 1 1\n2\n0\nRect 1 1\n').layers[1]).toEqual({ type: 'Rect', line: 4 });
  });

  test('malformed files: errors with line numbers', () => {
    expectError('Linear 2 2\n1 2 3\n0 0\n', 2, /expected 4 weights.*found 3/);
    expectError('Linear 2 2\n1 2 3 4\n', 3, /expected a line of 2 biases.*end of the file/);
    expectError('Linear 2 2\n1 2 x 4\n0 0\n', 2, /weights.* #3 is not a number: 'x'/, 5);
    expectError('Rect\nConv 5 5 1 1 1 1\n', 2, /unknown layer type 'Conv'/, 1);
    expectError('Convolution 5 5 1 10 1\n', 1, /'Convolution' needs 6 integers.*found 5/);
    expectError('MaxPool 2 2 0 2\n', 1, /row stride of 'MaxPool' must be a positive integer, found '0'/, 13);
    expectError('SumPool 2 2.5 2 2\n', 1, /pool width of 'SumPool' must be a positive integer/);
    expectError('Rect\n\nTanh\n', 2, /empty line before the layer on line 3/);
    expectError('Tanh please\n', 1, /'Tanh' takes no parameters, found 'please'/, 6);
    expectError('Convolution 1 1 1 2 1 1\n1 2\n\nRect\n', 3, /expected a line of 2 biases .*line 1, found an empty line/);
    expectError('\n\n', 1, /no layers/);
  });

  test('a missing file is an IO error naming it', () => {
    expect(() => readToolboxModelSync('/nonexistent/model.txt')).toThrow(/\/nonexistent\/model\.txt: cannot read/);
  });
});

describe('writing', () => {
  test('the layout of the toolbox writer', () => {
    const m = parseToolboxModel('Linear 1 2\n0.5 -1e-05\n0 2\nRect\nMaxPool 2 2 1 1\n');
    expect(formatToolboxModel(m)).toBe('Linear 1 2\n0.5 -1e-05\n0.0 2.0\nRect\nMaxPool 2 2 1 1\n');
  });

  test('wrong value counts are refused', () => {
    const m = parseToolboxModel('Linear 1 2\n1 2\n0 0\n');
    (m.layers[0] as ToolboxLinear).bias = new Float64Array(3);
    expect(() => formatToolboxModel(m)).toThrow(/bias must be .* of 2 values/);
  });
});

describeIfExists(TOOLBOX_MODELS, 'round trips of the toolbox and reference models', () => {
  const files = [
    path.join(TOOLBOX_MODELS, 'LeNet-5.txt'), path.join(TOOLBOX_MODELS, 'xor_net_small.txt'),
    ...(fs.existsSync(OWN_MODELS) ? fs.readdirSync(OWN_MODELS).map((f) => path.join(OWN_MODELS, f)) : []),
  ];
  const inputShape = (m: ToolboxModel) => (m.layers[0].type === 'Convolution' ? [32, 32, 1] : undefined);

  test('LeNet-5 has the documented layer sequence', () => {
    const m = readToolboxModelSync(files[0]);
    expect(headers(m)).toEqual([
      'Convolution 5 5 1 10 1 1', 'Rect', 'SumPool 2 2 2 2', 'Convolution 5 5 10 25 1 1', 'Rect', 'SumPool 2 2 2 2',
      'Convolution 4 4 25 100 1 1', 'Rect', 'SumPool 2 2 2 2', 'Convolution 1 1 100 10 1 1', 'Flatten',
    ]);
    const spec = toolboxToNetSpec(m, { inputShape: [32, 32, 1] });
    expect(spec.layers.map((l) => `${l.name}:${l.type}`)).toEqual([
      'conv0:Convolution', 'rect1:ReLU', 'sumpool2:SumPool', 'conv3:Convolution', 'rect4:ReLU', 'sumpool5:SumPool',
      'conv6:Convolution', 'rect7:ReLU', 'sumpool8:SumPool', 'conv9:Convolution', 'flatten10:Flatten',
    ]);
    expect(spec.layers[spec.layers.length - 1].topShapes).toEqual([[1, 10]]);
    expect(spec.layers[3].blobs[0].shape).toEqual([25, 10, 5, 5]);
  });

  for (const file of files) {
    test(`${path.basename(file)}: text -> model -> text and text -> NetSpec -> text are lossless`, () => {
      const text = fs.readFileSync(file, 'latin1');
      const model = readToolboxModelSync(file);
      const direct = formatToolboxModel(model);
      const viaSpec = formatToolboxModel(netSpecToToolbox(toolboxToNetSpec(model, { inputShape: inputShape(model) })));
      expect(viaSpec).toBe(direct);
      // Numerically identical (float64) after reading back.
      expect(values(parseToolboxModel(viaSpec))).toEqual(values(model));
      expect(headers(parseToolboxModel(viaSpec))).toEqual(headers(model));
      // Files written by the toolbox's own writer (repr numbers) come back byte-identical;
      // LeNet-5.txt was written with 3 fixed decimals ('0.090' reads back as '0.09').
      if (!file.endsWith('LeNet-5.txt')) expect(direct).toBe(text);
    });
  }

  test('weights changed in the NetSpec are written as their float32 values', () => {
    const model = readToolboxModelSync(files[1]);
    const spec = toolboxToNetSpec(model);
    spec.layers[0].blobs[0].data[0] = 0.25;
    const back = netSpecToToolbox(spec);
    const w = (back.layers[0] as ToolboxLinear).weights;
    expect(w).toBeInstanceOf(Float32Array);
    expect(w[0]).toBe(0.25);
    expect(formatToolboxModel(back).split('\n')[1].split(' ')[1]).toBe(formatPyFloat(Math.fround(-2.05379403106), true));
  });
});
