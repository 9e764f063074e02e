/**
 * Builds a NetSpec (netspec-types.ts) from a parsed NetParameter (prototxt text or
 * binary) and optional weights. The steps are Caffe's own, in Caffe's order:
 * V1 upgrade → NetState filtering → deploy conversion (inputs, data/loss removal) →
 * automatic Split insertion → per layer: parameter normalisation, shape inference and
 * weight matching by layer name.
 */
import { CaffeLrpError } from '../errors';
import { LayerSpec, NetSpec } from './netspec-types';
import { LayerObject, NetParameterObject } from './proto-objects';
import { upgradeLayers } from './upgrade';
import { NetState, filterByState } from './phase';
import { toDeployNet } from './deploy';
import { insertSplits, isInsertedSplit } from './splits';
import { Where, normaliseParams } from './params';
import { Shapes, checkArity, expectedBlobCount, expectedBlobShapes, inferTopShapes } from './shapes';
import { WeightSource, blobsForLayer, weightSource } from './weights';
import { lineOf } from './source-line';

export interface BuildOptions {
  /** Name of the definition file, for error messages. */
  file?: string;
  /** Shape of the input that replaces the data layer of a train_test prototxt (e.g. [1, 3, 32, 32]). */
  inputShape?: number[];
  /** NetState used to filter include/exclude rules; default TEST, level and stages from the file's `state`. */
  phase?: 'TEST' | 'TRAIN';
  level?: number;
  stages?: string[];
}

export interface WeightsInput {
  net: NetParameterObject;
  file: string;
}

export function buildNetSpec(def: NetParameterObject, weights: WeightsInput | undefined, opts: BuildOptions = {}): NetSpec {
  const file = opts.file ?? '<prototxt>';
  const layers = upgradeLayers(def, file);
  layers.forEach((l) => checkTyped(l, file));
  const filtered = filterByState(layers, netState(def, opts), file);
  const deploy = toDeployNet(def, filtered, { file, inputShape: opts.inputShape });
  const withSplits = insertSplits(
    deploy.inputs.map((i) => i.name),
    deploy.layers,
    file,
  );
  const source = weights ? weightSource(weights.net, weights.file) : undefined;
  const shapes = new Map<string, number[] | undefined>(deploy.inputs.map((i) => [i.name, i.shape]));
  const specs = withSplits.map((l) => buildLayer(l, shapes, source, file));
  checkDuplicateWeightNames(specs, withSplits, file, source);
  return {
    name: def.name ?? '',
    inputs: deploy.inputs.map(({ name, shape }) => ({ name, shape })),
    layers: specs,
    source: file,
    weightsLoaded: source !== undefined,
    ...(source ? { weightsSource: source.file } : {}),
  };
}

function netState(def: NetParameterObject, opts: BuildOptions): NetState {
  const phase = opts.phase ?? 'TEST';
  if (phase !== 'TEST' && phase !== 'TRAIN') {
    throw new CaffeLrpError('OPTION', `phase must be 'TEST' or 'TRAIN', got ${JSON.stringify(phase)}`);
  }
  return { phase, level: opts.level ?? def.state?.level ?? 0, stages: opts.stages ?? def.state?.stage ?? [] };
}

function checkTyped(l: LayerObject, file: string): void {
  if (!l.type) throw new CaffeLrpError('SCHEMA', `layer has no type`, { file, line: lineOf(l), layer: l.name });
}

function buildLayer(
  l: LayerObject,
  shapes: Map<string, number[] | undefined>,
  source: WeightSource | undefined,
  file: string,
): LayerSpec {
  const type = l.type!;
  const bottoms = [...(l.bottom ?? [])];
  const tops = [...(l.top ?? [])];
  const where: Where = { file, line: lineOf(l), layer: l.name };
  checkArity(type, bottoms.length, tops.length, where);
  const bottomShapes: Shapes = bottoms.map((b) => shapes.get(b));
  const { params, rawParamName } = normaliseParams(l, type, bottomShapes, where);
  const topShapes = inferTopShapes(type, params, bottomShapes, tops.length, where);
  tops.forEach((t, i) => shapes.set(t, topShapes[i]));
  const blobs = blobsForLayer(
    {
      layer: l,
      count: expectedBlobCount(type, params, bottoms.length),
      shapes: expectedBlobShapes(type, params, bottomShapes, where),
      where,
    },
    source,
  );
  const spec: LayerSpec = { name: l.name ?? '', type, bottoms, tops, params, blobs };
  if (where.line !== undefined) spec.line = where.line;
  if (topShapes.every((s) => s !== undefined)) spec.topShapes = topShapes as number[][];
  if (rawParamName) spec.rawParamName = rawParamName;
  if (isInsertedSplit(l)) spec.inserted = true;
  return spec;
}

/** Weights are matched by name, so two weighted layers with one name would get the same blobs. */
function checkDuplicateWeightNames(specs: LayerSpec[], layers: LayerObject[], file: string, source: WeightSource | undefined): void {
  if (!source) return;
  const seen = new Set<string>();
  specs.forEach((s, i) => {
    if (!s.blobs.length) return;
    if (seen.has(s.name)) {
      throw new CaffeLrpError('SCHEMA', `two layers with learned blobs share this name; weights are matched by layer name`, {
        file,
        line: lineOf(layers[i]),
        layer: s.name,
      });
    }
    seen.add(s.name);
  });
}
