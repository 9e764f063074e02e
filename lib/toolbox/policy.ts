/**
 * The stand-alone LRP Toolbox's rule semantics (python/Matlab, behaviour spec §7) as a
 * policy: for each layer, the engine rule that reproduces what the toolbox's module of that
 * type does for an `lrp_var` ('simple', 'epsilon', 'alphabeta', 'flat', 'ww') and its
 * parameter. The walk itself is the engine's; only the per-layer rules differ.
 *
 * | layer                          | simple            | epsilon e      | alphabeta a               | flat / ww         |
 * |--------------------------------|-------------------|----------------|---------------------------|-------------------|
 * | Convolution, InnerProduct,     | epsilon 1e-16,    | epsilon e,     | a z+/Z+ + (1-a) z-/Z-,    | flat over kh*kw*C |
 * | affine layers                  | sign(0) = +1      | sign(0) = +1   | 1e-16 stabilisers         | / w^2             |
 * | MAX pooling                    | winner-take-all, R split among tied maxima  |                           | flat 1/(kh*kw)    |
 * | SumPool, AVE pooling           | x/(S +- 1e-12)    | x/(S +- e)     | alpha-beta on the window  | flat 1/(kh*kw)    |
 * | ReLU, TanH, Flatten, ...       | identity          | identity       | identity                  | identity          |
 *
 * `compat` reproduces the toolbox's SumPool alpha-beta defect (the beta term of the
 * general case is multiplied by R twice); by default it is fixed.
 */
import { CaffeLrpError } from '../errors';
import type { NativeLayerInfo, NativeRule } from '../native';
import type { NetSpec } from '../caffe/netspec-types';
import { matchLayerRules, type ResolvedLayerRule } from '../relevance/layer-rules';
import type { ResolvedOptions } from '../relevance/options';

/** The toolbox's stabiliser of its 'simple' rule in Linear and Convolution layers. */
export const SIMPLE_EPSILON = 1e-16;
/** ... and in SumPool layers. */
export const SUMPOOL_SIMPLE_EPSILON = 1e-12;

const LINEAR_TYPES = new Set(['Convolution', 'InnerProduct', 'Eltwise', 'BatchNorm', 'Scale', 'Bias']);

/** 'MAX' | 'AVE' for Pooling layers (from the NetSpec), 'SUM' for SumPool, undefined otherwise. */
function poolMethod(layer: NativeLayerInfo, index: number, spec: NetSpec | undefined): 'MAX' | 'AVE' | 'SUM' | undefined {
  if (layer.type === 'SumPool') return 'SUM';
  if (layer.type !== 'Pooling') return undefined;
  if (!spec) throw new CaffeLrpError('STATE', `toolbox rules for pooling layer '${layer.name}' need the net's spec (its pooling method)`);
  const own = spec.layers[index]?.name === layer.name ? spec.layers[index] : spec.layers.find((l) => l.name === layer.name);
  const pool = own?.params?.pool;
  if (pool !== 'MAX' && pool !== 'AVE')
    throw new CaffeLrpError('UNSUPPORTED', `pooling layer '${layer.name}': method ${JSON.stringify(pool)} has no toolbox rule (MAX and AVE do)`);
  return pool;
}

/** The engine rule for one layer of type `type` under the toolbox rule `r`. */
export function toolboxLayerRule(layer: NativeLayerInfo, method: 'MAX' | 'AVE' | 'SUM' | undefined, r: ResolvedLayerRule, o: ResolvedOptions): NativeRule {
  const rule: NativeRule = {
    linear: 'epsilon',
    epsilon: SIMPLE_EPSILON,
    beta: 0,
    biasTreatment: 0,
    pool: 'wta-ties',
    lrn: o.lrnBackwardType === 1 ? 'taylor' : 'identity',
    relu: 'identity',
    stabilizer: 'toolbox',
    compatGroupBias: false,
    compatSumPoolBeta: o.compat,
    flatOverDepth: true,
  };
  const uniform = r.rule === 'flat' || r.rule === 'wsquare';
  if (LINEAR_TYPES.has(layer.type)) {
    switch (r.rule) {
      case 'simple': break;
      case 'epsilon': rule.epsilon = r.epsilon; break;
      case 'alphabeta':
        rule.linear = 'alphabeta';
        rule.alpha = r.alpha;
        rule.beta = r.alpha - 1;
        break;
      case 'flat': rule.linear = 'flat'; break;
      case 'wsquare': rule.linear = 'wsquare'; break;
    }
  } else if (method === 'MAX') {
    rule.pool = uniform ? 'flat' : 'wta-ties';
  } else if (method === 'AVE' || method === 'SUM') {
    switch (r.rule) {
      case 'simple': rule.pool = 'epsilon'; rule.epsilon = SUMPOOL_SIMPLE_EPSILON; break;
      case 'epsilon': rule.pool = 'epsilon'; rule.epsilon = r.epsilon; break;
      case 'alphabeta':
        rule.pool = 'alphabeta';
        rule.alpha = r.alpha;
        rule.beta = r.alpha - 1;
        break;
      default: rule.pool = 'flat';
    }
  }
  return rule;
}

/** One engine rule per layer under toolbox semantics: the global rule, or the layer's own. */
export function toolboxRulesFor(layers: NativeLayerInfo[], o: ResolvedOptions, spec?: NetSpec): NativeRule[] {
  const global = o.toolboxRule;
  if (!global) throw new CaffeLrpError('STATE', 'internal: toolbox semantics without a resolved rule');
  const own = o.layerRules ? matchLayerRules(layers, o.layerRules) : [];
  return layers.map((layer, i) => toolboxLayerRule(layer, poolMethod(layer, i, spec), own[i] ?? global, o));
}
