/**
 * Normalised layer parameters (netspec-types.ts LayerParamsByType): Caffe's defaults
 * applied, scalar-or-h/w forms resolved, legacy aliases (concat_dim, slice_dim) folded in,
 * axes made non-negative when the input rank is known, and the values Caffe itself
 * would reject (kernel 0, group not dividing num_output, ...) reported as SCHEMA errors
 * that name the file, line and layer.
 */
import { CaffeLrpError } from '../errors';
import * as T from './netspec-types';
import { LayerObject } from './proto-objects';
import { lineOf } from './source-line';

export interface Where {
  file: string;
  line?: number;
  layer?: string;
}

type Raw = Record<string, unknown>;
type Shapes = (number[] | undefined)[];
type Normaliser = (p: Raw, bottoms: Shapes, w: Where) => object;

export function schemaError(message: string, w: Where): never {
  throw new CaffeLrpError('SCHEMA', message, w);
}

const f32 = Math.fround;

function num(p: Raw, key: string, dflt: number): number {
  const v = p[key];
  return typeof v === 'number' ? v : dflt;
}

function bool(p: Raw, key: string, dflt: boolean): boolean {
  const v = p[key];
  return typeof v === 'boolean' ? v : dflt;
}

function list(p: Raw, key: string): number[] {
  const v = p[key];
  return Array.isArray(v) ? (v as number[]) : [];
}

function has(p: Raw, key: string): boolean {
  const v = p[key];
  return v !== undefined && !(Array.isArray(v) && v.length === 0);
}

/** Caffe's CanonicalAxisIndex: -rank ≤ axis < rank, negative counts from the end. */
export function canonicalAxis(axis: number, rank: number | undefined, what: string, w: Where): number {
  if (rank === undefined) return axis;
  if (axis < -rank || axis >= rank) schemaError(`${what} ${axis} is out of range for a ${rank}-axis input`, w);
  return axis < 0 ? axis + rank : axis;
}

const rankOf = (bottoms: Shapes): number | undefined => bottoms[0]?.length;

/**
 * Convolution's repeated `kernel_size`/`pad`/`stride`/`dilation` (1 value = both axes,
 * 2 values = h, w) or their `_h`/`_w` forms.
 */
function convPair(p: Raw, key: string, dflt: number | undefined, min: number, w: Where): [number, number] {
  const base = key === 'kernel_size' ? 'kernel' : key;
  const values = list(p, key);
  const hasH = p[`${base}_h`] !== undefined;
  const hasW = p[`${base}_w`] !== undefined;
  let pair: [number, number];
  if (hasH || hasW) {
    if (values.length) schemaError(`give either ${key} or ${base}_h/${base}_w, not both`, w);
    // pad_h/pad_w default to 0 each; kernel and stride need both (Caffe reads 0 otherwise).
    if (base !== 'pad' && !(hasH && hasW)) schemaError(`${base}_h and ${base}_w must be given together`, w);
    pair = [num(p, `${base}_h`, 0), num(p, `${base}_w`, 0)];
  } else if (values.length === 0) {
    if (dflt === undefined) schemaError(`convolution_param needs kernel_size (or kernel_h and kernel_w)`, w);
    pair = [dflt, dflt];
  } else if (values.length <= 2) {
    pair = [values[0], values[values.length - 1]];
  } else {
    return schemaError(`${key} has ${values.length} values; only 2-D convolution is supported (1 or 2 values)`, w);
  }
  if (pair[0] < min || pair[1] < min) schemaError(`${base} must be at least ${min}, got [${pair.join(', ')}]`, w);
  return pair;
}

function convolution(p: Raw, b: Shapes, w: Where): T.ConvolutionParams {
  const numOutput = num(p, 'num_output', 0);
  if (numOutput < 1) schemaError(`convolution_param.num_output must be given and positive`, w);
  const group = num(p, 'group', 1);
  if (group < 1) schemaError(`convolution_param.group must be positive, got ${group}`, w);
  if (numOutput % group !== 0) schemaError(`num_output ${numOutput} is not divisible by group ${group}`, w);
  const dil = list(p, 'dilation');
  if (dil.length > 2) schemaError(`dilation has ${dil.length} values; only 2-D convolution is supported`, w);
  const dilation: [number, number] = dil.length ? [dil[0], dil[dil.length - 1]] : [1, 1];
  if (dilation[0] < 1 || dilation[1] < 1) schemaError(`dilation must be at least 1, got [${dilation.join(', ')}]`, w);
  return {
    numOutput,
    biasTerm: bool(p, 'bias_term', true),
    kernel: convPair(p, 'kernel_size', undefined, 1, w),
    stride: convPair(p, 'stride', 1, 1, w),
    pad: convPair(p, 'pad', 0, 0, w),
    dilation,
    group,
    axis: canonicalAxis(num(p, 'axis', 1), rankOf(b), 'axis', w),
  };
}

/** Pooling's single `kernel_size`/`pad`/`stride` or both of the `_h`/`_w` forms. */
function poolPair(p: Raw, base: string, dflt: number | undefined, w: Where): [number, number] | undefined {
  const single = base === 'kernel' ? 'kernel_size' : base;
  const hasS = p[single] !== undefined;
  const hasH = p[`${base}_h`] !== undefined;
  const hasW = p[`${base}_w`] !== undefined;
  if (hasS && (hasH || hasW)) schemaError(`give either ${single} or ${base}_h and ${base}_w, not both`, w);
  if (hasH !== hasW) schemaError(`${base}_h and ${base}_w must be given together`, w);
  if (hasS) return [num(p, single, 0), num(p, single, 0)];
  if (hasH) return [num(p, `${base}_h`, 0), num(p, `${base}_w`, 0)];
  return dflt === undefined ? undefined : [dflt, dflt];
}

function pooling(p: Raw, bottoms: Shapes, w: Where): T.PoolingParams {
  const pool = (p.pool as string | undefined) ?? 'MAX';
  if (pool !== 'MAX' && pool !== 'AVE' && pool !== 'STOCHASTIC') schemaError(`unknown pooling method ${String(pool)}`, w);
  const globalPooling = bool(p, 'global_pooling', false);
  const roundMode = ((p.round_mode as string | undefined) ?? 'CEIL') as 'CEIL' | 'FLOOR';
  const pad = poolPair(p, 'pad', 0, w)!;
  const stride = poolPair(p, 'stride', 1, w)!;
  let kernel = poolPair(p, 'kernel', undefined, w);
  if (globalPooling) {
    if (kernel) schemaError(`global_pooling takes the whole input; do not give a kernel size`, w);
    if (pad[0] || pad[1] || stride[0] !== 1 || stride[1] !== 1) schemaError(`global_pooling needs pad 0 and stride 1`, w);
    const b = bottoms[0];
    // The kernel is the input's spatial size (0 while unknown).
    kernel = b && b.length === 4 ? [b[2], b[3]] : [0, 0];
  } else {
    if (!kernel) schemaError(`pooling_param needs kernel_size (or kernel_h and kernel_w) or global_pooling`, w);
    if (kernel[0] < 1 || kernel[1] < 1) schemaError(`kernel size must be positive, got [${kernel.join(', ')}]`, w);
  }
  if (stride[0] < 1 || stride[1] < 1) schemaError(`stride must be positive, got [${stride.join(', ')}]`, w);
  if ((pad[0] || pad[1]) && !globalPooling) {
    if (pool === 'STOCHASTIC') schemaError(`padding is only implemented for MAX and AVE pooling`, w);
    if (pad[0] >= kernel[0] || pad[1] >= kernel[1]) schemaError(`pad [${pad.join(', ')}] must be smaller than the kernel [${kernel.join(', ')}]`, w);
  }
  return { pool, kernel, stride, pad, globalPooling, roundMode };
}

function innerProduct(p: Raw, bottoms: Shapes, w: Where): T.InnerProductParams {
  const numOutput = num(p, 'num_output', 0);
  if (numOutput < 1) schemaError(`inner_product_param.num_output must be given and positive`, w);
  return {
    numOutput,
    biasTerm: bool(p, 'bias_term', true),
    axis: canonicalAxis(num(p, 'axis', 1), rankOf(bottoms), 'axis', w),
    transpose: bool(p, 'transpose', false),
  };
}

function lrn(p: Raw, _b: Shapes, w: Where): T.LRNParams {
  const localSize = num(p, 'local_size', 5);
  if (localSize < 1 || localSize % 2 !== 1) schemaError(`LRN local_size must be a positive odd number, got ${localSize}`, w);
  const alpha = f32(num(p, 'alpha', 1));
  const beta = f32(num(p, 'beta', 0.75));
  const k = f32(num(p, 'k', 1));
  // The LRN divides by (k + alpha/n * sum x^2)^beta: with k > 0 and alpha >= 0 the base is
  // positive for every input, so the output is finite; anything else gives NaN or Inf.
  if (!Number.isFinite(alpha) || alpha < 0) schemaError(`LRN alpha must be a finite number >= 0, got ${alpha}`, w);
  if (!Number.isFinite(beta)) schemaError(`LRN beta must be a finite number, got ${beta}`, w);
  if (!Number.isFinite(k) || k <= 0) schemaError(`LRN k must be a finite number > 0, got ${k}`, w);
  return {
    localSize,
    alpha,
    beta,
    k,
    normRegion: ((p.norm_region as string | undefined) ?? 'ACROSS_CHANNELS') as T.LRNParams['normRegion'],
  };
}

function dropout(p: Raw, _b: Shapes, w: Where): T.DropoutParams {
  const dropoutRatio = f32(num(p, 'dropout_ratio', 0.5));
  if (!(dropoutRatio >= 0 && dropoutRatio < 1)) schemaError(`dropout_ratio must be in [0, 1), got ${dropoutRatio}`, w);
  return { dropoutRatio };
}

/** Concat and Slice accept the legacy *_dim field instead of axis (not both). */
function axisOrLegacy(p: Raw, legacy: string, bottoms: Shapes, w: Where): number {
  if (p[legacy] !== undefined && p.axis !== undefined) schemaError(`give either axis or ${legacy}, not both`, w);
  const axis = p[legacy] !== undefined ? num(p, legacy, 1) : num(p, 'axis', 1);
  return canonicalAxis(axis, rankOf(bottoms), 'axis', w);
}

function slice(p: Raw, bottoms: Shapes, w: Where): T.SliceParams {
  const slicePoints = [...list(p, 'slice_point')];
  for (let i = 1; i < slicePoints.length; i++) {
    if (slicePoints[i] <= slicePoints[i - 1]) schemaError(`slice_point values must increase, got [${slicePoints.join(', ')}]`, w);
  }
  return { axis: axisOrLegacy(p, 'slice_dim', bottoms, w), slicePoints };
}

function flatten(p: Raw, bottoms: Shapes, w: Where): T.FlattenParams {
  const rank = rankOf(bottoms);
  return {
    axis: canonicalAxis(num(p, 'axis', 1), rank, 'axis', w),
    endAxis: canonicalAxis(num(p, 'end_axis', -1), rank, 'end_axis', w),
  };
}

function reshape(p: Raw, _b: Shapes, w: Where): T.ReshapeParams {
  const shape = [...(((p.shape as Raw | undefined)?.dim as number[] | undefined) ?? [])];
  if (shape.filter((d) => d === -1).length > 1) schemaError(`reshape_param.shape may contain -1 only once`, w);
  if (shape.some((d) => !Number.isInteger(d) || d < -1)) schemaError(`reshape_param.shape has an invalid dimension: [${shape.join(', ')}]`, w);
  const numAxes = num(p, 'num_axes', -1);
  if (numAxes < -1) schemaError(`reshape_param.num_axes must be -1 or more, got ${numAxes}`, w);
  return { shape, axis: num(p, 'axis', 0), numAxes };
}

function eltwise(p: Raw, bottoms: Shapes, w: Where): T.EltwiseParams {
  const operation = ((p.operation as string | undefined) ?? 'SUM') as T.EltwiseParams['operation'];
  const given = list(p, 'coeff');
  if (given.length && operation !== 'SUM') schemaError(`eltwise coefficients are only allowed for SUM`, w);
  if (given.length && given.length !== bottoms.length) {
    schemaError(`eltwise has ${bottoms.length} bottoms but ${given.length} coefficients`, w);
  }
  return { operation, coeff: given.length ? given.map(f32) : bottoms.map(() => 1) };
}

function batchNorm(p: Raw): T.BatchNormParams {
  // In TEST phase Caffe's default is to use the stored statistics.
  return {
    useGlobalStats: bool(p, 'use_global_stats', true),
    eps: f32(num(p, 'eps', 1e-5)),
    movingAverageFraction: f32(num(p, 'moving_average_fraction', 0.999)),
  };
}

function scaleOrBias(p: Raw, bottoms: Shapes, w: Where): { axis: number; numAxes: number } {
  const numAxes = num(p, 'num_axes', 1);
  if (numAxes < -1) schemaError(`num_axes must be -1 or more, got ${numAxes}`, w);
  return { axis: canonicalAxis(num(p, 'axis', 1), rankOf(bottoms), 'axis', w), numAxes };
}

function permute(p: Raw, bottoms: Shapes, w: Where): T.PermuteParams {
  const given = list(p, 'order');
  const rank = rankOf(bottoms);
  if (new Set(given).size !== given.length) schemaError(`permute_param.order repeats an axis: [${given.join(', ')}]`, w);
  if (rank === undefined) return { order: [...given] };
  if (given.some((a) => a >= rank)) schemaError(`permute_param.order [${given.join(', ')}] names an axis beyond the input's ${rank}`, w);
  // Axes not named keep their relative order after the named ones (SSD fork semantics).
  const order = [...given];
  for (let a = 0; a < rank; a++) if (!order.includes(a)) order.push(a);
  return { order };
}

const empty = (): T.EmptyParams => ({});

/** Per type: the *_param field and its normaliser. */
const NORMALISERS: Record<keyof T.LayerParamsByType, [string | undefined, Normaliser]> = {
  Convolution: ['convolution_param', convolution],
  InnerProduct: ['inner_product_param', innerProduct],
  Pooling: ['pooling_param', pooling],
  LRN: ['lrn_param', lrn],
  ReLU: ['relu_param', (p) => ({ negativeSlope: f32(num(p, 'negative_slope', 0)) })],
  PReLU: ['prelu_param', (p) => ({ channelShared: bool(p, 'channel_shared', false) })],
  Softmax: ['softmax_param', (p, b, w) => ({ axis: canonicalAxis(num(p, 'axis', 1), rankOf(b), 'axis', w) })],
  Dropout: ['dropout_param', dropout],
  Concat: ['concat_param', (p, b, w) => ({ axis: axisOrLegacy(p, 'concat_dim', b, w) })],
  Slice: ['slice_param', slice],
  Split: [undefined, empty],
  Flatten: ['flatten_param', flatten],
  Reshape: ['reshape_param', reshape],
  Eltwise: ['eltwise_param', eltwise],
  BatchNorm: ['batch_norm_param', batchNorm],
  Scale: ['scale_param', (p, b, w) => ({ ...scaleOrBias(p, b, w), biasTerm: bool(p, 'bias_term', false) })],
  Bias: ['bias_param', scaleOrBias],
  TanH: [undefined, empty],
  Sigmoid: [undefined, empty],
  AbsVal: [undefined, empty],
  Power: [
    'power_param',
    (p) => ({ power: f32(num(p, 'power', 1)), scale: f32(num(p, 'scale', 1)), shift: f32(num(p, 'shift', 0)) }),
  ],
  Permute: ['permute_param', permute],
};

export function isNormalisedType(type: string): type is keyof T.LayerParamsByType {
  return Object.prototype.hasOwnProperty.call(NORMALISERS, type);
}

/** The Caffe field a known type reads its parameters from (undefined: it has none). */
export function paramFieldOf(type: keyof T.LayerParamsByType): string | undefined {
  return NORMALISERS[type][0];
}

export interface NormalisedParams {
  params: Record<string, unknown>;
  /** For pass-through types: the *_param field `params` was taken from. */
  rawParamName?: string;
}

export function normaliseParams(layer: LayerObject, type: string, bottoms: Shapes, where: Where): NormalisedParams {
  if (isNormalisedType(type)) {
    const [field, fn] = NORMALISERS[type];
    const raw = field ? ((layer[field] as Raw | undefined) ?? {}) : {};
    const w = { ...where, line: lineOf(raw) ?? where.line };
    return { params: fn(raw, bottoms, w) as Record<string, unknown> };
  }
  const field = rawParamField(layer);
  return field ? { params: layer[field] as Record<string, unknown>, rawParamName: field } : { params: {} };
}

/** For unknown types: the first *_param field, preferring the layer's own over transform/loss. */
function rawParamField(layer: LayerObject): string | undefined {
  const fields = Object.keys(layer).filter((k) => k.endsWith('_param') && layer[k] && typeof layer[k] === 'object');
  const own = fields.filter((k) => k !== 'transform_param' && k !== 'loss_param');
  return own[0] ?? fields[0];
}
