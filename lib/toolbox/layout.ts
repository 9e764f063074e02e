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

/**
 * The 4-D array `data` of shape `dims` with its axes reordered: output axis i is input axis
 * order[i]. Every conversion between the two layouts below is one of these.
 */
function permute4<T extends Values>(data: T, dims: number[], order: [number, number, number, number], what: string): T {
  checkSize(data, dims, what);
  if (dims.length !== 4) throw new CaffeLrpError('SHAPE', `${what}: the shape ${dims.join('x')} is not 4-D`);
  const inStride = [dims[1] * dims[2] * dims[3], dims[2] * dims[3], dims[3], 1];
  const [d0, d1, d2, d3] = order.map((a) => dims[a]);
  const [s0, s1, s2, s3] = order.map((a) => inStride[a]);
  const out = make(data, data.length);
  let o = 0;
  for (let i0 = 0; i0 < d0; ++i0)
    for (let i1 = 0; i1 < d1; ++i1)
      for (let i2 = 0; i2 < d2; ++i2)
        for (let i3 = 0; i3 < d3; ++i3) out[o++] = data[i0 * s0 + i1 * s1 + i2 * s2 + i3 * s3];
  return out;
}

/** N x H x W x C -> N x C x H x W. `shape` is the NHWC shape. */
export function nhwcToNchw<T extends Values>(data: T, shape: [number, number, number, number] | number[]): T {
  return permute4(data, shape, [0, 3, 1, 2], 'nhwcToNchw');
}

/** N x C x H x W -> N x H x W x C. `shape` is the NCHW shape. */
export function nchwToNhwc<T extends Values>(data: T, shape: [number, number, number, number] | number[]): T {
  return permute4(data, shape, [0, 2, 3, 1], 'nchwToNhwc');
}

/** Toolbox filters (h, w, d, n) -> engine convolution weights (n, d, h, w). */
export function convWeightsToEngine<T extends Values>(weights: T, h: number, w: number, d: number, n: number): T {
  return permute4(weights, [h, w, d, n], [3, 2, 0, 1], 'convWeightsToEngine');
}

/** Engine convolution weights (n, d, h, w) -> toolbox filters (h, w, d, n). */
export function convWeightsToToolbox<T extends Values>(weights: T, n: number, d: number, h: number, w: number): T {
  return permute4(weights, [n, d, h, w], [2, 3, 1, 0], 'convWeightsToToolbox');
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
