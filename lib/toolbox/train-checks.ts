/**
 * Validation of toolbox.train's inputs: shapes of X / Y (and Xval / Yval) against the model,
 * finite values, and every option. Every problem is a CaffeLrpError (SHAPE for data that does
 * not fit, OPTION for option values) naming the argument.
 */
import { CaffeLrpError } from '../errors';

/** A float array with its shape: N x D, or N x H x W x C (the toolbox's NHWC) for image nets. */
export interface TrainArray {
  data: Float32Array | Float64Array;
  shape: number[];
}

export type LrateDecay = 'none' | 'linear' | 'sublinear';
const DECAYS: readonly LrateDecay[] = ['none', 'linear', 'sublinear'];

export function checkArray(a: TrainArray | undefined, name: string): TrainArray {
  if (!a || typeof a !== 'object' || !(a.data instanceof Float32Array || a.data instanceof Float64Array))
    throw new CaffeLrpError('OPTION', `${name}: must be { data: Float32Array | Float64Array, shape: number[] }`);
  if (!Array.isArray(a.shape) || a.shape.length < 2 || a.shape.some((d) => !Number.isInteger(d) || d < 1))
    throw new CaffeLrpError('SHAPE', `${name}: shape must list at least two positive integers (N x ...), got ${JSON.stringify(a.shape)}`);
  const count = a.shape.reduce((p, d) => p * d, 1);
  if (count !== a.data.length)
    throw new CaffeLrpError('SHAPE', `${name}: shape ${a.shape.join('x')} needs ${count} values, got ${a.data.length}`);
  for (let i = 0; i < a.data.length; ++i)
    if (!Number.isFinite(a.data[i]))
      throw new CaffeLrpError('OPTION', `${name}: value ${a.data[i]} at index ${i} (sample ${Math.floor(i / (count / a.shape[0]))}) is not finite`);
  return a;
}

/** X against the net's sample shape ([D] or [H, W, C]) and Y (one-hot N x classes) against X. */
export function checkPair(X: TrainArray, Y: TrainArray, sample: number[], classes: number, xName: string, yName: string): void {
  const got = X.shape.slice(1);
  const flatOk = sample.length === 1 && got.reduce((p, d) => p * d, 1) === sample[0] && got.length === 1;
  const imageOk = sample.length === 3 && got.length === 3 && got.every((d, i) => d === sample[i]);
  if (!flatOk && !imageOk)
    throw new CaffeLrpError('SHAPE', `${xName}: samples of shape ${got.join('x')} do not fit the net's input ${sample.join('x')} (${sample.length === 3 ? 'N x H x W x C' : 'N x D'})`);
  if (Y.shape.length !== 2 || Y.shape[0] !== X.shape[0] || Y.shape[1] !== classes)
    throw new CaffeLrpError('SHAPE', `${yName}: must be ${X.shape[0]} x ${classes} (one row of targets per sample of ${xName}, one column per net output), got ${Y.shape.join('x')}`);
}

export function checkInt(value: unknown, name: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max)
    throw new CaffeLrpError('OPTION', `option '${name}': must be an integer in [${min}, ${max}], got ${String(value)}`);
  return value;
}

export function checkFinite(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value))
    throw new CaffeLrpError('OPTION', `option '${name}': must be a finite number, got ${String(value)}`);
  return value;
}

export function checkDecay(value: unknown): LrateDecay {
  if (!DECAYS.includes(value as LrateDecay))
    throw new CaffeLrpError('OPTION', `option 'lrateDecay': must be one of ${DECAYS.map((d) => `'${d}'`).join(', ')}, got ${JSON.stringify(value)}`);
  return value as LrateDecay;
}

/** `indices`: iters rows of batchsize sample indices in [0, n) (a flat array or rows). */
export function checkIndices(value: unknown, iters: number, batchsize: number, n: number): Int32Array {
  let flat: ArrayLike<number>;
  if (Array.isArray(value) && value.length > 0 && Array.isArray(value[0])) {
    if (value.length !== iters || value.some((r) => !Array.isArray(r) || r.length !== batchsize))
      throw new CaffeLrpError('OPTION', `option 'indices': must hold iters (${iters}) rows of batchsize (${batchsize}) sample indices`);
    flat = (value as number[][]).flat();
  } else if (Array.isArray(value) || ArrayBuffer.isView(value)) {
    flat = value as ArrayLike<number>;
    if (flat.length !== iters * batchsize)
      throw new CaffeLrpError('OPTION', `option 'indices': needs iters x batchsize = ${iters} x ${batchsize} = ${iters * batchsize} values, got ${flat.length}`);
  } else {
    throw new CaffeLrpError('OPTION', "option 'indices': must be an iters x batchsize array (rows, or a flat typed array)");
  }
  const out = new Int32Array(flat.length);
  for (let i = 0; i < flat.length; ++i) {
    const v = Number(flat[i]);
    if (!Number.isInteger(v) || v < 0 || v >= n)
      throw new CaffeLrpError('OPTION', `option 'indices': entry ${i} (iteration ${Math.floor(i / batchsize)}) is ${String(flat[i])}, not a sample index in [0, ${n})`);
    out[i] = v;
  }
  return out;
}
