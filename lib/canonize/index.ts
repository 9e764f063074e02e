/**
 * Canonizers: rewrites of a net, before attribution, into an equivalent net whose layers the
 * rules explain as Zennit's canonizers make them (model rewriting only: rule assignment is
 * lib/relevance/composites.ts, the walk is the engine's). Today one canonizer rewrites:
 *
 * - batchnorm.ts: BatchNorm (and Caffe's BatchNorm + Scale) folded into the Convolution or
 *   InnerProduct before it.
 *
 * Zennit's residual canonizers (ResNet / MobileNetV2 blocks: `out + identity` becomes a Sum
 * module, which gets the Norm rule) need no rewrite here: a residual addition already is
 * one layer, Caffe's Eltwise SUM or the Eltwise SUM an ONNX Add is lowered to, and the
 * composites give every Eltwise SUM the Norm rule.
 *
 * The canonized net has the same layers at the same indices (folded layers become
 * Identity layers), so lastlayerindex, firstlayerindex and layerRules by index or name select
 * the same layers in both.
 */
import type { NetSpec } from '../caffe/netspec-types';
import { mergeBatchNorms, planBatchNormMerges, type BatchNormMerge } from './batchnorm';

export type { BatchNormMerge };

/** What canonization changes in a net (structure only: computed without the weights). */
export interface CanonizePlan {
  batchNorms: BatchNormMerge[];
}

export function planCanonize(spec: NetSpec): CanonizePlan {
  return { batchNorms: planBatchNormMerges(spec) };
}

/** Does canonizing change this net at all? */
export function changesNet(plan: CanonizePlan): boolean {
  return plan.batchNorms.length > 0;
}

/** The layers a plan reads the weights of (the others may come without blobs). */
export function layersNeedingWeights(plan: CanonizePlan): Set<number> {
  return new Set(plan.batchNorms.flatMap((m) => [m.into, ...m.merged]));
}

/** The canonized spec (layers outside the plan are shared with `spec`, not copied). */
export function canonize(spec: NetSpec, plan: CanonizePlan = planCanonize(spec)): NetSpec {
  return mergeBatchNorms(spec, plan.batchNorms);
}

/** Per layer index: the names merged into it, or the name of the layer it was merged into. */
export function mergeNotes(spec: NetSpec, plan: CanonizePlan): Map<number, { merged?: string[]; mergedInto?: string }> {
  const notes = new Map<number, { merged?: string[]; mergedInto?: string }>();
  for (const { into, merged } of plan.batchNorms) {
    notes.set(into, { merged: merged.map((m) => spec.layers[m].name) });
    for (const m of merged) notes.set(m, { mergedInto: spec.layers[into].name });
  }
  return notes;
}
