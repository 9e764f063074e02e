/**
 * Per-layer rules: a composite in Zennit's sense (e.g. flat for the first layer, alpha-beta
 * for the convolutions, epsilon for the dense layers), like the LRP Toolbox's
 * `set_lrp_parameters`, and the switch between the two rule conventions this package
 * implements:
 *
 * - `semantics: 'caffe'` (default): the Caffe plugin's rules (behaviour spec §3-§4). The
 *   global rule is the formula type; `layerRules` replaces the linear rule of chosen
 *   layers with weights (Convolution, InnerProduct and the affine layers Eltwise,
 *   BatchNorm, Scale, Bias). Rule names: 'epsilon' (parameter `epsilon`), 'alphabeta'
 *   (parameter `beta`, alpha = 1 + beta), 'flat' (1/(kh*kw) for convolutions, as the
 *   plugin), 'wsquare' (alias 'ww').
 * - `semantics: 'toolbox'`: the stand-alone python/Matlab LRP Toolbox's rules (behaviour
 *   spec §7). Rule names are its `lrp_var` values: 'simple' (epsilon 1e-16), 'epsilon'
 *   (parameter `epsilon`), 'alphabeta' (parameter `alpha`, beta = 1 - alpha), 'flat' (over
 *   the whole receptive field incl. depth), 'ww' (alias 'wsquare'). Every layer type takes
 *   them: max pooling splits R among tied maxima (flat for 'flat'/'ww'), sum/average pooling
 *   applies them to the window sum, Rect/Tanh/Flatten pass relevance through.
 *
 * Keys of `layerRules` select layers, checked in this order (the first match wins):
 * a layer name; a layer index (decimal string, the index in `net.layers`); '@first' / '@last'
 * (the lowest / highest Convolution or InnerProduct layer); a layer type (e.g. 'Convolution',
 * 'InnerProduct', 'Pooling', 'SumPool'). Layers no key selects take the global rule. A key
 * that selects no layer of the net is an error (a typo should not silently fall back).
 */
import { CaffeLrpError } from '../errors';
import { showValue } from './show-value';
import type { NativeLayerInfo } from '../native';

export type Semantics = 'caffe' | 'toolbox' | 'zennit';
export const SEMANTICS: readonly Semantics[] = ['caffe', 'toolbox', 'zennit'];

/** The canonical rule kinds (aliases: 'ww' = 'wsquare'). */
export type RuleKind = 'simple' | 'epsilon' | 'alphabeta' | 'flat' | 'wsquare';

/** Rule names accepted per semantics, with their canonical kind. */
export const LAYER_RULE_NAMES: Record<'caffe' | 'toolbox', Record<string, RuleKind>> = {
  caffe: { epsilon: 'epsilon', alphabeta: 'alphabeta', flat: 'flat', wsquare: 'wsquare', ww: 'wsquare' },
  toolbox: { simple: 'simple', epsilon: 'epsilon', alphabeta: 'alphabeta', flat: 'flat', ww: 'wsquare', wsquare: 'wsquare' },
};

/** One layer's rule; a bare string is shorthand for `{ rule }`. */
export interface LayerRuleOption {
  /** Caffe semantics: 'epsilon' | 'alphabeta' | 'flat' | 'wsquare' ('ww'); toolbox: 'simple' | 'epsilon' | 'alphabeta' | 'flat' | 'ww' ('wsquare'). */
  rule: string;
  /** Epsilon of the 'epsilon' rule (default: the global `epsstab`). */
  epsilon?: number;
  /** Toolbox semantics: alpha of 'alphabeta', beta = 1 - alpha (default: the global `alpha`). */
  alpha?: number;
  /** Caffe semantics: beta >= 0 of 'alphabeta', alpha = 1 + beta (default: the global `alphabeta_beta`). */
  beta?: number;
}

/** Layer selector (name, index, '@first', '@last' or type) -> rule. */
export type LayerRulesOption = Record<string, LayerRuleOption | string>;

/** A validated rule with every parameter filled in. */
export interface ResolvedLayerRule {
  rule: RuleKind;
  epsilon: number;
  /** Toolbox alpha (beta = 1 - alpha); under Caffe semantics 1 + beta. */
  alpha: number;
  /** Caffe beta (alpha = 1 + beta); under toolbox semantics alpha - 1 (the subtracted weight). */
  beta: number;
}

function fail(field: string, message: string): never {
  throw new CaffeLrpError('OPTION', `option '${field}': ${message}`);
}

/** Validates one rule (global or per layer) and fills in the defaults. */
export function resolveRule(
  value: unknown, semantics: 'caffe' | 'toolbox', defaults: { epsilon: number; alpha: number; beta: number }, field: string,
): ResolvedLayerRule {
  const entry: Record<string, unknown> = typeof value === 'string' ? { rule: value } : (value as Record<string, unknown>);
  if (entry === null || typeof entry !== 'object' || Array.isArray(entry))
    fail(field, `must be a rule name or an object { rule, epsilon?, ${semantics === 'toolbox' ? 'alpha?' : 'beta?'} }, got ${showValue(value)}`);
  const names = LAYER_RULE_NAMES[semantics];
  const allowedKeys = ['rule', 'epsilon', semantics === 'toolbox' ? 'alpha' : 'beta'];
  for (const k of Object.keys(entry)) {
    if (allowedKeys.includes(k)) continue;
    if (k === 'alpha' || k === 'beta')
      fail(field, semantics === 'toolbox'
        ? "'beta' is not a parameter under semantics 'toolbox': give 'alpha' (beta = 1 - alpha)"
        : "'alpha' is not a parameter under semantics 'caffe': give 'beta' (alpha = 1 + beta), or use semantics 'toolbox'");
    fail(field, `unknown key '${k}' (known: ${allowedKeys.join(', ')})`);
  }
  const name = entry.rule;
  if (typeof name !== 'string' || !(name in names))
    fail(field, `unknown rule ${showValue(name)} for semantics '${semantics}' (rules: ${Object.keys(names).join(', ')})`);
  const number = (k: string, fallback: number): number => {
    const v = entry[k];
    if (v === undefined) return fallback;
    if (typeof v !== 'number' || !Number.isFinite(v)) fail(field, `'${k}' must be a finite number, got ${showValue(v)}`);
    return v;
  };
  const rule = names[name];
  const epsilon = number('epsilon', defaults.epsilon);
  if (semantics === 'toolbox') {
    const alpha = number('alpha', defaults.alpha);
    return { rule, epsilon, alpha, beta: alpha - 1 };
  }
  const beta = number('beta', defaults.beta);
  if (beta < 0) fail(field, `'beta' must be >= 0 (alpha = 1 + beta), got ${beta}`);
  return { rule, epsilon, alpha: 1 + beta, beta };
}

/** Validates the `layerRules` option (the layers are matched later, against the net). */
export function resolveLayerRules(
  value: unknown, semantics: 'caffe' | 'toolbox', defaults: { epsilon: number; alpha: number; beta: number },
): Record<string, ResolvedLayerRule> {
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    fail('layerRules', `must be an object mapping layer names, indices, '@first', '@last' or types to rules, got ${showValue(value)}`);
  const out: Record<string, ResolvedLayerRule> = {};
  for (const [key, entry] of Object.entries(value as Record<string, unknown>)) {
    if (key.trim() === '') fail('layerRules', 'empty layer selector');
    out[key] = resolveRule(entry, semantics, defaults, `layerRules.${key}`);
  }
  return out;
}

/** A layer's rule from `layerRules`, with the selector that chose it (for error messages). */
export type MatchedLayerRule<T = ResolvedLayerRule> = T & { key: string };

/** Layer types whose relevance is a linear rule (the ones Caffe-semantics layerRules may change). */
export const LINEAR_RULE_TYPES: ReadonlySet<string> = new Set(['Convolution', 'InnerProduct', 'Eltwise', 'BatchNorm', 'Scale', 'Bias']);
const WEIGHTED_TYPES = new Set(['Convolution', 'InnerProduct']);

/**
 * The rule each layer gets from `layerRules` (undefined: the global rule), checking that
 * every key selects at least one layer.
 */
export function matchLayerRules<T = ResolvedLayerRule>(
  layers: NativeLayerInfo[], rules: Record<string, T>,
): (MatchedLayerRule<T> | undefined)[] {
  const weighted = layers.filter((l) => WEIGHTED_TYPES.has(l.type)).map((l) => l.index);
  const first = weighted.length ? Math.min(...weighted) : -1;
  const last = weighted.length ? Math.max(...weighted) : -1;
  const used = new Set<string>();
  const pick = (key: string): MatchedLayerRule<T> | undefined => {
    if (!Object.prototype.hasOwnProperty.call(rules, key)) return undefined;
    used.add(key);
    return { key, ...rules[key] };
  };
  const result = layers.map((l, i) =>
    pick(l.name) ??
    pick(String(i)) ??
    (i === first ? pick('@first') : undefined) ??
    (i === last ? pick('@last') : undefined) ??
    pick(l.type));
  // A key can lose to a more specific one on every layer it selects: it still selected them.
  for (const key of Object.keys(rules)) {
    if (used.has(key)) continue;
    const selects = layers.some((l, i) => l.name === key || String(i) === key || l.type === key ||
      (key === '@first' && i === first) || (key === '@last' && i === last));
    if (!selects) {
      const types = [...new Set(layers.map((l) => l.type))].join(', ');
      fail(`layerRules.${key}`, `selects no layer of this net (layer names: ${layers.map((l) => l.name).join(', ')}; indices 0..${layers.length - 1}; types: ${types}${first < 0 ? '' : "; '@first', '@last'"})`);
    }
  }
  return result;
}
