/**
 * Semantics 'zennit' as a policy: the composite's (or global rule's) assignment, the
 * layerRules overrides on top, and each layer's engine rule.
 */
import { CaffeLrpError } from '../errors';
import type { NativeLayerInfo, NativeRule } from '../native';
import type { NetSpec } from '../caffe/netspec-types';
import { assignZennitRules } from './composites';
import { matchLayerRules } from './layer-rules';
import type { ResolvedOptions } from './options';
import { zennitLayerRule } from './zennit-rules';

export function zennitRulesFor(layers: NativeLayerInfo[], o: ResolvedOptions, spec?: NetSpec): NativeRule[] {
  const z = o.zennit;
  if (!z) throw new CaffeLrpError('STATE', 'internal: zennit semantics without resolved rules');
  const assigned = assignZennitRules(layers, spec, z.defaults, { composite: z.composite, rule: z.rule });
  const own = z.layerRules ? matchLayerRules(layers, z.layerRules) : [];
  // The spatial size of a layer's input (global average pooling's window).
  const inputArea = (index: number): number => {
    const bottom = layers[index].bottoms[0];
    const producer = layers.slice(0, index).reverse().find((l) => l.tops.includes(bottom));
    const shape = producer?.topShapes[producer.tops.indexOf(bottom)];
    return shape && shape.length >= 4 ? shape[2] * shape[3] : 1;
  };
  return layers.map((layer, i) => zennitLayerRule(layer, i, own[i] ?? assigned[i], spec, inputArea));
}
