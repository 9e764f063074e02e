/**
 * The checks between the public Net API and the engine that are not about options: the
 * shape of a NetSpec given to `new Net`, the net the engine built (weights, outputs, inputs),
 * net-ready input arrays, and finding where NaN/Inf appeared. Each throws a CaffeLrpError
 * naming the thing, never a TypeError from deep inside.
 */
import { CaffeLrpError } from './errors';
import type { NativeLayerInfo, NativeNetInstance } from './native';
import type { NetSpec } from './caffe/netspec-types';

function kind(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v;
}

/** `new Net(spec)`: the spec must be an object with inputs and layers arrays of objects. */
export function checkNetSpecObject(spec: unknown): asserts spec is NetSpec {
  if (typeof spec !== 'object' || spec === null || Array.isArray(spec))
    throw new CaffeLrpError('OPTION', `new Net(spec): spec must be a NetSpec object (from loadNetSpec), got ${kind(spec)}`);
  const s = spec as Record<string, unknown>;
  for (const key of ['inputs', 'layers'] as const) {
    if (!Array.isArray(s[key])) throw new CaffeLrpError('OPTION', `new Net(spec): spec.${key} must be an array, got ${kind(s[key])}`);
    (s[key] as unknown[]).forEach((item, i) => {
      if (typeof item !== 'object' || item === null) throw new CaffeLrpError('OPTION', `new Net(spec): spec.${key}[${i}] must be an object, got ${kind(item)}`);
    });
  }
  (s.layers as Record<string, unknown>[]).forEach((l, i) => {
    if (typeof l.name !== 'string' || typeof l.type !== 'string')
      throw new CaffeLrpError('OPTION', `new Net(spec): spec.layers[${i}] needs a string name and type`);
    for (const key of ['bottoms', 'tops', 'blobs'] as const)
      if (l[key] !== undefined && !Array.isArray(l[key]))
        throw new CaffeLrpError('OPTION', `new Net(spec): layer '${l.name}': ${key} must be an array, got ${kind(l[key])}`, { layer: l.name });
  });
}

/** After the engine built the net: one input, at least one output, finite weights. */
export function checkBuiltNet(native: NativeNetInstance, spec: NetSpec, allowNonFiniteWeights: boolean): void {
  const where = { file: spec.source };
  if (spec.layers.length === 0 || native.outputs().length === 0)
    throw new CaffeLrpError('SHAPE', 'the net has no layers that compute anything from its input', where);
  const inputs = native.inputs();
  if (inputs.length !== 1)
    throw new CaffeLrpError(
      'UNSUPPORTED',
      `the net has ${inputs.length} inputs (${inputs.map((i) => i.name).join(', ')}); caffe-lrp explains nets with one input blob`,
      where,
    );
  if (!allowNonFiniteWeights) {
    const bad = native.nonFiniteWeights();
    if (bad.length > 0)
      throw new CaffeLrpError('NONFINITE', `the weights of layer(s) ${bad.map((n) => `'${n}'`).join(', ')} contain NaN or Inf`, { ...where, layer: bad[0] });
  }
}

/** A net-ready input array: a live Float32Array (not a hole, not a detached buffer). */
export function checkInputArray(v: unknown, what: string): Float32Array {
  if (!(v instanceof Float32Array)) throw new CaffeLrpError('OPTION', `${what} must be a Float32Array, got ${v === undefined ? 'nothing (an empty array slot?)' : kind(v)}`);
  if (v.length === 0 && isDetached(v.buffer))
    throw new CaffeLrpError('OPTION', `${what} is a Float32Array whose buffer has been detached (transferred to a worker or another call)`);
  return v;
}

/** Node 20 has no ArrayBuffer.prototype.detached: a view on a detached buffer cannot be made. */
function isDetached(buffer: ArrayBufferLike): boolean {
  try {
    new Uint8Array(buffer);
    return false;
  } catch {
    return true;
  }
}

export function allFinite(data: Float32Array): boolean {
  for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i])) return false;
  return true;
}

/**
 * The forward result is not finite: name the first layer whose output is not (the engine
 * rejects non-finite inputs). In-place layers share their blob's name, whose latest values
 * are what can be read, so such a chain is named by its first layer.
 */
export function nonFiniteForwardError(native: NativeNetInstance, layers: NativeLayerInfo[], file: string | undefined): CaffeLrpError {
  for (const l of layers) {
    for (const top of l.tops) {
      let data: Float32Array;
      try {
        data = native.blobData(top).data;
      } catch {
        continue;
      }
      if (!allFinite(data))
        return new CaffeLrpError(
          'NONFINITE',
          `the forward pass became NaN or Inf at layer ${l.index} '${l.name}' (${l.type}); its inputs were finite, so its weights or parameters overflow float32`,
          { file, layer: l.name },
        );
    }
  }
  return new CaffeLrpError('NONFINITE', 'the forward pass produced NaN or Inf scores', { file });
}
