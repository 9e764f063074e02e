/**
 * Who feeds whom in a NetSpec, by blob version: Caffe's in-place layers (a BatchNorm whose
 * top is its bottom) reuse a blob name, so "the layers reading conv1" means the layers that
 * read the value conv1 wrote, not every later layer naming the blob.
 */
import type { NetSpec } from '../caffe/netspec-types';

export interface LayerGraph {
  /** producers[i][k]: the layer that wrote layer i's k-th bottom (-1: a net input). */
  producers: number[][];
  /** consumers[j]: the layers reading a value layer j wrote (each once, in order). */
  consumers: number[][];
}

export function layerGraph(spec: NetSpec): LayerGraph {
  const writer = new Map<string, number>();
  const producers: number[][] = [];
  const consumers: number[][] = spec.layers.map(() => []);
  spec.layers.forEach((layer, i) => {
    producers.push(layer.bottoms.map((b) => writer.get(b) ?? -1));
    for (const p of new Set(producers[i])) if (p >= 0) consumers[p].push(i);
    for (const t of layer.tops) writer.set(t, i);
  });
  return { producers, consumers };
}
