/**
 * Types of the plain objects that stand for Caffe messages between the parsers
 * (textformat.ts, caffemodel.ts) and the net builder. They have the shape of
 * protobufjs `toObject(msg, {enums: String, longs: Number, defaults: false})` with
 * snake_case keys; only the fields the builder reads are spelled out.
 */

/** A learned blob after decoding: dims as stored, data always float32. */
export interface DecodedBlob {
  /** `shape.dim`, or the legacy [num, channels, height, width] when `legacy`. */
  shape: number[];
  /** True when the dims came from the legacy num/channels/height/width fields. */
  legacy: boolean;
  data: Float32Array;
}

export interface BlobShapeObject {
  dim?: number[];
}

/** A BlobProto as the text parser or protobufjs returns it (data as numbers). */
export interface BlobProtoObject {
  shape?: BlobShapeObject;
  data?: number[];
  double_data?: number[];
  num?: number;
  channels?: number;
  height?: number;
  width?: number;
}

export interface NetStateRuleObject {
  phase?: string;
  min_level?: number;
  max_level?: number;
  stage?: string[];
  not_stage?: string[];
}

/** A V2 LayerParameter (also what upgrade.ts makes of a V1 layer). */
export interface LayerObject {
  name?: string;
  type?: string;
  bottom?: string[];
  top?: string[];
  include?: NetStateRuleObject[];
  exclude?: NetStateRuleObject[];
  loss_weight?: number[];
  /** Decoded blobs (binary) or BlobProto objects (text). */
  blobs?: (DecodedBlob | BlobProtoObject)[];
  [field: string]: unknown;
}

/** A V1LayerParameter: `type` is the LayerType enum name (or its number if unknown). */
export interface V1LayerObject {
  name?: string;
  type?: string | number;
  bottom?: string[];
  top?: string[];
  include?: NetStateRuleObject[];
  exclude?: NetStateRuleObject[];
  blobs?: (DecodedBlob | BlobProtoObject)[];
  [field: string]: unknown;
}

export interface NetParameterObject {
  name?: string;
  input?: string[];
  input_dim?: number[];
  input_shape?: BlobShapeObject[];
  state?: { phase?: string; level?: number; stage?: string[] };
  layer?: LayerObject[];
  layers?: V1LayerObject[];
  [field: string]: unknown;
}

export function isDecodedBlob(b: DecodedBlob | BlobProtoObject): b is DecodedBlob {
  return (b as DecodedBlob).data instanceof Float32Array && typeof (b as DecodedBlob).legacy === 'boolean';
}

/** Element count of a shape (1 for the 0-axis scalar shape, as in Caffe). */
export function countOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function shapeString(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}
