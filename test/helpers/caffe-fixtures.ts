/**
 * Fixture makers for the lib/caffe tests: a tiny protobuf wire encoder (to build
 * caffemodels with encodings our writer never produces: non-packed floats, double_data,
 * legacy dims, V1 layers, corrupt bytes), seeded random numbers, and a way to give a
 * structure-only NetSpec deterministic random weights.
 */
import { BlobData, NetSpec } from '../../lib/caffe/netspec-types';
import { expectedBlobShapes } from '../../lib/caffe/shapes';
import { countOf } from '../../lib/caffe/proto-objects';
import { prng } from './random';
import { sharedPath } from './shared-data';

export { prng };

export { SHARED } from './shared-data';
export const MODELS = sharedPath('models');

// ---------------------------------------------------------------------------------------
// Wire encoder
// ---------------------------------------------------------------------------------------

export function varint(v: number): number[] {
  const out: number[] = [];
  while (v >= 128) {
    out.push((v % 128) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return out;
}

/** A negative int32/int64 as protobuf writes it: 10-byte two's complement varint. */
export function negativeVarint(v: number): number[] {
  const big = (1n << 64n) + BigInt(v);
  const out: number[] = [];
  let x = big;
  while (x >= 128n) {
    out.push(Number(x % 128n) | 0x80);
    x /= 128n;
  }
  out.push(Number(x));
  return out;
}

export const tag = (field: number, wire: number): number[] => varint(field * 8 + wire);

export function lenField(field: number, payload: number[] | Uint8Array): number[] {
  return [...tag(field, 2), ...varint(payload.length), ...payload];
}

export const varintField = (field: number, v: number): number[] => [...tag(field, 0), ...varint(v)];

export const stringField = (field: number, s: string): number[] => lenField(field, [...Buffer.from(s, 'utf8')]);

export function floatBytes(values: number[]): number[] {
  const b = Buffer.alloc(values.length * 4);
  values.forEach((v, i) => b.writeFloatLE(v, i * 4));
  return [...b];
}

export function doubleBytes(values: number[]): number[] {
  const b = Buffer.alloc(values.length * 8);
  values.forEach((v, i) => b.writeDoubleLE(v, i * 8));
  return [...b];
}

/** BlobProto with a BlobShape and packed float data. */
export function blobWithShape(shape: number[], data: number[]): number[] {
  const dims = shape.flatMap((d) => varint(d));
  return [...lenField(7, lenField(1, dims)), ...lenField(5, floatBytes(data))];
}

/** BlobProto with legacy num/channels/height/width and packed float data. */
export function blobLegacy(dims: [number, number, number, number], data: number[]): number[] {
  return [...dims.flatMap((d, i) => varintField(i + 1, d)), ...lenField(5, floatBytes(data))];
}

/** A V2 layer (NetParameter field 100) with name, type, bottoms, tops and blob payloads. */
export function v2Layer(name: string, type: string, bottoms: string[], tops: string[], blobs: number[][] = [], extra: number[] = []): number[] {
  const body = [
    ...stringField(1, name),
    ...stringField(2, type),
    ...bottoms.flatMap((b) => stringField(3, b)),
    ...tops.flatMap((t) => stringField(4, t)),
    ...blobs.flatMap((b) => lenField(7, b)),
    ...extra,
  ];
  return lenField(100, body);
}

/** A V1 layer (NetParameter field 2) with an enum type. */
export function v1Layer(name: string, typeEnum: number, bottoms: string[], tops: string[], blobs: number[][] = [], extra: number[] = []): number[] {
  const body = [
    ...bottoms.flatMap((b) => stringField(2, b)),
    ...tops.flatMap((t) => stringField(3, t)),
    ...stringField(4, name),
    ...varintField(5, typeEnum),
    ...blobs.flatMap((b) => lenField(6, b)),
    ...extra,
  ];
  return lenField(2, body);
}

export const bytes = (...parts: number[][]): Buffer => Buffer.from(parts.flat());

// ---------------------------------------------------------------------------------------
// Random numbers and weights
// ---------------------------------------------------------------------------------------

/** The spec with every weighted layer given random blobs of the shapes it expects. */
export function withRandomWeights(spec: NetSpec, seed = 1): NetSpec {
  const rnd = prng(seed);
  const shapes = new Map<string, number[]>(spec.inputs.map((i) => [i.name, i.shape]));
  const layers = spec.layers.map((l) => {
    const bottoms = l.bottoms.map((b) => shapes.get(b));
    const want = expectedBlobShapes(l.type, l.params, bottoms, { file: 'fixture' }) ?? [];
    l.tops.forEach((t, i) => shapes.set(t, l.topShapes?.[i] ?? []));
    const blobs: BlobData[] = want.map((s) => ({ shape: s, data: Float32Array.from({ length: countOf(s) }, () => rnd() * 2 - 1) }));
    return { ...l, blobs };
  });
  return { ...spec, layers, weightsLoaded: true };
}
