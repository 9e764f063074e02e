/**
 * The toolbox's rule conventions in the engine, on hand-made nets whose relevance can be
 * worked out by hand: max-pool ties, SumPool forward/gradient/rules, sign(0) = +1, alpha-beta
 * with beta = 1 - alpha, flat over the receptive field's depth, and the per-layer option
 * under both semantics.
 */
import { Net } from '../../lib/net';
import type { RelPropOptions } from '../../lib/relevance/options';
import type { NetSpec } from '../../lib/caffe/netspec-types';
import { parseToolboxModel, toolboxToNetSpec } from '../../lib/toolbox';
import { rand } from '../helpers/small-nets';
import { relativeL2 } from '../helpers/vectors';

async function relevance(spec: NetSpec, x: Float32Array, options: RelPropOptions, classes: number[][] = [[0]]): Promise<number[]> {
  const net = new Net(spec);
  try {
    await net.forward(x);
    const hm = await net.backwardRelevanceMulti(classes, options);
    // Caffe semantics present a net input's channels reversed (BGR -> RGB): back to blob order.
    return hm.flatMap((h) => {
      if (h.channelOrder !== 'RGB' && h.channelOrder !== 'reversed') return Array.from(h.data);
      const plane = h.height * h.width;
      return Array.from({ length: h.channels }, (_, c) => Array.from(h.data.subarray((h.channels - 1 - c) * plane, (h.channels - c) * plane))).flat();
    });
  } finally {
    await net.dispose();
  }
}

function toolboxSpec(text: string, inputShape?: number[]): NetSpec {
  return toolboxToNetSpec(parseToolboxModel(text, 'test.txt'), { inputShape });
}

function expectClose(got: number[], want: number[], tol = 1e-6): void {
  expect(got.length).toBe(want.length);
  got.forEach((v, i) => expect(Math.abs(v - want[i])).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(want[i]))));
}

const TB = (rule: string, extra: RelPropOptions = {}): RelPropOptions => ({ semantics: 'toolbox', rule, ...extra });

describe('max pooling', () => {
  const spec = toolboxSpec('MaxPool 2 2 2 2\n', [2, 2, 1]);
  const x = Float32Array.of(1, 1, 0, 1); // three tied maxima

  test('toolbox: R split equally among all maxima, for simple, epsilon and alpha-beta', async () => {
    for (const o of [TB('simple'), TB('epsilon', { epsstab: 0.5 }), TB('alphabeta', { alpha: 2 })])
      expectClose(await relevance(spec, x, o), [1 / 3, 1 / 3, 0, 1 / 3]);
  });

  test('toolbox: flat and ww spread R over the window', async () => {
    for (const o of [TB('flat'), TB('ww')]) expectClose(await relevance(spec, x, o), [0.25, 0.25, 0.25, 0.25]);
  });

  test('caffe: all of R to the first maximum', async () => {
    expectClose(await relevance(spec, x, { rule: 'epsilon', lastlayerindex: 0 }), [1, 0, 0, 0]);
  });
});

describe('SumPool (the toolbox\'s sum pooling: window sum / sqrt(h*w))', () => {
  const spec = toolboxSpec('SumPool 2 2 2 2\n', [2, 2, 1]);
  const x = Float32Array.of(1, 2, 3, -2); // S = 4, y = 2, S+ = 6, S- = -2

  test('forward', async () => {
    const net = new Net(spec);
    try {
      expect(Array.from((await net.forward(x))[0])).toEqual([2]);
    } finally {
      await net.dispose();
    }
  });

  test('the gradient is 1/sqrt(h*w) per input (formula type 11, seeded with y = 2)', async () => {
    expectClose(await relevance(spec, x, { rule: 'gradient', lastlayerindex: 0 }), [1, 1, 1, 1]);
  });

  test('simple and epsilon divide by the unscaled window sum', async () => {
    expectClose(await relevance(spec, x, TB('simple')), [0.5, 1, 1.5, -1]);
    expectClose(await relevance(spec, x, TB('epsilon', { epsstab: 1 })), [0.4, 0.8, 1.2, -0.8]);
  });

  test('alpha-beta with alpha = 2, beta = -1; compat reproduces the toolbox\'s R^2 beta term', async () => {
    expectClose(await relevance(spec, x, TB('alphabeta', { alpha: 2 })), [2 / 3, 4 / 3, 2, -2]);
    expectClose(await relevance(spec, x, TB('alphabeta', { alpha: 2, compat: true })), [2 / 3, 4 / 3, 2, -4]);
    expectClose(await relevance(spec, x, TB('alphabeta', { alpha: 1, compat: true })), [1 / 3, 2 / 3, 1, 0]);
  });

  test('flat and ww', async () => {
    for (const o of [TB('flat'), TB('ww')]) expectClose(await relevance(spec, x, o), [0.5, 0.5, 0.5, 0.5]);
  });

  test('caffe semantics: proportional, as average pooling', async () => {
    expectClose(await relevance(spec, x, { rule: 'epsilon', lastlayerindex: 0 }), [0.5, 1, 1.5, -1]);
  });

  test('Caffe AVE pooling under toolbox semantics: the rules see the window sum', async () => {
    const ave: NetSpec = {
      name: 'ave', inputs: [{ name: 'data', shape: [1, 1, 2, 2] }],
      layers: [{ name: 'pool', type: 'Pooling', bottoms: ['data'], tops: ['pool'], blobs: [],
        params: { pool: 'AVE', kernel: [2, 2], stride: [2, 2], pad: [0, 0], globalPooling: false, roundMode: 'CEIL' } }],
    };
    // y = 1: epsilon 1 -> x * 1 / (4 + 1)
    expectClose(await relevance(ave, x, TB('epsilon', { epsstab: 1 })), [0.2, 0.4, 0.6, -0.4]);
  });
});

describe('epsilon at a zero pre-activation', () => {
  // x = [1, 1]; hidden z = [0, 2] (unit 0 exactly zero), y = 2; the upper layer's w^2 rule
  // sends R = 1 to each hidden unit, also to the one with z = 0.
  const spec = toolboxSpec('Linear 2 2\n1 1 -1 1\n0 0\nRect\nLinear 2 1\n1 1\n0\n');
  const x = Float32Array.of(1, 1);

  test('toolbox: sign(0) = +1, divided by the stabiliser (simple: 1e-16)', async () => {
    const r = await relevance(spec, x, TB('simple', { layerRules: { linear2: 'ww' } }));
    expect(relativeL2(r, [1e16 + 0.5, -1e16 + 0.5])).toBeLessThan(1e-6);
    expectClose(await relevance(spec, x, TB('epsilon', { epsstab: 0.5, layerRules: { linear2: 'ww' } })), [2 + 0.4, -2 + 0.4]);
  });

  test('caffe: a zero pre-activation passes R undivided', async () => {
    const o: RelPropOptions = { rule: 'epsilon', epsstab: 0.5, lastlayerindex: 2, layerRules: { linear2: 'wsquare' } };
    expectClose(await relevance(spec, x, o), [1 + 0.4, -1 + 0.4]);
  });
});

describe('alpha-beta', () => {
  const m = 6, n = 4;
  const w = rand(m * n, 3, 0.7), b = rand(n, 4, 0.3), x = rand(m, 5);
  const text = `Linear ${m} ${n}\n${Array.from(w).join(' ')}\n${Array.from(b).join(' ')}\n`;
  const spec = toolboxSpec(text);

  /** The toolbox's formula in float64: alpha z+/Z+ + (1 - alpha) z-/Z-, seeded with R = y for every output. */
  function reference(alpha: number): number[] {
    const out = new Array(m).fill(0);
    for (let j = 0; j < n; ++j) {
      let zp = Math.max(b[j], 0) + 1e-16, zn = Math.min(b[j], 0) - 2e-16, y = b[j];
      for (let i = 0; i < m; ++i) {
        const z = x[i] * w[i * n + j];
        y += z;
        if (z > 0) zp += z; else zn += z;
      }
      for (let i = 0; i < m; ++i) {
        const z = x[i] * w[i * n + j];
        out[i] += (z > 0 ? (alpha * z) / zp : ((1 - alpha) * z) / zn) * y;
      }
    }
    return out;
  }
  const all = [[0, 1, 2, 3]];

  for (const alpha of [0.5, 1, 2, 3]) {
    test(`toolbox alpha ${alpha} (beta ${1 - alpha})`, async () => {
      const r = await relevance(spec, x, TB('alphabeta', { alpha }), all);
      expect(relativeL2(r, reference(alpha))).toBeLessThan(1e-5);
    });
  }

  test('the same numbers as the Caffe rule with beta = alpha - 1 (per layer, under caffe semantics)', async () => {
    const caffe = await relevance(spec, x, { rule: 'epsilon', lastlayerindex: 0, layerRules: { linear0: { rule: 'alphabeta', beta: 1 } } }, all);
    expect(relativeL2(caffe, reference(2))).toBeLessThan(1e-5);
  });
});

describe('flat over the receptive field', () => {
  const spec = toolboxSpec(`Convolution 2 2 3 2 1 1\n${Array.from(rand(24, 8)).join(' ')}\n0.1 -0.2\n`, [3, 3, 3]);
  const x = rand(27, 9);
  const seed = [[0, 1, 2, 3, 4, 5, 6, 7]];
  const total = async (o: RelPropOptions) => (await relevance(spec, x, o, seed)).reduce((a, v) => a + v, 0);

  test('toolbox: 1/(kh*kw*C) is conservative; the Caffe plugin: 1/(kh*kw) multiplies by C', async () => {
    const net = new Net(spec);
    await net.forward(x);
    const y = net.blob('conv0').data.reduce((a, v) => a + v, 0);
    await net.dispose();
    expect(Math.abs((await total(TB('flat'))) - y)).toBeLessThan(1e-5 * Math.abs(y) + 1e-6);
    expect(Math.abs((await total({ rule: 'epsilon', lastlayerindex: 0, layerRules: { conv0: 'flat' } })) - 3 * y)).toBeLessThan(1e-5 * Math.abs(y) + 1e-6);
  });
});

describe('start layer under toolbox semantics', () => {
  test('the last layer, or the one below a final SoftMax (the demos drop it)', async () => {
    const plain = toolboxSpec('Linear 1 2\n1 -1\n0 0\n');
    const x = Float32Array.of(2);
    expectClose(await relevance(plain, x, TB('simple'), [[0]]), [2]);
    const soft = toolboxSpec('Linear 1 2\n1 -1\n0 0\nSoftMax\n');
    expectClose(await relevance(soft, x, TB('simple'), [[1]]), [-2]);
  });
});
