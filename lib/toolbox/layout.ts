/**
 * Layout conversions between the LRP Toolbox (channels last: data N x H x W x D, filters
 * h x w x d x n, Linear weights m x n with inputs in C order over (H, W, D)) and the engine
 * (Caffe: data N x C x H x W, filters n x d x h x w, InnerProduct weights n x m with inputs
 * in C order over (C, H, W)). All arrays are flat, C order.
 */
import { CaffeLrpError } from '../errors';

type Values = Float32Array | Float64Array;

function make<T extends Values>(like: T, n: number): T {
  return (like instanceof Float64Array ? new Float64Array(n) : new Float32Array(n)) as T;
}

function checkSize(data: ArrayLike<number>, dims: number[], what: string): void {
  const count = dims.reduce((a, b) => a * b, 1);
  if (dims.length === 0 || dims.some((d) => !Number.isInteger(d) || d < 1) || data.length !== count)
    throw new CaffeLrpError('SHAPE', `${what}: ${data.length} values do not fit the shape ${dims.join('x')}`);
}

/** N x H x W x C -> N x C x H x W. `shape` is the NHWC shape. */
export function nhwcToNchw<T extends Values>(data: T, shape: [number, number, number, number] | number[]): T {
  checkSize(data, shape, 'nhwcToNchw');
  const [n, h, w, c] = shape;
  const out = make(data, data.length);
  for (let i = 0; i < n; ++i)
    for (let y = 0; y < h; ++y)
      for (let x = 0; x < w; ++x)
        for (let ch = 0; ch < c; ++ch) out[((i * c + ch) * h + y) * w + x] = data[((i * h + y) * w + x) * c + ch];
  return out;
}

/** N x C x H x W -> N x H x W x C. `shape` is the NCHW shape. */
export function nchwToNhwc<T extends Values>(data: T, shape: [number, number, number, number] | number[]): T {
  checkSize(data, shape, 'nchwToNhwc');
  const [n, c, h, w] = shape;
  const out = make(data, data.length);
  for (let i = 0; i < n; ++i)
    for (let ch = 0; ch < c; ++ch)
      for (let y = 0; y < h; ++y)
        for (let x = 0; x < w; ++x) out[((i * h + y) * w + x) * c + ch] = data[((i * c + ch) * h + y) * w + x];
  return out;
}

/** Toolbox filters (h, w, d, n) -> engine convolution weights (n, d, h, w). */
export function convWeightsToEngine<T extends Values>(weights: T, h: number, w: number, d: number, n: number): T {
  checkSize(weights, [h, w, d, n], 'convWeightsToEngine');
  const out = make(weights, weights.length);
  for (let y = 0; y < h; ++y)
    for (let x = 0; x < w; ++x)
      for (let c = 0; c < d; ++c)
        for (let f = 0; f < n; ++f) out[((f * d + c) * h + y) * w + x] = weights[((y * w + x) * d + c) * n + f];
  return out;
}

/** Engine convolution weights (n, d, h, w) -> toolbox filters (h, w, d, n). */
export function convWeightsToToolbox<T extends Values>(weights: T, n: number, d: number, h: number, w: number): T {
  checkSize(weights, [n, d, h, w], 'convWeightsToToolbox');
  const out = make(weights, weights.length);
  for (let f = 0; f < n; ++f)
    for (let c = 0; c < d; ++c)
      for (let y = 0; y < h; ++y)
        for (let x = 0; x < w; ++x) out[((y * w + x) * d + c) * n + f] = weights[((f * d + c) * h + y) * w + x];
  return out;
}

/**
 * For a flattened C x H x W volume: the toolbox (H, W, C order) position of each engine
 * (C, H, W order) position.
 */
export function hwcIndexOfChw(c: number, h: number, w: number): Int32Array {
  const map = new Int32Array(c * h * w);
  for (let ch = 0; ch < c; ++ch)
    for (let y = 0; y < h; ++y)
      for (let x = 0; x < w; ++x) map[(ch * h + y) * w + x] = (y * w + x) * c + ch;
  return map;
}

/**
 * Toolbox Linear weights (m, n), rows in (H, W, C) order of a c x h x w input -> engine
 * InnerProduct weights (n, m), columns in (C, H, W) order. The default [m, 1, 1] is a plain
 * vector (no reordering).
 */
export function linearWeightsToEngine<T extends Values>(weights: T, m: number, n: number, chw: [number, number, number] = [m, 1, 1]): T {
  checkSize(weights, [m, n], 'linearWeightsToEngine');
  const [c, h, w] = chw;
  if (c * h * w !== m) throw new CaffeLrpError('SHAPE', `linearWeightsToEngine: ${c}x${h}x${w} inputs do not match m = ${m}`);
  const rowOf = hwcIndexOfChw(c, h, w);
  const out = make(weights, weights.length);
  for (let j = 0; j < n; ++j)
    for (let k = 0; k < m; ++k) out[j * m + k] = weights[rowOf[k] * n + j];
  return out;
}

/** Engine InnerProduct weights (n, m), columns in (C, H, W) order -> toolbox Linear weights (m, n), rows in (H, W, C) order. */
export function linearWeightsToToolbox<T extends Values>(weights: T, n: number, m: number, chw: [number, number, number] = [m, 1, 1]): T {
  checkSize(weights, [n, m], 'linearWeightsToToolbox');
  const [c, h, w] = chw;
  if (c * h * w !== m) throw new CaffeLrpError('SHAPE', `linearWeightsToToolbox: ${c}x${h}x${w} inputs do not match m = ${m}`);
  const rowOf = hwcIndexOfChw(c, h, w);
  const out = make(weights, weights.length);
  for (let j = 0; j < n; ++j)
    for (let k = 0; k < m; ++k) out[rowOf[k] * n + j] = weights[j * m + k];
  return out;
}
