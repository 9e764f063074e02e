/**
 * A plain float64 reference implementation of the forward pass of every layer type the
 * engine supports, written from Caffe's documented semantics (and Caffe's reference CPU
 * code paths as documented in its layer catalogue), NOT from this package's C++ engine.
 * Everything is deliberately naive: explicit index arithmetic, loops, no tricks, so that
 * each formula can be checked by eye against the Caffe documentation.
 *
 * Also: a tiny interpreter that runs a NetSpec through these references (blob by blob,
 * in-place layers overwrite their blob just as in Caffe), comparison helpers, and spec
 * builders for the layer tests in test/engine/layers-*.test.ts.
 */
import type {
  BatchNormParams, BiasParams, BlobData, ConcatParams, ConvolutionParams, EltwiseParams, FlattenParams,
  InnerProductParams, LayerSpec, LRNParams, NetSpec, PermuteParams, PoolingParams, PowerParams, PReLUParams,
  ReLUParams, ReshapeParams, ScaleParams, SliceParams, SoftmaxParams,
} from '../../lib/caffe/netspec-types';
import { Net } from '../../lib/net';
import { normalGenerator, prng } from './random';

/** A dense row-major N-D array in float64. */
export interface T {
  shape: number[];
  data: Float64Array;
}

export function count(shape: number[], from = 0, to = shape.length): number {
  let n = 1;
  for (let i = from; i < to; ++i) n *= shape[i];
  return n;
}

export function tensor(shape: number[], data?: ArrayLike<number>): T {
  const n = count(shape);
  const out = new Float64Array(n);
  if (data) {
    if (data.length !== n) throw new Error(`tensor: ${data.length} values for shape [${shape}]`);
    for (let i = 0; i < n; ++i) out[i] = data[i];
  }
  return { shape: shape.slice(), data: out };
}

/** Caffe's CanonicalAxisIndex: negative axes count from the end. */
function canonicalAxis(axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) throw new Error(`reference: axis ${axis} out of range for rank ${rank}`);
  return a;
}

function map(x: T, f: (v: number, i: number) => number): T {
  const out = tensor(x.shape);
  for (let i = 0; i < x.data.length; ++i) out.data[i] = f(x.data[i], i);
  return out;
}

// ---------------------------------------------------------------- vision layers

/**
 * Convolution (cross-correlation, no kernel flip). Output size
 * floor((H + 2p - (d(k-1)+1)) / s) + 1. Groups split input and output channels into
 * contiguous blocks: output channel o sees input channels [g*C/G, (g+1)*C/G) with g = floor(o / (O/G)).
 * Weights [O, C/G, kh, kw], bias [O].
 */
export function convolution(x: T, p: ConvolutionParams, weights: BlobData, bias?: BlobData): T {
  if (p.axis !== 1 || x.shape.length !== 4) throw new Error('reference convolution: 4-D input with axis 1 only');
  const [N, C, H, W] = x.shape;
  const [kh, kw] = p.kernel;
  const [sh, sw] = p.stride;
  const [ph, pw] = p.pad;
  const [dh, dw] = p.dilation;
  const O = p.numOutput;
  const G = p.group;
  const Cg = C / G;
  const Og = O / G;
  const Ho = Math.floor((H + 2 * ph - (dh * (kh - 1) + 1)) / sh) + 1;
  const Wo = Math.floor((W + 2 * pw - (dw * (kw - 1) + 1)) / sw) + 1;
  const y = tensor([N, O, Ho, Wo]);
  const w = weights.data;
  for (let n = 0; n < N; ++n)
    for (let o = 0; o < O; ++o) {
      const g = Math.floor(o / Og);
      for (let oh = 0; oh < Ho; ++oh)
        for (let ow = 0; ow < Wo; ++ow) {
          let s = p.biasTerm && bias ? bias.data[o] : 0;
          for (let ci = 0; ci < Cg; ++ci)
            for (let i = 0; i < kh; ++i)
              for (let j = 0; j < kw; ++j) {
                const ih = oh * sh - ph + i * dh;
                const iw = ow * sw - pw + j * dw;
                if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue; // zero padding
                const c = g * Cg + ci;
                s += w[((o * Cg + ci) * kh + i) * kw + j] * x.data[((n * C + c) * H + ih) * W + iw];
              }
          y.data[((n * O + o) * Ho + oh) * Wo + ow] = s;
        }
    }
  return y;
}

/** Pooling output sizes (Caffe's PoolingLayer::Reshape). */
/** ONNX pools' extra engine parameters: bottom/right padding of its own, AVE divisor = image pixels only. */
export type OnnxPoolExtras = { padEnd?: [number, number]; excludePad?: boolean };

export function poolOutputSize(H: number, W: number, p: PoolingParams & OnnxPoolExtras): { Ho: number; Wo: number; kh: number; kw: number; sh: number; sw: number; ph: number; pw: number; peh: number; pew: number } {
  let [kh, kw] = p.kernel;
  let [sh, sw] = p.stride;
  let [ph, pw] = p.pad;
  let [peh, pew] = p.padEnd ?? p.pad;
  if (p.globalPooling) {
    kh = H; kw = W; sh = 1; sw = 1; ph = 0; pw = 0; peh = 0; pew = 0;
  }
  const round = p.roundMode === 'FLOOR' ? Math.floor : Math.ceil;
  let Ho = round((H + ph + peh - kh) / sh) + 1;
  let Wo = round((W + pw + pew - kw) / sw) + 1;
  // The last window must start inside the image or its top/left padding.
  if (ph > 0 || pw > 0) {
    if ((Ho - 1) * sh >= H + ph) --Ho;
    if ((Wo - 1) * sw >= W + pw) --Wo;
  }
  return { Ho, Wo, kh, kw, sh, sw, ph, pw, peh, pew };
}

/**
 * MAX: maximum over the window clipped to the image (padding never wins).
 * AVE: sum over the clipped window divided by the window size clipped to the PADDED image
 * (computed before clipping the start to 0), so padding counts in the divisor.
 * Also returns, for MAX, the flat index (within the channel plane) of the FIRST maximum in
 * row-major scan order — where Caffe routes the gradient.
 */
export function pooling(x: T, p: PoolingParams & OnnxPoolExtras): T & { argmax?: Int32Array } {
  if (x.shape.length !== 4) throw new Error('reference pooling: 4-D input only');
  if (p.pool !== 'MAX' && p.pool !== 'AVE') throw new Error(`reference pooling: ${p.pool} not implemented`);
  const [N, C, H, W] = x.shape;
  const { Ho, Wo, kh, kw, sh, sw, ph, pw, peh, pew } = poolOutputSize(H, W, p);
  const y = tensor([N, C, Ho, Wo]);
  const argmax = new Int32Array(y.data.length).fill(-1);
  for (let n = 0; n < N; ++n)
    for (let c = 0; c < C; ++c) {
      const base = (n * C + c) * H * W;
      for (let oh = 0; oh < Ho; ++oh)
        for (let ow = 0; ow < Wo; ++ow) {
          const out = ((n * C + c) * Ho + oh) * Wo + ow;
          let hstart = oh * sh - ph;
          let wstart = ow * sw - pw;
          if (p.pool === 'MAX') {
            const hend = Math.min(hstart + kh, H);
            const wend = Math.min(wstart + kw, W);
            hstart = Math.max(hstart, 0);
            wstart = Math.max(wstart, 0);
            let best = -Infinity;
            let at = -1;
            for (let h = hstart; h < hend; ++h)
              for (let w = wstart; w < wend; ++w) {
                const v = x.data[base + h * W + w];
                if (v > best) { best = v; at = h * W + w; } // strict: the first maximum wins
              }
            y.data[out] = best;
            argmax[out] = at;
          } else {
            let hend = Math.min(hstart + kh, H + peh);
            let wend = Math.min(wstart + kw, W + pew);
            let poolSize = (hend - hstart) * (wend - wstart);
            hstart = Math.max(hstart, 0);
            wstart = Math.max(wstart, 0);
            hend = Math.min(hend, H);
            wend = Math.min(wend, W);
            if (p.excludePad) poolSize = (hend - hstart) * (wend - wstart);
            let s = 0;
            for (let h = hstart; h < hend; ++h)
              for (let w = wstart; w < wend; ++w) s += x.data[base + h * W + w];
            y.data[out] = s / poolSize;
          }
        }
    }
  return p.pool === 'MAX' ? Object.assign(y, { argmax }) : y;
}

/**
 * LRN. ACROSS_CHANNELS: y = x (k + alpha/n * sum_{c' in [c-(n-1)/2, c+(n-1)/2] ∩ [0,C)} x_{c'}^2)^-beta.
 * WITHIN_CHANNEL: y = x (1 + alpha/n^2 * sum_{n x n window clipped to the image} x^2)^-beta (k unused).
 */
export function lrn(x: T, p: LRNParams): T {
  if (x.shape.length !== 4) throw new Error('reference LRN: 4-D input only');
  const [N, C, H, W] = x.shape;
  const n = p.localSize;
  const half = (n - 1) / 2;
  const at = (b: number, c: number, h: number, w: number) => x.data[((b * C + c) * H + h) * W + w];
  const y = tensor(x.shape);
  for (let b = 0; b < N; ++b)
    for (let c = 0; c < C; ++c)
      for (let h = 0; h < H; ++h)
        for (let w = 0; w < W; ++w) {
          let s = 0;
          let scale: number;
          if (p.normRegion === 'ACROSS_CHANNELS') {
            for (let cc = Math.max(0, c - half); cc <= Math.min(C - 1, c + half); ++cc) s += at(b, cc, h, w) ** 2;
            scale = p.k + (p.alpha / n) * s;
          } else {
            for (let hh = Math.max(0, h - half); hh <= Math.min(H - 1, h + half); ++hh)
              for (let ww = Math.max(0, w - half); ww <= Math.min(W - 1, w + half); ++ww) s += at(b, c, hh, ww) ** 2;
            scale = 1 + (p.alpha / (n * n)) * s;
          }
          y.data[((b * C + c) * H + h) * W + w] = at(b, c, h, w) * Math.pow(scale, -p.beta);
        }
  return y;
}

/** InnerProduct: flattens axes >= axis; y[m, j] = sum_k W[j, k] x[m, k] + b[j] (W is [K, N] when transposed). */
export function innerProduct(x: T, p: InnerProductParams, weights: BlobData, bias?: BlobData): T {
  const axis = canonicalAxis(p.axis, x.shape.length);
  const M = count(x.shape, 0, axis);
  const K = count(x.shape, axis);
  const Nout = p.numOutput;
  const y = tensor([...x.shape.slice(0, axis), Nout]);
  for (let m = 0; m < M; ++m)
    for (let j = 0; j < Nout; ++j) {
      let s = p.biasTerm && bias ? bias.data[j] : 0;
      for (let k = 0; k < K; ++k) s += (p.transpose ? weights.data[k * Nout + j] : weights.data[j * K + k]) * x.data[m * K + k];
      y.data[m * Nout + j] = s;
    }
  return y;
}

// ---------------------------------------------------------------- activations

export const relu = (x: T, p: ReLUParams): T => map(x, (v) => (v > 0 ? v : p.negativeSlope * v));
export const tanh = (x: T): T => map(x, (v) => Math.tanh(v));
export const sigmoid = (x: T): T => map(x, (v) => 1 / (1 + Math.exp(-v)));
export const absval = (x: T): T => map(x, (v) => Math.abs(v));
/** ONNX Clip (ReLU6 = min 0, max 6). */
export const clip = (x: T, p: { min: number; max: number }): T => map(x, (v) => Math.min(Math.max(v, p.min), p.max));
export const power = (x: T, p: PowerParams): T => map(x, (v) => Math.pow(p.shift + p.scale * v, p.power));
/** Dropout at test time is the identity (Caffe scales during training instead). */
export const dropout = (x: T): T => map(x, (v) => v);

/** PReLU: y = x > 0 ? x : a_c x, channels on axis 1 (one shared slope if channelShared). */
export function prelu(x: T, p: PReLUParams, slopes: BlobData): T {
  const C = x.shape.length > 1 ? x.shape[1] : 1;
  const inner = count(x.shape, 2);
  return map(x, (v, i) => {
    const c = Math.floor(i / inner) % C;
    const a = p.channelShared ? slopes.data[0] : slopes.data[c];
    return v > 0 ? v : a * v;
  });
}

/** Softmax over one axis. */
export function softmax(x: T, p: SoftmaxParams): T {
  const axis = canonicalAxis(p.axis, x.shape.length);
  const outer = count(x.shape, 0, axis);
  const D = x.shape[axis];
  const inner = count(x.shape, axis + 1);
  const y = tensor(x.shape);
  for (let o = 0; o < outer; ++o)
    for (let i = 0; i < inner; ++i) {
      const idx = (d: number) => (o * D + d) * inner + i;
      let mx = -Infinity;
      for (let d = 0; d < D; ++d) mx = Math.max(mx, x.data[idx(d)]);
      let z = 0;
      for (let d = 0; d < D; ++d) z += Math.exp(x.data[idx(d)] - mx);
      for (let d = 0; d < D; ++d) y.data[idx(d)] = Math.exp(x.data[idx(d)] - mx) / z;
    }
  return y;
}

// ---------------------------------------------------------------- structure layers

export function concat(xs: T[], p: ConcatParams): T {
  const rank = xs[0].shape.length;
  const axis = canonicalAxis(p.axis, rank);
  for (const x of xs)
    if (x.shape.length !== rank || x.shape.some((d, i) => i !== axis && d !== xs[0].shape[i])) throw new Error('reference concat: shape mismatch');
  const shape = xs[0].shape.slice();
  shape[axis] = xs.reduce((s, x) => s + x.shape[axis], 0);
  const outer = count(shape, 0, axis);
  const inner = count(shape, axis + 1);
  const y = tensor(shape);
  let offset = 0;
  for (const x of xs) {
    const D = x.shape[axis];
    for (let o = 0; o < outer; ++o)
      for (let d = 0; d < D; ++d)
        for (let i = 0; i < inner; ++i) y.data[(o * shape[axis] + offset + d) * inner + i] = x.data[(o * D + d) * inner + i];
    offset += D;
  }
  return y;
}

/** Slice: at the slice points, or into `tops` equal parts when there are none. */
export function slice(x: T, p: SliceParams, tops: number): T[] {
  const axis = canonicalAxis(p.axis, x.shape.length);
  const D = x.shape[axis];
  let points = p.slicePoints;
  if (points.length === 0) {
    if (D % tops !== 0) throw new Error('reference slice: not divisible');
    points = Array.from({ length: tops - 1 }, (_, i) => ((i + 1) * D) / tops);
  }
  const bounds = [0, ...points, D];
  const outer = count(x.shape, 0, axis);
  const inner = count(x.shape, axis + 1);
  const out: T[] = [];
  for (let t = 0; t + 1 < bounds.length; ++t) {
    const len = bounds[t + 1] - bounds[t];
    const shape = x.shape.slice();
    shape[axis] = len;
    const y = tensor(shape);
    for (let o = 0; o < outer; ++o)
      for (let d = 0; d < len; ++d)
        for (let i = 0; i < inner; ++i) y.data[(o * len + d) * inner + i] = x.data[(o * D + bounds[t] + d) * inner + i];
    out.push(y);
  }
  return out;
}

/** Flatten axes [axis, endAxis] into one. */
export function flatten(x: T, p: FlattenParams): T {
  const a = canonicalAxis(p.axis, x.shape.length);
  const e = canonicalAxis(p.endAxis, x.shape.length);
  const shape = [...x.shape.slice(0, a), count(x.shape, a, e + 1), ...x.shape.slice(e + 1)];
  return tensor(shape, x.data);
}

/**
 * Reshape: replaces bottom axes [axis, axis + numAxes) (numAxes -1: to the end; axis < 0
 * counts from the end with -1 = after the last axis) by `shape`, where 0 copies the bottom
 * dimension at the same position and one -1 is inferred from the total count.
 */
export function reshape(x: T, p: ReshapeParams): T {
  const rank = x.shape.length;
  const start = p.axis >= 0 ? p.axis : rank + p.axis + 1;
  const end = p.numAxes === -1 ? rank : start + p.numAxes;
  const middle = p.shape.map((d, i) => (d === 0 ? x.shape[start + i] : d));
  const shape = [...x.shape.slice(0, start), ...middle, ...x.shape.slice(end)];
  const infer = shape.indexOf(-1);
  if (infer >= 0) {
    const known = shape.reduce((s, d, i) => (i === infer ? s : s * d), 1);
    shape[infer] = count(x.shape) / known;
  }
  if (count(shape) !== count(x.shape)) throw new Error('reference reshape: count mismatch');
  return tensor(shape, x.data);
}

/** Permute (SSD's PermuteLayer): top axis i is bottom axis order[i]; unlisted axes follow in order. */
export function permute(x: T, p: PermuteParams): T {
  const rank = x.shape.length;
  const order = p.order.slice();
  for (let a = 0; a < rank; ++a) if (!order.includes(a)) order.push(a);
  const shape = order.map((a) => x.shape[a]);
  const y = tensor(shape);
  const bottomStrides = x.shape.map((_, a) => count(x.shape, a + 1));
  const idx = new Array<number>(rank).fill(0);
  for (let t = 0; t < y.data.length; ++t) {
    let rem = t;
    for (let i = rank - 1; i >= 0; --i) { idx[i] = rem % shape[i]; rem = Math.floor(rem / shape[i]); }
    let b = 0;
    for (let i = 0; i < rank; ++i) b += idx[i] * bottomStrides[order[i]];
    y.data[t] = x.data[b];
  }
  return y;
}

/** Eltwise: SUM with coefficients (default 1), PROD, MAX. */
export function eltwise(xs: T[], p: EltwiseParams): T {
  for (const x of xs) if (x.shape.join() !== xs[0].shape.join()) throw new Error('reference eltwise: shape mismatch');
  return map(xs[0], (_, i) => {
    if (p.operation === 'SUM') return xs.reduce((s, x, k) => s + (p.coeff.length ? p.coeff[k] : 1) * x.data[i], 0);
    if (p.operation === 'PROD') return xs.reduce((s, x) => s * x.data[i], 1);
    return xs.reduce((s, x) => Math.max(s, x.data[i]), -Infinity);
  });
}

// ---------------------------------------------------------------- affine layers

/**
 * BatchNorm on axis 1: y = (x - mean/f) / sqrt(var/f + eps) with f = factor[0] (1/f taken as 0
 * when f == 0). Without global statistics Caffe normalises with the batch's own per-channel
 * mean and (biased) variance over N and the spatial axes.
 */
export function batchNorm(x: T, p: BatchNormParams, blobs: BlobData[]): T {
  const C = x.shape[1];
  const outer = x.shape[0];
  const inner = count(x.shape, 2);
  const mean = new Float64Array(C);
  const variance = new Float64Array(C);
  if (p.useGlobalStats) {
    const f = blobs[2].data[0];
    const s = f === 0 ? 0 : 1 / f;
    for (let c = 0; c < C; ++c) { mean[c] = blobs[0].data[c] * s; variance[c] = blobs[1].data[c] * s; }
  } else {
    const m = outer * inner;
    for (let c = 0; c < C; ++c) {
      let s = 0;
      for (let n = 0; n < outer; ++n) for (let i = 0; i < inner; ++i) s += x.data[(n * C + c) * inner + i];
      mean[c] = s / m;
      let v = 0;
      for (let n = 0; n < outer; ++n) for (let i = 0; i < inner; ++i) v += (x.data[(n * C + c) * inner + i] - mean[c]) ** 2;
      variance[c] = v / m;
    }
  }
  return map(x, (v, i) => {
    const c = Math.floor(i / inner) % C;
    return (v - mean[c]) / Math.sqrt(variance[c] + p.eps);
  });
}

/** Broadcast geometry of Scale/Bias: the parameter covers axes [axis, axis + numAxes) (numAxes -1: to the end). */
function broadcast(x: T, axis: number, numAxes: number): { outer: number; dim: number; inner: number } {
  const a = canonicalAxis(axis, x.shape.length);
  const end = numAxes === -1 ? x.shape.length : a + numAxes;
  return { outer: count(x.shape, 0, a), dim: count(x.shape, a, end), inner: count(x.shape, end) };
}

/** Scale: y = x * gamma (+ beta), gamma broadcast over the axes it covers. */
export function scale(x: T, p: ScaleParams, gamma: ArrayLike<number>, beta?: ArrayLike<number>): T {
  const { dim, inner } = broadcast(x, p.axis, p.numAxes);
  if (gamma.length !== dim) throw new Error('reference scale: gamma size');
  return map(x, (v, i) => {
    const d = Math.floor(i / inner) % dim;
    return v * gamma[d] + (p.biasTerm && beta ? beta[d] : 0);
  });
}

/** Bias: y = x + b, b broadcast over the axes it covers. */
export function biasLayer(x: T, p: BiasParams, b: ArrayLike<number>): T {
  const { dim, inner } = broadcast(x, p.axis, p.numAxes);
  if (b.length !== dim) throw new Error('reference bias: size');
  return map(x, (v, i) => v + b[Math.floor(i / inner) % dim]);
}

// ---------------------------------------------------------------- a reference net

/** Runs a NetSpec through the references; returns every blob's final value (in-place layers overwrite). */
export function runReference(spec: NetSpec, inputs: Record<string, T>): Map<string, T> {
  const blobs = new Map<string, T>(Object.entries(inputs));
  for (const layer of spec.layers) {
    const bottoms = layer.bottoms.map((b) => {
      const t = blobs.get(b);
      if (!t) throw new Error(`reference: layer ${layer.name}: unknown bottom ${b}`);
      return t;
    });
    const tops = forwardLayer(layer, bottoms);
    if (tops.length !== layer.tops.length) throw new Error(`reference: layer ${layer.name}: ${tops.length} tops computed`);
    layer.tops.forEach((name, i) => blobs.set(name, tops[i]));
  }
  return blobs;
}

function forwardLayer(layer: LayerSpec, xs: T[]): T[] {
  const p = layer.params as any;
  const x = xs[0];
  const b = layer.blobs;
  switch (layer.type) {
    case 'Convolution': return [convolution(x, p, b[0], b[1])];
    case 'InnerProduct': return [innerProduct(x, p, b[0], b[1])];
    case 'Pooling': { const y = pooling(x, p); return [{ shape: y.shape, data: y.data }]; }
    case 'LRN': return [lrn(x, p)];
    case 'ReLU': return [relu(x, p)];
    case 'PReLU': return [prelu(x, p, b[0])];
    case 'TanH': return [tanh(x)];
    case 'Sigmoid': return [sigmoid(x)];
    case 'AbsVal': return [absval(x)];
    case 'Clip': return [clip(x, p)];
    case 'Power': return [power(x, p)];
    case 'Dropout': return [dropout(x)];
    case 'Softmax': return [softmax(x, p)];
    case 'Concat': return [concat(xs, p)];
    case 'Slice': return slice(x, p, layer.tops.length);
    case 'Split': return layer.tops.map(() => tensor(x.shape, x.data));
    case 'Flatten': return [flatten(x, p)];
    case 'Reshape': return [reshape(x, p)];
    case 'Permute': return [permute(x, p)];
    case 'Eltwise': return [eltwise(xs, p)];
    case 'BatchNorm': return [batchNorm(x, p, b)];
    // With a second bottom, that blob is the parameter and its shape (not numAxes) sets the broadcast.
    case 'Scale':
      return xs.length === 2
        ? [scale(x, { ...p, numAxes: xs[1].shape.length }, xs[1].data, b[0]?.data)]
        : [scale(x, p, b[0].data, b[1]?.data)];
    case 'Bias':
      return xs.length === 2 ? [biasLayer(x, { ...p, numAxes: xs[1].shape.length }, xs[1].data)] : [biasLayer(x, p, b[0].data)];
    default: throw new Error(`reference: layer type ${layer.type} not implemented`);
  }
}

// ---------------------------------------------------------------- test data and comparisons

/** Seeded N(0, scale^2) samples as float32. */
export function randn(n: number, seed: number, scale = 1): Float32Array {
  const g = normalGenerator(seed);
  return Float32Array.from({ length: n }, () => g() * scale);
}

/** Seeded samples with |v| in [gap, gap + spread): away from 0 (ReLU / AbsVal kinks). */
export function awayFromZero(n: number, seed: number, gap = 0.2, spread = 1): Float32Array {
  const u = prng(seed);
  return Float32Array.from({ length: n }, () => (u() < 0.5 ? -1 : 1) * (gap + spread * u()));
}

/** Distinct values spaced by `step` (shuffled), centred on 0: no two within a pooling window are close. */
export function distinct(n: number, seed: number, step = 0.05): Float32Array {
  const u = prng(seed);
  const v = Array.from({ length: n }, (_, i) => (i - (n - 1) / 2) * step);
  for (let i = n - 1; i > 0; --i) {
    const j = Math.floor(u() * (i + 1));
    [v[i], v[j]] = [v[j], v[i]];
  }
  return Float32Array.from(v);
}

export function blob(shape: number[], data: Float32Array): BlobData {
  if (data.length !== count(shape)) throw new Error(`blob: ${data.length} values for shape [${shape}]`);
  return { shape, data };
}

/**
 * Largest violation of |a - b| <= tol * max(1, |b|), as a ratio (<= 1 passes), and where.
 * A NaN on either side (or a length mismatch) gives ratio NaN, which never passes `ratio <= 1`.
 */
export function worstViolation(a: ArrayLike<number>, b: ArrayLike<number>, tol: number): { ratio: number; index: number; got: number; want: number } {
  if (a.length !== b.length) return { ratio: NaN, index: -1, got: a.length, want: b.length };
  let worst = { ratio: 0, index: -1, got: NaN, want: NaN };
  for (let i = 0; i < b.length; ++i) {
    const ratio = Math.abs(a[i] - b[i]) / (tol * Math.max(1, Math.abs(b[i])));
    if (!(ratio <= worst.ratio)) worst = { ratio, index: i, got: a[i], want: b[i] };
    if (Number.isNaN(worst.ratio)) break; // keep the first NaN
  }
  return worst;
}

// ---------------------------------------------------------------- spec builders (normalised params)

export const L = {
  conv(name: string, bottom: string, top: string, p: Partial<ConvolutionParams> & { numOutput: number; kernel: [number, number] }, w: Float32Array, bias?: Float32Array, inChannels?: number): LayerSpec {
    const params: ConvolutionParams = { biasTerm: bias !== undefined, stride: [1, 1], pad: [0, 0], dilation: [1, 1], group: 1, axis: 1, ...p };
    const perGroup = (inChannels ?? 0) / params.group;
    const blobs = [blob([params.numOutput, perGroup, params.kernel[0], params.kernel[1]], w)];
    if (bias) blobs.push(blob([params.numOutput], bias));
    return { name, type: 'Convolution', bottoms: [bottom], tops: [top], params: { ...params }, blobs };
  },
  ip(name: string, bottom: string, top: string, p: Partial<InnerProductParams> & { numOutput: number }, w: BlobData, bias?: Float32Array): LayerSpec {
    const params: InnerProductParams = { biasTerm: bias !== undefined, axis: 1, transpose: false, ...p };
    const blobs = [w];
    if (bias) blobs.push(blob([params.numOutput], bias));
    return { name, type: 'InnerProduct', bottoms: [bottom], tops: [top], params: { ...params }, blobs };
  },
  pool(name: string, bottom: string, top: string, p: Partial<PoolingParams> & { pool: 'MAX' | 'AVE' }): LayerSpec {
    const params: PoolingParams = { kernel: [2, 2], stride: [1, 1], pad: [0, 0], globalPooling: false, roundMode: 'CEIL', ...p };
    return { name, type: 'Pooling', bottoms: [bottom], tops: [top], params: { ...params }, blobs: [] };
  },
  /** Any layer given its normalised params and blobs. */
  of(type: string, name: string, bottoms: string[], tops: string[], params: object = {}, blobs: BlobData[] = []): LayerSpec {
    return { name, type, bottoms, tops, params: { ...params } as Record<string, unknown>, blobs };
  },
};

export function netSpec(inputShape: number[], layers: LayerSpec[], name = 't'): NetSpec {
  return { name, inputs: [{ name: 'data', shape: inputShape }], layers };
}

// ---------------------------------------------------------------- engine harness

export const FORWARD_TOL = 1e-5;

/**
 * Runs `spec` on the engine and on the references with the same N x C x H x W input and
 * compares every blob (shape and values, |engine - reference| <= tol * max(1, |reference|))
 * plus each layer's reported top shapes. Returns the reference blobs.
 */
export async function expectForwardMatches(spec: NetSpec, input: Float32Array, tol = FORWARD_TOL): Promise<Map<string, T>> {
  const ref = runReference(spec, { [spec.inputs[0].name]: tensor(spec.inputs[0].shape, input) });
  const net = new Net(spec);
  try {
    await net.forward(input);
    const problems: string[] = [];
    for (const [name, want] of ref) {
      const got = net.blob(name);
      if (got.shape.join('x') !== want.shape.join('x')) {
        problems.push(`blob '${name}': shape ${got.shape.join('x')}, reference ${want.shape.join('x')}`);
        continue;
      }
      const w = worstViolation(got.data, want.data, tol);
      if (!(w.ratio <= 1)) problems.push(`blob '${name}' [${w.index}]: engine ${w.got}, reference ${w.want} (${w.ratio.toFixed(1)}x tolerance)`);
    }
    const finalShapes = new Map<string, string>();
    for (const layer of net.layers) layer.tops.forEach((t, i) => finalShapes.set(t, layer.outputShapes[i].join('x')));
    for (const [name, shape] of finalShapes) {
      const want = ref.get(name);
      if (want && want.shape.join('x') !== shape) problems.push(`layer top '${name}': reported shape ${shape}, reference ${want.shape.join('x')}`);
    }
    expect(problems).toEqual([]);
  } finally {
    await net.dispose();
  }
  return ref;
}

export interface GradientCheckOptions {
  /** The blob fed to the seeded InnerProduct (default: the last layer's first top). */
  top?: string;
  /** Central-difference step (inputs should be of scale ~1). */
  step?: number;
  /** |analytic - numeric| <= tol * max |numeric| per image. */
  tol?: number;
  seed?: number;
}

/**
 * Gradient check of the engine's gradient walk (formula type 11: heatmap = logit x
 * d logit / d input, input channels reversed) against central differences of the engine's
 * own forward pass. `layers` read from 'data'; a 3-output InnerProduct 'score' is appended
 * on `top` and the class with the largest |logit| is seeded for each image.
 * Returns the largest |gradient| seen (so callers can assert the check is not vacuous).
 */
export async function expectGradientMatchesFiniteDifferences(
  inputShape: number[], layers: LayerSpec[], input: Float32Array, options: GradientCheckOptions = {},
): Promise<number> {
  const step = options.step ?? 1e-2;
  const tol = options.tol ?? 1e-2;
  const seed = options.seed ?? 101;
  const top = options.top ?? layers[layers.length - 1].tops[0];
  const N = inputShape[0];
  const perImage = count(inputShape, 1);
  if (input.length !== N * perImage) throw new Error('gradient check: input size');

  // The seeded InnerProduct's fan-in, from the reference's shapes.
  const ref = runReference(netSpec(inputShape, layers), { data: tensor(inputShape, input) });
  const topShape = ref.get(top)?.shape;
  if (!topShape) throw new Error(`gradient check: no blob '${top}'`);
  const K = count(topShape, 1);
  const classes = 3;
  const ip = L.ip('score', top, 'score', { numOutput: classes }, blob([classes, K], randn(classes * K, seed, 1 / Math.sqrt(K))), Float32Array.from([0.7, -0.9, 1.1]));
  const spec = netSpec(inputShape, [...layers, ip]);
  const net = new Net(spec);
  try {
    const images = Array.from({ length: N }, (_, i) => input.subarray(i * perImage, (i + 1) * perImage));
    await net.forward(images);
    const logits = net.blob('score').data;
    const seeded = images.map((_, i) => {
      const row = Array.from(logits.subarray(i * classes, (i + 1) * classes));
      return row.reduce((best, v, c) => (Math.abs(v) > Math.abs(row[best]) ? c : best), 0);
    });
    const ipIndex = net.layers.findIndex((l) => l.name === 'score');
    const heatmaps = await net.backwardRelevanceMulti(seeded.map((c) => [c]), { relpropformulatype: 11, lastlayerindex: ipIndex });
    expect(heatmaps.length).toBe(N);

    const [C] = inputShape.slice(1);
    const plane = perImage / C;
    let largest = 0;
    for (let i = 0; i < N; ++i) {
      const logit = logits[i * classes + seeded[i]];
      expect(Math.abs(logit)).toBeGreaterThan(1e-2);
      const hm = heatmaps[i];
      expect(hm.data.length).toBe(perImage);
      // Input channel ch is heatmap channel C-1-ch.
      const analytic = Float64Array.from({ length: perImage }, (_, j) => hm.data[(C - 1 - Math.floor(j / plane)) * plane + (j % plane)] / logit);

      // Every perturbation of image i in one batch: +step at 2j, -step at 2j+1.
      const perturbed: Float32Array[] = [];
      for (let j = 0; j < perImage; ++j)
        for (const sign of [1, -1]) {
          const x = Float32Array.from(images[i]);
          x[j] += sign * step;
          perturbed.push(x);
        }
      await net.forward(perturbed);
      const z = net.blob('score').data;
      const numeric = Float64Array.from({ length: perImage }, (_, j) =>
        (z[2 * j * classes + seeded[i]] - z[(2 * j + 1) * classes + seeded[i]]) / (2 * step));

      const scale = numeric.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      let worst = 0;
      let at = -1;
      for (let j = 0; j < perImage; ++j) {
        const d = Math.abs(analytic[j] - numeric[j]);
        if (!(d <= worst)) { worst = d; at = j; } // NaN counts as the worst
        if (Number.isNaN(worst)) break;
      }
      if (!(worst <= tol * scale))
        throw new Error(`gradient check, image ${i}, input element ${at}: engine gradient ${analytic[at]}, finite difference ${numeric[at]} ` +
          `(max |gradient| ${scale}, allowed ${tol * scale})`);
      largest = Math.max(largest, scale);
    }
    return largest;
  } finally {
    await net.dispose();
  }
}
