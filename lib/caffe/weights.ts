/**
 * Matches learned blobs to the layers of the deploy net the way Caffe's
 * CopyTrainedLayersFrom does: by layer name (caffemodels are often the training net, so
 * extra layers are ignored), the blob count must equal the layer's, and every blob must
 * have the shape the layer computes from the prototxt (legacy 4-D dims are reshaped when
 * the count matches, see upgrade.ts).
 */
import { CaffeLrpError } from '../errors';
import { BlobData } from './netspec-types';
import {
  BlobProtoObject,
  DecodedBlob,
  LayerObject,
  NetParameterObject,
  countOf,
  isDecodedBlob,
  shapeString,
} from './proto-objects';
import { fitBlobShape } from './upgrade';
import { Where } from './params';

export interface WeightSource {
  file: string;
  /** Layer name → its blobs (the last layer of that name wins, as in Caffe). */
  byName: Map<string, DecodedBlob[]>;
}

export function weightSource(net: NetParameterObject, file: string): WeightSource {
  const byName = new Map<string, DecodedBlob[]>();
  // Only names and blobs matter here, so V1 layers need no upgrade.
  for (const layer of [...(net.layers ?? []), ...(net.layer ?? [])]) {
    byName.set(layer.name ?? '', (layer.blobs ?? []).map((b, i) => toDecodedBlob(b, i, { file, layer: layer.name })));
  }
  return { file, byName };
}

/** Blobs written inline in a prototxt arrive as BlobProto objects with number arrays. */
export function toDecodedBlob(b: DecodedBlob | BlobProtoObject, index: number, w: Where): DecodedBlob {
  if (isDecodedBlob(b)) return b;
  const hasLegacy = [b.num, b.channels, b.height, b.width].some((d) => d !== undefined);
  const shape = hasLegacy ? [b.num ?? 0, b.channels ?? 0, b.height ?? 0, b.width ?? 0] : [...(b.shape?.dim ?? [])];
  const values = b.double_data?.length ? b.double_data : b.data ?? [];
  const data = Float32Array.from(values);
  if (countOf(shape) !== data.length) {
    throw new CaffeLrpError('SHAPE', `blob ${index} has ${data.length} values but its shape ${shapeString(shape)} needs ${countOf(shape)}`, w);
  }
  return { shape, legacy: hasLegacy, data };
}

export interface WeightRequest {
  layer: LayerObject;
  /** undefined: unknown layer type, blob count not checked. */
  count: number | undefined;
  /** undefined: shapes unknown (unknown input shape), blobs taken as stored. */
  shapes: number[][] | undefined;
  where: Where;
}

/**
 * The blobs for one layer: from the caffemodel when it has a layer of that name, else
 * blobs written inline in the prototxt. `source` undefined means "structure only": no
 * blobs are required.
 */
export function blobsForLayer(req: WeightRequest, source: WeightSource | undefined): BlobData[] {
  const { layer, count, shapes, where } = req;
  const name = layer.name ?? '';
  const fromModel = source?.byName.get(name);
  const inline = (layer.blobs ?? []).map((b, i) => toDecodedBlob(b, i, where));
  const blobs = fromModel ?? inline;
  const blobFile = fromModel ? source!.file : where.file;
  if (!blobs.length) {
    if (source && count !== undefined && count > 0) {
      throw new CaffeLrpError(
        'SHAPE',
        `${layer.type} layer needs ${count} learned blob(s), but ${source.file} has ` +
          (fromModel ? `no blobs for it` : `no layer named '${name}'`),
        where,
      );
    }
    return [];
  }
  if (count !== undefined && blobs.length !== count) {
    throw new CaffeLrpError(
      'SHAPE',
      `${blobFile} has ${blobs.length} blob(s) for this ${layer.type} layer, but the prototxt defines ${count}`,
      where,
    );
  }
  return blobs.map((blob, i) => {
    if (!shapes) return { shape: [...blob.shape], data: blob.data };
    const fit = fitBlobShape(blob, shapes[i]);
    if (!fit) {
      throw new CaffeLrpError(
        'SHAPE',
        `blob ${i} in ${blobFile} has shape ${shapeString(blob.shape)}${blob.legacy ? ' (legacy dims)' : ''}, ` +
          `but the prototxt needs ${shapeString(shapes[i])}`,
        where,
      );
    }
    return { shape: fit, data: blob.data };
  });
}
