/**
 * The formula-type policy: which rule each layer gets, for every formula type of the
 * original (behaviour spec §3), and where the walk starts. The native walk only applies
 * the rules it is handed, so a new composite is a change here alone.
 */
import { CaffeLrpError } from '../errors';
import type { NativeLayerInfo, NativeRule } from '../native';
import type { NetSpec } from '../caffe/netspec-types';
import { toolboxRulesFor } from '../toolbox/policy';
import { zennitRulesFor } from './zennit-policy';
import { LINEAR_RULE_TYPES, matchLayerRules, type MatchedLayerRule, type Semantics } from './layer-rules';
import type { ResolvedOptions } from './options';

type LinearKind = NonNullable<NativeRule['linear']>;

/** Is this formula type computed by the gradient walk (11, 99) instead of relevance rules? */
export function usesGradient(formulaType: number): boolean {
  return formulaType === 11 || formulaType === 99;
}

/** The linear rule for a Convolution (conv = true) or InnerProduct layer at `index`. */
export function linearRuleFor(formulaType: number, conv: boolean, index: number, aux: number): LinearKind {
  const below = index <= aux;
  switch (formulaType) {
    case 0: return 'epsilon';
    case 2: return 'alphabeta';
    case 26:
    case 166: return 'transpose';
    case 54: return below ? 'flat' : 'epsilon';
    case 56: return below ? 'wsquare' : 'epsilon';
    case 58: return below ? 'flat' : 'alphabeta';
    case 60: return below ? 'wsquare' : 'alphabeta';
    case 100: return conv ? 'alphabeta' : 'epsilon';
    case 102: return below ? 'flat' : conv ? 'alphabeta' : 'epsilon';
    case 104: return below ? 'wsquare' : conv ? 'alphabeta' : 'epsilon';
    case 114: return below ? 'alphabeta' : 'epsilon';
    default:
      throw new CaffeLrpError('OPTION', `formula type ${formulaType} has no layer rules`);
  }
}

/**
 * One NativeRule per layer for a relevance walk. `spec` (the net's NetSpec, layer i =
 * layers[i]) is needed under toolbox semantics, whose pooling rule depends on the method.
 */
export function rulesFor(layers: NativeLayerInfo[], o: ResolvedOptions, spec?: NetSpec): NativeRule[] {
  if (o.semantics === 'toolbox') return toolboxRulesFor(layers, o, spec);
  if (o.semantics === 'zennit') return zennitRulesFor(layers, o, spec);
  // like lastlayerindex, a layer index past the net is a mistake, not "every layer"
  if (o.aux >= layers.length)
    throw new CaffeLrpError('OPTION', `option 'auxiliaryvariable_maxlayerindexforflatdistinconv': ${o.aux} is past the net's last layer ${layers.length - 1}`);
  const perLayer = o.layerRules ? matchLayerRules(layers, o.layerRules) : [];
  return layers.map((layer, i) => {
    // Affine layers the original cannot explain (Eltwise, BatchNorm, Scale, Bias) take the
    // rule a convolution at the same place would get (contract §1, extensions).
    const conv = layer.type !== 'InnerProduct';
    const linear = linearRuleFor(o.formulaType, conv, layer.index, o.aux);
    const rule: NativeRule = {
      linear,
      epsilon: o.epsstab,
      beta: o.beta,
      biasTreatment: o.biasTreatment,
      pool: o.poolToAvg ? 'proportional' : 'wta',
      lrn: o.lrnBackwardType === 1 ? 'taylor' : 'identity',
      relu: o.formulaType === 26 ? 'rectify' : o.formulaType === 166 ? 'guided' : 'identity',
      compatGroupBias: o.compat,
    };
    const own = perLayer[i];
    if (own) applyLayerRule(rule, own, layer);
    return rule;
  });
}

/** Caffe semantics: a layerRules entry replaces the layer's linear rule and its parameter. */
function applyLayerRule(rule: NativeRule, own: MatchedLayerRule, layer: NativeLayerInfo): void {
  if (!LINEAR_RULE_TYPES.has(layer.type))
    throw new CaffeLrpError('OPTION', `option 'layerRules.${own.key}': selects layer '${layer.name}' (${layer.type}), which has no linear rule under semantics 'caffe' ` +
      `(per-layer rules apply to ${[...LINEAR_RULE_TYPES].join(', ')}; semantics 'toolbox' gives every layer type a rule)`);
  switch (own.rule) {
    case 'epsilon': rule.linear = 'epsilon'; rule.epsilon = own.epsilon; break;
    case 'alphabeta': rule.linear = 'alphabeta'; rule.beta = own.beta; break;
    case 'flat': rule.linear = 'flat'; break;
    case 'wsquare': rule.linear = 'wsquare'; break;
    default: throw new CaffeLrpError('OPTION', `option 'layerRules.${own.key}': rule '${own.rule}' needs semantics 'toolbox'`);
  }
}

/**
 * Resolves lastlayerindex -1 / -2 / explicit to a layer index (behaviour §2.1), checked.
 * Under toolbox semantics -1 is what the toolbox's demos do (drop a final SoftMax, start at
 * the scores): the layer below the last layer when that is a Softmax, else the last layer.
 */
export function resolveStartLayer(layers: NativeLayerInfo[], lastlayerindex: number, semantics: Semantics = 'caffe'): number {
  if (lastlayerindex === -1 && semantics === 'toolbox') {
    const last = layers.length - 1;
    if (layers[last].type !== 'Softmax') return last;
    if (last === 0) throw new CaffeLrpError('OPTION', "option 'lastlayerindex': the net is a single Softmax layer; nothing to explain");
    return last - 1;
  }
  if (lastlayerindex === -1) {
    const softmax = layers.findIndex((l) => l.type === 'Softmax');
    if (softmax < 0) throw new CaffeLrpError('OPTION', "option 'lastlayerindex': -1 means the layer below the first Softmax, but the net has no Softmax layer; give an explicit index");
    if (softmax === 0) throw new CaffeLrpError('OPTION', "option 'lastlayerindex': -1 resolves to the layer below the first Softmax, which is layer 0's input; give an explicit index");
    return softmax - 1;
  }
  if (lastlayerindex === -2) {
    let last = -1;
    layers.forEach((l, i) => { if (l.type === 'InnerProduct') last = i; });
    if (last < 0) throw new CaffeLrpError('OPTION', "option 'lastlayerindex': -2 means the last InnerProduct layer, but the net has none; give an explicit index");
    return last;
  }
  if (lastlayerindex < 0 || lastlayerindex >= layers.length)
    throw new CaffeLrpError('OPTION', `option 'lastlayerindex': ${lastlayerindex} is outside the net's layers 0..${layers.length - 1}`);
  return lastlayerindex;
}
