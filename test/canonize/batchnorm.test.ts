/**
 * The BatchNorm canonizer on a small Caffe-style net computed by hand: conv (2 -> 3 channels,
 * 2x2, with bias) -> BatchNorm (moving-average factor 2) -> Scale (gamma, beta) -> ReLU ->
 * InnerProduct. The hand-merged net (W' = W s, b' = (b - mean) s + beta, s = gamma /
 * sqrt(var + eps), worked out below in float64 from the formula, not by lib/canonize) must
 * give the same forward outputs and the same Zennit relevance as the BN net explained with
 * canonization; without canonization (canonize: false) the relevance differs. Also: which
 * layers the plan merges (in-place blobs, a producer read twice, the ONNX lowering's Scale),
 * and what net.layers reports.
 */
import { Net, type RelPropOptions } from '../../lib';
import type { LayerSpec, NetSpec } from '../../lib/caffe/netspec-types';
import { canonize, planCanonize } from '../../lib/canonize';
import { rand } from '../helpers/small-nets';

const C_IN = 2, C = 3, H = 3, W = 3, K = 2;
const convW = rand(C * C_IN * K * K, 11);
const convB = Float32Array.from([0.3, -0.2, 0.1]);
const mean = [0.4, -0.6, 0.2], variance = [0.5, 2.0, 1.5], factor = 2, eps = 1e-5;
const gamma = [1.5, -0.7, 0.9], beta = [0.2, 0.1, -0.3];
const fcW = rand(4 * C * 2 * 2, 12);

function conv(blobs: { w: Float32Array; b: Float32Array }, bottom = 'data'): LayerSpec {
  return {
    name: 'conv1', type: 'Convolution', bottoms: [bottom], tops: ['conv1'],
    params: { numOutput: C, biasTerm: true, kernel: [K, K], stride: [1, 1], pad: [0, 0], dilation: [1, 1], group: 1, axis: 1 },
    blobs: [{ shape: [C, C_IN, K, K], data: blobs.w }, { shape: [C], data: blobs.b }],
  };
}

const tail = (bottom: string): LayerSpec[] => [
  { name: 'relu1', type: 'ReLU', bottoms: [bottom], tops: [bottom], params: { negativeSlope: 0 }, blobs: [] },
  {
    name: 'fc', type: 'InnerProduct', bottoms: [bottom], tops: ['fc'], params: { numOutput: 4, biasTerm: true, axis: 1, transpose: false },
    blobs: [{ shape: [4, C * 4], data: fcW }, { shape: [4], data: Float32Array.from([0.05, -0.1, 0.2, 0]) }],
  },
];

/** conv -> BatchNorm -> Scale (Caffe's in-place form: all three write blob conv1) -> ReLU -> fc. */
function bnNet(): NetSpec {
  return {
    name: 'bn-net', inputs: [{ name: 'data', shape: [2, C_IN, H, W] }],
    layers: [
      conv({ w: convW.slice(), b: convB.slice() }),
      {
        name: 'bn1', type: 'BatchNorm', bottoms: ['conv1'], tops: ['conv1'], params: { useGlobalStats: true, eps, movingAverageFraction: 0.999 },
        // Caffe stores the statistics multiplied by the moving-average factor
        blobs: [{ shape: [C], data: Float32Array.from(mean, (m) => m * factor) }, { shape: [C], data: Float32Array.from(variance, (v) => v * factor) }, { shape: [1], data: Float32Array.from([factor]) }],
      },
      {
        name: 'scale1', type: 'Scale', bottoms: ['conv1'], tops: ['conv1'], params: { axis: 1, numAxes: 1, biasTerm: true },
        blobs: [{ shape: [C], data: Float32Array.from(gamma) }, { shape: [C], data: Float32Array.from(beta) }],
      },
      ...tail('conv1'),
    ],
  } as NetSpec;
}

/** The same function with the batch norm folded by hand. */
function handMerged(): NetSpec {
  const w = new Float32Array(convW.length), b = new Float32Array(C);
  const per = C_IN * K * K;
  for (let o = 0; o < C; o++) {
    const s = gamma[o] / Math.sqrt(variance[o] + eps);
    for (let i = 0; i < per; i++) w[o * per + i] = convW[o * per + i] * s;
    b[o] = (convB[o] - mean[o]) * s + beta[o];
  }
  return { name: 'merged', inputs: [{ name: 'data', shape: [2, C_IN, H, W] }], layers: [conv({ w, b }), ...tail('conv1')] } as NetSpec;
}

const input = rand(2 * C_IN * H * W, 13, 2);

function maxRelDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0, m = 0;
  for (let i = 0; i < b.length; i++) { d = Math.max(d, Math.abs(a[i] - b[i])); m = Math.max(m, Math.abs(b[i])); }
  return d / m;
}

describe('BatchNorm canonizer: a hand-computed conv -> BatchNorm -> Scale net', () => {
  it('plans the merge of bn1 and scale1 into conv1 and reports it in net.layers', () => {
    expect(planCanonize(bnNet()).batchNorms).toEqual([{ into: 0, merged: [1, 2] }]);
    const net = new Net(bnNet());
    try {
      const [c, bn, sc, relu] = net.layers;
      expect(c.merged).toEqual(['bn1', 'scale1']);
      expect(bn.mergedInto).toBe('conv1');
      expect(sc.mergedInto).toBe('conv1');
      expect(relu.merged).toBeUndefined();
      expect(relu.mergedInto).toBeUndefined();
    } finally {
      net.dispose();
    }
  });

  it('the canonized spec keeps every layer index (merged layers become Identity) and computes the same outputs', async () => {
    const canon = canonize(bnNet());
    expect(canon.layers.map((l) => l.type)).toEqual(['Convolution', 'Identity', 'Identity', 'ReLU', 'InnerProduct']);
    const [raw, merged, hand] = [new Net(bnNet()), new Net(canon), new Net(handMerged())];
    try {
      const [a, b, c] = [await raw.forward(input), await merged.forward(input), await hand.forward(input)];
      for (let n = 0; n < 2; n++) {
        expect(maxRelDiff(b[n], a[n])).toBeLessThan(1e-5);
        expect(maxRelDiff(c[n], a[n])).toBeLessThan(1e-5);
      }
    } finally {
      await Promise.all([raw.dispose(), merged.dispose(), hand.dispose()]);
    }
  });

  const composites: [string, RelPropOptions][] = [
    ['EpsilonPlus', { composite: 'EpsilonPlus' }],
    ['EpsilonGammaBox', { composite: 'EpsilonGammaBox', low: -4, high: 4 }],
    ['zennit:Epsilon', { rule: 'zennit:Epsilon', epsilon: 0.1 }],
  ];
  for (const [name, options] of composites) {
    it(`${name}: explain with canonization equals explain of the hand-merged net; canonize: false differs`, async () => {
      const net = new Net(bnNet()), hand = new Net(handMerged());
      try {
        const targets = [[1], [2]];
        const canon = await net.explain(input, { ...options, lastlayerindex: 4, targets });
        const ref = await hand.explain(input, { ...options, lastlayerindex: 2, targets });
        const rawOut = await net.explain(input, { ...options, canonize: false, lastlayerindex: 4, targets });
        for (let n = 0; n < 2; n++) {
          expect(maxRelDiff(canon.heatmaps[n].data, ref.heatmaps[n].data)).toBeLessThan(1e-4);
          expect(maxRelDiff(canon.scores[n], ref.scores[n])).toBeLessThan(1e-5);
          expect(maxRelDiff(rawOut.heatmaps[n].data, ref.heatmaps[n].data)).toBeGreaterThan(1e-3);
        }
      } finally {
        await Promise.all([net.dispose(), hand.dispose()]);
      }
    });
  }

  it('a relevance call after forward() runs the canonized net on the same input; blob() reads the engine that ran last', async () => {
    const net = new Net(bnNet()), hand = new Net(handMerged());
    try {
      await net.forward(input);
      await hand.forward(input);
      const got = await net.relevance([[0], [3]], { composite: 'EpsilonPlus', lastlayerindex: 4 });
      const want = await hand.relevance([[0], [3]], { composite: 'EpsilonPlus', lastlayerindex: 2 });
      for (let n = 0; n < 2; n++) expect(maxRelDiff(got.heatmaps[n].data, want.heatmaps[n].data)).toBeLessThan(1e-4);
      // the raw net's Caffe-semantics walk afterwards still sees the forward pass
      const caffe = await net.relevance([[0], [3]], { rule: 'epsilon', lastlayerindex: 4 });
      expect(caffe.heatmaps[0].data.every(Number.isFinite)).toBe(true);
      const fc = net.blob('fc').data, handFc = hand.blob('fc').data;
      expect(maxRelDiff(fc, handFc)).toBeLessThan(1e-5);
    } finally {
      await Promise.all([net.dispose(), hand.dispose()]);
    }
  });

  it('after a forward pass that failed, neither the raw net nor the canonized twin explains an older input', async () => {
    const net = new Net(bnNet());
    try {
      await net.explain(input, { composite: 'EpsilonPlus', lastlayerindex: 4, targets: [[1], [2]] });
      const bad = input.slice();
      bad[3] = NaN;
      await expect(net.forward(bad)).rejects.toMatchObject({ code: 'OPTION' });
      await expect(net.relevance([[1], [2]], { composite: 'EpsilonPlus', lastlayerindex: 4 })).rejects.toMatchObject({ code: 'STATE' });
      await expect(net.relevance([[1], [2]], { rule: 'epsilon', lastlayerindex: 4 })).rejects.toMatchObject({ code: 'STATE' });
    } finally {
      await net.dispose();
    }
  });

  it('the conservation report of the canonized walk lists the Identity layers, which pass R unchanged', async () => {
    const net = new Net(bnNet());
    try {
      const out = await net.explain(input, { composite: 'EpsilonPlus', lastlayerindex: 4, targets: [[1], [2]], conservation: true });
      const rows = (out.conservation ?? []).filter((r) => r.name === 'bn1' || r.name === 'scale1');
      expect(rows.map((r) => r.type)).toEqual(['Identity', 'Identity']);
      for (const r of rows) r.in.forEach((v, i) => expect(r.out[i]).toBe(v));
    } finally {
      await net.dispose();
    }
  });

  it('does not merge when the convolution output is also read elsewhere (a Split): the BN keeps its rule', async () => {
    const spec = bnNet();
    // conv1 -> split -> (bn1 -> scale1 -> relu -> fc, and a second reader); the BN's producer is the Split
    const layers = spec.layers;
    layers[0] = { ...layers[0], tops: ['conv1raw'] };
    const split: LayerSpec = { name: 'split', type: 'Split', bottoms: ['conv1raw'], tops: ['conv1', 'conv1b'], params: {}, blobs: [], inserted: true };
    const other: LayerSpec = { name: 'other', type: 'ReLU', bottoms: ['conv1b'], tops: ['conv1b'], params: { negativeSlope: 0 }, blobs: [] };
    spec.layers = [layers[0], split, ...layers.slice(1), other];
    expect(planCanonize(spec).batchNorms).toEqual([]);
    const net = new Net(spec);
    try {
      expect(net.layers.some((l) => l.merged || l.mergedInto)).toBe(false);
      const a = await net.explain(input, { composite: 'EpsilonPlus', lastlayerindex: 5, targets: [[1], [2]] });
      const b = await net.explain(input, { composite: 'EpsilonPlus', canonize: false, lastlayerindex: 5, targets: [[1], [2]] });
      expect(Array.from(a.heatmaps[0].data)).toEqual(Array.from(b.heatmaps[0].data));
    } finally {
      await net.dispose();
    }
  });

  it('merges the Scale the ONNX lowering makes of a BatchNormalization, and a BatchNorm alone', () => {
    const spec = bnNet();
    const lowered = { ...spec.layers[2], bottoms: ['conv1'], tops: ['bnout'], onnx: { node: 'bn', op: 'BatchNormalization', index: 1 } };
    const withLowered = { ...spec, layers: [spec.layers[0], lowered, ...tail('bnout')] } as NetSpec;
    expect(planCanonize(withLowered).batchNorms).toEqual([{ into: 0, merged: [1] }]);
    // a plain Scale (not from a BatchNormalization) is not a batch norm: left alone
    const plainScale = { ...withLowered, layers: [spec.layers[0], { ...lowered, onnx: undefined }, ...tail('bnout')] } as NetSpec;
    expect(planCanonize(plainScale).batchNorms).toEqual([]);
    const bnOnly = { ...spec, layers: [spec.layers[0], spec.layers[1], ...tail('conv1')] } as NetSpec;
    expect(planCanonize(bnOnly).batchNorms).toEqual([{ into: 0, merged: [1] }]);
    const merged = canonize(bnOnly);
    // b' = (b - mean) / sqrt(var + eps) with the factor divided out
    merged.layers[0].blobs[1].data.forEach((v, o) => expect(v).toBeCloseTo((convB[o] - mean[o]) / Math.sqrt(variance[o] + eps), 5));
  });

  it("rejects a non-boolean 'canonize' and 'canonize' outside semantics 'zennit'", async () => {
    const net = new Net(bnNet());
    try {
      await expect(net.explain(input, { composite: 'EpsilonPlus', canonize: 'yes' as never, lastlayerindex: 4 })).rejects.toMatchObject({ code: 'OPTION' });
      await expect(net.explain(input, { rule: 'epsilon', canonize: true, lastlayerindex: 4 })).rejects.toMatchObject({ code: 'OPTION' });
    } finally {
      await net.dispose();
    }
  });
});
