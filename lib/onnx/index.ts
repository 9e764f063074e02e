/**
 * The ONNX front end: reads an .onnx file (a path or its bytes), checks its IR and opset
 * versions and lowers its graph to the NetSpec the engine runs (see lower.ts), so ONNX nets
 * get the same layers, rules, indices and outputs as Caffe nets.
 */
import * as path from 'path';
import { readFileSource, readFileSourceSync } from '../io/read-file';
import { decodeOnnxModel, looksLikeOnnx } from './model';
import { lowerOnnxModel, OnnxNetSpec, LowerOptions } from './lower';

export { decodeOnnxModel, decodeTensorProto, looksLikeOnnx } from './model';
export type { OnnxModel, OnnxGraph, OnnxNode, OnnxTensor, OnnxAttribute, OnnxValueInfo } from './model';
export { lowerOnnxModel, SUPPORTED_ONNX_OPS, MIN_OPSET, MAX_OPSET, MIN_IR_VERSION, MAX_IR_VERSION } from './lower';
export type { OnnxNetSpec, OnnxLayerSpec, OnnxOrigin, LowerOptions } from './lower';

export interface LoadOnnxOptions extends LowerOptions {
  /** Name used in error messages for a buffer source (default '<onnx>'). */
  name?: string;
}

function build(buf: Buffer, src: string | Uint8Array, opts: LoadOnnxOptions): OnnxNetSpec {
  const file = typeof src === 'string' ? src : opts.name ?? '<onnx>';
  // External tensor data is only read for a model loaded from a path, from its own folder.
  const baseDir = typeof src === 'string' ? path.dirname(path.resolve(src)) : undefined;
  return lowerOnnxModel(decodeOnnxModel(buf, file, { baseDir }), opts);
}

/** Reads an ONNX model (path or bytes) and lowers it to a NetSpec. */
export async function loadOnnxNetSpec(src: string | Uint8Array, opts: LoadOnnxOptions = {}): Promise<OnnxNetSpec> {
  const buf = await readFileSource(src, opts.name ?? '<onnx>', 'ONNX model');
  return build(buf, src, opts);
}

export function loadOnnxNetSpecSync(src: string | Uint8Array, opts: LoadOnnxOptions = {}): OnnxNetSpec {
  const buf = readFileSourceSync(src, opts.name ?? '<onnx>', 'ONNX model');
  return build(buf, src, opts);
}

/** True when `buf` starts like an ONNX ModelProto (used to accept a .onnx given as prototxt). */
export function isOnnxContent(buf: Uint8Array): boolean {
  return looksLikeOnnx(buf);
}
