/**
 * NetSpec → Caffe files: a V2 .caffemodel (blobs with `shape` and packed float data,
 * assembled in one Buffer) and a deploy .prototxt. Split layers that Caffe inserts by
 * itself are left out of both (their readers get the original blob names back), since
 * Caffe re-inserts them when it loads the files. Parameters are written back under
 * Caffe's field names, leaving out values equal to Caffe's defaults.
 */
import * as os from 'os';
import { CaffeLrpError } from '../errors';
import * as T from './netspec-types';
import { caffeType } from './schema';
import { printTextFormat } from './textformat';
import { varintSize, writeVarint } from './wire';
import { isNormalisedType, paramFieldOf } from './params';

type Obj = Record<string, unknown>;

export interface PrototxtOptions {
  /**
   * How inputs are declared: `input` + `input_shape` (default; the LRP Caffe fork reads
   * it), an `Input` layer per input (current Caffe), or the legacy `input_dim` (4-D only).
   */
  inputStyle?: 'input_shape' | 'Input' | 'input_dim';
}

// ---------------------------------------------------------------------------------------
// Layers as Caffe objects
// ---------------------------------------------------------------------------------------

/**
 * Parameters the engine has for ONNX models and Caffe's schema has not (asymmetric padding,
 * ONNX's pooling divisor and last-window rule, log-softmax): a net using them cannot be
 * written as Caffe files without changing what it computes, so it is refused, never
 * written without them.
 */
function refuseNonCaffeParams(l: T.LayerSpec): void {
  const p = (l.params ?? {}) as { pad?: [number, number]; padEnd?: [number, number]; excludePad?: boolean; lastWindowInside?: boolean; log?: boolean };
  const bad: string[] = [];
  if (p.padEnd && (!p.pad || p.padEnd[0] !== p.pad[0] || p.padEnd[1] !== p.pad[1])) bad.push(`padEnd [${p.padEnd.join(', ')}] (asymmetric padding)`);
  if (p.excludePad) bad.push('excludePad (average pooling that does not count the padding)');
  if (p.lastWindowInside) bad.push("lastWindowInside (ONNX's ceil-mode last-window rule)");
  if (p.log) bad.push('log (log-softmax)');
  if (bad.length)
    throw new CaffeLrpError('UNSUPPORTED', `layer '${l.name}' (${l.type}) uses ${bad.join(', ')}, which Caffe's schema cannot express; this net cannot be written as Caffe files`);
}

/** The layers to write: without inserted Splits, their readers pointed back at the original blob. */
export function writtenLayers(spec: T.NetSpec): T.LayerSpec[] {
  spec.layers.forEach(refuseNonCaffeParams);
  const original = new Map<string, string>();
  for (const l of spec.layers) if (l.inserted) for (const t of l.tops) original.set(t, l.bottoms[0]);
  return spec.layers
    .filter((l) => !l.inserted)
    .map((l) => ({ ...l, bottoms: l.bottoms.map((b) => original.get(b) ?? b) }));
}

/** A LayerParameter object (no blobs) for one layer. */
export function layerObject(l: T.LayerSpec): Obj {
  const obj: Obj = { name: l.name, type: l.type };
  if (l.bottoms.length) obj.bottom = [...l.bottoms];
  if (l.tops.length) obj.top = [...l.tops];
  const param = paramObject(l);
  if (param) obj[param[0]] = param[1];
  return obj;
}

/** [field name, message object] of the layer's *_param, or undefined when it has none to write. */
export function paramObject(l: T.LayerSpec): [string, Obj] | undefined {
  if (!isNormalisedType(l.type)) {
    return l.rawParamName ? [l.rawParamName, l.params as Obj] : undefined;
  }
  const field = paramFieldOf(l.type);
  if (!field) return undefined;
  const obj = PARAM_WRITERS[l.type](l.params as never);
  return Object.keys(obj).length ? [field, obj] : undefined;
}

/** Sets obj[key] = value unless value equals Caffe's default. */
function put(obj: Obj, key: string, value: unknown, dflt?: unknown): void {
  if (value !== dflt) obj[key] = value;
}

/** Convolution's repeated pair fields: one value when h == w, else the _h/_w form. */
function convPair(obj: Obj, base: string, pair: [number, number], dflt: number | undefined): void {
  const list = base === 'kernel' ? 'kernel_size' : base;
  if (pair[0] === pair[1]) {
    if (pair[0] !== dflt) obj[list] = [pair[0]];
  } else {
    obj[`${base}_h`] = pair[0];
    obj[`${base}_w`] = pair[1];
  }
}

function poolPair(obj: Obj, base: string, pair: [number, number], dflt: number | undefined): void {
  const single = base === 'kernel' ? 'kernel_size' : base;
  if (pair[0] === pair[1]) put(obj, single, pair[0], dflt);
  else {
    obj[`${base}_h`] = pair[0];
    obj[`${base}_w`] = pair[1];
  }
}

const f32 = Math.fround;

const PARAM_WRITERS: { [K in keyof T.LayerParamsByType]: (p: T.LayerParamsByType[K]) => Obj } = {
  Convolution: (p) => {
    const o: Obj = { num_output: p.numOutput };
    put(o, 'bias_term', p.biasTerm, true);
    convPair(o, 'pad', p.pad, 0);
    convPair(o, 'kernel', p.kernel, undefined);
    convPair(o, 'stride', p.stride, 1);
    if (p.dilation[0] !== 1 || p.dilation[1] !== 1) o.dilation = p.dilation[0] === p.dilation[1] ? [p.dilation[0]] : [...p.dilation];
    put(o, 'group', p.group, 1);
    put(o, 'axis', p.axis, 1);
    return o;
  },
  InnerProduct: (p) => {
    const o: Obj = { num_output: p.numOutput };
    put(o, 'bias_term', p.biasTerm, true);
    put(o, 'axis', p.axis, 1);
    put(o, 'transpose', p.transpose, false);
    return o;
  },
  Pooling: (p) => {
    const o: Obj = { pool: p.pool };
    if (!p.globalPooling) poolPair(o, 'kernel', p.kernel, undefined);
    poolPair(o, 'stride', p.stride, 1);
    poolPair(o, 'pad', p.pad, 0);
    put(o, 'global_pooling', p.globalPooling, false);
    // Only written when not the default: the LRP Caffe fork predates round_mode.
    put(o, 'round_mode', p.roundMode, 'CEIL');
    return o;
  },
  LRN: (p) => {
    const o: Obj = { local_size: p.localSize, alpha: p.alpha, beta: p.beta };
    put(o, 'norm_region', p.normRegion, 'ACROSS_CHANNELS');
    put(o, 'k', p.k, 1);
    return o;
  },
  ReLU: (p) => {
    const o: Obj = {};
    put(o, 'negative_slope', p.negativeSlope, 0);
    return o;
  },
  PReLU: (p) => {
    const o: Obj = {};
    put(o, 'channel_shared', p.channelShared, false);
    return o;
  },
  Softmax: (p) => {
    const o: Obj = {};
    put(o, 'axis', p.axis, 1);
    return o;
  },
  Dropout: (p) => ({ dropout_ratio: p.dropoutRatio }),
  Concat: (p) => {
    const o: Obj = {};
    put(o, 'axis', p.axis, 1);
    return o;
  },
  Slice: (p) => {
    const o: Obj = {};
    put(o, 'axis', p.axis, 1);
    if (p.slicePoints.length) o.slice_point = [...p.slicePoints];
    return o;
  },
  Split: () => ({}),
  Flatten: (p) => {
    const o: Obj = {};
    put(o, 'axis', p.axis, 1);
    put(o, 'end_axis', p.endAxis, -1);
    return o;
  },
  Reshape: (p) => {
    const o: Obj = { shape: { dim: [...p.shape] } };
    put(o, 'axis', p.axis, 0);
    put(o, 'num_axes', p.numAxes, -1);
    return o;
  },
  Eltwise: (p) => {
    const o: Obj = {};
    put(o, 'operation', p.operation, 'SUM');
    if (p.coeff.some((c) => c !== 1)) o.coeff = [...p.coeff];
    return o;
  },
  BatchNorm: (p) => {
    const o: Obj = {};
    put(o, 'use_global_stats', p.useGlobalStats, true);
    put(o, 'moving_average_fraction', p.movingAverageFraction, f32(0.999));
    put(o, 'eps', p.eps, f32(1e-5));
    return o;
  },
  Scale: (p) => {
    const o: Obj = {};
    put(o, 'axis', p.axis, 1);
    put(o, 'num_axes', p.numAxes, 1);
    put(o, 'bias_term', p.biasTerm, false);
    return o;
  },
  Bias: (p) => {
    const o: Obj = {};
    put(o, 'axis', p.axis, 1);
    put(o, 'num_axes', p.numAxes, 1);
    return o;
  },
  TanH: () => ({}),
  Sigmoid: () => ({}),
  AbsVal: () => ({}),
  Power: (p) => {
    const o: Obj = {};
    put(o, 'power', p.power, 1);
    put(o, 'scale', p.scale, 1);
    put(o, 'shift', p.shift, 0);
    return o;
  },
  Permute: (p) => ({ order: [...p.order] }),
};

// ---------------------------------------------------------------------------------------
// .prototxt
// ---------------------------------------------------------------------------------------

/** The deploy NetParameter object of a spec (what writePrototxt prints). */
export function netParameterObject(spec: T.NetSpec, opts: PrototxtOptions = {}): Obj {
  const style = opts.inputStyle ?? 'input_shape';
  const net: Obj = {};
  if (spec.name) net.name = spec.name;
  const inputLayers: Obj[] = [];
  if (style === 'Input') {
    for (const i of spec.inputs) {
      inputLayers.push({ name: i.name, type: 'Input', top: [i.name], input_param: { shape: [{ dim: [...i.shape] }] } });
    }
  } else if (spec.inputs.length) {
    net.input = spec.inputs.map((i) => i.name);
    if (style === 'input_dim') {
      for (const i of spec.inputs) {
        if (i.shape.length !== 4) {
          throw new CaffeLrpError('OPTION', `inputStyle 'input_dim' needs 4-D inputs; '${i.name}' is ${i.shape.length}-D`);
        }
      }
      net.input_dim = spec.inputs.flatMap((i) => i.shape);
    } else {
      net.input_shape = spec.inputs.map((i) => ({ dim: [...i.shape] }));
    }
  }
  net.layer = [...inputLayers, ...writtenLayers(spec).map(layerObject)];
  return net;
}

export function writePrototxt(spec: T.NetSpec, opts: PrototxtOptions = {}): string {
  return printTextFormat(netParameterObject(spec, opts), caffeType('NetParameter'));
}

// ---------------------------------------------------------------------------------------
// .caffemodel
// ---------------------------------------------------------------------------------------

const LE_HOST = os.endianness() === 'LE';
const TAG_NET_LAYER = 100 * 8 + 2; // NetParameter.layer
const TAG_LAYER_BLOBS = 7 * 8 + 2; // LayerParameter.blobs
const TAG_BLOB_DATA = 5 * 8 + 2; // BlobProto.data (packed)
const TAG_BLOB_SHAPE = 7 * 8 + 2; // BlobProto.shape
const TAG_SHAPE_DIM = 1 * 8 + 2; // BlobShape.dim (packed)

interface BlobPlan {
  blob: T.BlobData;
  dimsLen: number;
  shapeLen: number;
  blobLen: number;
}

function planBlob(blob: T.BlobData): BlobPlan {
  const dimsLen = blob.shape.reduce((n, d) => n + varintSize(d), 0);
  const shapeLen = dimsLen ? 1 + varintSize(dimsLen) + dimsLen : 0;
  const dataLen = blob.data.length * 4;
  const blobLen = 1 + varintSize(shapeLen) + shapeLen + (dataLen ? 1 + varintSize(dataLen) + dataLen : 0);
  return { blob, dimsLen, shapeLen, blobLen };
}

const fieldSize = (tag: number, len: number): number => varintSize(tag) + varintSize(len) + len;

/**
 * Serialises the spec with its weights as a V2 NetParameter. Everything but the blobs is
 * encoded by protobufjs (small); blob data is copied into the output Buffer directly.
 */
export function writeCaffemodel(spec: T.NetSpec): Buffer {
  const netType = caffeType('NetParameter');
  const layerType = caffeType('LayerParameter');
  const head = netParameterObject({ ...spec, layers: [] });
  delete head.layer;
  const headBytes = netType.encode(netType.fromObject(head)).finish();
  const layers = writtenLayers(spec).map((l) => {
    const bytes = layerType.encode(layerType.fromObject(layerObject(l))).finish();
    const blobs = l.blobs.map(planBlob);
    const len = bytes.length + blobs.reduce((n, b) => n + fieldSize(TAG_LAYER_BLOBS, b.blobLen), 0);
    return { bytes, blobs, len };
  });
  const total = headBytes.length + layers.reduce((n, l) => n + fieldSize(TAG_NET_LAYER, l.len), 0);
  const out = Buffer.allocUnsafe(total);
  out.set(headBytes, 0);
  let pos = headBytes.length;
  for (const l of layers) {
    pos = writeVarint(out, pos, TAG_NET_LAYER);
    pos = writeVarint(out, pos, l.len);
    out.set(l.bytes, pos);
    pos += l.bytes.length;
    for (const b of l.blobs) pos = writeBlob(out, pos, b);
  }
  if (pos !== total) throw new Error(`caffe-lrp internal error: caffemodel size ${pos} != planned ${total}`);
  return out;
}

function writeBlob(out: Buffer, pos: number, plan: BlobPlan): number {
  const { blob, dimsLen, shapeLen, blobLen } = plan;
  pos = writeVarint(out, pos, TAG_LAYER_BLOBS);
  pos = writeVarint(out, pos, blobLen);
  // An empty BlobShape (0-axis scalar blob) is still written so that it reads back as shape [].
  pos = writeVarint(out, pos, TAG_BLOB_SHAPE);
  pos = writeVarint(out, pos, shapeLen);
  if (dimsLen) {
    pos = writeVarint(out, pos, TAG_SHAPE_DIM);
    pos = writeVarint(out, pos, dimsLen);
    for (const d of blob.shape) pos = writeVarint(out, pos, d);
  }
  const n = blob.data.length;
  if (!n) return pos;
  pos = writeVarint(out, pos, TAG_BLOB_DATA);
  pos = writeVarint(out, pos, n * 4);
  if (LE_HOST) {
    out.set(new Uint8Array(blob.data.buffer, blob.data.byteOffset, n * 4), pos);
  } else {
    for (let i = 0; i < n; i++) out.writeFloatLE(blob.data[i], pos + 4 * i);
  }
  return pos + n * 4;
}
