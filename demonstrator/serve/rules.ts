/**
 * The rules a client may pick, with the parameters each one reads, as GET /api/model lists
 * them (the page builds its picker from this list). Rule names and formula types are the
 * library's (RULE_NAMES); which parameter each formula type uses follows the rule's
 * definition: epsilon rules read the stabiliser, alpha-beta rules beta, the "_n_" rules the
 * layer index up to which the lower (flat / w²) rule applies.
 */
import { RULE_NAMES, type RuleName } from '../../lib/index';

export interface ParameterSpec {
  /** The multipart field (and the library option it sets). */
  name: 'epsstab' | 'alphabeta_beta' | 'aux';
  label: string;
  type: 'number' | 'integer';
  minimum: number;
  default: number;
  step: number;
}

export interface RuleSpec {
  name: string;
  formulaType: number;
  description: string;
  parameters: ParameterSpec[];
}

/** A named assignment of rules to layers (Zennit-style composites). None exist in the library yet. */
export interface CompositeSpec {
  name: string;
  description: string;
  parameters: ParameterSpec[];
}

const EPS: ParameterSpec = { name: 'epsstab', label: 'ε (stabiliser)', type: 'number', minimum: 0, default: 1, step: 0.01 };
const BETA: ParameterSpec = { name: 'alphabeta_beta', label: 'β (α = 1 + β)', type: 'number', minimum: 0, default: 1, step: 0.1 };
const AUX: ParameterSpec = { name: 'aux', label: 'lower rule up to layer', type: 'integer', minimum: 0, default: 0, step: 1 };

const USES: Record<RuleName, { description: string; parameters: ParameterSpec[] }> = {
  epsilon: { description: 'ε-rule in every layer', parameters: [EPS] },
  alphabeta: { description: 'α-β rule in every layer', parameters: [BETA] },
  gradient: { description: 'plain gradient', parameters: [] },
  sensitivity: { description: 'squared gradient (sensitivity)', parameters: [] },
  deconv: { description: 'deconvolution', parameters: [] },
  guided_backprop: { description: 'guided backpropagation', parameters: [] },
  eps_n_flat: { description: 'ε-rule, flat rule in the lowest layers', parameters: [EPS, AUX] },
  eps_n_wsquare: { description: 'ε-rule, w²-rule in the lowest layers', parameters: [EPS, AUX] },
  ab_n_flat: { description: 'α-β rule, flat rule in the lowest layers', parameters: [BETA, AUX] },
  ab_n_wsquare: { description: 'α-β rule, w²-rule in the lowest layers', parameters: [BETA, AUX] },
  layer_dep: { description: 'α-β in convolutions, ε in dense layers (the demonstrators’ default)', parameters: [EPS, BETA] },
  layer_dep_n_flat: { description: 'layer-dependent, flat rule in the lowest layers', parameters: [EPS, BETA, AUX] },
  layer_dep_n_wsquare: { description: 'layer-dependent, w²-rule in the lowest layers', parameters: [EPS, BETA, AUX] },
  eps_n_ab: { description: 'ε in dense layers, α-β in the lowest layers', parameters: [EPS, BETA, AUX] },
};

export const RULES: RuleSpec[] = (Object.keys(RULE_NAMES) as RuleName[]).map((name) => ({
  name,
  formulaType: RULE_NAMES[name],
  description: USES[name]?.description ?? name,
  parameters: USES[name]?.parameters ?? [],
}));

export const COMPOSITES: CompositeSpec[] = [];

/** The library option a parameter field sets. */
export function optionName(p: ParameterSpec['name']): string {
  return p === 'aux' ? 'auxiliaryvariable_maxlayerindexforflatdistinconv' : p;
}
