/**
 * Zennit 0.5.1's rules as a rule convention (`semantics: 'zennit'`) of the same machinery:
 * names with the `zennit:` prefix, validated here, and turned into the engine's per-layer
 * rules by zennitLayerRule. How each rule computes is stated in
 * native/engine/relevance/zennit_rules.cc (and the vectors' README in ../shared).
 *
 * Layers without a Zennit rule propagate the plain gradient (the engine's backward pass of
 * the layer), as in Zennit: max pooling sends R to the first maximum of its window, LRN
 * applies its Jacobian transposed, sums copy R into every branch, affine layers multiply by
 * their weights.
 */
import { CaffeLrpError } from '../errors';
import type { NativeLayerInfo, NativeRule } from '../native';
import type { NetSpec } from '../caffe/netspec-types';
import { showValue } from './show-value';

export const ZENNIT_RULE_NAMES = ['Epsilon', 'ZPlus', 'AlphaBeta', 'Gamma', 'ZBox', 'Flat', 'WSquare', 'Norm', 'Pass'] as const;
export type ZennitRuleName = (typeof ZENNIT_RULE_NAMES)[number];
export const ZENNIT_PREFIX = 'zennit:';

/** Zennit's default stabiliser (and the composites' default epsilon). */
export const ZENNIT_STABILIZER = 1e-6;

/** A validated Zennit rule with its parameters. */
export interface ZennitRule {
  rule: ZennitRuleName;
  epsilon: number;
  alpha: number;
  beta: number;
  gamma: number;
  low?: number[];
  high?: number[];
  stabilizer: number;
}

/** Parameters a rule falls back to (the global options): a rule's fields but its name. */
export type ZennitDefaults = Omit<ZennitRule, 'rule'>;

function fail(field: string, message: string): never {
  throw new CaffeLrpError('OPTION', `option '${field}': ${message}`);
}

/** Is this a `zennit:` rule name? */
export function isZennitRuleName(v: unknown): v is string {
  return typeof v === 'string' && v.startsWith(ZENNIT_PREFIX);
}

/** A bound of ZBox: one number or one per input channel. */
export function resolveBound(v: unknown, field: string): number[] | undefined {
  if (v === undefined) return undefined;
  const list = typeof v === 'number' ? [v] : v;
  if (!Array.isArray(list) || list.length === 0 || list.length > 4096 || !list.every((x) => typeof x === 'number' && Number.isFinite(x)))
    fail(field, `must be a finite number or an array of 1..4096 finite numbers (one per input channel), got ${showValue(v)}`);
  return list as number[];
}

function finiteIn(entry: Record<string, unknown>, key: string, fallback: number, field: string): number {
  const v = entry[key];
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isFinite(v)) fail(field, `'${key}' must be a finite number, got ${showValue(v)}`);
  return v;
}

const KEYS = ['rule', 'epsilon', 'alpha', 'beta', 'gamma', 'low', 'high', 'stabilizer'];

/** Validates a Zennit rule given as a name or `{ rule, epsilon?, alpha?, beta?, gamma?, low?, high?, stabilizer? }`. */
export function resolveZennitRule(value: unknown, defaults: ZennitDefaults, field: string): ZennitRule {
  const entry = (typeof value === 'string' ? { rule: value } : value) as Record<string, unknown>;
  if (entry === null || typeof entry !== 'object' || Array.isArray(entry))
    fail(field, `must be a rule name or an object { rule, ${KEYS.slice(1).join('?, ')}? }, got ${showValue(value)}`);
  for (const k of Object.keys(entry)) if (!KEYS.includes(k)) fail(field, `unknown key '${k}' (known: ${KEYS.join(', ')})`);
  const name = typeof entry.rule === 'string' && entry.rule.startsWith(ZENNIT_PREFIX) ? entry.rule.slice(ZENNIT_PREFIX.length) : undefined;
  if (name === undefined || !(ZENNIT_RULE_NAMES as readonly string[]).includes(name))
    fail(field, `unknown Zennit rule ${showValue(entry.rule)} (rules: ${ZENNIT_RULE_NAMES.map((n) => ZENNIT_PREFIX + n).join(', ')})`);
  const rule = name as ZennitRuleName;
  const stabilizer = finiteIn(entry, 'stabilizer', defaults.stabilizer, field);
  if (stabilizer < 0) fail(field, `'stabilizer' must be >= 0, got ${stabilizer}`);
  let alpha = finiteIn(entry, 'alpha', rule === 'ZPlus' ? 1 : defaults.alpha, field);
  let beta = finiteIn(entry, 'beta', rule === 'ZPlus' ? 0 : defaults.beta, field);
  if (rule === 'ZPlus' && (alpha !== 1 || beta !== 0)) fail(field, "zennit:ZPlus is AlphaBeta(1, 0); give zennit:AlphaBeta for other alpha and beta");
  if (rule === 'AlphaBeta') {
    if (entry.alpha !== undefined && entry.beta === undefined) beta = alpha - 1;
    if (entry.beta !== undefined && entry.alpha === undefined) alpha = beta + 1;
    if (alpha < 0 || beta < 0 || Math.abs(alpha - beta - 1) > 1e-12)
      fail(field, `zennit:AlphaBeta needs alpha, beta >= 0 and alpha - beta = 1 (as Zennit), got alpha ${alpha}, beta ${beta}`);
  }
  const gamma = finiteIn(entry, 'gamma', defaults.gamma, field);
  if (gamma < 0) fail(field, `'gamma' must be >= 0, got ${gamma}`);
  const low = resolveBound(entry.low, `${field}.low`) ?? defaults.low;
  const high = resolveBound(entry.high, `${field}.high`) ?? defaults.high;
  if (rule === 'ZBox' && (!low || !high)) fail(field, "zennit:ZBox needs 'low' and 'high' (the input's bounds: numbers or one per channel)");
  return { rule, epsilon: finiteIn(entry, 'epsilon', defaults.epsilon, field), alpha, beta, gamma, low, high, stabilizer };
}

const WEIGHTED = new Set(['Convolution', 'InnerProduct']);
const DIAGONAL = new Set(['BatchNorm', 'Scale', 'Bias']);

/** The layer's pooling method and kernel area from the NetSpec (undefined: not a Pooling layer). */
function pooling(layer: NativeLayerInfo, index: number, spec: NetSpec | undefined): { method: string; area?: number } | undefined {
  if (layer.type !== 'Pooling') return undefined;
  const own = spec?.layers[index]?.name === layer.name ? spec.layers[index] : spec?.layers.find((l) => l.name === layer.name);
  const p = (own?.params ?? {}) as Record<string, unknown>;
  const method = typeof p.pool === 'string' ? p.pool : 'MAX';
  const kernel = p.kernel as [number, number] | undefined;
  return { method, area: p.globalPooling ? undefined : kernel ? kernel[0] * kernel[1] : undefined };
}

/** The engine rule of one layer: its Zennit rule, or the plain gradient when it has none. */
export function zennitLayerRule(layer: NativeLayerInfo, index: number, r: ZennitRule | undefined, spec: NetSpec | undefined,
  inputArea: (index: number) => number): NativeRule {
  const rule: NativeRule = { linear: 'transpose', pool: 'wta', relu: 'identity', lrn: 'identity', stabilizer: 'toolbox', epsilon: ZENNIT_STABILIZER, beta: 0 };
  const pool = pooling(layer, index, spec);
  if (!r) {
    // Zennit hooks no rule here: autograd's gradient passes through (max pooling: all of R to
    // the first maximum; LRN: its Jacobian transposed; average pooling: R / window size).
    rule.gradient = true;
    return rule;
  }
  const where = `layer '${layer.name}' (${layer.type})`;
  const unsupported = (): never => {
    throw new CaffeLrpError('OPTION', `option 'layerRules': zennit:${r.rule} does not apply to ${where}`);
  };
  switch (r.rule) {
    case 'Pass':
      if (WEIGHTED.has(layer.type) || layer.type === 'Eltwise' || pool) unsupported();
      if (DIAGONAL.has(layer.type)) rule.linear = 'flat';  // one input per output: R passes unchanged
      return rule;
    case 'Norm':
      if (layer.type === 'Eltwise') { rule.linear = 'epsilon'; rule.epsilon = r.stabilizer; return rule; }
      if (pool && pool.method === 'AVE') {
        // Zennit stabilises the mean: x R / (|P| stab(mean)) = x R / (sum +- |P| s).
        rule.pool = 'epsilon';
        rule.epsilon = r.stabilizer * (pool.area ?? inputArea(index));
        return rule;
      }
      return unsupported();
    default:
      if (!WEIGHTED.has(layer.type)) unsupported();
  }
  rule.linear = 'zennit';
  rule.zennitStabilizer = r.stabilizer;
  switch (r.rule) {
    case 'Epsilon': rule.zennit = 'epsilon'; rule.epsilon = r.epsilon; break;
    case 'ZPlus': rule.zennit = 'alphabeta'; rule.alpha = 1; rule.beta = 0; break;
    case 'AlphaBeta': rule.zennit = 'alphabeta'; rule.alpha = r.alpha; rule.beta = r.beta; break;
    case 'Gamma': rule.zennit = 'gamma'; rule.gamma = r.gamma; break;
    case 'ZBox': rule.zennit = 'zbox'; rule.low = r.low; rule.high = r.high; break;
    case 'Flat': rule.zennit = 'flat'; break;
    case 'WSquare': rule.zennit = 'wsquare'; break;
  }
  return rule;
}
