/**
 * Turns the phase-filtered layer list of any prototxt (deploy or train_test) into a
 * deploy net: explicit inputs and only the layers that compute something from them.
 *
 * - `input` + `input_shape` / `input_dim` and `Input` layers become net inputs. An Input
 *   layer is not a layer afterwards: the LRP Caffe fork has no Input layer, and layer
 *   indices must equal those of the equivalent `input_shape` prototxt.
 * - Data layers (Data, ImageData, HDF5Data, ...) become inputs named after their data top,
 *   shaped by the `inputShape` option; their label tops are dropped.
 * - Loss layers, Accuracy, Silence and HDF5Output are removed, and so is every layer that
 *   only processes labels (e.g. a Slice of the label blob that feeds the losses).
 */
import { CaffeLrpError } from '../errors';
import { InputSpec } from './netspec-types';
import { BlobShapeObject, LayerObject, NetParameterObject } from './proto-objects';
import { lineOf } from './source-line';

/** Layers whose first top is the data and the other tops are labels. */
const DATA_LAYERS_DATA_FIRST = new Set(['Data', 'ImageData', 'WindowData', 'MemoryData']);
/** Data layers whose tops are named datasets in any order (labels found by their use). */
const DATA_LAYERS_ANY_ORDER = new Set(['HDF5Data', 'DummyData']);
const REMOVED_TYPES = new Set(['Accuracy', 'Silence', 'HDF5Output']);

export function isDataLayerType(type: string): boolean {
  return DATA_LAYERS_DATA_FIRST.has(type) || DATA_LAYERS_ANY_ORDER.has(type);
}

/** Loss layers are recognised by Caffe's naming convention (SoftmaxWithLoss, EuclideanLoss, ...). */
export function isRemovedType(type: string): boolean {
  return REMOVED_TYPES.has(type) || type.endsWith('Loss');
}

export interface DeployInput extends InputSpec {
  /** Where the shape came from, for error messages. */
  line?: number;
}

export interface DeployNet {
  inputs: DeployInput[];
  layers: LayerObject[];
}

export interface DeployOptions {
  file: string;
  inputShape?: number[];
}

export function toDeployNet(net: NetParameterObject, layers: LayerObject[], opts: DeployOptions): DeployNet {
  const { file } = opts;
  const override = checkInputShapeOption(opts.inputShape);
  const dataLayers = layers.filter((l) => isDataLayerType(l.type ?? ''));
  const removed = findRemovedLayers(layers);
  const kept = layers.filter((l, i) => !removed.has(i) && l.type !== 'Input' && !isDataLayerType(l.type ?? ''));
  const used = new Set(kept.flatMap((l) => l.bottom ?? []));

  const declared = declaredInputs(net, layers, file);
  const fromData = dataInputs(dataLayers, used, file);
  if (override) applyOverride(declared, fromData, override, file);
  checkShapesKnown(declared, fromData, file);
  const inputs = [...declared, ...fromData];
  checkNoLabelReads(kept, inputs, layers, removed, file);
  return { inputs, layers: kept };
}

function checkInputShapeOption(shape: number[] | undefined): number[] | undefined {
  if (shape === undefined) return undefined;
  if (!Array.isArray(shape) || shape.length === 0 || !shape.every((d) => Number.isInteger(d) && d >= 1)) {
    throw new CaffeLrpError('OPTION', `inputShape must be a non-empty array of positive integers, got ${JSON.stringify(shape)}`);
  }
  return [...shape];
}

function checkShapesKnown(declared: DeployInput[], fromData: DeployInput[], file: string): void {
  for (const input of fromData) {
    if (!input.shape.length) {
      throw new CaffeLrpError(
        'OPTION',
        `data layer top '${input.name}' becomes the net input, but its shape is unknown: ` +
          `pass the option inputShape (e.g. inputShape: [1, 3, 32, 32] for one 3x32x32 image)`,
        { file, line: input.line },
      );
    }
  }
  for (const input of declared) {
    if (!input.shape.length) {
      throw new CaffeLrpError('SCHEMA', `input '${input.name}' has no shape (give input_shape, input_dim or input_param.shape, or the option inputShape)`, {
        file,
        line: input.line,
      });
    }
  }
}

/**
 * inputShape shapes the data-layer inputs; for a deploy net with exactly one declared
 * input it replaces the declared shape (e.g. to change the batch size).
 */
function applyOverride(declared: DeployInput[], fromData: DeployInput[], shape: number[], file: string): void {
  if (fromData.length) {
    for (const input of fromData) input.shape = [...shape];
  } else if (declared.length === 1) {
    declared[0].shape = [...shape];
  } else if (declared.length > 1) {
    throw new CaffeLrpError(
      'OPTION',
      `inputShape is ambiguous: the net has ${declared.length} inputs (${declared.map((i) => i.name).join(', ')})`,
      { file },
    );
  }
}

/** `input` fields and Input layers, in Caffe's order (net-level inputs first). */
function declaredInputs(net: NetParameterObject, layers: LayerObject[], file: string): DeployInput[] {
  const names = net.input ?? [];
  const shapes = net.input_shape ?? [];
  const dims = net.input_dim ?? [];
  const where = { file, line: lineOf(net) };
  if (shapes.length && dims.length) {
    throw new CaffeLrpError('SCHEMA', `give either input_shape or the deprecated input_dim, not both`, where);
  }
  if (shapes.length && shapes.length !== names.length) {
    throw new CaffeLrpError('SCHEMA', `${names.length} input(s) but ${shapes.length} input_shape entries; give one per input`, where);
  }
  if (dims.length && dims.length !== 4 * names.length) {
    throw new CaffeLrpError('SCHEMA', `${names.length} input(s) need ${4 * names.length} input_dim values, found ${dims.length}`, where);
  }
  const inputs: DeployInput[] = names.map((name, i) => {
    const shape = shapes.length ? shapes[i].dim ?? [] : dims.slice(4 * i, 4 * i + 4);
    const line = lineOf(shapes[i]) ?? where.line;
    return { name, shape: shape.length ? checkedShape(shape, `input '${name}'`, { file, line }) : [], line };
  });
  for (const layer of layers) if (layer.type === 'Input') inputs.push(...inputLayerInputs(layer, file));
  return inputs;
}

function inputLayerInputs(layer: LayerObject, file: string): DeployInput[] {
  const tops = layer.top ?? [];
  const param = (layer.input_param ?? {}) as { shape?: BlobShapeObject[] };
  const shapes = param.shape ?? [];
  const where = { file, line: lineOf(layer), layer: layer.name };
  if (shapes.length !== 0 && shapes.length !== 1 && shapes.length !== tops.length) {
    throw new CaffeLrpError('SCHEMA', `Input layer has ${tops.length} tops but ${shapes.length} shapes (give 1 or one per top)`, where);
  }
  return tops.map((name, i) => {
    const s = shapes.length ? shapes[shapes.length === 1 ? 0 : i].dim ?? [] : [];
    return { name, shape: s.length ? checkedShape(s, `input '${name}'`, where) : [], line: where.line };
  });
}

export function checkedShape(shape: number[], what: string, where: { file: string; line?: number; layer?: string }): number[] {
  if (!shape.length) throw new CaffeLrpError('SCHEMA', `${what} has no shape`, where);
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 1) {
      throw new CaffeLrpError('SCHEMA', `${what} has an invalid dimension ${d} in shape [${shape.join(', ')}]`, where);
    }
  }
  return [...shape];
}

/**
 * Which layers go, to a fixpoint: removed types; layers that only read dead blobs (labels,
 * loss outputs); and label-processing layers, i.e. layers whose every output is read only
 * by removed layers, at least once in a label position (bottom 1+ of a loss or Accuracy
 * layer, or any bottom of Silence). A layer whose output feeds a loss as its prediction
 * (bottom 0) stays: it is the net's output in the deploy net. Returns the removed indices.
 */
function findRemovedLayers(layers: LayerObject[]): Set<number> {
  const removed = new Set<number>();
  const dead = new Set<string>();
  for (const l of layers) {
    if (DATA_LAYERS_DATA_FIRST.has(l.type ?? '')) (l.top ?? []).slice(1).forEach((t) => dead.add(t));
  }
  const readers = topReaders(layers);
  const isLabelUse = (c: Consumer): boolean => {
    const type = layers[c.layer].type ?? '';
    return type === 'Silence' || (isRemovedType(type) && c.bottom > 0);
  };
  const onlyFeedsRemovedLabels = (self: number): boolean => {
    const uses = readers[self];
    return uses.every((u) => u.length > 0 && u.every((c) => removed.has(c.layer))) && uses.some((u) => u.some(isLabelUse));
  };
  for (let changed = true; changed; ) {
    changed = false;
    layers.forEach((l, i) => {
      const type = l.type ?? '';
      if (removed.has(i) || isDataLayerType(type) || type === 'Input') return;
      const bottoms = l.bottom ?? [];
      const tops = l.top ?? [];
      const drop =
        isRemovedType(type) ||
        (bottoms.length > 0 && bottoms.every((b) => dead.has(b))) ||
        (tops.length > 0 && onlyFeedsRemovedLabels(i));
      if (drop) {
        removed.add(i);
        tops.forEach((t) => dead.add(t));
        changed = true;
      }
    });
  }
  return removed;
}

interface Consumer {
  layer: number;
  bottom: number;
}

/**
 * readers[i][k]: the layers that read the value layer i writes to its top k — that version of
 * the blob, not every layer that uses the name (in-place layers reuse names; counting all
 * users of a name made a chain of n in-place layers cost n² here).
 */
function topReaders(layers: LayerObject[]): Consumer[][][] {
  const readers: Consumer[][][] = layers.map((l) => (l.top ?? []).map(() => []));
  const writer = new Map<string, { layer: number; top: number }>();
  layers.forEach((l, i) => {
    (l.bottom ?? []).forEach((b, j) => {
      const w = writer.get(b);
      if (w) readers[w.layer][w.top].push({ layer: i, bottom: j });
    });
    (l.top ?? []).forEach((t, k) => writer.set(t, { layer: i, top: k }));
  });
  return readers;
}

/** Data-layer tops that a kept layer reads become inputs; labels and unused tops do not. */
function dataInputs(dataLayers: LayerObject[], used: Set<string>, file: string): DeployInput[] {
  const inputs: DeployInput[] = [];
  for (const l of dataLayers) {
    const tops = l.top ?? [];
    tops.forEach((name, j) => {
      if (DATA_LAYERS_DATA_FIRST.has(l.type!) && j > 0) return;
      if (!used.has(name)) return;
      inputs.push({ name, shape: dataLayerShape(l, j, file), line: lineOf(l) });
    });
  }
  return inputs;
}

/** DummyData and MemoryData state their shapes; the other data layers read files we do not. */
function dataLayerShape(layer: LayerObject, top: number, file: string): number[] {
  const where = { file, line: lineOf(layer), layer: layer.name };
  if (layer.type === 'MemoryData') {
    const p = (layer.memory_data_param ?? {}) as Record<string, number | undefined>;
    const s = [p.batch_size, p.channels, p.height, p.width];
    return s.every((d) => d !== undefined) ? checkedShape(s as number[], `MemoryData top`, where) : [];
  }
  if (layer.type === 'DummyData') {
    const p = (layer.dummy_data_param ?? {}) as Record<string, unknown>;
    const shapes = (p.shape ?? []) as BlobShapeObject[];
    if (shapes.length) return checkedShape(shapes[shapes.length === 1 ? 0 : top]?.dim ?? [], `DummyData top ${top}`, where);
    const pick = (k: string): number | undefined => {
      const v = (p[k] ?? []) as number[];
      return v.length === 1 ? v[0] : v[top];
    };
    const s = [pick('num'), pick('channels'), pick('height'), pick('width')];
    return s.every((d) => d !== undefined) ? checkedShape(s as number[], `DummyData top ${top}`, where) : [];
  }
  return [];
}

/** A kept layer that reads a label or loss blob cannot run in a deploy net. */
function checkNoLabelReads(kept: LayerObject[], inputs: DeployInput[], all: LayerObject[], removed: Set<number>, file: string): void {
  const available = new Set(inputs.map((i) => i.name));
  const removedTops = new Set<string>();
  all.forEach((l, i) => {
    if (removed.has(i) || isDataLayerType(l.type ?? '')) for (const t of l.top ?? []) removedTops.add(t);
  });
  for (const l of kept) {
    for (const b of l.bottom ?? []) {
      if (!available.has(b) && removedTops.has(b)) {
        throw new CaffeLrpError(
          'SCHEMA',
          `reads blob '${b}', which is a label or the output of a removed loss/data layer; ` +
            `it does not exist in the deploy net`,
          { file, line: lineOf(l), layer: l.name },
        );
      }
    }
    for (const t of l.top ?? []) available.add(t);
  }
}
