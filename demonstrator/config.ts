/**
 * The demonstrators' config files (behaviour spec §5.2, contract §2): a key alone on a line,
 * its value on the next physical line, free text anywhere else.
 *
 * Where we follow the original: lines are stripped of spaces, tabs and CR; for each key the
 * FIRST key line from the top wins; the value is the first whitespace-delimited token of the
 * next line (so trailing notes after a value are ignored, as there); unknown keys are ignored.
 *
 * Where we depart (contract §2): a key line is one whose first token equals the key exactly
 * (the original matched prefixes, so `epsstab_x` counted as `epsstab`); a malformed or
 * out-of-range value is an error naming the key and the line (the original silently read a
 * numeric prefix or garbage); only param_file and model_file are required; a value may be
 * double-quoted to hold spaces (a quote could never start a working path in the original, so
 * no old file changes meaning).
 */
import * as fs from 'fs';
import * as path from 'path';
import { CaffeLrpError } from '../lib/errors';
import { FORMULA_TYPES, RULE_NAMES, NEEDS_AUX } from '../lib/relevance/options';
import { COLORMAP_NAMES, type ColormapName } from '../lib/image/colormaps';
import type { MeanMode } from '../lib/image/mean';
import { readInputFileSync } from '../lib/io/read-file';

export type { MeanMode };

export interface DemoConfig {
  /** Absolute paths: relative ones in the file are taken relative to `cwd` (the process cwd), as the original does. */
  paramFile: string;
  /** Absent when param_file is an ONNX model (weights inside). */
  modelFile?: string;
  /** No mean file: nothing is subtracted. */
  meanFile?: string;
  /**
   * use_mean_file_asbinaryprotoblob: 0 text mean, 1 binaryproto, 2 binaryproto stored RGB.
   * Undefined when the key is absent: the mean file's content decides (text → 0, else 1).
   */
  meanMode?: MeanMode;
  /** Default -2 (see DEFAULTS). */
  lastLayerIndex: number;
  firstLayerIndex: number;
  synsetFile?: string;
  /** Long side after resizing; undefined = the net's input size (no crop). */
  baseImgSize?: number;
  outPath: string;
  /** Undefined: outputs go to outPath + the file-list entry (see filelist.ts outputBase). */
  rootPath?: string;
  relpropFormulaType: number;
  epsstab: number;
  alphabetaBeta: number;
  /** Undefined: taken from the net's first output blob. */
  numClasses?: number;
  auxLayerIndex: number;
  lrnBackwardType: -1 | 0 | 1;
  maxPoolToAvgPool: 0 | 1;
  biasTreatmentType: 0 | 1;
  codeExecType: -1 | 0 | 1;
  /** Undefined: the batch of the net's input blob (parallel demo). */
  batchSize?: number;
  heatmapColormap: ColormapName;
  compat: boolean;
  /** Zennit composite (config key 'composite') and its parameters; then the formula-type keys are unused. */
  zennit?: { composite: string; low?: number[]; high?: number[]; gamma?: number; epsilon?: number; stabilizer?: number; canonize?: boolean };
  /** 1-based line of each key that was present (for later errors such as "not a file"). */
  lines: Partial<Record<ConfigKey, number>>;
  /** Config file name as given (for messages). */
  file: string;
}

export const CONFIG_KEYS = [
  'param_file', 'model_file', 'mean_file', 'use_mean_file_asbinaryprotoblob', 'lastlayerindex', 'firstlayerindex',
  'synsetfile', 'baseimgsize', 'standalone_outpath', 'standalone_rootpath', 'relpropformulatype', 'epsstab',
  'alphabeta_beta', 'numclasses', 'auxiliaryvariable_maxlayerindexforflatdistinconv',
  // extra keys of contract §2
  'lrn_backward_type', 'maxpoolingtoavgpoolinginbackwardpass', 'biastreatmenttype', 'codeexectype', 'batchsize',
  'heatmap_colormap', 'caffe_lrp_compat',
  // Zennit's composites (semantics 'zennit'; lib/relevance/composites.ts)
  'composite', 'zbox_low', 'zbox_high', 'gamma', 'epsilon', 'stabilizer', 'canonize',
] as const;
export type ConfigKey = (typeof CONFIG_KEYS)[number];

/**
 * Defaults for keys the original required. Where the original's options class and its shipped
 * config.txt disagree we take the shipped config, because that is what a user of the original
 * has been running: lastlayerindex -2 (the class default is -1; for CaffeNet-like nets both
 * name fc8, and -2 also works for nets without a Softmax layer), alphabeta_beta 1 (class
 * default 0.1), relpropformulatype 100, standalone_outpath ./lrp_output. The extra keys default
 * to what the original demonstrators hard-code (§5.3): lrn_backward_type 1, codeexectype 0,
 * biastreatmenttype 0, maxpoolingtoavgpoolinginbackwardpass 0. The aux index defaults to -1
 * (contract §2); formula types that need it then fail with a message naming the key.
 */
export const DEFAULTS = {
  lastLayerIndex: -2,
  firstLayerIndex: 0,
  outPath: './lrp_output',
  relpropFormulaType: 100,
  epsstab: 1,
  alphabetaBeta: 1,
  auxLayerIndex: -1,
  lrnBackwardType: 1,
  maxPoolToAvgPool: 0,
  biasTreatmentType: 0,
  codeExecType: 0,
  heatmapColormap: 'blue-black-yellow',
} as const;

export interface ParsedConfig {
  config: DemoConfig;
  /** Non-fatal findings (misspelt keys, repeated keys); the caller decides how to show them. */
  warnings: string[];
}

export interface ConfigOptions {
  /** Name used in messages; default '<config>'. */
  file?: string;
  /** Base for relative paths; default process.cwd(). */
  cwd?: string;
}

interface Line {
  n: number; // 1-based
  text: string; // stripped
}

interface Found {
  keyLine: number;
  valueLine: number;
  value: string; // first token (or quoted string)
}

const STRIP = /^[ \t\r]+|[ \t\r]+$/g;

/** Parses config text; throws CaffeLrpError('PARSE'|'OPTION') naming key and line. */
export function parseConfig(text: string, opts: ConfigOptions = {}): ParsedConfig {
  const file = opts.file ?? '<config>';
  const cwd = opts.cwd ?? process.cwd();
  const lines: Line[] = text.split(/\r\n|\n|\r/).map((t, i) => ({ n: i + 1, text: t.replace(STRIP, '') }));
  const warnings: string[] = [];
  const found = new Map<ConfigKey, Found>();
  const valueLines = new Set<number>();

  for (const key of CONFIG_KEYS) {
    const keyLines = lines.filter((l) => firstToken(l.text) === key);
    if (keyLines.length === 0) continue;
    const kl = keyLines[0];
    if (keyLines.length > 1) {
      warnings.push(`${file}:${keyLines[1].n}: '${key}' appears again; the first one (line ${kl.n}) is used`);
    }
    const vl = lines[kl.n]; // the next physical line (lines is 0-based)
    const value = vl === undefined ? '' : valueToken(vl.text, key, file, vl.n);
    if (value === '') {
      throw new CaffeLrpError('PARSE', `key '${key}' on line ${kl.n} needs its value on the next line, which is ${vl === undefined ? 'missing' : 'empty'}`, {
        file,
        line: vl?.n ?? kl.n,
      });
    }
    if ((CONFIG_KEYS as readonly string[]).includes(value)) {
      throw new CaffeLrpError('PARSE', `key '${key}' on line ${kl.n} needs its value on the next line, but that line is the key '${value}'`, { file, line: vl.n });
    }
    found.set(key, { keyLine: kl.n, valueLine: vl.n, value });
    valueLines.add(vl.n);
  }

  // An ONNX param_file holds its weights: model_file is then optional.
  const onnxParam = /\.onnx"?$/i.test(found.get('param_file')?.value ?? '');
  for (const key of ['param_file', 'model_file'] as const) {
    if (key === 'model_file' && onnxParam) continue;
    if (!found.has(key)) throw new CaffeLrpError('PARSE', `required key '${key}' is missing (a line '${key}' followed by a line with its value)`, { file });
  }
  warnings.push(...misspeltKeys(lines, valueLines, file));

  const r = new Reader(found, file, cwd);
  const formula = r.formulaType();
  const aux = r.int('auxiliaryvariable_maxlayerindexforflatdistinconv', -1) ?? DEFAULTS.auxLayerIndex;
  if (NEEDS_AUX.has(formula) && aux < 0) {
    const f = found.get('auxiliaryvariable_maxlayerindexforflatdistinconv');
    throw new CaffeLrpError('OPTION', `relpropformulatype ${formula} needs 'auxiliaryvariable_maxlayerindexforflatdistinconv' >= 0 (layers at or below that index use the lower rule)`, {
      file,
      line: f?.valueLine ?? found.get('relpropformulatype')?.valueLine,
    });
  }
  const lineMap: Partial<Record<ConfigKey, number>> = {};
  for (const [k, f] of found) lineMap[k] = f.keyLine;

  const config: DemoConfig = {
    paramFile: r.path('param_file') as string,
    modelFile: r.path('model_file'),
    meanFile: r.path('mean_file'),
    meanMode: r.int('use_mean_file_asbinaryprotoblob', 0, 2) as MeanMode | undefined,
    lastLayerIndex: r.int('lastlayerindex', -2) ?? DEFAULTS.lastLayerIndex,
    firstLayerIndex: r.int('firstlayerindex', 0) ?? DEFAULTS.firstLayerIndex,
    synsetFile: r.path('synsetfile'),
    baseImgSize: r.int('baseimgsize', 1),
    outPath: r.path('standalone_outpath') ?? path.resolve(cwd, DEFAULTS.outPath),
    rootPath: r.string('standalone_rootpath'),
    relpropFormulaType: formula,
    epsstab: r.float('epsstab') ?? DEFAULTS.epsstab,
    alphabetaBeta: r.float('alphabeta_beta', 0) ?? DEFAULTS.alphabetaBeta,
    numClasses: r.int('numclasses', 1),
    auxLayerIndex: aux,
    lrnBackwardType: (r.oneOf('lrn_backward_type', [-1, 0, 1]) ?? DEFAULTS.lrnBackwardType) as -1 | 0 | 1,
    maxPoolToAvgPool: (r.oneOf('maxpoolingtoavgpoolinginbackwardpass', [0, 1]) ?? DEFAULTS.maxPoolToAvgPool) as 0 | 1,
    biasTreatmentType: (r.oneOf('biastreatmenttype', [0, 1]) ?? DEFAULTS.biasTreatmentType) as 0 | 1,
    codeExecType: (r.oneOf('codeexectype', [-1, 0, 1]) ?? DEFAULTS.codeExecType) as -1 | 0 | 1,
    batchSize: r.int('batchsize', 1),
    heatmapColormap: r.colormap(),
    compat: (r.oneOf('caffe_lrp_compat', [0, 1]) ?? 0) === 1,
    zennit: r.zennit(),
    lines: lineMap,
    file,
  };
  return { config, warnings };
}

/**
 * Config files are UTF-8 (a byte-order mark is skipped, as editors on Windows write one);
 * UTF-16 files (recognised by their byte-order mark, or by NUL bytes between ASCII
 * characters) are decoded as such instead of failing with "param_file is missing".
 */
export function decodeConfigText(buf: Buffer): string {
  if (buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) return buf.subarray(3).toString('utf8');
  if (buf[0] === 0xff && buf[1] === 0xfe) return buf.subarray(2).toString('utf16le');
  if (buf[0] === 0xfe && buf[1] === 0xff) return Buffer.from(buf.subarray(2, 2 + ((buf.length - 2) & ~1))).swap16().toString('utf16le');
  if (buf.length >= 4 && buf.length % 2 === 0) {
    if (buf[1] === 0 && buf[3] === 0 && buf[0] !== 0) return buf.toString('utf16le');
    if (buf[0] === 0 && buf[2] === 0 && buf[1] !== 0) return Buffer.from(buf).swap16().toString('utf16le');
  }
  return buf.toString('utf8');
}

/**
 * Reads and parses a config file and checks that the files it names exist (as the original
 * does at start-up), naming the key and line of a missing one.
 */
export function readConfig(file: string, opts: { cwd?: string } = {}): ParsedConfig {
  const text = decodeConfigText(readInputFileSync(file, 'the config file'));
  const parsed = parseConfig(text, { file, cwd: opts.cwd });
  checkConfigFiles(parsed.config);
  return parsed;
}

/** Each file-valued key must name a regular file. */
export function checkConfigFiles(c: DemoConfig): void {
  const files: [ConfigKey, string | undefined][] = [
    ['param_file', c.paramFile],
    ['model_file', c.modelFile],
    ['mean_file', c.meanFile],
    ['synsetfile', c.synsetFile],
  ];
  for (const [key, p] of files) {
    if (p === undefined) continue;
    let ok = false;
    try {
      ok = fs.statSync(p).isFile();
    } catch {
      ok = false;
    }
    if (!ok) throw new CaffeLrpError('IO', `'${key}' names '${p}', which is not a readable file`, { file: c.file, line: c.lines[key] });
  }
}

function firstToken(s: string): string {
  const m = /^\S+/.exec(s);
  return m ? m[0] : '';
}

/** First token, or a double-quoted string (so paths may contain spaces). */
function valueToken(s: string, key: string, file: string, line: number): string {
  if (s.startsWith('"')) {
    const end = s.indexOf('"', 1);
    if (end < 0) throw new CaffeLrpError('PARSE', `the value of '${key}' opens a quote that is never closed`, { file, line });
    const v = s.slice(1, end);
    if (v === '') throw new CaffeLrpError('PARSE', `the value of '${key}' is an empty string`, { file, line });
    return v;
  }
  return firstToken(s);
}

class Reader {
  constructor(
    private readonly found: Map<ConfigKey, Found>,
    private readonly file: string,
    private readonly cwd: string,
  ) {}

  private fail(key: ConfigKey, f: Found, why: string): never {
    throw new CaffeLrpError('OPTION', `'${key}' (line ${f.keyLine}): ${why}, got '${f.value}'`, { file: this.file, line: f.valueLine });
  }

  /**
   * The Zennit keys: a composite with its bounds (comma-separated numbers: a config value is
   * one token), gamma, epsilon (the dense layers' Epsilon), stabilizer and canonize (1, the
   * default: explain the canonized net; 0: the net as loaded).
   */
  zennit(): DemoConfig['zennit'] {
    const composite = this.string('composite');
    for (const key of ['zbox_low', 'zbox_high', 'gamma', 'epsilon', 'stabilizer', 'canonize'] as const) {
      const f = this.found.get(key);
      if (f && composite === undefined) this.fail(key, f, "applies only together with 'composite'");
    }
    if (composite === undefined) return undefined;
    const list = (key: 'zbox_low' | 'zbox_high'): number[] | undefined => {
      const f = this.found.get(key);
      if (!f) return undefined;
      const values = f.value.split(/[\s,]+/).filter((t) => t !== '').map(Number);
      if (values.length === 0 || !values.every(Number.isFinite)) this.fail(key, f, 'must be one number or one per input channel');
      return values;
    };
    const canonize = this.int('canonize', 0, 1);
    const out: NonNullable<DemoConfig['zennit']> = { composite, low: list('zbox_low'), high: list('zbox_high'), gamma: this.float('gamma', 0), stabilizer: this.float('stabilizer', 0) };
    // only the keys given: a config without them reads as before
    const epsilon = this.float('epsilon', 0);
    if (epsilon !== undefined) out.epsilon = epsilon;
    if (canonize !== undefined) out.canonize = canonize === 1;
    return out;
  }

  string(key: ConfigKey): string | undefined {
    return this.found.get(key)?.value;
  }

  path(key: ConfigKey): string | undefined {
    const v = this.string(key);
    return v === undefined ? undefined : path.resolve(this.cwd, v);
  }

  /** An integer (the whole token: '1.5' or '3x' are errors), optionally bounded. */
  int(key: ConfigKey, min?: number, max?: number): number | undefined {
    const f = this.found.get(key);
    if (!f) return undefined;
    if (!/^[+-]?\d+$/.test(f.value)) this.fail(key, f, 'must be an integer');
    const v = Number(f.value);
    if (!Number.isSafeInteger(v)) this.fail(key, f, 'is out of range');
    if (min !== undefined && v < min) this.fail(key, f, max !== undefined ? `must be between ${min} and ${max}` : `must be >= ${min}`);
    if (max !== undefined && v > max) this.fail(key, f, `must be between ${min} and ${max}`);
    return v;
  }

  oneOf(key: ConfigKey, allowed: number[]): number | undefined {
    const f = this.found.get(key);
    const v = this.int(key);
    if (f && v !== undefined && !allowed.includes(v)) this.fail(key, f, `must be one of ${allowed.join(', ')}`);
    return v;
  }

  /** A finite decimal number as C++ stream extraction would read it whole. */
  float(key: ConfigKey, min?: number): number | undefined {
    const f = this.found.get(key);
    if (!f) return undefined;
    if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(f.value)) this.fail(key, f, 'must be a number');
    const v = Number(f.value);
    if (!Number.isFinite(v)) this.fail(key, f, 'is out of range');
    if (min !== undefined && v < min) this.fail(key, f, `must be >= ${min}`);
    return v;
  }

  /** A formula type number, or a rule name (contract §1). */
  formulaType(): number {
    const key = 'relpropformulatype';
    const f = this.found.get(key);
    if (!f) return DEFAULTS.relpropFormulaType;
    const supported = `supported: ${FORMULA_TYPES.join(', ')} or a rule name (${Object.keys(RULE_NAMES).join(', ')})`;
    if (Object.prototype.hasOwnProperty.call(RULE_NAMES, f.value)) return RULE_NAMES[f.value as keyof typeof RULE_NAMES];
    if (!/^[+-]?\d+$/.test(f.value)) this.fail(key, f, `must be a formula type; ${supported}`);
    const v = Number(f.value);
    if (!(FORMULA_TYPES as readonly number[]).includes(v)) {
      const why = [6, 8, 18, 22].includes(v) ? ' (types 6, 8, 18 and 22 are CaffeNet-specific hacks of the original and are not supported)' : '';
      this.fail(key, f, `unsupported formula type${why}; ${supported}`);
    }
    return v;
  }

  colormap(): ColormapName {
    const key = 'heatmap_colormap';
    const f = this.found.get(key);
    if (!f) return DEFAULTS.heatmapColormap;
    if (!(COLORMAP_NAMES as readonly string[]).includes(f.value)) this.fail(key, f, `must be one of ${COLORMAP_NAMES.join(', ')}`);
    return f.value as ColormapName;
  }
}

/**
 * "Did you mean" for lines that hold a single identifier-like token which is not a key, not
 * the value of a key, and is close to a key (edit distance, or a key as its prefix — the
 * original's prefix matching would have accepted it). Ordinary free text does not trigger it.
 */
function misspeltKeys(lines: Line[], valueLines: Set<number>, file: string): string[] {
  const out: string[] = [];
  const keys = CONFIG_KEYS as readonly string[];
  for (const l of lines) {
    if (valueLines.has(l.n) || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(l.text) || keys.includes(l.text)) continue;
    const word = l.text.toLowerCase();
    let best: string | undefined;
    let bestD = Infinity;
    for (const k of keys) {
      const d = word.startsWith(k) || word === k ? 0 : editDistance(word, k);
      if (d < bestD) {
        bestD = d;
        best = k;
      }
    }
    const limit = Math.max(2, Math.floor((best?.length ?? 0) / 4));
    if (best !== undefined && bestD <= limit) out.push(`${file}:${l.n}: '${l.text}' is not a config key; did you mean '${best}'? (the line is ignored)`);
  }
  return out;
}

function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0];
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j];
      prev[j] = Math.min(prev[j] + 1, prev[j - 1] + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length];
}
