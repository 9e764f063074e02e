/**
 * Each Zennit rule on a 2x2 dense layer computed by hand (README of ../shared/vectors/onnx
 * states the formulas): x = (1, -2), W = [[2, 1], [-1, 3]], b = (0.5, -1); class 0 is
 * explained with the seed = its logit z0 = 2 - 2 + 0.5 = 0.5. Stabiliser 1e-6 (tolerance
 * 1e-5 covers it). Also the option errors of semantics 'zennit'.
 */
import { Net, type RelPropOptions } from '../../lib';
import type { NetSpec } from '../../lib/caffe/netspec-types';

function dense(): NetSpec {
  return {
    name: 'two-by-two',
    inputs: [{ name: 'data', shape: [1, 2] }],
    layers: [{
      name: 'fc', type: 'InnerProduct', bottoms: ['data'], tops: ['fc'],
      blobs: [{ shape: [2, 2], data: Float32Array.from([2, 1, -1, 3]) }, { shape: [2], data: Float32Array.from([0.5, -1]) }],
      params: { numOutput: 2, biasTerm: true, axis: 1, transpose: false },
    }],
  } as NetSpec;
}

async function relevance(options: RelPropOptions): Promise<number[]> {
  const net = new Net(dense());
  try {
    const out = await net.explain(Float32Array.from([1, -2]), { ...options, lastlayerindex: 0, targets: [[0]] });
    return Array.from(out.heatmaps[0].data);
  } finally {
    net.dispose();
  }
}

const cases: [string, RelPropOptions, number[]][] = [
  // S = 0.5 / (0.5 + 0.25) = 2/3; R = x * W0 * S
  ['Epsilon', { rule: 'zennit:Epsilon', epsilon: 0.25 }, [4 / 3, -4 / 3]],
  // z+ = W+ x+ + W- x- + b+ = 2 + 0 + 0.5 = 2.5; R = (1 * 2 * 0.5 / 2.5, -2 * 0 * ...) = (0.4, 0)
  ['ZPlus', { rule: 'zennit:ZPlus' }, [0.4, 0]],
  // alpha part 2 * (0.4, 0); z- = W- x+ + W+ x- + b- = -2, S- = -0.25, beta part (0, -2 * 1 * -0.25) = (0, 0.5)
  ['AlphaBeta(2, 1)', { rule: 'zennit:AlphaBeta', alpha: 2, beta: 1 }, [0.8, -0.5]],
  // z = 0.5 > 0: W+gW+ = (2.5, 1.25), W+gW- = (2, 1), b+gb+ = 0.625; z' = 2.5 - 2 + 0.625 = 1.125, S = 4/9
  ['Gamma(0.25)', { rule: 'zennit:Gamma', gamma: 0.25 }, [2.5 * 4 / 9, -2 * 4 / 9]],
  // z = 0.5 - (W+ l + b+) - (W- h + b-) = 0.5 - (-9 + 0.5) = 9, S = 1/18; R = x W S - l W+ S - h W- S
  ['ZBox(-3, 3)', { rule: 'zennit:ZBox', low: -3, high: 3 }, [(2 + 6) / 18, (-2 + 3) / 18]],
  // z = 2 inputs, R = 0.5 / 2 to each
  ['Flat', { rule: 'zennit:Flat' }, [0.25, 0.25]],
  // z = 4 + 1 + 0.25 (the bias squared), R = W^2 * 0.5 / 5.25
  ['WSquare', { rule: 'zennit:WSquare' }, [4 * 0.5 / 5.25, 0.5 / 5.25]],
];

describe("Zennit's rules on a 2x2 dense layer, by hand", () => {
  for (const [name, options, expected] of cases)
    it(name, async () => {
      const r = await relevance(options);
      expect(r.length).toBe(2);
      r.forEach((v, i) => expect(Math.abs(v - expected[i])).toBeLessThan(1e-5));
    });

  it('layerRules selects the rule per layer type (a composite overridden)', async () => {
    const r = await relevance({ composite: 'EpsilonPlus', layerRules: { InnerProduct: { rule: 'zennit:Epsilon', epsilon: 0.25 } } });
    expect(r[0]).toBeCloseTo(4 / 3, 5);
    expect(r[1]).toBeCloseTo(-4 / 3, 5);
  });

  it('EpsilonPlusFlat gives the first (here only) weighted layer Flat', async () => {
    const r = await relevance({ composite: 'EpsilonPlusFlat' });
    expect(r[0]).toBeCloseTo(0.25, 5);
    expect(r[1]).toBeCloseTo(0.25, 5);
  });

  it('bad options are OPTION errors naming the option', async () => {
    await expect(relevance({ rule: 'zennit:Nope' })).rejects.toMatchObject({ code: 'OPTION', message: expect.stringContaining("option 'rule'") });
    await expect(relevance({ composite: 'EpsilonGammaBox' })).rejects.toMatchObject({ code: 'OPTION', message: expect.stringContaining('low') });
    await expect(relevance({ rule: 'zennit:AlphaBeta', alpha: 2, beta: 2 })).rejects.toMatchObject({ code: 'OPTION' });
    await expect(relevance({ rule: 'zennit:Epsilon', epsstab: 1 })).rejects.toMatchObject({ code: 'OPTION', message: expect.stringContaining('epsstab') });
    await expect(relevance({ rule: 'epsilon', gamma: 1 })).rejects.toMatchObject({ code: 'OPTION', message: expect.stringContaining('gamma') });
    await expect(relevance({ rule: 'zennit:ZBox', low: [0, 1], high: [1, 2] })).rejects.toThrow(/InnerProduct/);
    await expect(relevance({ composite: 'EpsilonPlus', canonize: 1 as never })).rejects.toMatchObject({ code: 'OPTION', message: expect.stringContaining('canonize') });
    await expect(relevance({ rule: 'zennit:Norm' })).rejects.toMatchObject({ code: 'OPTION' });
  });
});
