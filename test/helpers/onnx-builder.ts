/**
 * Writes small ONNX models for tests with protobufjs and proto/onnx.proto (our own schema),
 * and runs them in onnxruntime-node (the forward oracle, a devDependency) when it loads.
 */
import * as path from 'path';
import * as protobuf from 'protobufjs';
import { ROOT } from './shared-data';

let root: protobuf.Root | undefined;
function type(name: string): protobuf.Type {
  if (!root) {
    root = new protobuf.Root();
    root.loadSync(path.join(ROOT, 'proto', 'onnx.proto'), { keepCase: true });
    root.resolveAll();
  }
  return root.lookupType(`caffe_lrp_onnx.${name}`);
}

export type Attr = number | number[] | string | { tensor: TensorSpec } | { floats: number[] } | { float: number };

export interface TensorSpec {
  name?: string;
  dims: number[];
  /** FLOAT data (default), or int64 data with `int64: true`. */
  data: ArrayLike<number>;
  int64?: boolean;
  /** Store the values in float_data / int64_data instead of raw_data. */
  typed?: boolean;
}

export interface NodeSpec {
  op: string;
  inputs: string[];
  outputs: string[];
  name?: string;
  domain?: string;
  attrs?: Record<string, Attr>;
}

export interface GraphSpec {
  inputs: { name: string; dims: (number | string)[] }[];
  outputs: string[];
  nodes: NodeSpec[];
  initializers?: TensorSpec[];
  opset?: number;
  irVersion?: number;
}

export function tensorObject(t: TensorSpec): Record<string, unknown> {
  const o: Record<string, unknown> = { name: t.name ?? '', dims: t.dims, data_type: t.int64 ? 7 : 1 };
  if (t.typed) {
    if (t.int64) o.int64_data = Array.from(t.data);
    else o.float_data = Array.from(t.data);
  } else if (t.int64) {
    const b = Buffer.alloc(t.data.length * 8);
    Array.from(t.data).forEach((v, i) => b.writeBigInt64LE(BigInt(v), i * 8));
    o.raw_data = b;
  } else {
    o.raw_data = Buffer.from(Float32Array.from(t.data).buffer);
  }
  return o;
}

function attrObject(name: string, v: Attr): Record<string, unknown> {
  if (typeof v === 'string') return { name, type: 3, s: Buffer.from(v) };
  if (typeof v === 'number') return { name, type: 2, i: v };
  if (Array.isArray(v)) return { name, type: 7, ints: v };
  if ('tensor' in v) return { name, type: 4, t: tensorObject(v.tensor) };
  if ('floats' in v) return { name, type: 6, floats: v.floats };
  return { name, type: 1, f: v.float };
}

export function modelObject(g: GraphSpec): Record<string, unknown> {
  const info = (name: string, dims?: (number | string)[]) => ({
    name,
    type: { tensor_type: { elem_type: 1, ...(dims ? { shape: { dim: dims.map((d) => (typeof d === 'number' ? { dim_value: d } : { dim_param: d })) } } : {}) } },
  });
  return {
    ir_version: g.irVersion ?? 8,
    opset_import: [{ domain: '', version: g.opset ?? 13 }],
    producer_name: 'caffe-lrp tests',
    graph: {
      name: 'test',
      node: g.nodes.map((n, i) => ({
        input: n.inputs, output: n.outputs, name: n.name ?? `n${i}`, op_type: n.op, domain: n.domain ?? '',
        attribute: Object.entries(n.attrs ?? {}).map(([k, v]) => attrObject(k, v)),
      })),
      initializer: (g.initializers ?? []).map(tensorObject),
      input: g.inputs.map((i) => info(i.name, i.dims)),
      output: g.outputs.map((o) => info(o)),
    },
  };
}

export function encodeModel(g: GraphSpec | Record<string, unknown>): Buffer {
  const obj = 'nodes' in g ? modelObject(g as GraphSpec) : g;
  const t = type('ModelProto');
  const err = t.verify(obj);
  if (err) throw new Error(`test model: ${err}`);
  return Buffer.from(t.encode(t.fromObject(obj)).finish());
}

export function decodeModelObject(buf: Uint8Array): Record<string, any> {
  const t = type('ModelProto');
  return t.toObject(t.decode(buf), { longs: Number, bytes: Buffer, defaults: false });
}

let ortAvailable: boolean | undefined;
/** Whether onnxruntime-node loads here (else the tests use stored outputs or skip, saying so). */
export function onnxruntime(): boolean {
  if (ortAvailable === undefined) {
    try {
      require.resolve('onnxruntime-node');
      ortAvailable = true;
    } catch {
      ortAvailable = false;
    }
  }
  return ortAvailable;
}

/**
 * Runs a model (bytes or a path) in onnxruntime (graph optimisations off), in a child process
 * (test/helpers/ort-child.js), and returns every output.
 */
export async function runOrt(model: Buffer | string, feeds: Record<string, { dims: number[]; data: Float32Array }>): Promise<Record<string, { dims: number[]; data: Float32Array }>> {
  const req = {
    ...(typeof model === 'string' ? { modelPath: model } : { model: model.toString('base64') }),
    feeds: Object.fromEntries(Object.entries(feeds).map(([k, v]) => [k, { dims: v.dims, data: Buffer.from(v.data.buffer, v.data.byteOffset, v.data.byteLength).toString('base64') }])),
  };
  const { spawn } = await import('child_process');
  const text = await new Promise<string>((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'test', 'helpers', 'ort-child.js')], { stdio: ['pipe', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    child.on('error', reject);
    child.on('close', () => resolve(out));
    child.stdin.end(JSON.stringify(req));
  });
  const res = JSON.parse(text) as Record<string, { dims: number[]; data: string }> & { error?: string };
  if (res.error) throw new Error(`onnxruntime: ${res.error}`);
  const outputs: Record<string, { dims: number[]; data: Float32Array }> = {};
  for (const [k, v] of Object.entries(res)) {
    const b = Buffer.from((v as { data: string }).data, 'base64');
    outputs[k] = { dims: (v as { dims: number[] }).dims, data: new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.length)) };
  }
  return outputs;
}

/** max |a - b| / max |b| */
export function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let e = 0;
  let m = 0;
  for (let i = 0; i < b.length; i++) {
    e = Math.max(e, Math.abs(a[i] - b[i]));
    m = Math.max(m, Math.abs(b[i]));
  }
  return m === 0 ? e : e / m;
}
