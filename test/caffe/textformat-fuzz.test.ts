/**
 * Fuzz test for the text-format parser: thousands of deterministic random mutations of
 * small, realistic prototxt texts. Each case must either parse (and then survive a
 * print/parse round trip) or throw a CaffeLrpError with code PARSE or SCHEMA and a valid
 * position, within a bounded time. Anything else (a TypeError, a RangeError from a stack
 * overflow, a hang) is a bug.
 */
import * as protobuf from 'protobufjs';
import { parseTextFormat, printTextFormat } from '../../lib/caffe/textformat';
import { caffeType } from '../../lib/caffe/schema';
import { CaffeLrpError } from '../../lib/errors';
import { prng } from '../helpers/random';

const Net = caffeType('NetParameter');

/** A recursive schema so that mutations can also build deep nesting. */
const Node = (() => {
  const root = protobuf.parse(
    `syntax = "proto2";
    package fuzz;
    message Node {
      optional int32 v = 1;
      optional double d = 2;
      optional string s = 3;
      optional bytes b = 4;
      optional Node child = 5;
      repeated Node kids = 6;
      repeated uint64 u = 7;
    }`,
    { keepCase: true },
  ).root;
  root.resolveAll();
  return root.lookupType('fuzz.Node');
})();

const V2_NET = `name: "FuzzNet"  # a comment
input: "data"
input_shape { dim: 1 dim: 3 dim: 32 dim: 32 }
layer {
  name: "conv1"
  type: "Convolution"
  bottom: "data"
  top: "conv1"
  param { lr_mult: 1 decay_mult: 1 }
  param: { lr_mult: 2.0 decay_mult: 0 }
  convolution_param {
    num_output: 16
    kernel_size: [3, 3]
    pad: 1
    stride: 1
    weight_filler { type: 'gaussian' std: 1e-2 }
    bias_filler < type: "constant" value: -0.5f >
  }
}
layer { name: "relu1" type: "ReLU" bottom: "conv1" top: "conv1" relu_param { negative_slope: .1 } }
layer {
  name: "pool1"; type: "Pooling"; bottom: "conv1"; top: "pool1";
  pooling_param { pool: MAX kernel_size: 2 stride: 2 round_mode: FLOOR }
}
layer {
  name: "norm1" type: "LRN" bottom: "pool1" top: "norm1"
  lrn_param { local_size: 5 alpha: 0.0001 beta: 0.75 norm_region: WITHIN_CHANNEL }
  include { phase: TEST }
}
layer { name: "prob" type: "Softmax" bottom: "norm1" top: "prob" loss_weight: [1, inf] propagate_down: t }
`;

const V1_NET = `name: "LeNet"\r
input: "data"\r
input_dim: 64\r
input_dim: 1\r
input_dim: 28\r
input_dim: 28\r
layers {\r
  name: "conv1"\r
  type: CONVOLUTION\r
  bottom: "data"\r
  top: "conv1"\r
  blobs_lr: 1\r
  blobs_lr: 2\r
  convolution_param { num_output: 20 kernel_size: 5 stride: 1 weight_filler { type: "xavier" } }\r
}\r
layers { name: "ip1" type: INNER_PRODUCT bottom: "conv1" top: "ip1" inner_product_param { num_output: 0x1F4 } }\r
layers { name: "loss" type: SOFTMAX_LOSS bottom: "ip1" bottom: "label" include: { phase: 0 } }\r
`;

const STRINGS_NET = `name: 'quotes "inside"' "\\x41\\101\\n\\t\\\\" 'caf\\303\\251'
state { phase: TRAIN level: -3 stage: "a" stage: 'b' }
layer { name: "reshape" type: "Reshape" reshape_param { shape { dim: 0 dim: -1 } axis: +1 } }
layer { name: "data" type: "Input" top: "data" input_param { shape: { dim: 10 dim: 3 dim: 227 dim: 227 } } }
`;

const NODE_TEXT = `v: 1 d: -1.5e-3 s: "x\\"y" b: "\\377\\000"
child { v: 2 child < v: 3 kids { d: nan } kids: { d: -inf } > }
kids: [ { u: [1, 2, 0x10] }, < s: 'z' > ]
`;

const SEEDS: [string, string, protobuf.Type][] = [
  ['v2.prototxt', V2_NET, Net],
  ['v1.prototxt', V1_NET, Net],
  ['strings.prototxt', STRINGS_NET, Net],
  ['node.prototxt', NODE_TEXT, Node],
];

const CHARS = '{}<>[]:;,"\'\\#\n\r\t -+.0123456789eExXfFtTabcz_/@\u00e9\u0000\u00a0\uFEFF\u{1F600}';
const TOKENS = [
  'layer', 'layers', 'name', 'type', 'bottom', 'top', 'child', 'kids', 'v', 'd', 's', 'b', 'u',
  'convolution_param', 'kernal_size', 'kernel_size', 'num_output', 'pool', 'phase', 'include',
  ':', '{', '}', '<', '>', '[', ']', ',', ';', '"', "'", '\\', '\\x', '\\xZZ', '\\777', '\\u12', '#',
  '1e', '1e-', '0x', '0X1g', '08', '-', '+', '--1', '.5', '5.', '1.2.3', '2.5f', '99999999999999999999',
  '-2147483649', '4294967296', 'inf', '-inf', 'NaN', 'true', 'False', 't', 'MAX', 'AVE', 'MAXX', 'TEST', '7',
  '"\\303\\251"', '"\\xff"', '[ext.name]', '{ { {', '} } }', 'child { child { child {', '\r\n', '\n\n',
];

type Mutation = (text: string, rand: () => number) => string;

const pick = <T>(items: readonly T[], rand: () => number): T => items[Math.floor(rand() * items.length)];
const position = (text: string, rand: () => number): number => Math.floor(rand() * (text.length + 1));

const MUTATIONS: Record<string, Mutation> = {
  deleteChar: (t, r) => {
    const i = position(t, r);
    return t.slice(0, i) + t.slice(i + 1);
  },
  insertChar: (t, r) => {
    const i = position(t, r);
    return t.slice(0, i) + pick([...CHARS], r) + t.slice(i);
  },
  duplicateRange: (t, r) => {
    const i = position(t, r);
    const j = Math.min(t.length, i + Math.floor(r() * 40));
    return t.slice(0, j) + t.slice(i, j) + t.slice(j);
  },
  swapChars: (t, r) => {
    if (t.length < 2) return t;
    const i = Math.floor(r() * t.length);
    const j = Math.floor(r() * t.length);
    const chars = [...t];
    [chars[i], chars[j]] = [chars[j], chars[i]];
    return chars.join('');
  },
  truncate: (t, r) => t.slice(0, position(t, r)),
  insertToken: (t, r) => {
    const i = position(t, r);
    return t.slice(0, i) + ' ' + pick(TOKENS, r) + ' ' + t.slice(i);
  },
  replaceToken: (t, r) => {
    const i = position(t, r);
    const j = Math.min(t.length, i + 1 + Math.floor(r() * 8));
    return t.slice(0, i) + pick(TOKENS, r) + t.slice(j);
  },
  insertDigits: (t, r) => {
    const i = position(t, r);
    const digits = Array.from({ length: 1 + Math.floor(r() * 25) }, () => pick([...'0123456789'], r)).join('');
    return t.slice(0, i) + digits + t.slice(i);
  },
  deleteRange: (t, r) => {
    const i = position(t, r);
    return t.slice(0, i) + t.slice(i + Math.floor(r() * 30));
  },
  braceRun: (t, r) => {
    const i = position(t, r);
    // Now and then deep enough to overflow a parser without a depth limit.
    if (r() < 0.15) {
      const lineStart = t.lastIndexOf('\n', i - 1) + 1; // a field boundary, so the nesting really happens
      return t.slice(0, lineStart) + pick(['child {', 'kids <', 'kids: {'], r).repeat(20000) + t.slice(lineStart);
    }
    const unit = pick(['{', '}', '<', '>', 'child {', 'kids <', 'layer {', '[', ']'], r);
    return t.slice(0, i) + unit.repeat(1 + Math.floor(r() * 150)) + t.slice(i);
  },
  quoteRun: (t, r) => {
    const i = position(t, r);
    return t.slice(0, i) + pick(['"', "'", '\\', '"\\', '#'], r).repeat(1 + Math.floor(r() * 5)) + t.slice(i);
  },
};
const MUTATION_NAMES = Object.keys(MUTATIONS);

interface Outcome {
  caseId: string;
  problem: string;
  text: string;
}

type Result = 'parsed' | 'PARSE' | 'SCHEMA';

/** Checks one input: how it ended, and what went wrong (problem null if all is well). */
function check(text: string, file: string, type: protobuf.Type): { result?: Result; problem: string | null } {
  const start = process.hrtime.bigint();
  let parsed: Record<string, any> | undefined;
  let error: unknown;
  try {
    parsed = parseTextFormat(text, type, file);
  } catch (e) {
    error = e;
  }
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  // A hang bound, not a speed limit: each input is a few KB and parses in well under 10 ms
  // even on a busy machine, so 2 s (200x) trips only on a hang or runaway work.
  if (ms > 2000) return { problem: `took ${ms.toFixed(0)} ms` };
  if (error !== undefined) {
    const problem = checkError(error, text, file);
    return { result: problem ? undefined : (error as CaffeLrpError).code as Result, problem };
  }
  try {
    const printed = printTextFormat(parsed!, type);
    expect(parseTextFormat(printed, type, 'reprinted')).toEqual(parsed);
  } catch (e) {
    return { problem: `parsed, but the round trip failed: ${(e as Error).message}` };
  }
  return { result: 'parsed', problem: null };
}

function checkError(error: unknown, text: string, file: string): string | null {
  if (!(error instanceof CaffeLrpError)) return `threw ${(error as Error)?.name}: ${(error as Error)?.message}`;
  if (error.code !== 'PARSE' && error.code !== 'SCHEMA') return `unexpected code ${error.code}`;
  const lines = text.split('\n');
  const { line, column } = error;
  if (error.file !== file || line === undefined || column === undefined) return `missing location: ${error.message}`;
  if (!(line >= 1 && line <= lines.length)) return `line ${line} outside 1..${lines.length}`;
  if (!(column >= 1 && column <= lines[line - 1].length + 1)) return `column ${column} outside line ${line}`;
  if (!error.message.startsWith(`${file}:${line}:${column}: `)) return `message lacks its position: ${error.message}`;
  return null;
}

describe('textformat fuzz', () => {
  const CASES_PER_SEED = 400;

  test.each(SEEDS)('%s: seed text parses cleanly', (file, text, type) => {
    expect(() => parseTextFormat(text, type, file)).not.toThrow();
  });

  test(`${CASES_PER_SEED * SEEDS.length} mutated texts parse or throw a located CaffeLrpError`, () => {
    const failures: Outcome[] = [];
    const counts = { parsed: 0, PARSE: 0, SCHEMA: 0 };
    SEEDS.forEach(([file, seedText, type], seedIndex) => {
      for (let n = 0; n < CASES_PER_SEED; n++) {
        const rand = prng(seedIndex * 100003 + n);
        let text = seedText;
        const steps = 1 + Math.floor(rand() * 4);
        for (let s = 0; s < steps; s++) text = MUTATIONS[pick(MUTATION_NAMES, rand)](text, rand);
        const { result, problem } = check(text, file, type);
        if (problem) failures.push({ caseId: `${file}#${n}`, problem, text });
        if (result) counts[result]++;
      }
    });
    if (failures.length) console.error(failures.slice(0, 5));
    expect(failures.map((f) => `${f.caseId}: ${f.problem}`)).toEqual([]);
    // The mutations must exercise all three outcomes, or the fuzzer is not doing its job.
    expect(counts.parsed).toBeGreaterThan(50);
    expect(counts.PARSE).toBeGreaterThan(200);
    expect(counts.SCHEMA).toBeGreaterThan(100);
  });

  test('500 random strings over the token alphabet', () => {
    const failures: string[] = [];
    const rand = prng(4242);
    for (let n = 0; n < 500; n++) {
      const parts: string[] = [];
      const length = Math.floor(rand() * 60);
      for (let i = 0; i < length; i++) parts.push(rand() < 0.5 ? pick([...CHARS], rand) : pick(TOKENS, rand) + ' ');
      const text = parts.join('');
      const type = n % 2 ? Net : Node;
      const { problem } = check(text, 'random.prototxt', type);
      if (problem) failures.push(`#${n} ${JSON.stringify(text)}: ${problem}`);
    }
    expect(failures).toEqual([]);
  });
});
