/**
 * Zennit's composites as rule assignments: for each layer of a net, the Zennit rule a
 * composite gives it (or none: the plain gradient). Nothing here runs; the walk only
 * receives the per-layer rules. Layer kinds follow Zennit's type groups in engine terms:
 * Convolution (Conv), InnerProduct (nn.Linear), activations, Eltwise SUM (its Sum), AVE
 * pooling (AvgPool), BatchNorm/Scale (BatchNorm).
 */
import type { NativeLayerInfo } from '../native';
import type { NetSpec } from '../caffe/netspec-types';
import { ZENNIT_STABILIZER, type ZennitDefaults, type ZennitRule, type ZennitRuleName } from './zennit-rules';

export const COMPOSITES = ['EpsilonGammaBox', 'EpsilonPlus', 'EpsilonPlusFlat', 'EpsilonAlpha2Beta1', 'EpsilonAlpha2Beta1Flat'] as const;
export type CompositeName = (typeof COMPOSITES)[number];

const ACTIVATIONS = new Set(['ReLU', 'TanH', 'Sigmoid', 'ELU', 'PReLU', 'Clip', 'ReLU6', 'Tanh']);
const BATCH_NORM = new Set(['BatchNorm', 'Scale']);

function make(rule: ZennitRuleName, d: ZennitDefaults, extra: Partial<ZennitRule> = {}): ZennitRule {
  return { rule, epsilon: d.epsilon, alpha: 1, beta: 0, gamma: d.gamma, low: d.low, high: d.high, stabilizer: d.stabilizer, ...extra };
}

function isAvePool(layer: NativeLayerInfo, index: number, spec: NetSpec | undefined): boolean {
  if (layer.type !== 'Pooling') return false;
  const own = spec?.layers[index]?.name === layer.name ? spec.layers[index] : spec?.layers.find((l) => l.name === layer.name);
  return (own?.params as { pool?: string } | undefined)?.pool === 'AVE';
}

/**
 * Zennit's base map (every composite): activations Pass, sums and average pools Norm,
 * batch norms Pass. `linear(type)` adds the layer-specific rules; undefined: no rule.
 */
function baseRule(layer: NativeLayerInfo, index: number, spec: NetSpec | undefined, d: ZennitDefaults): ZennitRule | undefined {
  const norm = make('Norm', d, { stabilizer: d.stabilizer });
  if (ACTIVATIONS.has(layer.type)) return make('Pass', d);
  if (layer.type === 'Eltwise') return norm;
  if (isAvePool(layer, index, spec)) return norm;
  if (BATCH_NORM.has(layer.type)) return make('Pass', d);
  return undefined;
}

/**
 * One Zennit rule per layer for a single global rule (Zennit's base map plus that rule on
 * every Convolution and InnerProduct, as the vectors' single-rule cases) or a composite.
 * The composite's dense Epsilon uses `epsilon` (default 1e-6), Gamma `gamma` (0.25), ZBox
 * `low`/`high`.
 */
export function assignZennitRules(layers: NativeLayerInfo[], spec: NetSpec | undefined, d: ZennitDefaults,
  what: { composite?: CompositeName; rule?: ZennitRule }): (ZennitRule | undefined)[] {
  const convs = layers.filter((l) => l.type === 'Convolution').map((l) => l.index);
  const weighted = layers.filter((l) => l.type === 'Convolution' || l.type === 'InnerProduct').map((l) => l.index);
  const firstConv = convs.length ? Math.min(...convs) : -1;
  const firstWeighted = weighted.length ? Math.min(...weighted) : -1;
  return layers.map((layer, i) => {
    const base = baseRule(layer, i, spec, d);
    if (base) return base;
    const conv = layer.type === 'Convolution', dense = layer.type === 'InnerProduct';
    if (!conv && !dense) return undefined;
    if (what.rule) return what.rule;
    switch (what.composite) {
      case 'EpsilonPlus':
        return conv ? make('ZPlus', d) : make('Epsilon', d);
      case 'EpsilonAlpha2Beta1':
        return conv ? make('AlphaBeta', d, { alpha: 2, beta: 1 }) : make('Epsilon', d);
      case 'EpsilonPlusFlat':
        return layer.index === firstWeighted ? make('Flat', d) : conv ? make('ZPlus', d) : make('Epsilon', d);
      case 'EpsilonAlpha2Beta1Flat':
        return layer.index === firstWeighted ? make('Flat', d) : conv ? make('AlphaBeta', d, { alpha: 2, beta: 1 }) : make('Epsilon', d);
      case 'EpsilonGammaBox':
        return layer.index === firstConv ? make('ZBox', d) : conv ? make('Gamma', d) : make('Epsilon', d);
      default:
        return undefined;
    }
  });
}

export { ZENNIT_STABILIZER };
