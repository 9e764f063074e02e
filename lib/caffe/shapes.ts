/**
 * Output-shape inference and learned-blob shapes for the layer types caffe-lrp knows,
 * with Caffe's formulas (convolution/pooling output size incl. pooling's ceil mode and
 * padding clip rule, InnerProduct axis flattening, Reshape's 0/-1 dims, ...). Used to
 * check caffemodel weights against the prototxt and to report shape errors early.
 * Unknown layer types yield unknown (undefined) shapes and are not checked.
 */
import { CaffeLrpError } from '../errors';
import * as T from './netspec-types';
import { countOf, shapeString } from './proto-objects';
import { Where, schemaError } from './params';

type Shape = number[];
export type Shapes = (Shape | undefined)[];
type P = Record<string, unknown>;

function shapeError(message: string, w: Where): never {
  throw new CaffeLrpError('SHAPE', message, w);
}

function need4d(b: Shape, type: string, w: Where): void {
  if (b.length !== 4) shapeError(`${type} needs a 4-D (N, C, H, W) input, got ${shapeString(b)}`, w);
}

/** Caffe's convolution output size (floor division). */
export function convOutSize(input: number, kernel: number, pad: number, stride: number, dilation: number): number {
  const extent = dilation * (kernel - 1) + 1;
  return Math.floor((input + 2 * pad - extent) / stride) + 1;
}

/**
 * Caffe's pooling output size: ceil (default) or floor division, then, with padding,
 * the last window is dropped if it would start inside the padding.
 */
export function poolOutSize(input: number, kernel: number, pad: number, stride: number, mode: 'CEIL' | 'FLOOR'): number {
  const span = (input + 2 * pad - kernel) / stride;
  let out = (mode === 'CEIL' ? Math.ceil(span) : Math.floor(span)) + 1;
  if (pad > 0 && (out - 1) * stride >= input + pad) out--;
  return out;
}

function convolution(p: T.ConvolutionParams, b: Shape, w: Where): Shape {
  need4d(b, 'Convolution', w);
  if (p.axis !== 1) shapeError(`Convolution with axis ${p.axis} is not supported (only axis 1)`, w);
  const [n, c, h, wd] = b;
  if (c % p.group !== 0) schemaError(`input channels ${c} are not divisible by group ${p.group}`, w);
  const oh = convOutSize(h, p.kernel[0], p.pad[0], p.stride[0], p.dilation[0]);
  const ow = convOutSize(wd, p.kernel[1], p.pad[1], p.stride[1], p.dilation[1]);
  if (oh < 1 || ow < 1) shapeError(`input ${h}x${wd} is smaller than the (dilated) kernel: output would be ${oh}x${ow}`, w);
  return [n, p.numOutput, oh, ow];
}

function pooling(p: T.PoolingParams, b: Shape, w: Where): Shape {
  need4d(b, 'Pooling', w);
  const [n, c, h, wd] = b;
  if (p.globalPooling) return [n, c, 1, 1];
  const oh = poolOutSize(h, p.kernel[0], p.pad[0], p.stride[0], p.roundMode);
  const ow = poolOutSize(wd, p.kernel[1], p.pad[1], p.stride[1], p.roundMode);
  if (oh < 1 || ow < 1) shapeError(`input ${h}x${wd} (pad ${p.pad.join('x')}) is smaller than the kernel ${p.kernel.join('x')}`, w);
  return [n, c, oh, ow];
}

function innerProduct(p: T.InnerProductParams, b: Shape): Shape {
  return [...b.slice(0, p.axis), p.numOutput];
}

function concat(p: T.ConcatParams, bs: Shape[], w: Where): Shape {
  const out = [...bs[0]];
  for (let i = 1; i < bs.length; i++) {
    const b = bs[i];
    const fits = b.length === out.length && b.every((d, a) => a === p.axis || d === out[a]);
    if (!fits) shapeError(`bottom ${i} ${shapeString(b)} does not fit bottom 0 ${shapeString(bs[0])} outside axis ${p.axis}`, w);
    out[p.axis] += b[p.axis];
  }
  return out;
}

function slice(p: T.SliceParams, b: Shape, nTops: number, w: Where): Shape[] {
  const dim = b[p.axis];
  let sizes: number[];
  if (p.slicePoints.length) {
    if (p.slicePoints.length !== nTops - 1) shapeError(`${p.slicePoints.length} slice points need ${p.slicePoints.length + 1} tops, found ${nTops}`, w);
    const cuts = [0, ...p.slicePoints, dim];
    if (p.slicePoints[p.slicePoints.length - 1] >= dim || p.slicePoints[0] <= 0) {
      shapeError(`slice points [${p.slicePoints.join(', ')}] do not lie inside axis ${p.axis} of size ${dim}`, w);
    }
    sizes = cuts.slice(1).map((c, i) => c - cuts[i]);
  } else {
    if (dim % nTops !== 0) shapeError(`axis ${p.axis} of size ${dim} cannot be sliced evenly into ${nTops} tops`, w);
    sizes = Array.from({ length: nTops }, () => dim / nTops);
  }
  return sizes.map((s) => b.map((d, a) => (a === p.axis ? s : d)));
}

function flatten(p: T.FlattenParams, b: Shape, w: Where): Shape {
  if (p.endAxis < p.axis) shapeError(`flatten end_axis ${p.endAxis} lies before axis ${p.axis}`, w);
  return [...b.slice(0, p.axis), countOf(b.slice(p.axis, p.endAxis + 1)), ...b.slice(p.endAxis + 1)];
}

/** Caffe's Reshape: 0 copies the input dim at that position, one -1 is inferred. */
function reshape(p: T.ReshapeParams, b: Shape, w: Where): Shape {
  const rank = b.length;
  const start = p.axis >= 0 ? p.axis : rank + p.axis + 1;
  if (start < 0 || start > rank) shapeError(`reshape axis ${p.axis} is out of range for a ${rank}-axis input`, w);
  const end = p.numAxes === -1 ? rank : start + p.numAxes;
  if (end > rank) shapeError(`reshape axis ${p.axis} + num_axes ${p.numAxes} exceeds the input's ${rank} axes`, w);
  const middle = p.shape.map((d, i) => {
    if (d !== 0) return d;
    if (start + i >= rank) shapeError(`reshape dim ${i} is 0 (copy) but the input has no axis ${start + i}`, w);
    return b[start + i];
  });
  const out = [...b.slice(0, start), ...middle, ...b.slice(end)];
  const inferred = out.indexOf(-1, start);
  if (inferred >= 0 && inferred < start + middle.length) {
    const known = countOf(out.filter((_, i) => i !== inferred));
    if (known === 0 || countOf(b) % known !== 0) shapeError(`cannot infer the -1 dim: ${countOf(b)} values do not divide by ${known}`, w);
    out[inferred] = countOf(b) / known;
  }
  if (countOf(out) !== countOf(b)) shapeError(`reshape to ${shapeString(out)} changes the count of ${shapeString(b)}`, w);
  return out;
}

function eltwise(bs: Shape[], w: Where): Shape {
  if (bs.length < 2) shapeError(`Eltwise needs at least 2 bottoms, found ${bs.length}`, w);
  bs.forEach((b, i) => {
    if (b.length !== bs[0].length || b.some((d, a) => d !== bs[0][a])) {
      shapeError(`bottom ${i} ${shapeString(b)} differs from bottom 0 ${shapeString(bs[0])}`, w);
    }
  });
  return [...bs[0]];
}

function permute(p: T.PermuteParams, b: Shape, w: Where): Shape {
  if (p.order.length !== b.length) shapeError(`permute order [${p.order.join(', ')}] does not fit a ${b.length}-axis input`, w);
  return p.order.map((a) => b[a]);
}

/** Axes [axis, axis + numAxes) of b (numAxes -1: to the end), checked to exist. */
function axesSlice(b: Shape, axis: number, numAxes: number, w: Where): Shape {
  const end = numAxes === -1 ? b.length : axis + numAxes;
  if (end > b.length) shapeError(`axis ${axis} + num_axes ${numAxes} exceeds the input's ${b.length} axes`, w);
  return b.slice(axis, end);
}

/** Two-bottom Scale/Bias: bottom 1 must equal bottom 0's axes starting at `axis`. */
function checkSecondOperand(p: { axis: number }, bs: Shape[], w: Where): void {
  const [a, b] = bs;
  const part = a.slice(p.axis, p.axis + b.length);
  if (part.length !== b.length || part.some((d, i) => d !== b[i])) {
    const sameShape = a.length === b.length && a.every((d, i) => d === b[i]);
    shapeError(
      `bottom 1 ${shapeString(b)} does not match bottom 0 ${shapeString(a)} from axis ${p.axis}` +
        (sameShape && p.axis !== 0 ? ' (for two blobs of the same shape Caffe needs axis: 0)' : '') +
        '; note that caffe-lrp can read but not run the two-input form of Scale/Bias (factors from a second blob)',
      w,
    );
  }
}

const SAME_SHAPE = new Set([
  'ReLU', 'PReLU', 'Softmax', 'Dropout', 'LRN', 'BatchNorm', 'TanH', 'Sigmoid', 'AbsVal', 'Power',
  // Element-wise types we pass through to the engine unnormalised; their shape is still known.
  'ELU', 'BNLL', 'Exp', 'Log', 'Threshold', 'Clip', 'Swish', 'MVN',
]);

/**
 * Top shapes of a layer, or undefined entries where unknown (unknown type or unknown
 * bottom shape). Throws SHAPE/SCHEMA errors for inputs the layer cannot take.
 */
export function inferTopShapes(type: string, params: P, bottoms: Shapes, nTops: number, w: Where): Shapes {
  const unknown: Shapes = Array.from({ length: nTops }, () => undefined);
  if (bottoms.length === 0 || bottoms.some((b) => b === undefined)) return unknown;
  const bs = bottoms as Shape[];
  const b = bs[0];
  const all = (s: Shape): Shapes => Array.from({ length: nTops }, () => [...s]);
  if (SAME_SHAPE.has(type)) {
    if (type === 'LRN') need4d(b, 'LRN', w);
    return all(b);
  }
  switch (type) {
    case 'Convolution':
      return bs.map((x) => convolution(params as unknown as T.ConvolutionParams, x, w));
    case 'Pooling':
      return all(pooling(params as unknown as T.PoolingParams, b, w));
    case 'InnerProduct':
      return all(innerProduct(params as unknown as T.InnerProductParams, b));
    case 'Concat':
      return all(concat(params as unknown as T.ConcatParams, bs, w));
    case 'Slice':
      return slice(params as unknown as T.SliceParams, b, nTops, w);
    case 'Split':
      return all(b);
    case 'Flatten':
      return all(flatten(params as unknown as T.FlattenParams, b, w));
    case 'Reshape':
      return all(reshape(params as unknown as T.ReshapeParams, b, w));
    case 'Eltwise':
      return all(eltwise(bs, w));
    case 'Scale':
    case 'Bias':
      if (bs.length > 1) checkSecondOperand(params as { axis: number }, bs, w);
      return all(b);
    case 'Permute':
      return all(permute(params as unknown as T.PermuteParams, b, w));
    default:
      return unknown;
  }
}

/** How many learned blobs a layer has in Caffe (undefined: unknown type, not checked). */
export function expectedBlobCount(type: string, params: P, nBottoms: number): number | undefined {
  switch (type) {
    case 'Convolution':
    case 'InnerProduct':
      return (params as { biasTerm: boolean }).biasTerm ? 2 : 1;
    case 'PReLU':
      return 1;
    case 'BatchNorm':
      return 3;
    case 'Scale':
      return (nBottoms === 1 ? 1 : 0) + ((params as { biasTerm: boolean }).biasTerm ? 1 : 0);
    case 'Bias':
      return nBottoms === 1 ? 1 : 0;
    default:
      return SAME_SHAPE.has(type) || isShapeOnlyType(type) ? 0 : undefined;
  }
}

function isShapeOnlyType(type: string): boolean {
  return ['Pooling', 'Concat', 'Slice', 'Split', 'Flatten', 'Reshape', 'Eltwise', 'Permute'].includes(type);
}

/** Shapes of the learned blobs, in Caffe's order (undefined while the input shape is unknown). */
export function expectedBlobShapes(type: string, params: P, bottoms: Shapes, w: Where): Shape[] | undefined {
  const b = bottoms[0];
  if (!b) return expectedBlobCount(type, params, bottoms.length) === 0 ? [] : undefined;
  switch (type) {
    case 'Convolution': {
      const p = params as unknown as T.ConvolutionParams;
      const weights = [p.numOutput, b[1] / p.group, p.kernel[0], p.kernel[1]];
      return p.biasTerm ? [weights, [p.numOutput]] : [weights];
    }
    case 'InnerProduct': {
      const p = params as unknown as T.InnerProductParams;
      const k = countOf(b.slice(p.axis));
      const weights = p.transpose ? [k, p.numOutput] : [p.numOutput, k];
      return p.biasTerm ? [weights, [p.numOutput]] : [weights];
    }
    case 'PReLU': {
      if (b.length < 2) shapeError(`PReLU needs an input with a channel axis, got ${shapeString(b)}`, w);
      // A shared slope is a 0-axis (scalar) blob in Caffe.
      return (params as unknown as T.PReLUParams).channelShared ? [[]] : [[b[1]]];
    }
    case 'BatchNorm': {
      const c = b.length === 1 ? 1 : b[1];
      return [[c], [c], [1]];
    }
    case 'Scale': {
      const p = params as unknown as T.ScaleParams;
      const operand = bottoms.length > 1 ? bottoms[1] : axesSlice(b, p.axis, p.numAxes, w);
      if (!operand) return undefined;
      const own = bottoms.length > 1 ? [] : [operand];
      return p.biasTerm ? [...own, [...operand]] : own;
    }
    case 'Bias': {
      const p = params as unknown as T.BiasParams;
      return bottoms.length > 1 ? [] : [axesSlice(b, p.axis, p.numAxes, w)];
    }
    default:
      return expectedBlobCount(type, params, bottoms.length) === 0 ? [] : undefined;
  }
}

/** [min bottoms, max bottoms, min tops, max tops] per known type (Caffe's ExactNum/Min/Max checks). */
const ARITY: Record<string, [number, number, number, number]> = {
  InnerProduct: [1, 1, 1, 1],
  Pooling: [1, 1, 1, 2],
  Concat: [1, Infinity, 1, 1],
  Slice: [1, 1, 1, Infinity],
  Split: [1, 1, 1, Infinity],
  Eltwise: [2, Infinity, 1, 1],
  Scale: [1, 2, 1, 1],
  Bias: [1, 2, 1, 1],
  Flatten: [1, 1, 1, 1],
  Reshape: [1, 1, 1, 1],
  Permute: [1, 1, 1, 1],
};

export function checkArity(type: string, nBottoms: number, nTops: number, w: Where): void {
  let range = ARITY[type];
  if (type === 'Convolution') {
    // Convolution maps each bottom to its own top with shared weights.
    if (nBottoms < 1 || nTops !== nBottoms) schemaError(`Convolution needs as many tops as bottoms (at least 1), found ${nBottoms} bottoms and ${nTops} tops`, w);
    return;
  }
  if (!range && SAME_SHAPE.has(type) && !['ELU', 'BNLL', 'Exp', 'Log', 'Threshold', 'Clip', 'Swish', 'MVN'].includes(type)) range = [1, 1, 1, 1];
  if (!range) return;
  const [minB, maxB, minT, maxT] = range;
  const span = (lo: number, hi: number): string => (lo === hi ? `${lo}` : hi === Infinity ? `at least ${lo}` : `${lo} to ${hi}`);
  if (nBottoms < minB || nBottoms > maxB) schemaError(`${type} takes ${span(minB, maxB)} bottom(s), found ${nBottoms}`, w);
  if (nTops < minT || nTops > maxT) schemaError(`${type} produces ${span(minT, maxT)} top(s), found ${nTops}`, w);
}
