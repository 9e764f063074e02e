/**
 * Decodes ONNX ModelProto files (see proto/onnx.proto for the fields we read). We walk the
 * wire format ourselves, like the caffemodel reader: tensor payloads are copied straight
 * from the bytes into one Float32Array each (never a JS number array), int64 values are
 * decoded exactly (shapes and axes are often -1), and every corrupt, truncated or
 * out-of-range input ends in a CaffeLrpError naming the file, the byte offset and, where
 * known, the node or tensor.
 */
import * as fs from 'fs';
import * as path from 'path';
import { CaffeLrpError } from '../errors';
import { WireReader, WireContext, WIRE_FIXED32, WIRE_FIXED64, WIRE_LENGTH, WIRE_VARINT } from '../caffe/wire';

/** TensorProto.DataType values we can read. */
export const DT = {
  FLOAT: 1, UINT8: 2, INT8: 3, UINT16: 4, INT16: 5, INT32: 6, INT64: 7, STRING: 8, BOOL: 9,
  FLOAT16: 10, DOUBLE: 11, UINT32: 12, UINT64: 13,
} as const;

const DT_NAMES: Record<number, string> = {
  0: 'UNDEFINED', 1: 'FLOAT', 2: 'UINT8', 3: 'INT8', 4: 'UINT16', 5: 'INT16', 6: 'INT32', 7: 'INT64', 8: 'STRING',
  9: 'BOOL', 10: 'FLOAT16', 11: 'DOUBLE', 12: 'UINT32', 13: 'UINT64', 14: 'COMPLEX64', 15: 'COMPLEX128', 16: 'BFLOAT16',
};

export function dataTypeName(t: number): string {
  return DT_NAMES[t] ?? `data type ${t}`;
}

/** The largest tensor we accept (elements): bounds every allocation a file can ask for. */
export const MAX_TENSOR_ELEMENTS = 2 ** 27;

export interface OnnxTensor {
  name: string;
  dims: number[];
  dataType: number;
  /** FLOAT and DOUBLE tensors (DOUBLE converted to float32). */
  floats?: Float32Array;
  /** Integer and BOOL tensors (int64 values beyond ±2^53 are refused). */
  ints?: number[];
}

export interface OnnxAttribute {
  name: string;
  type: number;
  f?: number;
  i?: number;
  s?: string;
  t?: OnnxTensor;
  floats?: number[];
  ints?: number[];
  /** Graph-valued attributes (control flow): we do not run them, only refuse them. */
  hasGraph?: boolean;
}

export interface OnnxNode {
  index: number;
  name: string;
  opType: string;
  domain: string;
  inputs: string[];
  outputs: string[];
  attributes: Map<string, OnnxAttribute>;
}

export interface OnnxValueInfo {
  name: string;
  elemType?: number;
  /** Numbers for fixed dimensions, strings for symbolic ones, undefined when unknown. */
  dims?: (number | string | undefined)[];
}

export interface OnnxGraph {
  name: string;
  nodes: OnnxNode[];
  initializers: OnnxTensor[];
  inputs: OnnxValueInfo[];
  outputs: OnnxValueInfo[];
}

export interface OnnxModel {
  file: string;
  irVersion: number;
  /** Opset version per domain ('' for the default ai.onnx domain). */
  opsets: Map<string, number>;
  producer: string;
  graph: OnnxGraph;
}

export interface DecodeOptions {
  /** Folder of the model file: external tensor data is read from inside it (never for buffers). */
  baseDir?: string;
}

/** Protobuf files start with a field key; an ONNX ModelProto nearly always with ir_version (field 1, varint). */
export function looksLikeOnnx(buf: Uint8Array): boolean {
  if (buf.length < 8 || buf[0] !== 0x08) return false;
  // ir_version is small; the next key is one of ModelProto's length-delimited or varint fields.
  if (buf[1] === 0 || buf[1] > 30) return false;
  const next = buf[2];
  return [0x12, 0x1a, 0x22, 0x28, 0x32, 0x3a, 0x42, 0x72].includes(next);
}

function str(r: WireReader): string {
  const [s, e] = r.lengthDelimited();
  return Buffer.from(r.buf.buffer, r.buf.byteOffset + s, e - s).toString('utf8');
}

/** An int64 varint as an exact JS number (two's complement negatives), refusing |v| > 2^53. */
export function int64(r: WireReader, what: string): number {
  const at = r.pos;
  let v = 0n;
  let shift = 0n;
  for (let i = 0; i < 10; i++) {
    if (r.pos >= r.end) r.fail(`truncated varint (${what})`, at);
    const b = r.buf[r.pos++];
    v |= BigInt(b & 0x7f) << shift;
    if ((b & 0x80) === 0) {
      v = BigInt.asIntN(64, v);
      if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) r.fail(`${what} out of range (${v})`, at);
      return Number(v);
    }
    shift += 7n;
  }
  return r.fail(`malformed varint (${what})`, at);
}

function int64List(r: WireReader, wire: number, out: number[], what: string): void {
  if (wire === WIRE_LENGTH) {
    const [s, e] = r.lengthDelimited();
    const inner = new WireReader(r.buf, r.ctx, s, e);
    while (!inner.done) out.push(int64(inner, what));
  } else if (wire === WIRE_VARINT) {
    out.push(int64(r, what));
  } else {
    r.fail(`${what}: unexpected wire type ${wire}`);
  }
}

function floatList(r: WireReader, wire: number, out: number[], what: string): void {
  const view = (at: number) => new DataView(r.buf.buffer, r.buf.byteOffset + at, 4).getFloat32(0, true);
  if (wire === WIRE_LENGTH) {
    const [s, e] = r.lengthDelimited();
    if ((e - s) % 4 !== 0) r.fail(`${what}: packed length ${e - s} is not a multiple of 4`, s);
    for (let p = s; p < e; p += 4) out.push(view(p));
  } else if (wire === WIRE_FIXED32) {
    out.push(view(r.advance(4)));
  } else {
    r.fail(`${what}: unexpected wire type ${wire}`);
  }
}

class Decoder {
  constructor(readonly buf: Uint8Array, readonly file: string, readonly opts: DecodeOptions) {}

  reader(s: number, e: number, ctx: WireContext = { file: this.file }): WireReader {
    return new WireReader(this.buf, ctx, s, e);
  }

  model(): OnnxModel {
    const r = this.reader(0, this.buf.length);
    let irVersion: number | undefined;
    const opsets = new Map<string, number>();
    let producer = '';
    let graphRange: [number, number] | undefined;
    while (!r.done) {
      const at = r.pos;
      const [field, wire] = r.tag();
      if (field === 1 && wire === WIRE_VARINT) irVersion = int64(r, 'ir_version');
      else if (field === 8 && wire === WIRE_LENGTH) {
        const [s, e] = r.lengthDelimited();
        const o = this.reader(s, e);
        let domain = '';
        let version: number | undefined;
        while (!o.done) {
          const [f, w] = o.tag();
          if (f === 1 && w === WIRE_LENGTH) domain = str(o);
          else if (f === 2 && w === WIRE_VARINT) version = int64(o, 'opset version');
          else o.skip(w);
        }
        if (version === undefined) return r.fail(`opset_import for domain '${domain}' has no version`, at);
        opsets.set(domain === 'ai.onnx' ? '' : domain, version);
      } else if (field === 2 && wire === WIRE_LENGTH) producer = str(r);
      else if (field === 7 && wire === WIRE_LENGTH) graphRange = r.lengthDelimited();
      else if ([1, 8, 2, 7].includes(field)) r.fail(`ModelProto field ${field} has the wrong wire type ${wire}`, at);
      else r.skip(wire);
    }
    if (irVersion === undefined)
      throw new CaffeLrpError('DECODE', 'not an ONNX model: no ir_version (field 1) in the ModelProto', { file: this.file });
    if (!graphRange) throw new CaffeLrpError('DECODE', 'the ONNX model has no graph (field 7)', { file: this.file });
    return { file: this.file, irVersion, opsets, producer, graph: this.graph(graphRange[0], graphRange[1]) };
  }

  graph(s: number, e: number): OnnxGraph {
    const r = this.reader(s, e);
    const g: OnnxGraph = { name: '', nodes: [], initializers: [], inputs: [], outputs: [] };
    while (!r.done) {
      const at = r.pos;
      const [field, wire] = r.tag();
      if (wire !== WIRE_LENGTH) {
        if ([1, 2, 5, 11, 12, 15].includes(field)) r.fail(`GraphProto field ${field} has the wrong wire type ${wire}`, at);
        r.skip(wire);
        continue;
      }
      const [a, b] = r.lengthDelimited();
      if (field === 1) g.nodes.push(this.node(a, b, g.nodes.length));
      else if (field === 2) g.name = Buffer.from(this.buf.buffer, this.buf.byteOffset + a, b - a).toString('utf8');
      else if (field === 5) g.initializers.push(this.tensor(a, b, `initializer ${g.initializers.length}`));
      else if (field === 11) g.inputs.push(this.valueInfo(a, b));
      else if (field === 12) g.outputs.push(this.valueInfo(a, b));
      else if (field === 15)
        throw new CaffeLrpError('UNSUPPORTED', 'sparse initializers (GraphProto.sparse_initializer) are not supported', { file: this.file });
    }
    return g;
  }

  node(s: number, e: number, index: number): OnnxNode {
    const ctx: WireContext = { file: this.file, layer: `node ${index}` };
    const r = this.reader(s, e, ctx);
    const n: OnnxNode = { index, name: '', opType: '', domain: '', inputs: [], outputs: [], attributes: new Map() };
    const attrs: [number, number][] = [];
    while (!r.done) {
      const at = r.pos;
      const [field, wire] = r.tag();
      if (wire !== WIRE_LENGTH) {
        if ([1, 2, 3, 4, 5, 7].includes(field)) r.fail(`NodeProto field ${field} has the wrong wire type ${wire}`, at);
        r.skip(wire);
        continue;
      }
      if (field === 1) n.inputs.push(str(r));
      else if (field === 2) n.outputs.push(str(r));
      else if (field === 3) n.name = str(r);
      else if (field === 4) n.opType = str(r);
      else if (field === 7) n.domain = str(r);
      else if (field === 5) attrs.push(r.lengthDelimited());
      else r.skip(wire);
    }
    if (n.domain === 'ai.onnx') n.domain = '';
    ctx.layer = n.name ? `${n.name}` : `node ${index} (${n.opType})`;
    for (const [a, b] of attrs) {
      const attr = this.attribute(a, b, ctx);
      n.attributes.set(attr.name, attr);
    }
    return n;
  }

  attribute(s: number, e: number, ctx: WireContext): OnnxAttribute {
    const r = this.reader(s, e, ctx);
    const a: OnnxAttribute = { name: '', type: 0 };
    const floats: number[] = [];
    const ints: number[] = [];
    while (!r.done) {
      const at = r.pos;
      const [field, wire] = r.tag();
      switch (field) {
        case 1: if (wire !== WIRE_LENGTH) r.fail('attribute name has the wrong wire type', at); a.name = str(r); break;
        case 20: if (wire !== WIRE_VARINT) r.fail('attribute type has the wrong wire type', at); a.type = int64(r, 'attribute type'); break;
        case 2:
          if (wire !== WIRE_FIXED32) r.fail('attribute f has the wrong wire type', at);
          a.f = new DataView(this.buf.buffer, this.buf.byteOffset + r.advance(4), 4).getFloat32(0, true);
          break;
        case 3: if (wire !== WIRE_VARINT) r.fail('attribute i has the wrong wire type', at); a.i = int64(r, 'attribute i'); break;
        case 4: if (wire !== WIRE_LENGTH) r.fail('attribute s has the wrong wire type', at); a.s = str(r); break;
        case 5: {
          if (wire !== WIRE_LENGTH) r.fail('attribute t has the wrong wire type', at);
          const [x, y] = r.lengthDelimited();
          a.t = this.tensor(x, y, `attribute tensor of ${ctx.layer}`);
          break;
        }
        case 6: case 11: a.hasGraph = true; r.skip(wire); break;
        case 7: floatList(r, wire, floats, 'attribute floats'); break;
        case 8: int64List(r, wire, ints, 'attribute ints'); break;
        default: r.skip(wire);
      }
    }
    if (floats.length) a.floats = floats;
    if (ints.length) a.ints = ints;
    return a;
  }

  valueInfo(s: number, e: number): OnnxValueInfo {
    const r = this.reader(s, e);
    const v: OnnxValueInfo = { name: '' };
    while (!r.done) {
      const [field, wire] = r.tag();
      if (field === 1 && wire === WIRE_LENGTH) v.name = str(r);
      else if (field === 2 && wire === WIRE_LENGTH) {
        const [a, b] = r.lengthDelimited();
        const t = this.reader(a, b);
        while (!t.done) {
          const [f, w] = t.tag();
          if (f === 1 && w === WIRE_LENGTH) {
            const [c, d] = t.lengthDelimited();
            this.tensorType(c, d, v);
          } else t.skip(w);
        }
      } else r.skip(wire);
    }
    return v;
  }

  tensorType(s: number, e: number, v: OnnxValueInfo): void {
    const r = this.reader(s, e);
    while (!r.done) {
      const [f, w] = r.tag();
      if (f === 1 && w === WIRE_VARINT) v.elemType = int64(r, 'elem_type');
      else if (f === 2 && w === WIRE_LENGTH) {
        const [a, b] = r.lengthDelimited();
        const shape = this.reader(a, b);
        v.dims = [];
        while (!shape.done) {
          const [g, x] = shape.tag();
          if (g !== 1 || x !== WIRE_LENGTH) { shape.skip(x); continue; }
          const [c, d] = shape.lengthDelimited();
          const dim = this.reader(c, d);
          let value: number | string | undefined;
          while (!dim.done) {
            const [h, y] = dim.tag();
            if (h === 1 && y === WIRE_VARINT) value = int64(dim, 'dim_value');
            else if (h === 2 && y === WIRE_LENGTH) value = str(dim);
            else dim.skip(y);
          }
          v.dims.push(value);
        }
      } else r.skip(w);
    }
  }

  tensor(s: number, e: number, what: string): OnnxTensor {
    const ctx: WireContext = { file: this.file, layer: what };
    const r = this.reader(s, e, ctx);
    const t: OnnxTensor = { name: '', dims: [], dataType: 0 };
    let raw: [number, number] | undefined;
    const floatRuns: [number, number][] = [];
    const doubleRuns: [number, number][] = [];
    const ints: number[] = [];
    const external: Record<string, string> = {};
    let location = 0;
    let segment = false;
    while (!r.done) {
      const at = r.pos;
      const [field, wire] = r.tag();
      switch (field) {
        case 1: int64List(r, wire, t.dims, 'tensor dims'); break;
        case 2: if (wire !== WIRE_VARINT) r.fail('data_type has the wrong wire type', at); t.dataType = int64(r, 'data_type'); break;
        case 3: segment = true; r.skip(wire); break;
        case 4:
          if (wire === WIRE_LENGTH) floatRuns.push(r.lengthDelimited());
          else if (wire === WIRE_FIXED32) { const p = r.advance(4); floatRuns.push([p, p + 4]); }
          else r.fail(`float_data: unexpected wire type ${wire}`, at);
          break;
        case 5: case 7: case 11: int64List(r, wire, ints, field === 5 ? 'int32_data' : field === 7 ? 'int64_data' : 'uint64_data'); break;
        case 8: if (wire !== WIRE_LENGTH) r.fail('tensor name has the wrong wire type', at); t.name = str(r); ctx.layer = `tensor '${t.name}'`; break;
        case 9: if (wire !== WIRE_LENGTH) r.fail('raw_data has the wrong wire type', at); raw = r.lengthDelimited(); break;
        case 10:
          if (wire === WIRE_LENGTH) doubleRuns.push(r.lengthDelimited());
          else if (wire === WIRE_FIXED64) { const p = r.advance(8); doubleRuns.push([p, p + 8]); }
          else r.fail(`double_data: unexpected wire type ${wire}`, at);
          break;
        case 13: {
          if (wire !== WIRE_LENGTH) r.fail('external_data has the wrong wire type', at);
          const [a, b] = r.lengthDelimited();
          const kv = this.reader(a, b, ctx);
          let key = '';
          let value = '';
          while (!kv.done) {
            const [f, w] = kv.tag();
            if (f === 1 && w === WIRE_LENGTH) key = str(kv);
            else if (f === 2 && w === WIRE_LENGTH) value = str(kv);
            else kv.skip(w);
          }
          external[key] = value;
          break;
        }
        case 14: if (wire !== WIRE_VARINT) r.fail('data_location has the wrong wire type', at); location = int64(r, 'data_location'); break;
        default: r.skip(wire);
      }
    }
    const where = { file: this.file, layer: ctx.layer };
    if (segment) throw new CaffeLrpError('UNSUPPORTED', 'segmented tensors (TensorProto.segment) are not supported', where);
    let count = 1;
    for (const d of t.dims) {
      if (d < 0) throw new CaffeLrpError('SHAPE', `tensor dimension ${d} is negative (dims ${JSON.stringify(t.dims)})`, where);
      count *= d;
    }
    if (count > MAX_TENSOR_ELEMENTS)
      throw new CaffeLrpError('SHAPE', `tensor of shape [${t.dims.join(', ')}] has ${count} elements, more than the ${MAX_TENSOR_ELEMENTS} we accept`, where);
    if (location === 1) raw = undefined;
    const bytes = location === 1 ? this.externalBytes(external, where) : raw ? this.buf.subarray(raw[0], raw[1]) : undefined;
    if (location !== 0 && location !== 1) throw new CaffeLrpError('DECODE', `unknown data_location ${location}`, where);
    decodeTensorData(t, count, bytes, floatRuns, doubleRuns, ints, this.buf, where);
    return t;
  }

  externalBytes(external: Record<string, string>, where: { file: string; layer?: string }): Uint8Array {
    const loc = external.location;
    if (this.opts.baseDir === undefined)
      throw new CaffeLrpError('UNSUPPORTED', `the tensor's data is in an external file ('${loc}'); external data can only be read when the model is loaded from a path (the data file beside it)`, where);
    if (!loc) throw new CaffeLrpError('DECODE', 'external data without a location', where);
    const base = path.resolve(this.opts.baseDir);
    const target = path.resolve(base, loc);
    if (path.isAbsolute(loc) || !target.startsWith(base + path.sep))
      throw new CaffeLrpError('UNSUPPORTED', `external data file '${loc}' is not inside the model's folder ${base}; only files beside the model are read`, where);
    const offset = external.offset === undefined ? 0 : Number(external.offset);
    let data: Buffer;
    try {
      data = fs.readFileSync(target);
    } catch (e) {
      throw new CaffeLrpError('IO', `cannot read external tensor data '${loc}': ${(e as Error).message}`, where);
    }
    const length = external.length === undefined ? data.length - offset : Number(external.length);
    if (!Number.isInteger(offset) || !Number.isInteger(length) || offset < 0 || length < 0 || offset + length > data.length)
      throw new CaffeLrpError('DECODE', `external data offset ${external.offset} / length ${external.length} do not fit the ${data.length}-byte file '${loc}'`, where);
    return data.subarray(offset, offset + length);
  }
}

const INT_BYTES: Record<number, number> = { 2: 1, 3: 1, 4: 2, 5: 2, 6: 4, 7: 8, 9: 1, 12: 4, 13: 8 };

function decodeTensorData(
  t: OnnxTensor, count: number, bytes: Uint8Array | undefined, floatRuns: [number, number][], doubleRuns: [number, number][],
  ints: number[], buf: Uint8Array, where: { file: string; layer?: string },
): void {
  const mismatch = (have: number): never => {
    throw new CaffeLrpError('SHAPE', `tensor holds ${have} values but its shape [${t.dims.join(', ')}] needs ${count}`, where);
  };
  if (t.dataType === DT.FLOAT || t.dataType === DT.DOUBLE) {
    const size = t.dataType === DT.FLOAT ? 4 : 8;
    const out = new Float32Array(count);
    if (bytes) {
      if (bytes.length !== count * size) mismatch(bytes.length / size);
      if (size === 4) new Uint8Array(out.buffer).set(bytes);
      else {
        const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
        for (let i = 0; i < count; i++) out[i] = v.getFloat64(i * 8, true);
      }
    } else {
      const runs = size === 4 ? floatRuns : doubleRuns;
      let have = 0;
      for (const [s, e] of runs) {
        if ((e - s) % size !== 0) throw new CaffeLrpError('DECODE', `packed ${size === 4 ? 'float' : 'double'}_data length ${e - s} is not a multiple of ${size}`, where);
        have += (e - s) / size;
      }
      if (have !== count) mismatch(have);
      let k = 0;
      for (const [s, e] of runs) {
        const v = new DataView(buf.buffer, buf.byteOffset + s, e - s);
        for (let p = 0; p < e - s; p += size) out[k++] = size === 4 ? v.getFloat32(p, true) : v.getFloat64(p, true);
      }
    }
    t.floats = out;
    return;
  }
  const size = INT_BYTES[t.dataType];
  if (size === undefined)
    throw new CaffeLrpError('UNSUPPORTED', `tensors of type ${dataTypeName(t.dataType)} are not supported (FLOAT, DOUBLE and integer types are)`, where);
  if (bytes) {
    if (bytes.length !== count * size) mismatch(bytes.length / size);
    const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
    const out = new Array<number>(count);
    for (let i = 0; i < count; i++) {
      const p = i * size;
      switch (t.dataType) {
        case DT.UINT8: case DT.BOOL: out[i] = v.getUint8(p); break;
        case DT.INT8: out[i] = v.getInt8(p); break;
        case DT.UINT16: out[i] = v.getUint16(p, true); break;
        case DT.INT16: out[i] = v.getInt16(p, true); break;
        case DT.INT32: out[i] = v.getInt32(p, true); break;
        case DT.UINT32: out[i] = v.getUint32(p, true); break;
        default: {
          const big = t.dataType === DT.UINT64 ? v.getBigUint64(p, true) : v.getBigInt64(p, true);
          if (big > BigInt(Number.MAX_SAFE_INTEGER) || big < BigInt(Number.MIN_SAFE_INTEGER))
            throw new CaffeLrpError('SHAPE', `integer tensor value ${big} is out of range`, where);
          out[i] = Number(big);
        }
      }
    }
    t.ints = out;
  } else {
    if (ints.length !== count) mismatch(ints.length);
    t.ints = ints;
  }
}

/** Decodes a whole ModelProto. `baseDir`: the model's folder (enables external data beside it). */
export function decodeOnnxModel(buf: Uint8Array, file = '<onnx>', opts: DecodeOptions = {}): OnnxModel {
  return new Decoder(buf, file, opts).model();
}

/** Decodes one serialized TensorProto (e.g. the ONNX test data's input_0.pb / output_0.pb). */
export function decodeTensorProto(buf: Uint8Array, file = '<tensor>'): OnnxTensor {
  return new Decoder(buf, file, {}).tensor(0, buf.length, 'tensor');
}
