/**
 * Caffe's NetState filtering (Net::FilterNet / StateMeetsRule): which layers of a
 * train_test prototxt exist in a given phase, level and set of stages.
 */
import { CaffeLrpError } from '../errors';
import { LayerObject, NetStateRuleObject } from './proto-objects';
import { lineOf } from './source-line';

export interface NetState {
  phase: 'TEST' | 'TRAIN';
  level: number;
  stages: string[];
}

export function stateMeetsRule(state: NetState, rule: NetStateRuleObject): boolean {
  if (rule.phase !== undefined && rule.phase !== state.phase) return false;
  if (rule.min_level !== undefined && state.level < rule.min_level) return false;
  if (rule.max_level !== undefined && state.level > rule.max_level) return false;
  for (const s of rule.stage ?? []) if (!state.stages.includes(s)) return false;
  for (const s of rule.not_stage ?? []) if (state.stages.includes(s)) return false;
  return true;
}

/**
 * A layer without rules is in every state; `exclude` rules drop it when one matches;
 * `include` rules keep it only when one matches. Both kinds at once is an error in Caffe.
 */
export function layerIncluded(layer: LayerObject, state: NetState, file: string): boolean {
  const include = layer.include ?? [];
  const exclude = layer.exclude ?? [];
  if (include.length && exclude.length) {
    throw new CaffeLrpError('SCHEMA', `a layer may have include rules or exclude rules, not both`, {
      file,
      line: lineOf(layer),
      layer: layer.name,
    });
  }
  if (include.length) return include.some((r) => stateMeetsRule(state, r));
  return !exclude.some((r) => stateMeetsRule(state, r));
}

export function filterByState(layers: LayerObject[], state: NetState, file: string): LayerObject[] {
  return layers.filter((l) => layerIncluded(l, state, file));
}
