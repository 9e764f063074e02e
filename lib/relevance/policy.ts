/**
 * The formula-type policy: which rule each layer gets, for every formula type of the
 * original (behaviour spec §3), and where the walk starts. The native walk only applies
 * the rules it is handed, so a new composite is a change here alone.
 */
import { CaffeLrpError } from '../errors';
import type { NativeLayerInfo, NativeRule } from '../native';
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

/** One NativeRule per layer for a relevance walk. */
export function rulesFor(layers: NativeLayerInfo[], o: ResolvedOptions): NativeRule[] {
  return layers.map((layer) => {
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
    return rule;
  });
}

/** Resolves lastlayerindex -1 / -2 / explicit to a layer index (behaviour §2.1), checked. */
export function resolveStartLayer(layers: NativeLayerInfo[], lastlayerindex: number): number {
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
