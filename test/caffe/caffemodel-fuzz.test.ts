/**
 * Fuzz: truncated, bit-flipped, overwritten and spliced caffemodels (seeded, so failures
 * reproduce) must either decode (and then build or fail cleanly) or throw CaffeLrpError,
 * each within a bounded time. Never a RangeError, TypeError or a hang.
 */
import * as fs from 'fs';
import { CaffeLrpError } from '../../lib/errors';
import { decodeCaffemodel, parsePrototxt, writeCaffemodel } from '../../lib/caffe';
import { buildNetSpec } from '../../lib/caffe/netspec';
import { NetParameterObject } from '../../lib/caffe/proto-objects';
import { MODELS, blobLegacy, bytes, prng, v1Layer, withRandomWeights } from '../helpers/caffe-fixtures';
import { testIfShared } from '../helpers/shared-data';

const TEXT = `name: "fuzz"
input: "data"
input_shape { dim: 1 dim: 2 dim: 6 dim: 6 }
layer { name: "conv" type: "Convolution" bottom: "data" top: "conv" convolution_param { num_output: 4 kernel_size: 3 group: 2 } }
layer { name: "bn" type: "BatchNorm" bottom: "conv" top: "conv" }
layer { name: "sc" type: "Scale" bottom: "conv" top: "conv" scale_param { bias_term: true } }
layer { name: "pr" type: "PReLU" bottom: "conv" top: "conv" }
layer { name: "pool" type: "Pooling" bottom: "conv" top: "pool" pooling_param { kernel_size: 2 stride: 2 } }
layer { name: "ip" type: "InnerProduct" bottom: "pool" top: "ip" inner_product_param { num_output: 3 } }
layer { name: "prob" type: "Softmax" bottom: "ip" top: "prob" }
`;
const def = parsePrototxt(TEXT, 'fuzz.prototxt');
/** The same net without the BatchNorm/Scale/PReLU layers, for the V1 file (V1 has no such types). */
const defV1 = parsePrototxt(TEXT.split('\n').filter((l) => !/"(bn|sc|pr)"/.test(l)).join('\n'), 'fuzz-v1.prototxt');
const spec = withRandomWeights(buildNetSpec(def, undefined, { file: 'fuzz.prototxt' }), 42);
const v2 = writeCaffemodel(spec);
const v1 = bytes(
  v1Layer('conv', 4, ['data'], ['conv'], [blobLegacy([4, 1, 3, 3], Array(36).fill(0.5)), blobLegacy([1, 1, 1, 4], [1, 2, 3, 4])]),
  v1Layer('ip', 14, ['pool'], ['ip'], [blobLegacy([1, 1, 3, 16], Array(48).fill(-1)), blobLegacy([1, 1, 1, 3], [0, 0, 0])]),
  v1Layer('loss', 21, ['ip', 'label'], ['loss']),
);

function mutate(src: Buffer, rnd: () => number): Buffer {
  const pick = (n: number) => Math.floor(rnd() * n);
  const b = Buffer.from(src);
  switch (pick(5)) {
    case 0:
      return b.subarray(0, pick(b.length));
    case 1: {
      const flips = 1 + pick(8);
      for (let i = 0; i < flips; i++) b[pick(b.length)] ^= 1 << pick(8);
      return b;
    }
    case 2: {
      const n = 1 + pick(4);
      for (let i = 0; i < n; i++) b[pick(b.length)] = pick(256);
      return b;
    }
    case 3: {
      const at = pick(b.length);
      const junk = Buffer.from(Array.from({ length: 1 + pick(16) }, () => pick(256)));
      return Buffer.concat([b.subarray(0, at), junk, b.subarray(at)]);
    }
    default: {
      const s = pick(b.length);
      const e = s + pick(b.length - s);
      return Buffer.concat([b.subarray(0, e), b.subarray(s)]);
    }
  }
}

/** Decodes and, when that works, builds the net from the fuzz prototxt; returns the outcome. */
function attempt(buf: Buffer, netDef = def): 'decoded' | 'built' | 'error' {
  let net: NetParameterObject;
  try {
    net = decodeCaffemodel(buf, 'fuzz.caffemodel');
  } catch (e) {
    if (!(e instanceof CaffeLrpError)) throw e;
    expect(e.message).toMatch(/fuzz\.caffemodel/);
    return 'error';
  }
  try {
    buildNetSpec(netDef, { net, file: 'fuzz.caffemodel' }, { file: 'fuzz.prototxt' });
    return 'built';
  } catch (e) {
    if (!(e instanceof CaffeLrpError)) throw e;
    return 'decoded';
  }
}

const HANG_BOUND_MS = 5000;

function run(base: Buffer, cases: number, seed: number, netDef = def): Record<string, number> {
  const rnd = prng(seed);
  const tally: Record<string, number> = { decoded: 0, built: 0, error: 0 };
  let slowest = 0;
  for (let i = 0; i < cases; i++) {
    const buf = mutate(base, rnd);
    const t0 = process.hrtime.bigint();
    try {
      tally[attempt(buf, netDef)]++;
    } catch (e) {
      throw new Error(`case ${i} (seed ${seed}) threw ${(e as Error).name}: ${(e as Error).message}`);
    }
    slowest = Math.max(slowest, Number(process.hrtime.bigint() - t0) / 1e6);
  }
  // A hang bound, not a speed limit: a case normally takes well under 10 ms even on a busy
  // machine; 5 s is hundreds of times that, so only a hang or a runaway allocation trips it.
  expect(slowest).toBeLessThan(HANG_BOUND_MS);
  return tally;
}

describe('caffemodel fuzzing', () => {
  test('the unmutated files build', () => {
    expect(attempt(v2)).toBe('built');
    expect(attempt(v1, defV1)).toBe('built');
  });

  test('1200 mutations of a V2 caffemodel', () => {
    const tally = run(v2, 1200, 20240601);
    expect(tally.error).toBeGreaterThan(100);
    expect(tally.built + tally.decoded).toBeGreaterThan(10);
  });

  test('400 mutations of a V1 caffemodel with legacy dims', () => {
    const tally = run(v1, 400, 7, defV1);
    expect(tally.error + tally.decoded + tally.built).toBe(400);
  });

  const det1 = `${MODELS}/mtcnn/det1.caffemodel`;
  testIfShared(det1, 'fuzzing a shared model')('200 mutations of a shared model', () => {
    const f = det1;
    const rnd = prng(99);
    const base = fs.readFileSync(f);
    for (let i = 0; i < 200; i++) {
      try {
        decodeCaffemodel(mutate(base, rnd), 'det1');
      } catch (e) {
        if (!(e instanceof CaffeLrpError)) throw new Error(`case ${i}: ${(e as Error).name}: ${(e as Error).message}`);
      }
    }
  });
});
