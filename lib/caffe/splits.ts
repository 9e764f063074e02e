/**
 * Caffe's automatic Split insertion (InsertSplits in insert_splits.cpp), reproduced so
 * that layer indices equal the original's.
 *
 * Every use of a blob as a bottom is tied to the layer that last wrote that blob name (an
 * in-place layer counts as a new producer, so conv → in-place relu → pool needs no split).
 * A produced blob that is read by more than one bottom gets a Split layer right after its
 * producer (for net inputs: at the very beginning, in input order), named
 * `<blob>_<producer>_<topIndex>_split` with tops `..._split_<k>`; the readers are renamed
 * in order. The producer of a net input is called "input", as in the Caffe the LRP fork
 * is based on (also for inputs that came from an Input or data layer, so that the net
 * equals its `input_shape` form). Caffe also counts an explicit non-zero `loss_weight` as
 * a reader; deploy nets have no losses, so that rule is left out.
 */
import { CaffeLrpError } from '../errors';
import { LayerObject } from './proto-objects';
import { copySourceLine, lineOf } from './source-line';

export const INPUT_PRODUCER = 'input';

/** A layer object that we inserted (not written back to prototxts). */
export const INSERTED_SPLIT: unique symbol = Symbol('caffe-lrp.insertedSplit');

export function splitLayerName(producer: string, blob: string, topIndex: number): string {
  return `${blob}_${producer}_${topIndex}_split`;
}

export function splitBlobName(producer: string, blob: string, topIndex: number, k: number): string {
  return `${splitLayerName(producer, blob, topIndex)}_${k}`;
}

/** Identifies a produced blob: [layer index or -1 for inputs, top index]. */
type TopId = string;
const topId = (layer: number, top: number): TopId => `${layer}:${top}`;

export function insertSplits(inputNames: string[], layers: LayerObject[], file: string): LayerObject[] {
  const lastProducer = new Map<string, TopId>();
  const readers = new Map<TopId, number>();
  const sourceOf = new Map<string, TopId>(); // "layer:bottom" → producer
  inputNames.forEach((name, i) => lastProducer.set(name, topId(-1, i)));

  layers.forEach((layer, i) => {
    (layer.bottom ?? []).forEach((blob, j) => {
      const src = lastProducer.get(blob);
      if (src === undefined) {
        throw new CaffeLrpError('SCHEMA', `unknown bottom blob '${blob}' (bottom ${j}): no input or earlier layer produces it`, {
          file,
          line: lineOf(layer),
          layer: layer.name,
        });
      }
      sourceOf.set(`${i}:${j}`, src);
      readers.set(src, (readers.get(src) ?? 0) + 1);
    });
    (layer.top ?? []).forEach((blob, j) => lastProducer.set(blob, topId(i, j)));
  });

  const nextSplitIndex = new Map<TopId, number>();
  const producerName = (layer: number): string => (layer < 0 ? INPUT_PRODUCER : layers[layer].name ?? '');
  const out: LayerObject[] = [];
  inputNames.forEach((name, i) => {
    const n = readers.get(topId(-1, i)) ?? 0;
    if (n > 1) out.push(makeSplit(INPUT_PRODUCER, name, i, n));
  });
  layers.forEach((layer, i) => {
    const bottoms = layer.bottom ?? [];
    let copy = layer;
    bottoms.forEach((blob, j) => {
      const src = sourceOf.get(`${i}:${j}`)!;
      if ((readers.get(src) ?? 0) <= 1) return;
      if (copy === layer) copy = cloneLayer(layer);
      const [srcLayer, srcTop] = src.split(':').map(Number);
      const k = nextSplitIndex.get(src) ?? 0;
      nextSplitIndex.set(src, k + 1);
      copy.bottom![j] = splitBlobName(producerName(srcLayer), blob, srcTop, k);
    });
    out.push(copy);
    (layer.top ?? []).forEach((blob, j) => {
      const n = readers.get(topId(i, j)) ?? 0;
      if (n > 1) out.push(makeSplit(producerName(i), blob, j, n));
    });
  });
  return out;
}

/** A shallow copy with its own bottom list; keeps the source line. */
function cloneLayer(layer: LayerObject): LayerObject {
  const copy: LayerObject = { ...layer, bottom: [...(layer.bottom ?? [])] };
  copySourceLine(layer, copy);
  return copy;
}

function makeSplit(producer: string, blob: string, topIndex: number, count: number): LayerObject {
  const layer: LayerObject = {
    name: splitLayerName(producer, blob, topIndex),
    type: 'Split',
    bottom: [blob],
    top: Array.from({ length: count }, (_, k) => splitBlobName(producer, blob, topIndex, k)),
  };
  Object.defineProperty(layer, INSERTED_SPLIT, { value: true });
  return layer;
}

export function isInsertedSplit(layer: object): boolean {
  return (layer as { [INSERTED_SPLIT]?: boolean })[INSERTED_SPLIT] === true;
}
