/**
 * The original's `relpropopts`, validated. Field names and defaults are those of the
 * original C++ options class (behaviour spec §1), with two differences a user of the API
 * needs: `firstlayerindex` defaults to 0 (the original's -1 is invalid) and rule names
 * (contract §1) may stand in for formula type numbers.
 */
import { CaffeLrpError } from '../errors';
import { showValue } from './show-value';
import { resolveLayerRules, resolveRule, SEMANTICS, type LayerRulesOption, type ResolvedLayerRule, type Semantics } from './layer-rules';
import { COMPOSITES, type CompositeName } from './composites';
import { isZennitRuleName, resolveBound, resolveZennitRule, ZENNIT_STABILIZER, type ZennitDefaults, type ZennitRule } from './zennit-rules';

export const FORMULA_TYPES = [0, 2, 11, 99, 26, 166, 54, 56, 58, 60, 100, 102, 104, 114] as const;
export type FormulaType = (typeof FORMULA_TYPES)[number];

const RULES = {
  epsilon: 0,
  alphabeta: 2,
  gradient: 11,
  sensitivity: 99,
  deconv: 26,
  guided_backprop: 166,
  eps_n_flat: 54,
  eps_n_wsquare: 56,
  ab_n_flat: 58,
  ab_n_wsquare: 60,
  layer_dep: 100,
  layer_dep_n_flat: 102,
  layer_dep_n_wsquare: 104,
  eps_n_ab: 114,
} as const satisfies Record<string, FormulaType>;

/** The rule names that stand for formula types (`rule: 'layer_dep'` = `relpropformulatype: 100`). */
export type RuleName = keyof typeof RULES;
export const RULE_NAMES: Readonly<Record<RuleName, FormulaType>> = RULES;

/**
 * The rule used when neither `rule` nor `relpropformulatype` is given: the demonstrators'
 * default (their config.txt): formula type 100 ('layer_dep': alpha-beta in convolutions,
 * epsilon in dense layers) with epsstab 1 and alphabeta_beta 1. (An explicitly chosen rule
 * keeps the original options class's beta default, 0.1.)
 */
/** The largest alphabeta_beta accepted (see resolveOptions). */
export const MAX_ALPHABETA_BETA = 1e6;

export const DEFAULT_RULE = { rule: 'layer_dep', epsstab: 1, alphabeta_beta: 1 } as const;

/** Formula types whose conv/fc rule below the aux threshold differs (they need the aux index). */
export const NEEDS_AUX: ReadonlySet<number> = new Set([54, 56, 58, 60, 102, 104, 114]);

/** Options accepted by backwardRelevance(), explain() and the demonstrators. */
export interface RelPropOptions {
  /** Formula type number (see FORMULA_TYPES). Without it and without `rule`: DEFAULT_RULE. */
  relpropformulatype?: number;
  /**
   * The rule: a name ('epsilon', 'alphabeta', 'layer_dep', ...) or a formula type number.
   * Under semantics 'toolbox', one of the toolbox's rule names.
   */
  rule?: RuleName | FormulaType | (string & {}); // (string & {}): toolbox rule names, without losing the completions of RuleName
  epsstab?: number;
  alphabeta_beta?: number;
  lastlayerindex?: number;
  firstlayerindex?: number;
  numclasses?: number;
  auxiliaryvariable_maxlayerindexforflatdistinconv?: number;
  codeexectype?: number;
  lrn_forward_type?: number;
  lrn_backward_type?: number;
  maxpoolingtoavgpoolinginbackwardpass?: number;
  biastreatmenttype?: number;
  has_init_relevance?: boolean;
  relevance_for_init?: number;
  /** Reproduce the original's numbers where caffe-lrp fixes a defect (contract §1). */
  compat?: boolean;
  /** Return the per-layer conservation report. */
  conservation?: boolean;
  /**
   * Which rule conventions apply (see lib/relevance/layer-rules.ts): 'caffe' (default) the
   * Caffe plugin's formula types; 'toolbox' the stand-alone LRP Toolbox's (python/Matlab)
   * rules, chosen with `rule` ('simple' (default), 'epsilon', 'alphabeta', 'flat', 'ww'),
   * `epsstab` (epsilon, default 1) and `alpha` (default 1). Under 'toolbox',
   * relpropformulatype, alphabeta_beta and the aux index do not apply; `compat` reproduces
   * the toolbox's SumPool alpha-beta defect.
   */
  semantics?: Semantics;
  /** Toolbox semantics: alpha of the alpha-beta rule (beta = 1 - alpha). Default 1. */
  alpha?: number;
  /**
   * Per-layer rules overriding the global rule: `{ [layer name | index | '@first' | '@last' |
   * layer type]: rule name | { rule, epsilon?, alpha? (toolbox) | beta? (caffe) } }`, e.g.
   * `{ '@first': 'flat', Convolution: { rule: 'alphabeta', alpha: 2 }, InnerProduct: { rule: 'epsilon', epsilon: 0.01 } }`.
   * Under Caffe semantics only layers with linear rules (Convolution, InnerProduct,
   * Eltwise, BatchNorm, Scale, Bias) may be selected.
   */
  layerRules?: LayerRulesOption;
  /**
   * Semantics 'zennit' (implied by a `zennit:` rule or a composite): one of Zennit's
   * composites, with Zennit's defaults ('EpsilonGammaBox' needs `low` and `high`).
   */
  composite?: 'EpsilonGammaBox' | 'EpsilonPlus' | 'EpsilonPlusFlat' | 'EpsilonAlpha2Beta1' | 'EpsilonAlpha2Beta1Flat';
  /** Zennit: epsilon of zennit:Epsilon (default 1e-6, the composites' dense rule). */
  epsilon?: number;
  /** Zennit: beta of zennit:AlphaBeta (alpha - beta = 1; default alpha - 1). */
  beta?: number;
  /** Zennit: gamma of zennit:Gamma (default 0.25). */
  gamma?: number;
  /** Zennit: ZBox's lower / upper input bounds, one number or one per input channel. */
  low?: number | number[];
  high?: number | number[];
  /** Zennit: the stabiliser of every rule but Epsilon (default 1e-6). */
  stabilizer?: number;
  /**
   * Zennit: explain the canonized net (lib/canonize: BatchNorm folded into the Convolution or
   * InnerProduct before it, as Zennit's SequentialMergeBatchNorm). Default true, as every
   * Zennit reference in ../shared/vectors/onnx was computed; false: the net as loaded.
   */
  canonize?: boolean;
}

/** Semantics 'zennit': the rule or composite, its defaults and the per-layer overrides. */
export interface ResolvedZennit {
  defaults: ZennitDefaults;
  composite?: CompositeName;
  rule?: ZennitRule;
  layerRules?: Record<string, ZennitRule>;
  /** Explain the canonized net (default true). */
  canonize: boolean;
}

export interface ResolvedOptions {
  formulaType: FormulaType;
  epsstab: number;
  beta: number;
  lastlayerindex: number;
  firstlayerindex: number;
  numclasses?: number;
  aux: number;
  lrnBackwardType: number;
  poolToAvg: boolean;
  biasTreatment: number;
  initRelevance?: number;
  compat: boolean;
  conservation: boolean;
  semantics: Semantics;
  /** Toolbox semantics: the global rule (formulaType is then unused, 0). */
  toolboxRule?: ResolvedLayerRule;
  /** The validated layerRules option (matched against the net's layers by the policy). */
  layerRules?: Record<string, ResolvedLayerRule>;
  /** Semantics 'zennit' only. */
  zennit?: ResolvedZennit;
}

const ZENNIT_KEYS = ['composite', 'epsilon', 'beta', 'gamma', 'low', 'high', 'stabilizer', 'canonize'];

const KNOWN_KEYS = new Set<string>([
  'relpropformulatype', 'rule', 'epsstab', 'alphabeta_beta', 'lastlayerindex', 'firstlayerindex', 'numclasses',
  'auxiliaryvariable_maxlayerindexforflatdistinconv', 'codeexectype', 'lrn_forward_type', 'lrn_backward_type',
  'maxpoolingtoavgpoolinginbackwardpass', 'biastreatmenttype', 'has_init_relevance', 'relevance_for_init', 'compat',
  'conservation', 'semantics', 'alpha', 'layerRules', ...ZENNIT_KEYS,
]);

function fail(field: string, message: string): never {
  throw new CaffeLrpError('OPTION', `option '${field}': ${message}`);
}

function integer(o: Record<string, unknown>, field: string, fallback: number, allowed?: readonly number[]): number {
  const v = o[field];
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isInteger(v)) fail(field, `must be an integer, got ${showValue(v)}`);
  if (allowed && !allowed.includes(v)) fail(field, `must be one of ${allowed.join(', ')}, got ${v}`);
  return v;
}

function finite(o: Record<string, unknown>, field: string, fallback: number): number {
  const v = o[field];
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isFinite(v)) fail(field, `must be a finite number, got ${showValue(v)}`);
  return v;
}

function bool(o: Record<string, unknown>, field: string): boolean {
  const v = o[field];
  if (v === undefined) return false;
  if (typeof v !== 'boolean') fail(field, `must be true or false, got ${showValue(v)}`);
  return v;
}

const SUPPORTED = `supported formula types: ${FORMULA_TYPES.join(', ')}; rule names: ${Object.keys(RULES).join(', ')}`;

function checkFormulaType(field: string, t: unknown): FormulaType {
  if (typeof t !== 'number' || !(FORMULA_TYPES as readonly number[]).includes(t)) {
    const why = [6, 8, 18, 22].includes(t as number)
      ? ' (types 6, 8, 18 and 22 are CaffeNet-specific hacks of the original and are not supported)'
      : '';
    fail(field, `unsupported value ${showValue(t)}${why}; ${SUPPORTED}`);
  }
  return t as FormulaType;
}


/** lastlayerindex and firstlayerindex, checked alike under every semantics (`lastHelp` says what the values mean there). */
function walkEnds(o: Record<string, unknown>, lastHelp: string): { last: number; first: number } {
  const last = integer(o, 'lastlayerindex', -1);
  if (last < -2) fail('lastlayerindex', `must be ${lastHelp}, got ${last}`);
  const first = integer(o, 'firstlayerindex', 0);
  if (first < 0) fail('firstlayerindex', `must be a layer index >= 0, got ${first}`);
  return { last, first };
}

/** The original's options every semantics accepts: codeexectype, lrn_forward_type, numclasses, has_init_relevance. */
function walkCommon(o: Record<string, unknown>): { numclasses: number | undefined; hasInit: boolean } {
  integer(o, 'codeexectype', -1, [-1, 0, 1]);
  integer(o, 'lrn_forward_type', -1, [-1, 0, 1]);
  const numclasses = o.numclasses === undefined ? undefined : integer(o, 'numclasses', 0);
  if (numclasses !== undefined && numclasses < 1) fail('numclasses', `must be >= 1, got ${numclasses}`);
  return { numclasses, hasInit: bool(o, 'has_init_relevance') };
}

/** The formula type of `rule` (a name or a number) or `relpropformulatype`; DEFAULT_RULE's when neither is given. */
export function resolveFormulaType(o: Record<string, unknown>): FormulaType {
  if (o.rule !== undefined) {
    let t: FormulaType;
    if (typeof o.rule === 'number') t = checkFormulaType('rule', o.rule);
    else if (typeof o.rule !== 'string' || !Object.prototype.hasOwnProperty.call(RULES, o.rule)) fail('rule', `unknown rule ${showValue(o.rule)} (${SUPPORTED})`);
    else t = RULES[o.rule as RuleName];
    if (o.relpropformulatype !== undefined && o.relpropformulatype !== t)
      fail('rule', `${showValue(o.rule)} is formula type ${t} but relpropformulatype is ${showValue(o.relpropformulatype)}`);
    return t;
  }
  if (o.relpropformulatype === undefined) return RULES[DEFAULT_RULE.rule];
  return checkFormulaType('relpropformulatype', o.relpropformulatype);
}

export function resolveOptions(input: RelPropOptions | undefined): ResolvedOptions {
  if (input !== undefined && (typeof input !== 'object' || input === null || Array.isArray(input)))
    throw new CaffeLrpError('OPTION', 'options must be an object');
  const o = (input ?? {}) as Record<string, unknown>;
  for (const key of Object.keys(o)) if (!KNOWN_KEYS.has(key)) fail(key, `unknown option (known: ${[...KNOWN_KEYS].join(', ')})`);
  if (o.semantics !== undefined && !(SEMANTICS as readonly unknown[]).includes(o.semantics))
    fail('semantics', `must be one of ${SEMANTICS.join(', ')}, got ${showValue(o.semantics)}`);
  if (o.semantics === 'zennit' || (o.semantics === undefined && (o.composite !== undefined || isZennitRuleName(o.rule))))
    return resolveZennitOptions(o);
  for (const key of ZENNIT_KEYS)
    if (o[key] !== undefined) fail(key, `applies to Zennit's rules only (semantics 'zennit', a 'zennit:' rule or a composite)`);
  if (o.semantics === 'toolbox') return resolveToolboxOptions(o);
  if (o.alpha !== undefined)
    fail('alpha', "is the toolbox's alpha-beta parameter (semantics 'toolbox'); Caffe semantics take alphabeta_beta (alpha = 1 + beta)");
  const formulaType = resolveFormulaType(o);
  const defaultRule = o.rule === undefined && o.relpropformulatype === undefined;
  const beta = finite(o, 'alphabeta_beta', defaultRule ? DEFAULT_RULE.alphabeta_beta : 0.1);
  if (beta < 0) fail('alphabeta_beta', `must be >= 0 (alpha = 1 + beta), got ${beta}`);
  // float32 relevance: alpha and beta multiply sums of positive and negative contributions, so
  // beyond this the terms overflow or cancel to nothing
  if (beta > MAX_ALPHABETA_BETA) fail('alphabeta_beta', `must be at most ${MAX_ALPHABETA_BETA} (larger values overflow float32 relevance), got ${beta}`);
  const { last, first } = walkEnds(o, '-1 (layer below the first Softmax), -2 (last InnerProduct) or a layer index');
  const aux = integer(o, 'auxiliaryvariable_maxlayerindexforflatdistinconv', -1);
  if (NEEDS_AUX.has(formulaType) && aux < 0)
    fail('auxiliaryvariable_maxlayerindexforflatdistinconv', `formula type ${formulaType} needs a layer index >= 0 (layers at or below it use the lower rule)`);
  const { numclasses, hasInit } = walkCommon(o);
  const epsstab = finite(o, 'epsstab', DEFAULT_RULE.epsstab);
  // z + eps for z > 0 and z - eps for z < 0: a negative eps can make the divisor 0 or flip its sign
  if (epsstab < 0) fail('epsstab', `must be >= 0 (the stabiliser is added away from zero), got ${epsstab}`);
  let layerRules: Record<string, ResolvedLayerRule> | undefined;
  if (o.layerRules !== undefined) {
    if (formulaType === 11 || formulaType === 99)
      fail('layerRules', `formula type ${formulaType} is computed by the gradient walk, which has no layer rules`);
    layerRules = resolveLayerRules(o.layerRules, 'caffe', { epsilon: epsstab, alpha: 1 + beta, beta });
  }
  return {
    formulaType,
    epsstab,
    beta,
    lastlayerindex: last,
    firstlayerindex: first,
    numclasses,
    aux,
    lrnBackwardType: integer(o, 'lrn_backward_type', -1, [-1, 0, 1]),
    poolToAvg: integer(o, 'maxpoolingtoavgpoolinginbackwardpass', 0, [0, 1]) === 1,
    biasTreatment: integer(o, 'biastreatmenttype', 0, [0, 1]),
    initRelevance: hasInit ? finite(o, 'relevance_for_init', 1.0) : undefined,
    compat: bool(o, 'compat'),
    conservation: bool(o, 'conservation'),
    semantics: 'caffe',
    layerRules,
  };
}

/** Options under the stand-alone toolbox's conventions (semantics 'toolbox'). */
function resolveToolboxOptions(o: Record<string, unknown>): ResolvedOptions {
  for (const key of ['relpropformulatype', 'alphabeta_beta', 'auxiliaryvariable_maxlayerindexforflatdistinconv'])
    if (o[key] !== undefined)
      fail(key, `does not apply under semantics 'toolbox' (choose the rule with 'rule', 'epsstab', 'alpha' and 'layerRules')`);
  if (integer(o, 'biastreatmenttype', 0, [0, 1]) !== 0)
    fail('biastreatmenttype', "must be 0 under semantics 'toolbox' (the toolbox never redistributes the bias)");
  if (integer(o, 'maxpoolingtoavgpoolinginbackwardpass', 0, [0, 1]) !== 0)
    fail('maxpoolingtoavgpoolinginbackwardpass', "must be 0 under semantics 'toolbox' (its max pooling rule is winner-take-all with ties split)");
  const epsstab = finite(o, 'epsstab', 1.0);
  const alpha = finite(o, 'alpha', 1.0);
  const defaults = { epsilon: epsstab, alpha, beta: alpha - 1 };
  if (o.rule !== undefined && typeof o.rule !== 'string') fail('rule', `must be a rule name, got ${showValue(o.rule)}`);
  const toolboxRule = resolveRule(o.rule ?? 'simple', 'toolbox', defaults, 'rule');
  const { last, first } = walkEnds(o, '-1 (layer below a final Softmax, else the last layer), -2 (last InnerProduct) or a layer index');
  const { numclasses, hasInit } = walkCommon(o);
  return {
    formulaType: 0,
    epsstab,
    beta: alpha - 1,
    lastlayerindex: last,
    firstlayerindex: first,
    numclasses,
    aux: -1,
    lrnBackwardType: integer(o, 'lrn_backward_type', -1, [-1, 0, 1]),
    poolToAvg: false,
    biasTreatment: 0,
    initRelevance: hasInit ? finite(o, 'relevance_for_init', 1.0) : undefined,
    compat: bool(o, 'compat'),
    conservation: bool(o, 'conservation'),
    semantics: 'toolbox',
    toolboxRule,
    layerRules: o.layerRules === undefined ? undefined : resolveLayerRules(o.layerRules, 'toolbox', defaults),
  };
}

/** Options under Zennit 0.5.1's conventions (semantics 'zennit'). */
function resolveZennitOptions(o: Record<string, unknown>): ResolvedOptions {
  for (const key of ['relpropformulatype', 'alphabeta_beta', 'epsstab', 'auxiliaryvariable_maxlayerindexforflatdistinconv', 'compat',
    'maxpoolingtoavgpoolinginbackwardpass', 'lrn_backward_type'])
    if (o[key] !== undefined)
      fail(key, "does not apply under semantics 'zennit' (choose a composite or a 'zennit:' rule with epsilon, alpha, beta, gamma, low, high, stabilizer, layerRules)");
  if (integer(o, 'biastreatmenttype', 0, [0, 1]) !== 0) fail('biastreatmenttype', "must be 0 under semantics 'zennit'");
  if (o.canonize !== undefined && typeof o.canonize !== 'boolean') fail('canonize', `must be true or false, got ${showValue(o.canonize)}`);
  if (o.composite !== undefined && !(COMPOSITES as readonly unknown[]).includes(o.composite))
    fail('composite', `unknown composite ${showValue(o.composite)} (composites: ${COMPOSITES.join(', ')})`);
  if (o.composite !== undefined && o.rule !== undefined) fail('rule', "give either 'rule' or 'composite' (use layerRules to change a composite's rule for some layers)");
  if (o.composite === undefined && o.rule === undefined) fail('rule', "semantics 'zennit' needs a 'zennit:' rule or a composite");
  const stabilizer = finite(o, 'stabilizer', ZENNIT_STABILIZER);
  if (stabilizer < 0) fail('stabilizer', `must be >= 0, got ${stabilizer}`);
  const alpha = finite(o, 'alpha', o.beta === undefined ? 1 : finite(o, 'beta', 0) + 1);
  const defaults: ZennitDefaults = {
    epsilon: finite(o, 'epsilon', ZENNIT_STABILIZER), alpha, beta: finite(o, 'beta', alpha - 1), gamma: finite(o, 'gamma', 0.25),
    low: resolveBound(o.low, 'low'), high: resolveBound(o.high, 'high'), stabilizer,
  };
  if (o.composite === 'EpsilonGammaBox' && (!defaults.low || !defaults.high))
    fail('composite', "EpsilonGammaBox needs 'low' and 'high' (the bounds of the input: numbers or one per channel, e.g. (0 - mean) / std and (1 - mean) / std)");
  const { last, first } = walkEnds(o, '-1, -2 or a layer index');
  const { numclasses, hasInit } = walkCommon(o);
  let layerRules: Record<string, ZennitRule> | undefined;
  if (o.layerRules !== undefined) {
    if (o.layerRules === null || typeof o.layerRules !== 'object' || Array.isArray(o.layerRules))
      fail('layerRules', `must be an object mapping layer names, indices, '@first', '@last' or types to rules, got ${showValue(o.layerRules)}`);
    layerRules = {};
    for (const [key, entry] of Object.entries(o.layerRules as Record<string, unknown>)) {
      if (key.trim() === '') fail('layerRules', 'empty layer selector');
      layerRules[key] = resolveZennitRule(entry, defaults, `layerRules.${key}`);
    }
  }
  return {
    formulaType: 0,
    epsstab: defaults.epsilon,
    beta: 0,
    lastlayerindex: last,
    firstlayerindex: first,
    numclasses,
    aux: -1,
    lrnBackwardType: -1,
    poolToAvg: false,
    biasTreatment: 0,
    initRelevance: hasInit ? finite(o, 'relevance_for_init', 1.0) : undefined,
    compat: false,
    conservation: bool(o, 'conservation'),
    semantics: 'zennit',
    zennit: {
      defaults,
      composite: o.composite as CompositeName | undefined,
      rule: o.rule === undefined ? undefined : resolveZennitRule(o.rule, defaults, 'rule'),
      layerRules,
      canonize: o.canonize !== false,
    },
  };
}
