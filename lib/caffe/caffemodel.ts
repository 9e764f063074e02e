/**
 * Decodes binary NetParameter files (.caffemodel, V2 `layer` and V1 `layers`) and
 * BlobProto files (.binaryproto).
 *
 * Weight files reach hundreds of MB, so we walk the wire format down to the blobs
 * ourselves: float data is copied straight from the bytes into one Float32Array per
 * blob and never passes through a JS number array. Everything else in a layer (name,
 * type, *_param messages, ...) is small and decoded by protobufjs from the layer's
 * bytes with the blob fields cut out.
 */
import * as os from 'os';
import { CaffeLrpError } from '../errors';
import { caffeType } from './schema';
import { WireReader, WireContext, WIRE_FIXED32, WIRE_FIXED64, WIRE_LENGTH, WIRE_VARINT } from './wire';
import {
  DecodedBlob,
  LayerObject,
  NetParameterObject,
  V1LayerObject,
  countOf,
  shapeString,
} from './proto-objects';

const NET_LAYER_V2 = 100;
const NET_LAYERS_V1 = 2;
const V2_NAME = 1;
const V2_BLOBS = 7;
const V1_V0LAYER = 1;
const V1_NAME = 4;
const V1_BLOBS = 6;

const BLOB_NUM = 1;
const BLOB_CHANNELS = 2;
const BLOB_HEIGHT = 3;
const BLOB_WIDTH = 4;
const BLOB_DATA = 5;
const BLOB_SHAPE = 7;
const BLOB_DOUBLE_DATA = 8;
const SHAPE_DIM = 1;

const LITTLE_ENDIAN_HOST = os.endianness() === 'LE';

const TO_OBJECT = { enums: String, longs: Number, defaults: false } as const;

/**
 * Decodes a whole .caffemodel. Blobs of every layer come back as DecodedBlob.
 * With `reuseBuffer` (only for a buffer nobody else holds, e.g. just read from a file), large
 * float blobs become views into `buf` instead of copies: their bytes are moved in place to a
 * 4-byte boundary, which overwrites the few tag bytes in front of them. No second copy of
 * a model of hundreds of MB.
 */
export function decodeCaffemodel(buf: Uint8Array, file = '<caffemodel>', options: { reuseBuffer?: boolean } = {}): NetParameterObject {
  const reuse = options.reuseBuffer === true;
  const r = new WireReader(buf, { file });
  const rest: Uint8Array[] = [];
  const layer: LayerObject[] = [];
  const layers: V1LayerObject[] = [];
  while (!r.done) {
    const fieldStart = r.pos;
    const [field, wire] = r.tag();
    if ((field === NET_LAYER_V2 || field === NET_LAYERS_V1) && wire !== WIRE_LENGTH) {
      throw new CaffeLrpError(
        'DECODE',
        `field ${field} ('${field === NET_LAYER_V2 ? 'layer' : 'layers'}') at byte offset ${fieldStart} has wire type ${wire}, ` +
          'but a layer is a length-delimited message: the file is corrupt or not a caffemodel',
        { file },
      );
    }
    if (field === NET_LAYER_V2 || field === NET_LAYERS_V1) {
      const [s, e] = r.lengthDelimited();
      if (field === NET_LAYER_V2) layer.push(decodeLayer(buf, s, e, 'V2', file, layer.length, reuse));
      else layers.push(decodeLayer(buf, s, e, 'V1', file, layers.length, reuse) as V1LayerObject);
    } else {
      r.skip(wire);
      rest.push(buf.subarray(fieldStart, r.pos));
    }
  }
  const net = protobufDecode('NetParameter', rest, { file }, 0, 'net header fields') as NetParameterObject;
  if (layer.length) net.layer = layer;
  if (layers.length) net.layers = layers;
  return net;
}

/** Decodes a .binaryproto file: a single BlobProto at top level. */
export function decodeBlobProtoFile(buf: Uint8Array, file = '<binaryproto>'): DecodedBlob {
  return decodeBlob(buf, 0, buf.length, { file }, undefined, false);
}

function decodeLayer(
  buf: Uint8Array,
  start: number,
  end: number,
  version: 'V1' | 'V2',
  file: string,
  index: number,
  reuse: boolean,
): LayerObject {
  const blobField = version === 'V2' ? V2_BLOBS : V1_BLOBS;
  const nameField = version === 'V2' ? V2_NAME : V1_NAME;
  const ctx: WireContext = { file };
  const r = new WireReader(buf, ctx, start, end);
  const blobRanges: [number, number][] = [];
  const rest: Uint8Array[] = [];
  // First pass: only ranges, so the layer name is known before any blob can fail.
  while (!r.done) {
    const fieldStart = r.pos;
    const [field, wire] = r.tag();
    if (field === blobField && wire === WIRE_LENGTH) {
      blobRanges.push(r.lengthDelimited());
      continue;
    }
    if (version === 'V1' && field === V1_V0LAYER && wire === WIRE_LENGTH) {
      throw new CaffeLrpError(
        'UNSUPPORTED',
        `layer ${index} is in the pre-2014 V0 format (layers { layer { ... } }); ` +
          `convert the file with a Caffe of 2015 or later (upgrade_net_proto_binary) first`,
        { file },
      );
    }
    if (field === nameField && wire === WIRE_LENGTH) {
      const [s, e] = r.lengthDelimited();
      ctx.layer = Buffer.from(buf.buffer, buf.byteOffset + s, e - s).toString('utf8');
    } else {
      r.skip(wire);
    }
    rest.push(buf.subarray(fieldStart, r.pos));
  }
  const typeName = version === 'V2' ? 'LayerParameter' : 'V1LayerParameter';
  const obj = protobufDecode(typeName, rest, ctx, start, `fields of layer ${index}`) as LayerObject;
  if (blobRanges.length) obj.blobs = blobRanges.map(([s, e], i) => decodeBlob(buf, s, e, ctx, i, reuse));
  return obj;
}

/** One run of float values: a packed byte range or a single non-packed value. */
type FloatRun = { kind: 'f32'; start: number; end: number } | { kind: 'f64'; start: number; end: number };

function decodeBlob(buf: Uint8Array, start: number, end: number, ctx: WireContext, index: number | undefined, reuse: boolean): DecodedBlob {
  const r = new WireReader(buf, ctx, start, end);
  const legacy: number[] = [0, 0, 0, 0];
  let hasLegacy = false;
  const dims: number[] = [];
  let hasShape = false;
  const floatRuns: FloatRun[] = [];
  const doubleRuns: FloatRun[] = [];
  const what = index === undefined ? 'blob' : `blob ${index}`;
  while (!r.done) {
    const at = r.pos;
    const [field, wire] = r.tag();
    if (field >= BLOB_NUM && field <= BLOB_WIDTH && wire === WIRE_VARINT) {
      legacy[field - 1] = r.smallUint(`${what}: legacy dimension`);
      hasLegacy = true;
    } else if (field === BLOB_DATA) {
      readFloatRun(r, wire, 4, floatRuns, `${what}: data`, at);
    } else if (field === BLOB_DOUBLE_DATA) {
      readFloatRun(r, wire, 8, doubleRuns, `${what}: double_data`, at);
    } else if (field === BLOB_SHAPE && wire === WIRE_LENGTH) {
      const [s, e] = r.lengthDelimited();
      readShape(new WireReader(buf, ctx, s, e), dims, what);
      hasShape = true;
    } else {
      r.skip(wire);
    }
  }
  // Caffe prefers the legacy dims when any of them is present, and double_data when non-empty.
  const shape = hasLegacy ? legacy : hasShape ? dims : [];
  const runs = doubleRuns.length ? doubleRuns : floatRuns;
  const data = reuse ? viewOrCopyRuns(buf, runs) : copyRuns(buf, runs);
  const expected = countOf(shape);
  if (expected !== data.length) {
    throw new CaffeLrpError(
      'SHAPE',
      `${what} has ${data.length} values but its shape ${shapeString(shape)} needs ${expected}`,
      { file: ctx.file, layer: ctx.layer },
    );
  }
  return { shape, legacy: hasLegacy, data };
}

function readFloatRun(r: WireReader, wire: number, size: 4 | 8, runs: FloatRun[], what: string, at: number): void {
  const kind = size === 4 ? 'f32' : 'f64';
  if (wire === WIRE_LENGTH) {
    const [s, e] = r.lengthDelimited();
    if ((e - s) % size !== 0) r.fail(`${what}: packed length ${e - s} is not a multiple of ${size}`, at);
    runs.push({ kind, start: s, end: e });
  } else if ((size === 4 && wire === WIRE_FIXED32) || (size === 8 && wire === WIRE_FIXED64)) {
    const s = r.advance(size);
    // Consecutive non-packed values are contiguous except for their tags; merge cheaply.
    runs.push({ kind, start: s, end: s + size });
  } else {
    r.fail(`${what}: unexpected wire type ${wire}`, at);
  }
}

function readShape(r: WireReader, dims: number[], what: string): void {
  while (!r.done) {
    const [field, wire] = r.tag();
    if (field === SHAPE_DIM && wire === WIRE_LENGTH) {
      const [s, e] = r.lengthDelimited();
      const inner = new WireReader(r.buf, r.ctx, s, e);
      while (!inner.done) dims.push(readDim(inner, what));
    } else if (field === SHAPE_DIM && wire === WIRE_VARINT) {
      dims.push(readDim(r, what));
    } else {
      r.skip(wire);
    }
  }
}

/** A dim is an int64; negative or absurd values mean a corrupt file. */
function readDim(r: WireReader, what: string): number {
  const at = r.pos;
  const v = r.varint();
  if (v > 0x7fffffff) r.fail(`${what}: shape dimension out of range (${v > 2 ** 62 ? 'negative' : v})`, at);
  return v;
}

/** Blobs below this many values are copied even when the buffer may be reused. */
const VIEW_MIN_VALUES = 4096;

/**
 * One packed float32 run (how Caffe writes blobs), when large: moved down to the nearest
 * 4-byte boundary of the underlying buffer (into its own tag and length bytes, already read)
 * and returned as a view. Anything else is copied.
 */
function viewOrCopyRuns(buf: Uint8Array, runs: FloatRun[]): Float32Array {
  const run = runs.length === 1 ? runs[0] : undefined;
  if (!LITTLE_ENDIAN_HOST || run === undefined || run.kind !== 'f32' || (run.end - run.start) / 4 < VIEW_MIN_VALUES) return copyRuns(buf, runs);
  const misalignment = (buf.byteOffset + run.start) % 4;
  if (misalignment !== 0) buf.copyWithin(run.start - misalignment, run.start, run.end);
  return new Float32Array(buf.buffer, buf.byteOffset + run.start - misalignment, (run.end - run.start) / 4);
}

function copyRuns(buf: Uint8Array, runs: FloatRun[]): Float32Array {
  let total = 0;
  for (const run of runs) total += (run.end - run.start) / (run.kind === 'f32' ? 4 : 8);
  const out = new Float32Array(total);
  let k = 0;
  for (const run of runs) {
    if (run.kind === 'f32' && LITTLE_ENDIAN_HOST) {
      // Byte copy: the source offset need not be 4-aligned, so no Float32Array view on it.
      new Uint8Array(out.buffer, k * 4, run.end - run.start).set(buf.subarray(run.start, run.end));
      k += (run.end - run.start) / 4;
    } else {
      const view = new DataView(buf.buffer, buf.byteOffset + run.start, run.end - run.start);
      const size = run.kind === 'f32' ? 4 : 8;
      for (let off = 0; off < view.byteLength; off += size) {
        out[k++] = size === 4 ? view.getFloat32(off, true) : view.getFloat64(off, true);
      }
    }
  }
  return out;
}

/** protobufjs decode of the small non-blob fields; any failure becomes DECODE. */
/** protobufjs's reader errors in our words ("index out of range: 9 + 8 > 9" is a field running past the end). */
function protobufReason(e: unknown): string {
  const message = (e as Error).message ?? String(e);
  if (/^index out of range/.test(message)) return 'a field runs past the end of the data (the file is truncated or corrupt)';
  if (/invalid wire type/.test(message)) return `${message} (the file is corrupt or not a caffemodel)`;
  return message;
}

function protobufDecode(
  typeName: string,
  parts: Uint8Array[],
  ctx: WireContext,
  offset: number,
  what: string,
): Record<string, unknown> {
  const type = caffeType(typeName);
  try {
    const msg = type.decode(Buffer.concat(parts));
    return type.toObject(msg, TO_OBJECT);
  } catch (e) {
    throw new CaffeLrpError('DECODE', `cannot decode the ${what} (starting at byte offset ${offset}): ${protobufReason(e)}`, {
      file: ctx.file,
      layer: ctx.layer,
    });
  }
}
