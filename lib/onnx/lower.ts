/**
 * Lowers an ONNX graph to the NetSpec the engine runs: one engine layer per computing ONNX
 * node (named after the node, with its op type kept in `onnx`), constants folded, Identity /
 * no-op Pad / no-op Transpose nodes turned into aliases, BatchNormalization merged into the
 * convolution or Gemm right before it (exactly, as exporters fold Conv+BN), Split layers
 * inserted where a blob feeds several layers (as lib/caffe does). Anything the engine cannot
 * compute exactly is a CaffeLrpError naming the node — never a silent approximation.
 */
import { CaffeLrpError } from '../errors';
import type { LayerSpec, NetSpec, BlobData } from '../caffe/netspec-types';
import { OnnxGraph, OnnxModel, OnnxNode, OnnxAttribute, DT } from './model';
import * as F from './fold';
import { ConstValue, count } from './fold';

/** The ONNX default-domain opsets we read. */
export const MIN_OPSET = 6;
export const MAX_OPSET = 21;
export const MIN_IR_VERSION = 3;
export const MAX_IR_VERSION = 10;

/** Every op type the lowering accepts (in the default domain). */
export const SUPPORTED_ONNX_OPS = [
  'Add', 'AveragePool', 'BatchNormalization', 'Cast', 'Clip', 'Concat', 'Constant', 'ConstantOfShape', 'Conv', 'Div',
  'Dropout', 'Flatten', 'Gather', 'Gemm', 'GlobalAveragePool', 'GlobalMaxPool', 'Identity', 'LRN', 'LeakyRelu',
  'LogSoftmax', 'MatMul', 'MaxPool', 'Mul', 'PRelu', 'Pad', 'Relu', 'Reshape', 'Shape', 'Sigmoid', 'Slice', 'Softmax', 'Split',
  'Squeeze', 'Sub', 'Sum', 'Tanh', 'Transpose', 'Unsqueeze',
];

/** Why some ops people expect are not supported (added to the error naming the node). */
const UNSUPPORTED_WHY: Record<string, string> = {
  ConvTranspose: 'the engine has no transposed convolution layer, so there is no forward, gradient or relevance rule for it',
};

/** Where an ONNX-made layer came from (kept on the LayerSpec, shown by net.layers). */
export interface OnnxOrigin {
  node: string;
  op: string;
  index: number;
}

export type OnnxLayerSpec = LayerSpec & { onnx?: OnnxOrigin };

export interface OnnxNetSpec extends NetSpec {
  layers: OnnxLayerSpec[];
  /** The graph's outputs in graph order (the first one holds the scores). */
  outputs: string[];
  /** Set when the net only works at the batch size it was lowered at: the reason. */
  fixedBatch?: string;
}

interface Blob {
  kind: 'blob';
  blob: string;
  shape: number[];
  /** A constant Pad waiting to be merged into the next Conv or pool: [top, left, bottom, right]. */
  pad?: number[];
  /** The Pad's constant value (0 unless a pool that can ignore it follows). */
  padValue?: number;
}
interface Const {
  kind: 'const';
  c: ConstValue;
}
type Value = Blob | Const;

type Where = { file: string; layer?: string };

class Lowering {
  readonly values = new Map<string, Value>();
  readonly layers: OnnxLayerSpec[] = [];
  /** Layer that produced a blob (index into layers). */
  readonly producer = new Map<string, number>();
  /** ONNX uses of each tensor name by live nodes and graph outputs. */
  readonly uses = new Map<string, number>();
  readonly opset: number;
  fixedBatch?: string;
  batchDynamic = false;
  batch = 1;
  node!: OnnxNode;

  constructor(readonly model: OnnxModel) {
    this.opset = model.opsets.get('') ?? 0;
  }

  get where(): Where {
    return { file: this.model.file, layer: this.node ? this.nodeName(this.node) : undefined };
  }

  nodeName(n: OnnxNode): string {
    return n.name || `${n.opType}_${n.index}`;
  }

  fail(code: 'SHAPE' | 'UNSUPPORTED' | 'SCHEMA', msg: string): never {
    const n = this.node;
    throw new CaffeLrpError(code, `${n.opType} node ${n.index}: ${msg}`, this.where);
  }

  // ---- attributes and inputs ----
  attr(name: string): OnnxAttribute | undefined {
    return this.node.attributes.get(name);
  }
  int(name: string, dflt: number): number {
    const a = this.attr(name);
    if (!a) return dflt;
    if (a.i === undefined) this.fail('SCHEMA', `attribute '${name}' must be an int`);
    return a.i;
  }
  float(name: string, dflt: number): number {
    const a = this.attr(name);
    if (!a) return dflt;
    if (a.f === undefined) {
      if (a.i !== undefined) return a.i;
      this.fail('SCHEMA', `attribute '${name}' must be a float`);
    }
    return a.f;
  }
  ints(name: string, dflt?: number[]): number[] | undefined {
    const a = this.attr(name);
    if (!a) return dflt;
    return a.ints ?? [];
  }
  string(name: string, dflt: string): string {
    const a = this.attr(name);
    if (!a) return dflt;
    if (a.s === undefined) this.fail('SCHEMA', `attribute '${name}' must be a string`);
    return a.s;
  }

  input(k: number): Value | undefined {
    const name = this.node.inputs[k];
    if (name === undefined || name === '') return undefined;
    const v = this.values.get(name);
    if (!v) this.fail('SCHEMA', `input '${name}' is neither a graph input, an initializer nor the output of an earlier node (a missing initializer, or nodes out of order / a cycle)`);
    return v;
  }
  blobIn(k: number): Blob {
    const v = this.input(k);
    if (!v) this.fail('SCHEMA', `input ${k} is missing`);
    if (v.kind !== 'blob') this.fail('UNSUPPORTED', `input ${k} ('${this.node.inputs[k]}') is a constant where the engine needs a computed tensor`);
    if (v.pad) this.fail('UNSUPPORTED', `input '${this.node.inputs[k]}' comes from a non-zero Pad, which is only supported right before a Conv, MaxPool or AveragePool`);
    return v;
  }
  constIn(k: number, what: string): ConstValue {
    const v = this.input(k);
    if (!v) this.fail('SCHEMA', `input ${k} (${what}) is missing`);
    if (v.kind !== 'const') this.fail('UNSUPPORTED', `input ${k} (${what}, '${this.node.inputs[k]}') must be a constant (an initializer or computable from constants)`);
    return v.c;
  }
  optConst(k: number, what: string): ConstValue | undefined {
    return this.input(k) === undefined ? undefined : this.constIn(k, what);
  }
  setOut(k: number, v: Value): void {
    const name = this.node.outputs[k];
    if (name === undefined || name === '') return;
    if (this.values.has(name)) this.fail('SCHEMA', `output '${name}' is already defined (the graph is not in SSA form)`);
    this.values.set(name, v);
  }
  checkOutputs(max: number): void {
    for (let k = max; k < this.node.outputs.length; k++)
      if (this.node.outputs[k] && (this.uses.get(this.node.outputs[k]) ?? 0) > 0)
        this.fail('UNSUPPORTED', `output ${k} ('${this.node.outputs[k]}') is not supported (only the first ${max} output(s))`);
  }

  // ---- emitting layers ----
  emit(type: string, bottoms: Blob[], params: Record<string, unknown>, blobs: BlobData[], shapes: number[][], tops?: string[]): Blob[] {
    const names = tops ?? this.node.outputs.slice(0, shapes.length);
    for (const [i, s] of shapes.entries()) this.checkShape(s, names[i]);
    const layer: OnnxLayerSpec = {
      name: this.uniqueLayerName(),
      type,
      bottoms: bottoms.map((b) => b.blob),
      tops: names,
      params,
      blobs,
      topShapes: shapes,
      onnx: { node: this.node.name, op: this.node.opType, index: this.node.index },
    };
    this.layers.push(layer);
    const out = names.map((blob, i) => ({ kind: 'blob' as const, blob, shape: shapes[i] }));
    names.forEach((n) => this.producer.set(n, this.layers.length - 1));
    return out;
  }
  private layerNames = new Set<string>();
  uniqueLayerName(): string {
    const base = this.nodeName(this.node);
    let name = base;
    for (let k = 1; this.layerNames.has(name); k++) name = `${base}_${k}`;
    this.layerNames.add(name);
    return name;
  }
  checkShape(s: number[], what: string): void {
    if (s.some((d) => !Number.isInteger(d) || d < 1))
      this.fail('SHAPE', `output '${what}' would have the shape [${s.join(', ')}] (every dimension must be at least 1)`);
    if (count(s) > 2 ** 31) this.fail('SHAPE', `output '${what}' of shape [${s.join(', ')}] is too large`);
  }
  /** Replaces one layer's output by a single emitted op (e.g. one layer per node). */
  one(type: string, x: Blob[], params: Record<string, unknown>, blobs: BlobData[], shape: number[]): void {
    this.setOut(0, this.emit(type, x, params, blobs, [shape])[0]);
  }
  /** The layer that produced `b`, if b is read by nothing else (so it may be rewritten). */
  soleProducer(b: Blob, types: string[]): OnnxLayerSpec | undefined {
    const i = this.producer.get(b.blob);
    if (i === undefined) return undefined;
    const l = this.layers[i];
    if (!types.includes(l.type) || l.tops.length !== 1 || (this.uses.get(b.blob) ?? 0) !== 1) return undefined;
    return l;
  }
  needsFixedBatch(reason: string): void {
    if (this.batchDynamic && !this.fixedBatch) this.fixedBatch = `${reason} (node ${this.node.index} '${this.nodeName(this.node)}', ${this.node.opType})`;
  }
  axis(a: number, rank: number, what = 'axis'): number {
    const ax = a < 0 ? a + rank : a;
    if (!Number.isInteger(ax) || ax < 0 || ax >= rank) this.fail('SCHEMA', `${what} ${a} is out of range for rank ${rank}`);
    return ax;
  }
}

// ---- the op table ----

type OpFn = (L: Lowering) => void;

function spatial2d(L: Lowering, x: Blob): void {
  if (x.shape.length !== 4) L.fail('UNSUPPORTED', `only 2-D images (N x C x H x W) are supported, got input shape [${x.shape.join(', ')}]`);
}

/** pads [top, left, bottom, right] after auto_pad, for input size hw, kernel k, stride s, dilation d. */
function resolvePads(L: Lowering, hw: number[], k: number[], s: number[], d: number[]): number[] {
  const auto = L.string('auto_pad', 'NOTSET');
  const pads = L.ints('pads', [0, 0, 0, 0]) as number[];
  if (auto === 'NOTSET') {
    if (pads.length !== 4) L.fail('SCHEMA', `pads must have 4 values for a 2-D op, got ${pads.length}`);
    if (pads.some((p) => p < 0)) L.fail('UNSUPPORTED', `negative pads [${pads}] are not supported`);
    return pads;
  }
  if (auto === 'VALID') return [0, 0, 0, 0];
  if (auto !== 'SAME_UPPER' && auto !== 'SAME_LOWER') L.fail('SCHEMA', `unknown auto_pad '${auto}'`);
  const out: number[] = [0, 0, 0, 0];
  for (let i = 0; i < 2; i++) {
    const o = Math.ceil(hw[i] / s[i]);
    const total = Math.max(0, (o - 1) * s[i] + (k[i] - 1) * d[i] + 1 - hw[i]);
    const small = Math.floor(total / 2);
    out[i] = auto === 'SAME_UPPER' ? small : total - small;
    out[i + 2] = total - out[i];
  }
  return out;
}

/**
 * The engine's padding parameters for ONNX pads [top, left, bottom, right]: pad (top/left),
 * and padEnd (bottom/right) only when it differs, so symmetric pads give Caffe's parameters.
 */
function padParams(pads: number[]): { pad: [number, number]; padEnd?: [number, number] } {
  const pad: [number, number] = [pads[0], pads[1]];
  return pads[2] === pads[0] && pads[3] === pads[1] ? { pad } : { pad, padEnd: [pads[2], pads[3]] };
}

/** The spatial size [H, W] of a blob as the op sees it: after a Pad waiting to be merged into it. */
function paddedSize(x: Blob): number[] {
  return [0, 1].map((i) => x.shape[2 + i] + (x.pad ? x.pad[i] + x.pad[i + 2] : 0));
}

function pair(L: Lowering, name: string, dflt: number): [number, number] {
  const v = L.ints(name, [dflt, dflt]) as number[];
  if (v.length !== 2) L.fail('UNSUPPORTED', `'${name}' must have 2 values (2-D), got [${v.join(', ')}]`);
  return [v[0], v[1]];
}

const conv: OpFn = (L) => {
  const x = L.input(0);
  if (!x || x.kind !== 'blob') return L.fail('UNSUPPORTED', 'the data input must be a computed tensor');
  spatial2d(L, x);
  const w = L.constIn(1, 'weights');
  const b = L.optConst(2, 'bias');
  if (w.dims.length !== 4) L.fail('UNSUPPORTED', `only 2-D convolutions are supported (weights of shape [${w.dims}])`);
  const group = L.int('group', 1);
  const [o, cg, kh, kw] = w.dims;
  const c = x.shape[1];
  if (group < 1 || c % group !== 0 || cg * group !== c || o % group !== 0)
    L.fail('SHAPE', `weights [${w.dims}] with group ${group} do not fit ${c} input channels`);
  const ks = L.ints('kernel_shape');
  if (ks && (ks[0] !== kh || ks[1] !== kw)) L.fail('SHAPE', `kernel_shape [${ks}] differs from the weights' [${kh}, ${kw}]`);
  const stride = pair(L, 'strides', 1);
  const dil = pair(L, 'dilations', 1);
  // auto_pad works on the tensor the Conv reads: after a Pad merged into it.
  const pads = resolvePads(L, paddedSize(x), [kh, kw], stride, dil);
  if (x.pad) {
    if (x.padValue) L.fail('UNSUPPORTED', `its input comes from a Pad with the value ${x.padValue}; only a zero Pad merges into a Conv (whose padding is zeros)`);
    for (let i = 0; i < 4; i++) pads[i] += x.pad[i];
  }
  if (b && count(b.dims) !== o) L.fail('SHAPE', `bias has ${count(b.dims)} values for ${o} output channels`);
  const out = [0, 1].map((i) => Math.floor((x.shape[2 + i] + pads[i] + pads[i + 2] - (dil[i] * ([kh, kw][i] - 1) + 1)) / stride[i]) + 1);
  const blobs: BlobData[] = [{ shape: w.dims.slice(), data: F.floatsOf(w) }];
  if (b) blobs.push({ shape: [o], data: F.floatsOf(b) });
  L.one('Convolution', [{ ...x, pad: undefined, padValue: undefined }], {
    numOutput: o, biasTerm: b !== undefined, kernel: [kh, kw], stride, ...padParams(pads), dilation: dil, group, axis: 1,
  }, blobs, [x.shape[0], o, out[0], out[1]]);
};

const gemm: OpFn = (L) => {
  const a = L.blobIn(0);
  if (a.shape.length !== 2) L.fail('UNSUPPORTED', `input A must be 2-D, got [${a.shape}]`);
  if (L.int('transA', 0) !== 0) L.fail('UNSUPPORTED', 'transA = 1 is not supported (the data would be transposed across the batch)');
  const bm = L.constIn(1, 'B');
  if (bm.dims.length !== 2) L.fail('SHAPE', `B must be 2-D, got [${bm.dims}]`);
  const transB = L.int('transB', 0) !== 0;
  const alpha = L.float('alpha', 1);
  const beta = L.float('beta', 1);
  const [k, o] = transB ? [bm.dims[1], bm.dims[0]] : bm.dims;
  if (k !== a.shape[1]) L.fail('SHAPE', `B [${bm.dims}]${transB ? ' (transposed)' : ''} does not fit A [${a.shape}]`);
  const wsrc = F.floatsOf(bm);
  const wt = new Float32Array(o * k);
  for (let i = 0; i < o; i++) for (let j = 0; j < k; j++) wt[i * k + j] = alpha * (transB ? wsrc[i * k + j] : wsrc[j * o + i]);
  const c = L.optConst(2, 'C');
  const blobs: BlobData[] = [{ shape: [o, k], data: wt }];
  if (c && beta !== 0) {
    if (F.broadcastShape(c.dims, [1, o])?.join() !== `1,${o}`) L.fail('UNSUPPORTED', `C of shape [${c.dims}] is not a bias over the ${o} outputs`);
    blobs.push({ shape: [o], data: Float32Array.from(F.expandTo(c, [1, o]).map((v) => beta * v)) });
  }
  L.one('InnerProduct', [a], { numOutput: o, biasTerm: blobs.length === 2, axis: 1, transpose: false }, blobs, [a.shape[0], o]);
};

const matmul: OpFn = (L) => {
  const a = L.blobIn(0);
  const bm = L.constIn(1, 'B');
  if (a.shape.length !== 2 || bm.dims.length !== 2) L.fail('UNSUPPORTED', `only 2-D MatMul with a constant B is supported, got [${a.shape}] x [${bm.dims}]`);
  const [k, o] = bm.dims;
  if (k !== a.shape[1]) L.fail('SHAPE', `B [${bm.dims}] does not fit A [${a.shape}]`);
  const src = F.floatsOf(bm);
  const wt = new Float32Array(o * k);
  for (let i = 0; i < o; i++) for (let j = 0; j < k; j++) wt[i * k + j] = src[j * o + i];
  L.one('InnerProduct', [a], { numOutput: o, biasTerm: false, axis: 1, transpose: false }, [{ shape: [o, k], data: wt }], [a.shape[0], o]);
};

const relu: OpFn = (L) => { const x = L.blobIn(0); L.one('ReLU', [x], { negativeSlope: 0 }, [], x.shape); };
const leaky: OpFn = (L) => { const x = L.blobIn(0); L.one('ReLU', [x], { negativeSlope: L.float('alpha', 0.01) }, [], x.shape); };
const sigmoid: OpFn = (L) => { const x = L.blobIn(0); L.one('Sigmoid', [x], {}, [], x.shape); };
const tanh: OpFn = (L) => { const x = L.blobIn(0); L.one('TanH', [x], {}, [], x.shape); };

const prelu: OpFn = (L) => {
  const x = L.blobIn(0);
  const s = L.constIn(1, 'slope');
  const n = count(s.dims);
  const c = x.shape[1] ?? 1;
  // Before opset 7 a 1-D slope of C values is per channel (no numpy broadcasting yet).
  const legacy = L.opset < 7 && s.dims.length === 1 && n === c;
  const perChannel = legacy || n === c && s.dims.filter((d) => d !== 1).length <= 1 && F.broadcastShape(s.dims, x.shape)?.join() === x.shape.join()
    && (s.dims.length < x.shape.length - 1 || s.dims[s.dims.length - (x.shape.length - 1)] === c);
  if (n !== 1 && !perChannel) L.fail('UNSUPPORTED', `slope of shape [${s.dims}] is neither shared nor per channel of [${x.shape}]`);
  L.one('PReLU', [x], { channelShared: n === 1 }, [{ shape: [n], data: F.floatsOf(s) }], x.shape);
};

const clip: OpFn = (L) => {
  const x = L.blobIn(0);
  let lo = -Infinity;
  let hi = Infinity;
  if (L.opset < 11) {
    lo = L.float('min', -3.4028234663852886e38);
    hi = L.float('max', 3.4028234663852886e38);
  } else {
    const mn = L.optConst(1, 'min');
    const mx = L.optConst(2, 'max');
    if ((mn && count(mn.dims) !== 1) || (mx && count(mx.dims) !== 1)) L.fail('UNSUPPORTED', 'min and max must be scalars');
    if (mn) lo = F.at(mn, 0);
    if (mx) hi = F.at(mx, 0);
  }
  if (lo >= 3.4e38) lo = Infinity;
  if (lo <= -3.4e38) lo = -Infinity;
  if (hi >= 3.4e38) hi = Infinity;
  if (hi <= -3.4e38) hi = -Infinity;
  if (lo === 0 && hi === Infinity) return L.one('ReLU', [x], { negativeSlope: 0 }, [], x.shape);
  if (!(lo <= hi)) L.fail('UNSUPPORTED', `min ${lo} is above max ${hi}`);
  L.one('Clip', [x], { min: Number.isFinite(lo) ? lo : -3.4e38, max: Number.isFinite(hi) ? hi : 3.4e38 }, [], x.shape);
};

/**
 * ONNX's pooled size on one axis: floor or ceil of the window steps, and in ceil mode a last
 * window that would start past the input and its begin padding is dropped.
 */
function onnxPoolOut(input: number, k: number, begin: number, end: number, s: number, ceil: boolean): number {
  const steps = (input + begin + end - k) / s;
  let o = (ceil ? Math.ceil(steps) : Math.floor(steps)) + 1;
  if (ceil && (o - 1) * s >= input + begin) o--;
  return o;
}

/** A lower bound of a computed blob's values known from the layer that made it (-Infinity if none). */
function lowerBound(L: Lowering, blob: string): number {
  const i = L.producer.get(blob);
  if (i === undefined) return -Infinity;
  const l = L.layers[i];
  if (l.type === 'ReLU') return l.params.negativeSlope === 0 ? 0 : -Infinity;
  if (l.type === 'Clip') return l.params.min as number;
  if (l.type === 'Sigmoid' || l.type === 'Softmax') return 0;
  if (l.type === 'TanH') return -1;
  // A max of values bounded below is bounded below.
  if (l.type === 'Pooling' && l.params.pool === 'MAX') return lowerBound(L, l.bottoms[0]);
  return -Infinity;
}

/**
 * The pads a pool computes with when a Pad node feeds it: its own plus the Pad's, where that is
 * exact. A Pad value that is at most every input value never wins a max, so MaxPool's own
 * padding (which never wins) gives the same output. AveragePool reads the Pad's zeros as data:
 * with count_include_pad = 1 they count like its own padding; with 0 only when the pool has no
 * padding of its own (then the Pad's zeros are all the padding, and they count).
 */
function mergePadIntoPool(L: Lowering, x: Blob, max: boolean, own: number[], includePad: boolean, ks: number[], stride: number[], ceil: boolean): { pads: number[]; includePad: boolean } {
  if (!x.pad) return { pads: own, includePad };
  const value = x.padValue ?? 0;
  const what = `its input comes from a Pad (pads [${x.pad}], value ${value})`;
  if (max) {
    const lb = lowerBound(L, x.blob);
    if (!(value <= lb))
      L.fail('UNSUPPORTED', `${what} that a max could pick: it merges into MaxPool only when the Pad value is at most every input value (${Number.isFinite(lb) ? `the input is only known to be at least ${lb}` : 'nothing bounds the input from below'}; MaxPool's own padding never wins a max)`);
  } else {
    if (value !== 0) L.fail('UNSUPPORTED', `${what}: only a zero Pad merges into an AveragePool (its padding is zeros)`);
    if (!includePad && own.some((p) => p !== 0))
      L.fail('UNSUPPORTED', `${what} while the AveragePool has pads [${own}] of its own with count_include_pad = 0: the Pad's zeros count in the average and its own padding does not, which no single pool computes`);
  }
  const pads = own.map((p, i) => p + x.pad![i]);
  const hw = paddedSize(x);
  for (let i = 0; i < 2; i++) {
    const apart = onnxPoolOut(hw[i], ks[i], own[i], own[i + 2], stride[i], ceil);
    const merged = onnxPoolOut(x.shape[2 + i], ks[i], pads[i], pads[i + 2], stride[i], ceil);
    if (apart !== merged)
      L.fail('UNSUPPORTED', `${what}: in ceil mode the pool keeps a last window in the Pad's padding that a pool with the merged pads [${pads}] drops (${apart} vs ${merged} outputs)`);
  }
  return { pads, includePad: max ? includePad : true };
}

function pool(max: boolean): OpFn {
  return (L) => {
    const x0 = L.input(0);
    if (!x0 || x0.kind !== 'blob') return L.fail('UNSUPPORTED', 'the data input must be a computed tensor');
    const x = x0;
    spatial2d(L, x);
    L.checkOutputs(1);
    const ks0 = L.ints('kernel_shape');
    if (!ks0 || ks0.length !== 2) return L.fail('UNSUPPORTED', `kernel_shape must have 2 values, got ${ks0 ? `[${ks0}]` : 'none'}`);
    const ks: number[] = ks0;
    const stride = pair(L, 'strides', 1);
    const dil = pair(L, 'dilations', 1);
    if (dil[0] !== 1 || dil[1] !== 1) L.fail('UNSUPPORTED', `dilated pooling (dilations [${dil}]) is not supported`);
    if (L.int('storage_order', 0) !== 0) L.fail('UNSUPPORTED', 'storage_order 1 is not supported');
    const ceil = L.int('ceil_mode', 0) !== 0;
    // auto_pad works on the tensor the pool reads: after a Pad merged into it.
    const own = resolvePads(L, paddedSize(x), ks, stride, [1, 1]);
    const merged = mergePadIntoPool(L, x, max, own, L.int('count_include_pad', 0) !== 0, ks, stride, ceil);
    const pads = merged.pads;
    const onnxOut = [0, 1].map((i) => onnxPoolOut(x.shape[2 + i], ks[i], pads[i], pads[i + 2], stride[i], ceil));
    if (pads[0] >= ks[0] || pads[1] >= ks[1] || pads[2] >= ks[0] || pads[3] >= ks[1])
      L.fail('UNSUPPORTED', `pads [${pads}]${x.pad ? ' (its own plus the Pad before it)' : ''} must be smaller than the kernel [${ks}]`);
    const params: Record<string, unknown> = {
      pool: max ? 'MAX' : 'AVE', kernel: [ks[0], ks[1]], stride, ...padParams(pads), globalPooling: false, roundMode: ceil ? 'CEIL' : 'FLOOR',
    };
    // Engine parameters beyond Caffe's: bottom/right padding of its own (padParams; exporters
    // write Caffe's ceil rounding this way), ONNX's default AVE divisor (image pixels only),
    // and ONNX's ceil-mode rule for the last window also on unpadded pools.
    if (!max && !merged.includePad) params.excludePad = true;
    if (ceil) params.lastWindowInside = true;
    L.one('Pooling', [{ ...x, pad: undefined, padValue: undefined }], params, [], [x.shape[0], x.shape[1], onnxOut[0], onnxOut[1]]);
  };
}

function globalPool(max: boolean): OpFn {
  return (L) => {
    const x = L.blobIn(0);
    spatial2d(L, x);
    L.one('Pooling', [x], { pool: max ? 'MAX' : 'AVE', kernel: [1, 1], stride: [1, 1], pad: [0, 0], globalPooling: true, roundMode: 'FLOOR' }, [],
      [x.shape[0], x.shape[1], 1, 1]);
  };
}

const batchnorm: OpFn = (L) => {
  const x = L.blobIn(0);
  L.checkOutputs(1);
  if (L.int('training_mode', 0) !== 0) L.fail('UNSUPPORTED', 'training_mode = 1 is not supported (inference only)');
  const [gamma, beta, mean, varc] = [1, 2, 3, 4].map((k, i) => F.floatsOf(L.constIn(k, ['scale', 'B', 'mean', 'var'][i])));
  const eps = L.float('epsilon', 1e-5);
  const c = x.shape[1];
  if ([gamma, beta, mean, varc].some((a) => a.length !== c)) L.fail('SHAPE', `BatchNormalization parameters must have ${c} values (one per channel)`);
  // y = s * x + t with s = gamma / sqrt(var + eps), t = beta - mean * s (in float64).
  const s = Array.from(gamma, (g, i) => g / Math.sqrt(varc[i] + eps));
  const t = s.map((si, i) => beta[i] - mean[i] * si);
  const prev = L.soleProducer(x, ['Convolution', 'InnerProduct']);
  if (prev) {
    // Merge into the layer before: W' = W * s (per output), b' = b * s + t. New arrays: weights may be shared.
    const w = prev.blobs[0];
    const per = w.data.length / c;
    const nw = new Float32Array(w.data.length);
    for (let o = 0; o < c; o++) for (let i = 0; i < per; i++) nw[o * per + i] = w.data[o * per + i] * s[o];
    const ob = prev.blobs[1]?.data;
    const nb = Float32Array.from(t, (ti, o) => (ob ? ob[o] * s[o] : 0) + ti);
    prev.blobs = [{ shape: w.shape, data: nw }, { shape: [c], data: nb }];
    prev.params = { ...prev.params, biasTerm: true };
    L.setOut(0, x);
    return;
  }
  L.one('Scale', [x], { axis: 1, numAxes: 1, biasTerm: true }, [{ shape: [c], data: Float32Array.from(s) }, { shape: [c], data: Float32Array.from(t) }], x.shape);
};

const lrn: OpFn = (L) => {
  const x = L.blobIn(0);
  const size = L.int('size', 0);
  if (size < 1) L.fail('SCHEMA', 'size must be a positive integer');
  L.one('LRN', [x], { localSize: size, alpha: L.float('alpha', 1e-4), beta: L.float('beta', 0.75), k: L.float('bias', 1), normRegion: 'ACROSS_CHANNELS' }, [], x.shape);
};

/** A constant broadcast against blob x as engine Scale/Bias parameters: {axis 1, numAxes, values}. */
function affineOperand(L: Lowering, x: Blob, c: ConstValue): { axis: number; numAxes: number; shape: number[]; values: Float32Array } {
  const out = F.broadcastShape(x.shape, c.dims);
  if (!out || out.join() !== x.shape.join()) L.fail('UNSUPPORTED', `a constant of shape [${c.dims}] that does not broadcast to the data [${x.shape}] (the result would change shape)`);
  const r = x.shape.length;
  const cd = [...new Array(r - c.dims.length).fill(1), ...c.dims];
  if (cd[0] !== 1) {
    // Only a net of fixed batch size can hold one constant per image: a Scale/Bias over all axes.
    if (L.batchDynamic) L.fail('UNSUPPORTED', `a constant that varies over the (dynamic) batch dimension (shape [${c.dims}])`);
    return { axis: 0, numAxes: r, shape: x.shape.slice(), values: Float32Array.from(F.expandTo({ ...c, dims: cd }, x.shape)) };
  }
  if (r < 2) L.fail('UNSUPPORTED', `elementwise ops on rank-${r} tensors are not supported`);
  const varying = cd.map((d, i) => i >= 1 && d !== 1);
  if (!varying.slice(2).some((v) => v)) {
    const full = F.expandTo({ ...c, dims: cd }, [1, x.shape[1], ...new Array(r - 2).fill(1)]);
    return { axis: 1, numAxes: 1, shape: [x.shape[1]], values: Float32Array.from(full) };
  }
  const shape = x.shape.slice(1);
  return { axis: 1, numAxes: r - 1, shape, values: Float32Array.from(F.expandTo({ ...c, dims: cd.slice(1) }, shape)) };
}

/**
 * Before opset 7, Add/Sub/Mul/Div broadcast only with broadcast = 1, the second operand's
 * axes lined up from `axis` on (default: its trailing axes); returns the constant with
 * leading/trailing 1s so that numpy broadcasting gives the same result.
 */
function legacyBroadcast(L: Lowering, x: Blob, c: ConstValue): ConstValue {
  if (L.opset >= 7) return c;
  const r = x.shape.length;
  if (L.int('broadcast', 0) === 0) {
    if (c.dims.join() !== x.shape.join()) L.fail('SHAPE', `operands of shapes [${x.shape}] and [${c.dims}] without broadcast = 1`);
    return c;
  }
  if (!L.attr('axis')) return c;
  const ax = L.axis(L.int('axis', 0), r);
  const dims = [...new Array(ax).fill(1), ...c.dims, ...new Array(Math.max(0, r - ax - c.dims.length)).fill(1)];
  if (dims.length !== r) L.fail('SHAPE', `a constant of shape [${c.dims}] at axis ${ax} does not fit [${x.shape}]`);
  return F.reshaped(c, dims);
}

function binary(op: 'Add' | 'Sub' | 'Mul' | 'Div'): OpFn {
  return (L) => {
    const a = L.input(0);
    const b = L.input(1);
    if (!a || !b) return L.fail('SCHEMA', 'needs two inputs');
    if (a.kind === 'const' && b.kind === 'const') return L.setOut(0, { kind: 'const', c: F.arith(op, a.c, b.c, L.where) });
    if (a.kind === 'blob' && b.kind === 'blob') {
      const x = L.blobIn(0);
      const y = L.blobIn(1);
      if (x.shape.join() !== y.shape.join())
        L.fail('UNSUPPORTED', `${op} of two computed tensors of different shapes [${x.shape}] and [${y.shape}] (broadcasting between computed tensors is not supported)`);
      if (op === 'Div') L.fail('UNSUPPORTED', 'Div of two computed tensors is not supported');
      if (op === 'Mul') return L.one('Eltwise', [x, y], { operation: 'PROD', coeff: [] }, [], x.shape);
      return L.one('Eltwise', [x, y], { operation: 'SUM', coeff: op === 'Sub' ? [1, -1] : [] }, [], x.shape);
    }
    const constFirst = a.kind === 'const';
    const x = L.blobIn(constFirst ? 1 : 0);
    const c = (constFirst ? a : b) as Const;
    const operand = affineOperand(L, x, legacyBroadcast(L, x, c.c));
    const v = operand.values;
    const params = { axis: operand.axis, numAxes: operand.numAxes };
    if (op === 'Add' || (op === 'Sub' && !constFirst)) {
      const bias = op === 'Add' ? v : v.map((t) => -t);
      // x = layer(...) + b right after a convolution / dense layer without its own bias: its bias.
      const prev = operand.numAxes === 1 && operand.axis === 1 ? L.soleProducer(x, ['Convolution', 'InnerProduct']) : undefined;
      if (prev && prev.params.biasTerm === false) {
        prev.blobs = [prev.blobs[0], { shape: [bias.length], data: bias }];
        prev.params = { ...prev.params, biasTerm: true };
        L.setOut(0, x);
        return;
      }
      return L.one('Bias', [x], params, [{ shape: operand.shape, data: bias }], x.shape);
    }
    if (op === 'Sub') {
      // c - x = (-1) * x + c
      return L.one('Scale', [x], { ...params, biasTerm: true }, [{ shape: operand.shape, data: v.map(() => -1) }, { shape: operand.shape, data: v }], x.shape);
    }
    if (op === 'Div' && constFirst) L.fail('UNSUPPORTED', 'a constant divided by a computed tensor is not supported');
    const scale = op === 'Mul' ? v : v.map((t) => 1 / t);
    if (op === 'Div' && v.some((t) => t === 0)) L.fail('UNSUPPORTED', 'division by a constant that contains 0');
    L.one('Scale', [x], { ...params, biasTerm: false }, [{ shape: operand.shape, data: scale }], x.shape);
  };
}

const sum: OpFn = (L) => {
  const ins = L.node.inputs.map((_, k) => L.blobIn(k));
  if (ins.length === 1) return L.setOut(0, ins[0]);
  if (ins.some((b) => b.shape.join() !== ins[0].shape.join())) L.fail('UNSUPPORTED', 'Sum of tensors of different shapes (broadcasting) is not supported');
  L.one('Eltwise', ins, { operation: 'SUM', coeff: [] }, [], ins[0].shape);
};

const concat: OpFn = (L) => {
  const ins = L.node.inputs.map((_, k) => L.input(k)).filter((v): v is Value => v !== undefined);
  const axis = L.int('axis', L.opset < 4 ? 1 : NaN);
  if (Number.isNaN(axis)) L.fail('SCHEMA', "attribute 'axis' is required");
  if (ins.every((v) => v.kind === 'const')) return L.setOut(0, { kind: 'const', c: F.concat(ins.map((v) => (v as Const).c), axis, L.where) });
  const blobs = L.node.inputs.map((_, k) => L.blobIn(k));
  const r = blobs[0].shape.length;
  const ax = L.axis(axis, r);
  if (ax === 0) L.fail('UNSUPPORTED', 'Concat along the batch axis is not supported');
  for (const b of blobs)
    if (b.shape.length !== r || b.shape.some((d, i) => i !== ax && d !== blobs[0].shape[i]))
      L.fail('SHAPE', `cannot concatenate ${blobs.map((q) => `[${q.shape}]`).join(', ')} along axis ${ax}`);
  if (blobs.length === 1) return L.setOut(0, blobs[0]);
  const shape = blobs[0].shape.slice();
  shape[ax] = blobs.reduce((s, b) => s + b.shape[ax], 0);
  L.one('Concat', blobs, { axis: ax }, [], shape);
};

const split: OpFn = (L) => {
  const x = L.blobIn(0);
  const ax = L.axis(L.int('axis', 0), x.shape.length);
  if (ax === 0) L.fail('UNSUPPORTED', 'Split along the batch axis is not supported');
  const n = L.node.outputs.length;
  let sizes = L.opset >= 13 ? (L.optConst(1, 'split') ? F.values(L.constIn(1, 'split')) : undefined) : L.ints('split');
  const d = x.shape[ax];
  if (!sizes || sizes.length === 0) {
    const parts = L.attr('num_outputs') ? L.int('num_outputs', n) : n;
    const each = Math.ceil(d / parts);
    sizes = Array.from({ length: parts }, (_, i) => Math.min(each, d - i * each));
  }
  if (sizes.length !== n || sizes.some((s) => s < 1) || sizes.reduce((a, b) => a + b, 0) !== d)
    L.fail('SHAPE', `split sizes [${sizes}] do not divide axis ${ax} of [${x.shape}] into ${n} outputs`);
  if (n === 1) return L.setOut(0, x);
  const points: number[] = [];
  sizes.slice(0, -1).reduce((acc, s) => { points.push(acc + s); return acc + s; }, 0);
  const shapes = sizes.map((s) => x.shape.map((v, i) => (i === ax ? s : v)));
  const outs = L.emit('Slice', [x], { axis: ax, slicePoints: points }, [], shapes);
  outs.forEach((o, k) => L.setOut(k, o));
};

/** Emits a Reshape of blob x to `target` (at the lowered batch size), with dim 0 copied when it is the batch. */
function reshapeTo(L: Lowering, x: Blob, target: number[], targetIsBatch0: boolean): void {
  if (count(target) !== count(x.shape)) L.fail('SHAPE', `cannot reshape [${x.shape}] (${count(x.shape)} values) to [${target}]`);
  const spec = target.slice();
  if (targetIsBatch0) spec[0] = 0;
  else L.needsFixedBatch(`the output shape [${target}] does not keep the batch dimension first`);
  L.one('Reshape', [x], { shape: spec, axis: 0, numAxes: -1 }, [], target);
}

const reshape: OpFn = (L) => {
  const xv = L.input(0);
  let t: ConstValue;
  if (L.opset < 5) t = { dims: [L.ints('shape', [])!.length], ints: L.ints('shape', []) };
  else t = L.constIn(1, 'shape');
  const spec = F.values(t);
  const allowzero = L.int('allowzero', 0) !== 0;
  if (!xv) return L.fail('SCHEMA', 'the data input is missing');
  const inShape = xv.kind === 'blob' ? xv.shape : xv.c.dims;
  const out: number[] = [];
  let infer = -1;
  spec.forEach((s, i) => {
    if (s === 0 && !allowzero) {
      if (i >= inShape.length) L.fail('SHAPE', `shape entry ${i} is 0 (copy) but the input has rank ${inShape.length}`);
      out.push(inShape[i]);
    } else if (s === -1) {
      if (infer >= 0) L.fail('SHAPE', 'more than one -1 in the shape');
      infer = i;
      out.push(1);
    } else if (s >= 1 && Number.isInteger(s)) out.push(s);
    else L.fail('SHAPE', `shape entry ${s} is not supported${s === 0 ? ' (allowzero = 1 would make an empty tensor)' : ''}`);
  });
  const total = count(inShape);
  if (infer >= 0) {
    const known = count(out);
    if (known === 0 || total % known !== 0) L.fail('SHAPE', `cannot reshape [${inShape}] to [${spec}]`);
    out[infer] = total / known;
  }
  if (xv.kind === 'const') {
    if (count(out) !== total) L.fail('SHAPE', `cannot reshape [${inShape}] to [${spec}]`);
    return L.setOut(0, { kind: 'const', c: F.reshaped(xv.c, out) });
  }
  const x = L.blobIn(0);
  if (F.taintedByBatch(t) && t.derived) L.needsFixedBatch('a shape computed by arithmetic on the batch size');
  // Dim 0 stays the batch when it is copied (0), computed from the batch size, or inferred
  // with every other dimension taken from one image.
  const perImage = count(x.shape.slice(1));
  const batch0 = (spec[0] === 0 && !allowzero) || F.batchFlag(t, 0) || (infer === 0 && count(out.slice(1)) === perImage)
    || (!L.batchDynamic && out[0] === x.shape[0]);
  reshapeTo(L, x, out, batch0 && out[0] === x.shape[0]);
};

const flatten: OpFn = (L) => {
  const xv = L.input(0);
  if (!xv) return L.fail('SCHEMA', 'the input is missing');
  const shape = xv.kind === 'blob' ? xv.shape : xv.c.dims;
  const a0 = L.int('axis', 1);
  const a = a0 < 0 ? a0 + shape.length : a0;
  if (a < 0 || a > shape.length) L.fail('SCHEMA', `axis ${a0} is out of range for rank ${shape.length}`);
  const out = [count(shape.slice(0, a)), count(shape.slice(a))];
  if (xv.kind === 'const') return L.setOut(0, { kind: 'const', c: F.reshaped(xv.c, out) });
  const x = L.blobIn(0);
  if (a === 1 && shape.length >= 2) return L.one('Flatten', [x], { axis: 1, endAxis: -1 }, [], out);
  reshapeTo(L, x, out, a === 1 || (!L.batchDynamic && out[0] === x.shape[0]));
};

function axesInput(L: Lowering, k: number): number[] | undefined {
  if (L.opset >= 13) return L.optConst(k, 'axes') ? F.values(L.constIn(k, 'axes')) : undefined;
  return L.ints('axes');
}

const squeeze: OpFn = (L) => {
  const xv = L.input(0);
  if (!xv) return L.fail('SCHEMA', 'the input is missing');
  const shape = xv.kind === 'blob' ? xv.shape : xv.c.dims;
  const axes = axesInput(L, 1)?.map((a) => L.axis(a, shape.length));
  for (const a of axes ?? []) if (shape[a] !== 1) L.fail('SHAPE', `cannot squeeze axis ${a} of size ${shape[a]}`);
  const out = shape.filter((d, i) => (axes ? !axes.includes(i) : d !== 1));
  if (xv.kind === 'const') return L.setOut(0, { kind: 'const', c: F.reshaped(xv.c, out) });
  const x = L.blobIn(0);
  const keeps = axes ? !axes.includes(0) : shape[0] !== 1 || !L.batchDynamic;
  if (!keeps) L.needsFixedBatch('Squeeze removes the batch axis');
  reshapeTo(L, x, out.length ? out : [1], keeps && out[0] === x.shape[0]);
};

const unsqueeze: OpFn = (L) => {
  const xv = L.input(0);
  if (!xv) return L.fail('SCHEMA', 'the input is missing');
  const shape = xv.kind === 'blob' ? xv.shape : xv.c.dims;
  const raw = axesInput(L, 1);
  if (!raw) return L.fail('SCHEMA', 'axes are required');
  const r = shape.length + raw.length;
  const axes = raw.map((a) => L.axis(a, r)).sort((p, q) => p - q);
  const out: number[] = [];
  let k = 0;
  for (let i = 0; i < r; i++) out.push(axes.includes(i) ? 1 : shape[k++]);
  if (xv.kind === 'const') return L.setOut(0, { kind: 'const', c: F.reshaped(xv.c, out) });
  const x = L.blobIn(0);
  if (axes.includes(0)) L.needsFixedBatch('Unsqueeze inserts an axis before the batch axis');
  reshapeTo(L, x, out, !axes.includes(0));
};

const transpose: OpFn = (L) => {
  const xv = L.input(0);
  if (!xv) return L.fail('SCHEMA', 'the input is missing');
  const shape = xv.kind === 'blob' ? xv.shape : xv.c.dims;
  const perm = L.ints('perm') ?? shape.map((_, i) => shape.length - 1 - i);
  if (perm.length !== shape.length || new Set(perm).size !== perm.length || perm.some((p) => p < 0 || p >= shape.length))
    L.fail('SCHEMA', `perm [${perm}] is not a permutation of ${shape.length} axes`);
  if (xv.kind === 'const') return L.setOut(0, { kind: 'const', c: F.transpose(xv.c, perm) });
  const x = L.blobIn(0);
  if (perm.every((p, i) => p === i)) return L.setOut(0, x);
  // Moving only size-1 axes is a reshape.
  const moved = perm.map((p) => shape[p]);
  const nonUnit = (order: number[]) => order.filter((p) => shape[p] !== 1);
  if (nonUnit(perm).join() === nonUnit(shape.map((_, i) => i)).join()) return reshapeTo(L, x, moved, perm[0] === 0);
  if (perm[0] !== 0) L.fail('UNSUPPORTED', `a Transpose that moves the batch axis (perm [${perm}]) is not supported`);
  L.one('Permute', [x], { order: perm }, [], moved);
};

function softmax(log: boolean): OpFn {
  return (L) => {
    const x = L.blobIn(0);
    // The engine's walk seeds below a trailing (Log)Softmax, from the logits; a LogSoftmax
    // inside the net would have no relevance rule.
    if (log && !L.model.graph.outputs.some((o) => o.name === L.node.outputs[0]))
      L.fail('UNSUPPORTED', `LogSoftmax is only supported as a graph output (a trailing LogSoftmax, explained from the logits below it like a trailing Softmax); output '${L.node.outputs[0]}' is read by other nodes`);
    const r = x.shape.length;
    const ax = L.axis(L.int('axis', L.opset >= 13 ? -1 : 1), r);
    if (ax === 0) L.fail('UNSUPPORTED', `${L.node.opType} over the batch axis is not supported`);
    // Before opset 13 the input is flattened to 2-D at `axis`: one softmax over all axes from it on.
    if (L.opset < 13 && x.shape.slice(ax + 1).some((d) => d !== 1)) {
      if (x.shape.slice(ax).filter((d) => d !== 1).length > 1)
        L.fail('UNSUPPORTED', `${L.node.opType} (opset ${L.opset}) over the flattened axes ${ax}..${r - 1} of [${x.shape}] is not supported (the engine's Softmax runs over one axis)`);
    }
    const along = L.opset < 13 ? ax + x.shape.slice(ax).findIndex((d) => d !== 1) : ax;
    L.one('Softmax', [x], { axis: along < ax ? ax : along, ...(log ? { log: true } : {}) }, [], x.shape);
  };
}

const dropout: OpFn = (L) => {
  const x = L.blobIn(0);
  L.checkOutputs(1);
  L.one('Dropout', [x], { dropoutRatio: L.float('ratio', 0.5) }, [], x.shape);
};

const identity: OpFn = (L) => {
  const v = L.input(0);
  if (!v) return L.fail('SCHEMA', 'the input is missing');
  L.setOut(0, v);
};

const pad: OpFn = (L) => {
  const x = L.blobIn(0);
  const mode = L.string('mode', 'constant');
  if (mode !== 'constant') L.fail('UNSUPPORTED', `Pad mode '${mode}' is not supported (only constant)`);
  let pads: number[];
  let value = 0;
  const r = x.shape.length;
  if (L.opset < 11) {
    pads = L.ints('pads', []) as number[];
    value = L.float('value', 0);
  } else {
    pads = F.values(L.constIn(1, 'pads'));
    const v = L.optConst(2, 'constant_value');
    if (v) value = F.at(v, 0);
    const axes = L.optConst(3, 'axes');
    if (axes) {
      const full = new Array<number>(2 * r).fill(0);
      F.values(axes).forEach((a0, j) => {
        const a = L.axis(a0, r);
        full[a] = pads[j];
        full[a + r] = pads[j + pads.length / 2];
      });
      pads = full;
    }
  }
  if (pads.length !== 2 * r) L.fail('SCHEMA', `pads must have ${2 * r} values, got ${pads.length}`);
  if (pads.every((p) => p === 0)) return L.setOut(0, x);
  if (r !== 4 || pads[0] || pads[1] || pads[4] || pads[5] || pads.some((p) => p < 0) || Number.isNaN(value))
    L.fail('UNSUPPORTED', `only constant padding of the spatial axes that a Conv, MaxPool or AveragePool then reads is supported (pads [${pads}], value ${value})`);
  // No engine layer pads: the next Conv or pool takes the padding over (or refuses it by name).
  L.setOut(0, { ...x, pad: [pads[2], pads[3], pads[6], pads[7]], padValue: value });
};

// ---- constant-only ops ----

const constant: OpFn = (L) => {
  const a = L.node.attributes;
  let c: ConstValue | undefined;
  if (a.get('value')?.t) c = F.constOf(a.get('value')!.t!);
  else if (a.get('value_float')) c = { dims: [], floats: Float32Array.of(L.float('value_float', 0)) };
  else if (a.get('value_floats')) c = { dims: [a.get('value_floats')!.floats?.length ?? 0], floats: Float32Array.from(a.get('value_floats')!.floats ?? []) };
  else if (a.get('value_int')) c = { dims: [], ints: [L.int('value_int', 0)] };
  else if (a.get('value_ints')) c = { dims: [a.get('value_ints')!.ints?.length ?? 0], ints: a.get('value_ints')!.ints ?? [] };
  if (!c) return L.fail('UNSUPPORTED', 'a Constant needs a value, value_float(s) or value_int(s) attribute (sparse and string constants are not supported)');
  L.setOut(0, { kind: 'const', c });
};

const constantOfShape: OpFn = (L) => {
  const shape = F.values(L.constIn(0, 'shape'));
  const v = L.attr('value')?.t;
  L.setOut(0, { kind: 'const', c: F.filled(shape, v ? F.constOf(v) : undefined, L.where) });
};

const shapeOp: OpFn = (L) => {
  const xv = L.input(0);
  if (!xv) return L.fail('SCHEMA', 'the input is missing');
  const shape = xv.kind === 'blob' ? xv.shape : xv.c.dims;
  const r = shape.length;
  let start = L.int('start', 0);
  let end = L.int('end', r);
  if (start < 0) start += r;
  if (end < 0) end += r;
  start = Math.min(Math.max(start, 0), r);
  end = Math.min(Math.max(end, 0), r);
  const dims = shape.slice(start, Math.max(start, end));
  const batch = dims.map((_, i) => xv.kind === 'blob' && start + i === 0 && L.batchDynamic);
  L.setOut(0, { kind: 'const', c: { dims: [dims.length], ints: dims, batch: batch.some((b) => b) ? batch : undefined } });
};

const gather: OpFn = (L) => {
  const data = L.constIn(0, 'data');
  const idx = L.constIn(1, 'indices');
  L.setOut(0, { kind: 'const', c: F.gather(data, idx, L.int('axis', 0), L.where) });
};

const cast: OpFn = (L) => {
  const v = L.input(0);
  if (!v) return L.fail('SCHEMA', 'the input is missing');
  const to = L.int('to', DT.FLOAT);
  if (v.kind === 'blob') {
    if (to !== DT.FLOAT) L.fail('UNSUPPORTED', 'casting a computed tensor to a non-float type is not supported');
    return L.setOut(0, v);
  }
  L.setOut(0, { kind: 'const', c: F.cast(v.c, to) });
};

const sliceOp: OpFn = (L) => {
  const data = L.constIn(0, 'data');
  let starts: number[], ends: number[], axes: number[] | undefined, steps: number[] | undefined;
  if (L.opset < 10) {
    starts = L.ints('starts', [])!; ends = L.ints('ends', [])!; axes = L.ints('axes');
  } else {
    starts = F.values(L.constIn(1, 'starts'));
    ends = F.values(L.constIn(2, 'ends'));
    axes = L.optConst(3, 'axes') ? F.values(L.constIn(3, 'axes')) : undefined;
    steps = L.optConst(4, 'steps') ? F.values(L.constIn(4, 'steps')) : undefined;
  }
  if (steps?.some((s) => s === 0)) L.fail('SCHEMA', 'a step of 0');
  L.setOut(0, { kind: 'const', c: F.slice(data, starts, ends, axes ?? starts.map((_, i) => i), steps ?? starts.map(() => 1)) });
};

const OPS: Record<string, OpFn> = {
  Conv: conv, Gemm: gemm, MatMul: matmul, Relu: relu, LeakyRelu: leaky, PRelu: prelu, Clip: clip, Sigmoid: sigmoid, Tanh: tanh,
  MaxPool: pool(true), AveragePool: pool(false), GlobalAveragePool: globalPool(false), GlobalMaxPool: globalPool(true),
  BatchNormalization: batchnorm, LRN: lrn, Add: binary('Add'), Sub: binary('Sub'), Mul: binary('Mul'), Div: binary('Div'), Sum: sum,
  Concat: concat, Split: split, Flatten: flatten, Reshape: reshape, Squeeze: squeeze, Unsqueeze: unsqueeze, Transpose: transpose,
  Softmax: softmax(false), LogSoftmax: softmax(true), Dropout: dropout, Identity: identity, Pad: pad, Constant: constant, ConstantOfShape: constantOfShape,
  Shape: shapeOp, Gather: gather, Cast: cast, Slice: sliceOp,
};

// ---- the graph walk ----

function checkVersions(model: OnnxModel): void {
  const where = { file: model.file };
  if (model.irVersion < MIN_IR_VERSION || model.irVersion > MAX_IR_VERSION)
    throw new CaffeLrpError('UNSUPPORTED', `ONNX IR version ${model.irVersion} is not supported (versions ${MIN_IR_VERSION}..${MAX_IR_VERSION} are)`, where);
  const opset = model.opsets.get('');
  if (opset === undefined) throw new CaffeLrpError('UNSUPPORTED', 'the model imports no default-domain (ai.onnx) opset', where);
  if (opset < MIN_OPSET || opset > MAX_OPSET)
    throw new CaffeLrpError('UNSUPPORTED', `opset ${opset} is not supported (opsets ${MIN_OPSET}..${MAX_OPSET} of the default domain are)`, where);
}

/** Nodes needed for the graph outputs, in graph order (an exporter's dead ends are dropped). */
function liveNodes(g: OnnxGraph, file: string): OnnxNode[] {
  const producerOf = new Map<string, OnnxNode>();
  for (const n of g.nodes) for (const o of n.outputs) if (o) producerOf.set(o, n);
  const live = new Set<OnnxNode>();
  const stack = g.outputs.map((o) => o.name);
  while (stack.length) {
    const name = stack.pop()!;
    const n = producerOf.get(name);
    if (!n || live.has(n)) continue;
    live.add(n);
    for (const i of n.inputs) if (i) stack.push(i);
  }
  if (g.outputs.length === 0) throw new CaffeLrpError('SCHEMA', 'the graph has no outputs', { file });
  return g.nodes.filter((n) => live.has(n));
}

export interface LowerOptions {
  /** Batch size to lower at when the model's batch dimension is dynamic (default 1). */
  batchSize?: number;
}

export function lowerOnnxModel(model: OnnxModel, opts: LowerOptions = {}): OnnxNetSpec {
  checkVersions(model);
  const L = new Lowering(model);
  const g = model.graph;
  const file = model.file;
  const inits = new Set<string>();
  for (const t of g.initializers) {
    if (!t.name) throw new CaffeLrpError('SCHEMA', 'an initializer has no name', { file });
    inits.add(t.name);
    L.values.set(t.name, { kind: 'const', c: F.constOf(t) });
  }
  const inputs = g.inputs.filter((i) => !inits.has(i.name));
  if (inputs.length === 0) throw new CaffeLrpError('SCHEMA', 'the graph has no (non-initializer) input', { file });
  const specInputs = inputs.map((inp) => {
    if (inp.elemType !== undefined && inp.elemType !== DT.FLOAT)
      throw new CaffeLrpError('UNSUPPORTED', `graph input '${inp.name}' has element type ${inp.elemType}; only FLOAT inputs are supported`, { file });
    if (!inp.dims || inp.dims.length === 0) throw new CaffeLrpError('SHAPE', `graph input '${inp.name}' has no shape`, { file });
    const dims = inp.dims.map((d, i) => {
      if (typeof d === 'number' && d >= 1) return d;
      if (i === 0 && (typeof d === 'string' || d === undefined || d === 0)) {
        L.batchDynamic = true;
        return opts.batchSize ?? 1;
      }
      throw new CaffeLrpError('SHAPE', `graph input '${inp.name}' dimension ${i} is ${JSON.stringify(d)}; only the batch dimension may be dynamic`, { file });
    });
    if (dims.some((d) => d > 2 ** 31) || count(dims) > 2 ** 31) throw new CaffeLrpError('SHAPE', `graph input '${inp.name}' shape [${dims}] is too large`, { file });
    L.values.set(inp.name, { kind: 'blob', blob: inp.name, shape: dims });
    return { name: inp.name, shape: dims };
  });
  L.batch = specInputs[0].shape[0];
  if (!L.batchDynamic) L.fixedBatch = `the graph input '${specInputs[0].name}' has a fixed batch dimension of ${L.batch}`;
  const nodes = liveNodes(g, file);
  for (const n of nodes) for (const i of n.inputs) if (i) L.uses.set(i, (L.uses.get(i) ?? 0) + 1);
  for (const o of g.outputs) L.uses.set(o.name, (L.uses.get(o.name) ?? 0) + 1);
  for (const n of nodes) {
    L.node = n;
    const opset = L.opset;
    if (n.domain !== '')
      throw new CaffeLrpError('UNSUPPORTED', `node ${n.index} '${L.nodeName(n)}' (op type ${n.opType}, domain '${n.domain}', opset ${model.opsets.get(n.domain) ?? 'not imported'}) is not supported: only the default ai.onnx domain is; supported ops: ${SUPPORTED_ONNX_OPS.join(', ')}`, L.where);
    const fn = Object.prototype.hasOwnProperty.call(OPS, n.opType) ? OPS[n.opType] : undefined;
    if (!fn) {
      const why = Object.prototype.hasOwnProperty.call(UNSUPPORTED_WHY, n.opType) ? ` (${UNSUPPORTED_WHY[n.opType]})` : '';
      throw new CaffeLrpError('UNSUPPORTED', `node ${n.index} '${L.nodeName(n)}' (op type ${n.opType}, domain 'ai.onnx', opset ${opset}) is not supported${why}; supported ops: ${SUPPORTED_ONNX_OPS.join(', ')}`, L.where);
    }
    for (const a of n.attributes.values()) if (a.hasGraph) L.fail('UNSUPPORTED', `attribute '${a.name}' holds a subgraph (control flow is not supported)`);
    fn(L);
    for (const o of n.outputs.slice(0, 1)) if (o && !L.values.has(o)) L.fail('SCHEMA', `produced no value for output '${o}'`);
  }
  const outputs = g.outputs.map((o) => {
    const v = L.values.get(o.name);
    if (!v) throw new CaffeLrpError('SCHEMA', `graph output '${o.name}' is not produced by any node`, { file });
    if (v.kind !== 'blob') throw new CaffeLrpError('UNSUPPORTED', `graph output '${o.name}' is a constant (it does not depend on the input)`, { file });
    if (v.pad) throw new CaffeLrpError('UNSUPPORTED', `graph output '${o.name}' comes from a non-zero Pad, which is only supported right before a Conv, MaxPool or AveragePool`, { file });
    return v.blob;
  });
  if (new Set(outputs).size !== outputs.length) throw new CaffeLrpError('UNSUPPORTED', 'two graph outputs are the same tensor', { file });
  for (const o of outputs)
    if (specInputs.some((i) => i.name === o)) throw new CaffeLrpError('UNSUPPORTED', `graph output '${o}' is a graph input (nothing is computed)`, { file });
  const layers = insertSplits(specInputs.map((i) => i.name), L.layers, outputs, file);
  return {
    name: g.name || 'onnx',
    inputs: specInputs,
    layers,
    source: file,
    weightsLoaded: true,
    weightsSource: file,
    outputs,
    fixedBatch: L.fixedBatch,
  };
}

/**
 * Caffe-style Split layers for every blob read by several layers (the engine requires one
 * consumer per blob), placed right after the producer, with lib/caffe's naming.
 */
function insertSplits(inputs: string[], layers: OnnxLayerSpec[], outputs: string[], file: string): OnnxLayerSpec[] {
  const readers = new Map<string, number>();
  for (const l of layers) for (const b of l.bottoms) readers.set(b, (readers.get(b) ?? 0) + 1);
  for (const o of outputs)
    if (readers.has(o)) throw new CaffeLrpError('UNSUPPORTED', `graph output '${o}' is also read by other nodes (not supported)`, { file });
  const renamed = new Map<string, string[]>();
  const shapeOf = new Map<string, number[]>();
  const splitFor = (blob: string, producer: string, shape: number[] | undefined): OnnxLayerSpec | undefined => {
    const n = readers.get(blob) ?? 0;
    if (n < 2) return undefined;
    const name = `${blob}_${producer}_0_split`;
    const tops = Array.from({ length: n }, (_, k) => `${name}_${k}`);
    renamed.set(blob, tops.slice());
    return { name, type: 'Split', bottoms: [blob], tops, params: {}, blobs: [], inserted: true, topShapes: shape ? tops.map(() => shape) : undefined };
  };
  const out: OnnxLayerSpec[] = [];
  for (const i of inputs) {
    const s = splitFor(i, 'input', undefined);
    if (s) out.push(s);
  }
  for (const l of layers) {
    const bottoms = l.bottoms.map((b) => renamed.get(b)?.shift() ?? b);
    out.push({ ...l, bottoms });
    l.tops.forEach((t, k) => {
      shapeOf.set(t, l.topShapes?.[k] ?? []);
      const s = splitFor(t, l.name, l.topShapes?.[k]);
      if (s) out.push(s);
    });
  }
  return out;
}
