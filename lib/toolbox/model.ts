/**
 * The LRP Toolbox's plain-text model format (shared by its python and Matlab
 * implementations): one layer per header line, parameters on the following lines.
 *
 *   Linear m n                 + a line of m*n weights (C order, shape (m, n)) + a line of n biases
 *   Convolution h w d n s0 s1  + a line of h*w*d*n weights (C order, (h, w, d, n)) + a line of n biases
 *   MaxPool h w s0 s1          pool size and stride (rows, columns)
 *   SumPool h w s0 s1
 *   Rect | Tanh | SoftMax | Flatten   alone on their line
 *
 * Numbers use Python's float() syntax; the toolbox's layout is channels-last (N x H x W x D).
 * The reader keeps the values as float64 (exactly what the file says) and names the line of
 * every problem. Like the toolbox's reader it also accepts the legacy Linear layout (m lines
 * of n weights) and ignores integer tokens after the parameterless layer names (old files
 * wrote sizes there). The toolbox's reader stops at the first empty line, so an empty line
 * followed by more layers is an error here rather than a silently truncated model.
 *
 * The writer produces the format as the toolbox's model_io.write does (repr-style numbers,
 * one space between them), so files written by the toolbox come back byte-identical.
 */
import * as fs from 'fs';
import { CaffeLrpError } from '../errors';
import { formatPyFloat, parsePyFloat } from '../io/pyfloat';
import { readInputFile, readInputFileSync } from '../io/read-file';

/** Float64Array: values as read from text; Float32Array: values from the engine (written float32-shortest). */
export type ToolboxValues = Float64Array | Float32Array;

export interface ToolboxLinear { type: 'Linear'; m: number; n: number; weights: ToolboxValues; bias: ToolboxValues; line?: number }
export interface ToolboxConvolution {
  type: 'Convolution';
  /** Filter height, width, depth (input channels) and count. */
  h: number; w: number; d: number; n: number;
  stride: [number, number];
  /** h*w*d*n values, C order over (h, w, d, n). */
  weights: ToolboxValues;
  bias: ToolboxValues;
  line?: number;
}
export interface ToolboxPool { type: 'MaxPool' | 'SumPool'; pool: [number, number]; stride: [number, number]; line?: number }
export interface ToolboxPointwise { type: 'Rect' | 'Tanh' | 'SoftMax' | 'Flatten'; line?: number }
export type ToolboxLayer = ToolboxLinear | ToolboxConvolution | ToolboxPool | ToolboxPointwise;
export type ToolboxLayerType = ToolboxLayer['type'];

export interface ToolboxModel {
  layers: ToolboxLayer[];
  /** Where the model came from (for error messages). */
  source?: string;
}

export const TOOLBOX_LAYER_TYPES: readonly ToolboxLayerType[] = ['Linear', 'Convolution', 'MaxPool', 'SumPool', 'Rect', 'Tanh', 'SoftMax', 'Flatten'];

const HEADER_PARAMS: Record<ToolboxLayerType, string[]> = {
  Linear: ['m (inputs)', 'n (outputs)'],
  Convolution: ['filter height', 'filter width', 'filter depth', 'filter count', 'row stride', 'column stride'],
  MaxPool: ['pool height', 'pool width', 'row stride', 'column stride'],
  SumPool: ['pool height', 'pool width', 'row stride', 'column stride'],
  Rect: [], Tanh: [], SoftMax: [], Flatten: [],
};

interface Token { text: string; column: number }

function tokenize(line: string): Token[] {
  const out: Token[] = [];
  const re = /\S+/g;
  for (let m = re.exec(line); m; m = re.exec(line)) out.push({ text: m[0], column: m.index + 1 });
  return out;
}

/** Parses the text of a model file. `file` names it in error messages. */
export function parseToolboxModel(text: string, file = '<text>'): ToolboxModel {
  if (typeof text !== 'string') throw new CaffeLrpError('OPTION', 'parseToolboxModel: text must be a string');
  const lines = text.split('\n').map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
  if (lines.length > 1 && lines[lines.length - 1] === '') lines.pop(); // the final line end
  const err = (line: number, message: string, column?: number) => new CaffeLrpError('PARSE', message, { file, line, column });
  const blank = (i: number) => lines[i].trim() === '';
  const layers: ToolboxLayer[] = [];

  const integers = (tokens: Token[], type: ToolboxLayerType, lineNo: number): number[] => {
    const names = HEADER_PARAMS[type];
    const args = tokens.slice(1);
    if (names.length === 0) {
      // Old files wrote "Rect <in> <out>"; the toolbox ignores anything after the name.
      const bad = args.find((t) => !/^\+?\d+$/.test(t.text));
      if (bad) throw err(lineNo, `'${type}' takes no parameters, found '${bad.text}'`, bad.column);
      return [];
    }
    if (args.length !== names.length)
      throw err(lineNo, `'${type}' needs ${names.length} integers (${names.join(', ')}), found ${args.length}`);
    return args.map((t, k) => {
      if (!/^\+?\d+$/.test(t.text)) throw err(lineNo, `${names[k]} of '${type}' must be a positive integer, found '${t.text}'`, t.column);
      const v = Number(t.text);
      if (v < 1 || !Number.isSafeInteger(v)) throw err(lineNo, `${names[k]} of '${type}' must be a positive integer, found '${t.text}'`, t.column);
      return v;
    });
  };

  // One line of exactly `count` numbers (index i of `lines`), describing `what`.
  const numbers = (i: number, count: number, what: string, header: number): Float64Array => {
    if (i >= lines.length || blank(i))
      throw err(i + 1, `expected a line of ${count} ${what} for the layer on line ${header}, found ${i >= lines.length ? 'the end of the file' : 'an empty line'}`);
    const tokens = tokenize(lines[i]);
    if (tokens.length !== count)
      throw err(i + 1, `expected ${count} ${what} for the layer on line ${header}, found ${tokens.length}`);
    const out = new Float64Array(count);
    tokens.forEach((t, k) => {
      const v = parsePyFloat(t.text);
      if (v === undefined) throw err(i + 1, `${what} #${k + 1} is not a number: '${t.text}'`, t.column);
      // the engine computes in float32: NaN, Inf and values beyond float32's range would make every output NaN or Inf
      if (!Number.isFinite(Math.fround(v))) throw err(i + 1, `${what} #${k + 1} is not a finite float32 number: '${t.text}'`, t.column);
      out[k] = v;
    });
    return out;
  };

  let i = 0;
  while (i < lines.length) {
    if (blank(i)) {
      let next = i;
      while (next < lines.length && blank(next)) ++next;
      if (next === lines.length) break; // trailing empty lines
      throw err(i + 1, `empty line before the layer on line ${next + 1}: the toolbox's reader stops at the first empty line, so it would drop every layer below; remove the empty line`);
    }
    const lineNo = i + 1;
    const tokens = tokenize(lines[i]);
    const type = tokens[0].text as ToolboxLayerType;
    if (!TOOLBOX_LAYER_TYPES.includes(type))
      throw err(lineNo, `unknown layer type '${tokens[0].text}' (known: ${TOOLBOX_LAYER_TYPES.join(', ')}); a layer's parameters must be exactly one line of weights and one of biases`, tokens[0].column);
    const p = integers(tokens, type, lineNo);
    switch (type) {
      case 'Linear': {
        const [m, n] = p;
        const first = i + 1 < lines.length ? tokenize(lines[i + 1]).length : 0;
        let weights: Float64Array;
        if (m > 1 && first === n && m * n !== n) {
          // Legacy layout: m lines of n weights.
          weights = new Float64Array(m * n);
          for (let r = 0; r < m; ++r) weights.set(numbers(i + 1 + r, n, `weights of row ${r + 1} (legacy layout, ${m} rows)`, lineNo), r * n);
          i += m;
        } else {
          weights = numbers(i + 1, m * n, `weights (Linear ${m} ${n}: ${m}*${n})`, lineNo);
          i += 1;
        }
        const bias = numbers(i + 1, n, `biases (Linear ${m} ${n})`, lineNo);
        layers.push({ type, m, n, weights, bias, line: lineNo });
        i += 2;
        break;
      }
      case 'Convolution': {
        const [h, w, d, n, s0, s1] = p;
        const weights = numbers(i + 1, h * w * d * n, `weights (Convolution ${h}x${w}x${d}x${n})`, lineNo);
        const bias = numbers(i + 2, n, `biases (Convolution with ${n} filters)`, lineNo);
        layers.push({ type, h, w, d, n, stride: [s0, s1], weights, bias, line: lineNo });
        i += 3;
        break;
      }
      case 'MaxPool':
      case 'SumPool':
        layers.push({ type, pool: [p[0], p[1]], stride: [p[2], p[3]], line: lineNo });
        i += 1;
        break;
      default:
        layers.push({ type, line: lineNo });
        i += 1;
    }
  }
  if (layers.length === 0) throw err(1, 'the model has no layers');
  return { layers, source: file };
}

/** Reads a model file. */
export async function readToolboxModel(file: string): Promise<ToolboxModel> {
  return parseToolboxModel((await readInputFile(file)).toString('latin1'), file);
}

export function readToolboxModelSync(file: string): ToolboxModel {
  return parseToolboxModel(readInputFileSync(file).toString('latin1'), file);
}

function formatValues(v: ToolboxValues): string {
  const float32 = v instanceof Float32Array;
  const parts = new Array<string>(v.length);
  for (let i = 0; i < v.length; ++i) parts[i] = formatPyFloat(v[i], float32);
  return parts.join(' ');
}

function checkCount(layer: ToolboxLayer, what: string, v: ToolboxValues, expected: number, index: number): void {
  if (!(v instanceof Float32Array || v instanceof Float64Array) || v.length !== expected)
    throw new CaffeLrpError('SHAPE', `toolbox layer ${index} (${layer.type}): ${what} must be a Float32Array or Float64Array of ${expected} values`);
}

/** The text of a model, as the toolbox's model_io.write lays it out. */
export function formatToolboxModel(model: ToolboxModel): string {
  const out: string[] = [];
  model.layers.forEach((layer, index) => {
    switch (layer.type) {
      case 'Linear':
        checkCount(layer, 'weights', layer.weights, layer.m * layer.n, index);
        checkCount(layer, 'bias', layer.bias, layer.n, index);
        out.push(`Linear ${layer.m} ${layer.n}`, formatValues(layer.weights), formatValues(layer.bias));
        break;
      case 'Convolution':
        checkCount(layer, 'weights', layer.weights, layer.h * layer.w * layer.d * layer.n, index);
        checkCount(layer, 'bias', layer.bias, layer.n, index);
        out.push(`Convolution ${layer.h} ${layer.w} ${layer.d} ${layer.n} ${layer.stride[0]} ${layer.stride[1]}`,
          formatValues(layer.weights), formatValues(layer.bias));
        break;
      case 'MaxPool':
      case 'SumPool':
        out.push(`${layer.type} ${layer.pool[0]} ${layer.pool[1]} ${layer.stride[0]} ${layer.stride[1]}`);
        break;
      case 'Rect':
      case 'Tanh':
      case 'SoftMax':
      case 'Flatten':
        out.push(layer.type);
        break;
      default:
        throw new CaffeLrpError('UNSUPPORTED', `toolbox layer ${index}: unknown type ${JSON.stringify((layer as { type: unknown }).type)}`);
    }
  });
  return out.join('\n') + '\n';
}

/** Writes a model file. */
export async function writeToolboxModel(file: string, model: ToolboxModel): Promise<void> {
  const text = formatToolboxModel(model);
  try {
    await fs.promises.writeFile(file, text, 'latin1');
  } catch (e) {
    throw new CaffeLrpError('IO', `cannot write: ${(e as Error).message}`, { file });
  }
}
