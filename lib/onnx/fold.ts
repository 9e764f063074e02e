/**
 * Constant values of an ONNX graph and the folding of the small shape computations
 * exporters emit (Shape → Gather → Unsqueeze → Concat → Reshape for `x.view(x.size(0), -1)`,
 * Constant, ConstantOfShape, Cast, elementwise arithmetic on constants, ...). Integer values
 * carry a flag per element saying "this is the batch size", so that a Reshape target
 * computed from the batch dimension becomes Caffe's "copy this dimension" (0) and the
 * lowered net works at every batch size.
 */
import { CaffeLrpError } from '../errors';
import { DT, MAX_TENSOR_ELEMENTS, OnnxTensor } from './model';

export interface ConstValue {
  dims: number[];
  /** Float data (FLOAT/DOUBLE tensors), or integers (ints). Exactly one is set. */
  floats?: Float32Array;
  ints?: number[];
  /** Per integer element: true when the value is the (symbolic) batch size. */
  batch?: boolean[];
  /** Computed from the batch size by arithmetic: only right at the batch size we lowered at. */
  derived?: boolean;
}

export const count = (dims: readonly number[]): number => dims.reduce((a, b) => a * b, 1);

export function constOf(t: OnnxTensor): ConstValue {
  return t.floats ? { dims: t.dims.slice(), floats: t.floats } : { dims: t.dims.slice(), ints: t.ints ?? [] };
}

export function isFloat(c: ConstValue): boolean {
  return c.floats !== undefined;
}

/** Element k as a number. */
export function at(c: ConstValue, k: number): number {
  return c.floats ? c.floats[k] : (c.ints as number[])[k];
}

export function values(c: ConstValue): number[] {
  return c.floats ? Array.from(c.floats) : (c.ints as number[]).slice();
}

export function floatsOf(c: ConstValue): Float32Array {
  return c.floats ?? Float32Array.from(c.ints as number[]);
}

export function batchFlag(c: ConstValue, k: number): boolean {
  return c.batch?.[k] === true;
}

function make(dims: number[], data: number[], float: boolean, batch?: boolean[]): ConstValue {
  if (float) return { dims, floats: Float32Array.from(data) };
  return batch && batch.some((b) => b) ? { dims, ints: data, batch } : { dims, ints: data };
}

export function checkedCount(dims: number[], what: string, where: { file: string; layer?: string }): number {
  let n = 1;
  for (const d of dims) {
    if (!Number.isInteger(d) || d < 0) throw new CaffeLrpError('SHAPE', `${what}: dimension ${d} is invalid (dims [${dims.join(', ')}])`, where);
    n *= d;
  }
  if (n > MAX_TENSOR_ELEMENTS) throw new CaffeLrpError('SHAPE', `${what}: [${dims.join(', ')}] has ${n} elements, more than the ${MAX_TENSOR_ELEMENTS} we accept`, where);
  return n;
}

/** Numpy-style broadcast of two shapes; undefined when they do not broadcast. */
export function broadcastShape(a: readonly number[], b: readonly number[]): number[] | undefined {
  const r = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < r; i++) {
    const x = a[a.length - r + i] ?? 1;
    const y = b[b.length - r + i] ?? 1;
    if (x !== y && x !== 1 && y !== 1) return undefined;
    out.push(x === 1 ? y : x);
  }
  return out;
}

/** Index into a tensor of `dims` for the broadcast position `idx` of `out` dims. */
function strides(dims: readonly number[]): number[] {
  const s = new Array<number>(dims.length).fill(1);
  for (let i = dims.length - 2; i >= 0; i--) s[i] = s[i + 1] * dims[i + 1];
  return s;
}

/** Expands `c` to the shape `out` (which it broadcasts to). */
export function expandTo(c: ConstValue, out: number[]): number[] {
  const n = count(out);
  const src = values(c);
  const r = out.length;
  const dims = c.dims;
  const srcStrides = strides(dims);
  const outStrides = strides(out);
  const res = new Array<number>(n);
  for (let k = 0; k < n; k++) {
    let off = 0;
    for (let i = 0; i < r; i++) {
      const di = i - (r - dims.length);
      if (di < 0) continue;
      const coord = Math.floor(k / outStrides[i]) % out[i];
      off += (dims[di] === 1 ? 0 : coord) * srcStrides[di];
    }
    res[k] = src[off];
  }
  return res;
}

const ARITH: Record<string, (a: number, b: number, float: boolean) => number> = {
  Add: (a, b) => a + b,
  Sub: (a, b) => a - b,
  Mul: (a, b) => a * b,
  Div: (a, b, float) => (float ? a / b : b === 0 ? NaN : Math.trunc(a / b)),
};

export function arith(op: string, a: ConstValue, b: ConstValue, where: { file: string; layer?: string }): ConstValue {
  const out = broadcastShape(a.dims, b.dims);
  if (!out) throw new CaffeLrpError('SHAPE', `${op} of constants of shapes [${a.dims}] and [${b.dims}] that do not broadcast`, where);
  checkedCount(out, op, where);
  const float = isFloat(a) || isFloat(b);
  const x = expandTo(a, out);
  const y = expandTo(b, out);
  const f = ARITH[op];
  const data = x.map((v, i) => f(v, y[i], float));
  if (!float && data.some((v) => !Number.isFinite(v))) throw new CaffeLrpError('SHAPE', `integer ${op} by zero in a constant`, where);
  // The batch size times or plus something is not a batch size: such values are only right
  // at the batch size the net was lowered at, so they are marked (lower.ts then fixes the batch).
  const res = make(out, data, float);
  if (taintedByBatch(a) || taintedByBatch(b)) res.derived = true;
  return res;
}

export function taintedByBatch(c: ConstValue): boolean {
  return c.derived === true || (c.batch !== undefined && c.batch.some((b) => b));
}

export function gather(data: ConstValue, indices: ConstValue, axis: number, where: { file: string; layer?: string }): ConstValue {
  const r = data.dims.length;
  const ax = axis < 0 ? axis + r : axis;
  if (ax < 0 || ax >= r) throw new CaffeLrpError('SHAPE', `Gather axis ${axis} is out of range for rank ${r}`, where);
  const outer = count(data.dims.slice(0, ax));
  const n = data.dims[ax];
  const inner = count(data.dims.slice(ax + 1));
  const idx = values(indices).map((v) => {
    const k = v < 0 ? v + n : v;
    if (!Number.isInteger(k) || k < 0 || k >= n) throw new CaffeLrpError('SHAPE', `Gather index ${v} is out of range for a dimension of ${n}`, where);
    return k;
  });
  const dims = [...data.dims.slice(0, ax), ...indices.dims, ...data.dims.slice(ax + 1)];
  checkedCount(dims, 'Gather', where);
  const src = values(data);
  const out: number[] = [];
  const flags: boolean[] = [];
  for (let o = 0; o < outer; o++)
    for (const k of idx)
      for (let i = 0; i < inner; i++) {
        const s = (o * n + k) * inner + i;
        out.push(src[s]);
        flags.push(batchFlag(data, s));
      }
  return make(dims, out, isFloat(data), flags);
}

export function concat(parts: ConstValue[], axis: number, where: { file: string; layer?: string }): ConstValue {
  const r = parts[0].dims.length;
  const ax = axis < 0 ? axis + r : axis;
  if (ax < 0 || ax >= r) throw new CaffeLrpError('SHAPE', `Concat axis ${axis} is out of range for rank ${r}`, where);
  for (const p of parts)
    if (p.dims.length !== r || p.dims.some((d, i) => i !== ax && d !== parts[0].dims[i]))
      throw new CaffeLrpError('SHAPE', `Concat of constants of shapes ${parts.map((q) => `[${q.dims}]`).join(', ')}`, where);
  const outer = count(parts[0].dims.slice(0, ax));
  const inner = count(parts[0].dims.slice(ax + 1));
  const out: number[] = [];
  const flags: boolean[] = [];
  for (let o = 0; o < outer; o++)
    for (const p of parts) {
      const block = p.dims[ax] * inner;
      const src = values(p);
      for (let i = 0; i < block; i++) {
        out.push(src[o * block + i]);
        flags.push(batchFlag(p, o * block + i));
      }
    }
  const dims = parts[0].dims.slice();
  dims[ax] = parts.reduce((s, p) => s + p.dims[ax], 0);
  return make(dims, out, parts.some(isFloat), flags);
}

/** Same values, new dims (Reshape, Squeeze, Unsqueeze, Flatten of a constant). */
export function reshaped(c: ConstValue, dims: number[]): ConstValue {
  return { ...c, dims };
}

export function transpose(c: ConstValue, perm: number[]): ConstValue {
  const dims = perm.map((p) => c.dims[p]);
  const inStrides = strides(c.dims);
  const outStrides = strides(dims);
  const src = values(c);
  const n = count(dims);
  const out = new Array<number>(n);
  for (let k = 0; k < n; k++) {
    let off = 0;
    for (let i = 0; i < dims.length; i++) off += (Math.floor(k / outStrides[i]) % dims[i]) * inStrides[perm[i]];
    out[k] = src[off];
  }
  return make(dims, out, isFloat(c));
}

/** Slice of a constant along the given axes (starts/ends clamped as ONNX does). */
export function slice(c: ConstValue, starts: number[], ends: number[], axes: number[], steps: number[]): ConstValue {
  const r = c.dims.length;
  const begin = c.dims.map(() => 0);
  const stop = c.dims.slice();
  const step = c.dims.map(() => 1);
  axes.forEach((a0, j) => {
    const a = a0 < 0 ? a0 + r : a0;
    const d = c.dims[a];
    const s = steps[j] ?? 1;
    const clamp = (v: number, lo: number, hi: number) => Math.min(Math.max(v, lo), hi);
    let b = starts[j] < 0 ? starts[j] + d : starts[j];
    let e = ends[j] < 0 ? ends[j] + d : ends[j];
    if (s > 0) { b = clamp(b, 0, d); e = clamp(e, 0, d); } else { b = clamp(b, 0, d - 1); e = clamp(e, -1, d - 1); }
    begin[a] = b; stop[a] = e; step[a] = s;
  });
  const dims = c.dims.map((_, i) => Math.max(0, Math.ceil((stop[i] - begin[i]) / step[i])));
  const inStrides = strides(c.dims);
  const outStrides = strides(dims);
  const src = values(c);
  const out: number[] = [];
  const flags: boolean[] = [];
  for (let k = 0; k < count(dims); k++) {
    let off = 0;
    for (let i = 0; i < r; i++) off += (begin[i] + (Math.floor(k / outStrides[i]) % dims[i]) * step[i]) * inStrides[i];
    out.push(src[off]);
    flags.push(batchFlag(c, off));
  }
  return make(dims, out, isFloat(c), flags);
}

export function cast(c: ConstValue, to: number): ConstValue {
  if (to === DT.FLOAT || to === DT.DOUBLE || to === DT.FLOAT16) return { dims: c.dims, floats: floatsOf(c) };
  const ints = values(c).map((v) => (to === DT.BOOL ? (v !== 0 ? 1 : 0) : Math.trunc(v)));
  return { dims: c.dims, ints, batch: c.batch };
}

export function filled(dims: number[], value: ConstValue | undefined, where: { file: string; layer?: string }): ConstValue {
  const n = checkedCount(dims, 'ConstantOfShape', where);
  const v = value ? at(value, 0) : 0;
  if (!value || isFloat(value)) return { dims, floats: new Float32Array(n).fill(v) };
  return { dims, ints: new Array<number>(n).fill(v) };
}
