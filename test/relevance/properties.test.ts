/**
 * Independent checks of the relevance engine on small project-made nets: conservation
 * laws of the epsilon and alpha-beta rules, the gradient type against finite differences,
 * batch = one-by-one, and composite seeds = sum of single-class maps.
 */
import { Net } from '../../lib/net';
import { rand, smallNet } from '../helpers/small-nets';

const sum = (a: ArrayLike<number>) => Array.from(a).reduce((s, v) => s + v, 0);

/** Elementwise |a - b| <= rel * max|b| (float32 sums in different orders). */
function expectClose(a: ArrayLike<number>, b: ArrayLike<number>, rel = 1e-5): void {
  let scale = 0, worst = 0;
  for (let k = 0; k < b.length; ++k) scale = Math.max(scale, Math.abs(b[k]));
  for (let k = 0; k < b.length; ++k) worst = Math.max(worst, Math.abs(a[k] - b[k]));
  expect(a.length).toBe(b.length);
  expect(worst).toBeLessThanOrEqual(rel * scale);
}

describe('relevance properties on a small project-made net', () => {
  test('epsilon rule with eps -> 0 and no bias conserves relevance', async () => {
    const net = new Net(smallNet(1, false));
    await net.forward(rand(300, 11, 20));
    const seed = net.blob('fc').data[2];
    const r = await net.relevance([[2]], { relpropformulatype: 0, epsstab: 1e-12, conservation: true });
    expect(Math.abs(sum(r.heatmaps[0].data) - seed) / Math.abs(seed)).toBeLessThan(1e-5);
    for (const row of r.conservation!) expect(Math.abs(row.out[0] - row.in[0])).toBeLessThan(1e-5 * Math.abs(seed));
    await net.dispose();
  });

  test('epsilon rule: bias and eps absorb relevance (no conservation) ', async () => {
    const net = new Net(smallNet(1, true));
    await net.forward(rand(300, 11, 20));
    const seed = net.blob('fc').data[2];
    const h = await net.backwardRelevance([2], { relpropformulatype: 0, epsstab: 1 });
    expect(Math.abs(sum(h.data) - seed) / Math.abs(seed)).toBeGreaterThan(1e-3);
    await net.dispose();
  });

  test('alpha-beta with zero bias conserves relevance (beta 0 and 1)', async () => {
    const net = new Net(smallNet(1, false));
    await net.forward(rand(300, 12, 20));
    const scores = await net.forward(rand(300, 12, 20));
    const c = scores[0].indexOf(Math.max(...scores[0]));
    const seed = net.blob('fc').data[c];
    for (const beta of [0, 1]) {
      const h = await net.backwardRelevance([c], { relpropformulatype: 2, alphabeta_beta: beta });
      expect(Math.abs(sum(h.data) - seed) / Math.abs(seed)).toBeLessThan(1e-4);
    }
    await net.dispose();
  });

  test('gradient type 11 equals logit x finite-difference gradient', async () => {
    const net = new Net(smallNet(1, true));
    const x = rand(300, 13, 20);
    await net.forward(x);
    const c = 1;
    const logit = net.blob('fc').data[c];
    const h = await net.backwardRelevance([c], { relpropformulatype: 11 });
    const plane = 100;
    const analytic: number[] = [];
    const numeric: number[] = [];
    for (const idx of [5, 57, 123, 211, 299]) {
      // Central differences of a float32 net: the step trades rounding against ReLU/max kinks.
      const step = 0.05;
      const plus = Float32Array.from(x); plus[idx] += step;
      const minus = Float32Array.from(x); minus[idx] -= step;
      await net.forward(plus);
      const zp = net.blob('fc').data[c];
      await net.forward(minus);
      const zm = net.blob('fc').data[c];
      numeric.push((logit * (zp - zm)) / (2 * step));
      const ch = Math.floor(idx / plane);
      analytic.push(h.data[(2 - ch) * plane + (idx % plane)]); // heatmap channels are reversed
    }
    expectClose(analytic, numeric, 1e-2);
    expect(Math.max(...numeric.map(Math.abs))).toBeGreaterThan(100); // the check is not vacuous
    await net.dispose();
  });

  test('a batch gives the same maps as one image at a time, and unused slots never leak', async () => {
    const images = [rand(300, 21, 20), rand(300, 22, 20), rand(300, 23, 20)];
    const classes = [[0], [3], [1, 4]];
    const opts = { relpropformulatype: 100, epsstab: 0.5, alphabeta_beta: 1 } as const;
    const batchNet = new Net(smallNet(4, true));
    await batchNet.forward(images);
    const batch = await batchNet.backwardRelevanceMulti(classes, opts);
    expect(batch.length).toBe(3);
    const single = new Net(smallNet(1, true));
    for (let i = 0; i < 3; ++i) {
      await single.forward(images[i]);
      const h = await single.backwardRelevance(classes[i], opts);
      expectClose(batch[i].data, h.data);
    }
    await batchNet.dispose();
    await single.dispose();
  });

  test('a composite seed equals the sum of single-class maps for the epsilon rule', async () => {
    const net = new Net(smallNet(1, true));
    await net.forward(rand(300, 31, 20));
    const opts = { relpropformulatype: 0, epsstab: 0.1 };
    const both = await net.backwardRelevance([1, 3], opts);
    const a = await net.backwardRelevance([1], opts);
    const b = await net.backwardRelevance([3], opts);
    expectClose(both.data, a.data.map((v, k) => v + b.data[k]));
    await net.dispose();
  });

  test('clear errors: relevance before forward, bad class, unknown rule, disposed net', async () => {
    const net = new Net(smallNet(1, true));
    await expect(net.backwardRelevance([0], { relpropformulatype: 0 })).rejects.toThrow(/no forward pass/);
    await net.forward(rand(300, 1));
    await expect(net.backwardRelevance([7], { relpropformulatype: 0 })).rejects.toThrow(/class index 7 .* out of range/);
    await expect(net.backwardRelevance([0], { rule: 'magic' })).rejects.toThrow(/unknown rule "magic"/);
    await expect(net.backwardRelevance([0], { relpropformulatype: 6 })).rejects.toThrow(/not supported/);
    await expect(net.backwardRelevance([0], { relpropformulatype: 54 })).rejects.toThrow(/auxiliaryvariable_maxlayerindexforflatdistinconv/);
    await expect(net.forward(new Float32Array(7))).rejects.toThrow(/not a whole number of images/);
    await net.dispose();
    expect(() => net.layers).toThrow(/disposed/);
  });
});

describe('seeding', () => {
  test('a seed vector equal to one-hot logits equals the class map; arbitrary seeds are linear for epsilon', async () => {
    const net = new Net(smallNet(1, true));
    await net.forward(rand(300, 41, 20));
    const logits = net.blob('fc').data;
    const opts = { relpropformulatype: 0, epsstab: 0.1 };
    const classMap = await net.backwardRelevance([2], opts);
    const oneHot = new Float32Array(5);
    oneHot[2] = logits[2];
    const [seeded] = await net.backwardRelevanceSeeded([oneHot], opts);
    expectClose(seeded.data, classMap.data);
    const mix = Float32Array.from([0.5, 0, -1, 0, 2]);
    const [mixed] = await net.backwardRelevanceSeeded([mix], opts);
    const parts = await Promise.all([0, 2, 4].map((c) => { const v = new Float32Array(5); v[c] = mix[c]; return net.backwardRelevanceSeeded([v], opts); }));
    expectClose(mixed.data, parts[0][0].data.map((v, k) => v + parts[1][0].data[k] + parts[2][0].data[k]));
    await expect(net.backwardRelevanceSeeded([new Float32Array(4)], opts)).rejects.toThrow(/must have 5 values/);
    await net.dispose();
  });

  test('has_init_relevance seeds the constant relevance_for_init in single and multi calls', async () => {
    const net = new Net(smallNet(2, true));
    await net.forward([rand(300, 42, 20), rand(300, 43, 20)]);
    const opts = { relpropformulatype: 0, epsstab: 1e-9, has_init_relevance: true, relevance_for_init: 2 };
    const maps = await net.backwardRelevanceMulti([[1], [3]], opts);
    const sums = maps.map((m) => m.data.reduce((a, b) => a + b, 0));
    // bias and eps absorb some relevance, but the seed is 2 (not the logit) for both images
    const seeded = await net.backwardRelevanceSeeded([Float32Array.from([0, 2, 0, 0, 0]), Float32Array.from([0, 0, 0, 2, 0])], { relpropformulatype: 0, epsstab: 1e-9 });
    expectClose(maps[0].data, seeded[0].data);
    expectClose(maps[1].data, seeded[1].data);
    expect(sums.every(Number.isFinite)).toBe(true);
    await net.dispose();
  });
});

test('alpha-beta stays exact where the negative sums are tiny next to the positive ones', async () => {
  // fc with 64 inputs, 4 outputs; output j has one tiny negative weight among large positive
  // ones, so Z- = (z - b) - Z+ would cancel: the engine must recompute it directly.
  const K = 64, M = 4;
  const w = new Float32Array(M * K);
  for (let j = 0; j < M; ++j) for (let i = 0; i < K; ++i) w[j * K + i] = i === j ? -1e-6 * (j + 1) : 0.5 + 0.01 * ((i * 7 + j) % 13);
  const spec = {
    name: 'tiny-negatives', inputs: [{ name: 'data', shape: [1, K] }],
    layers: [{ name: 'fc', type: 'InnerProduct', bottoms: ['data'], tops: ['fc'], params: { numOutput: M, biasTerm: false, axis: 1, transpose: false },
      blobs: [{ shape: [M, K], data: w }] }],
  };
  const x = Float32Array.from({ length: K }, (_, i) => 1 + (i % 5));
  const net = new Net(spec);
  await net.forward(x);
  const [h] = await net.backwardRelevanceMulti([[2]], { relpropformulatype: 2, alphabeta_beta: 1, lastlayerindex: 0 });
  const j = 2;
  let z = 0, zp = 0, zn = 0;
  for (let i = 0; i < K; ++i) { const v = x[i] * w[j * K + i]; z += v; if (v > 0) zp += v; else zn += v; }
  const ref = Array.from({ length: K }, (_, i) => { const v = x[i] * w[j * K + i]; return v > 0 ? (2 * v * z) / zp : (-1 * v * z) / zn; });
  expectClose(h.data, ref, 1e-5);
  // the beta term of the one negative contribution: -(-z) = z, the same size as everything else
  expect(h.data[j]).toBeCloseTo(-z * 1, 0);
  await net.dispose();
});

test('alpha-beta with mixed-sign inputs stays exact where the negative sums are tiny', async () => {
  // One tiny negative input among positive ones and positive weights: Z- is tiny next to Z+.
  const K = 48, M = 3;
  const w = Float32Array.from({ length: M * K }, (_, i) => 0.3 + 0.01 * (i % 17));
  w[5] = -0.2; // and one negative weight, so W- is not empty
  const spec = {
    name: 'mixed-tiny', inputs: [{ name: 'data', shape: [1, K] }],
    layers: [{ name: 'fc', type: 'InnerProduct', bottoms: ['data'], tops: ['fc'], params: { numOutput: M, biasTerm: false, axis: 1, transpose: false },
      blobs: [{ shape: [M, K], data: w }] }],
  };
  const x = Float32Array.from({ length: K }, (_, i) => (i === 7 ? -1e-6 : 1 + (i % 3)));
  x[5] = 1e-6; // the negative weight meets a tiny input: its contribution is tiny too
  const net = new Net(spec);
  await net.forward(x);
  for (const j of [0, 1, 2]) {
    const [h] = await net.backwardRelevanceMulti([[j]], { relpropformulatype: 2, alphabeta_beta: 1, lastlayerindex: 0 });
    let z = 0, zp = 0, zn = 0;
    for (let i = 0; i < K; ++i) { const v = x[i] * w[j * K + i]; z += v; if (v > 0) zp += v; else zn += v; }
    const ref = Array.from({ length: K }, (_, i) => { const v = x[i] * w[j * K + i]; return v > 0 ? (2 * v * z) / zp : v < 0 ? (-1 * v * z) / zn : 0; });
    expectClose(h.data, ref, 1e-5);
  }
  await net.dispose();
});

test('alpha-beta with mixed-sign inputs matches a direct float64 computation, also where a sum is tiny', async () => {
  // Mixed-sign inputs take the engine's |W| |x| identities; rows 0 and 1 are built so that
  // their positive (row 0) or negative (row 1) sums are tiny next to |W| |x|, where those
  // identities would lose all accuracy, and the engine must fall back to exact sums.
  const K = 40, M = 30;
  const x = Float32Array.from(rand(K, 71, 1), (v) => -Math.abs(v) - 0.1);
  x[0] = 1e-5;
  x[1] = 2.5; // one clearly positive input too
  const w = rand(M * K, 72, 0.5);
  for (let i = 0; i < K; ++i) {
    w[i] = i === 1 ? 0 : 0.2 + 0.01 * (i % 7);      // row 0: (x w)+ only from the tiny x[0]
    w[K + i] = i === 1 ? 0 : -0.2 - 0.01 * (i % 5); // row 1: (x w)- only from the tiny x[0]
  }
  const bias = rand(M, 73, 0.1);
  bias[0] = 0; bias[1] = 0;
  const spec = {
    name: 'mixed-sign', inputs: [{ name: 'data', shape: [1, K] }],
    layers: [{ name: 'fc', type: 'InnerProduct', bottoms: ['data'], tops: ['fc'], params: { numOutput: M, biasTerm: true, axis: 1, transpose: false },
      blobs: [{ shape: [M, K], data: w }, { shape: [M], data: bias }] }],
  };
  const seed = rand(M, 74, 1);
  const net = new Net(spec);
  await net.forward(x);
  for (const beta of [0, 1]) {
    const [h] = await net.backwardRelevanceSeeded([seed], { relpropformulatype: 2, alphabeta_beta: beta, lastlayerindex: 0 });
    const ref = new Float64Array(K);
    for (let j = 0; j < M; ++j) {
      let zp = Math.max(bias[j], 0), zn = Math.min(bias[j], 0);
      for (let i = 0; i < K; ++i) { const v = x[i] * w[j * K + i]; if (v > 0) zp += v; else zn += v; }
      for (let i = 0; i < K; ++i) {
        const v = x[i] * w[j * K + i];
        if (v > 0 && zp > 0) ref[i] += ((1 + beta) * v * seed[j]) / zp;
        if (v < 0 && zn < 0) ref[i] -= (beta * v * seed[j]) / zn;
      }
    }
    expectClose(h.data, ref, 1e-5);
  }
  await net.dispose();
});

test('a grouped convolution explains like its groups as separate convolutions (576 positions: image by image, group by group)', async () => {
  // data -> conv(group 2) versus data -> Slice -> two convs -> Concat with the same weights:
  // every rule keeps a group's relevance within the group, so the input maps are equal.
  const { L, netSpec } = await import('../helpers/reference-layers');
  const C = 4, O = 6, H = 24, K = 3 * 3 * (C / 2);
  const w = rand(O * K, 81, 0.4);
  const b = rand(O, 82, 0.2);
  const grouped = new Net(netSpec([2, C, H, H], [L.conv('conv', 'data', 'conv', { numOutput: O, kernel: [3, 3], pad: [1, 1], group: 2 }, w, b, C)]));
  const split = new Net(netSpec([2, C, H, H], [
    L.of('Slice', 'slice', ['data'], ['d0', 'd1'], { axis: 1, slicePoints: [C / 2] }),
    L.conv('c0', 'd0', 'c0', { numOutput: O / 2, kernel: [3, 3], pad: [1, 1] }, w.subarray(0, (O / 2) * K), b.subarray(0, O / 2), C / 2),
    L.conv('c1', 'd1', 'c1', { numOutput: O / 2, kernel: [3, 3], pad: [1, 1] }, w.subarray((O / 2) * K), b.subarray(O / 2), C / 2),
    L.of('Concat', 'concat', ['c0', 'c1'], ['out'], { axis: 1 }),
  ]));
  const x = [rand(C * H * H, 83, 1), rand(C * H * H, 84, 1).map(Math.abs)]; // mixed-sign and non-negative inputs
  await grouped.forward(x);
  await split.forward(x);
  const seeds = [rand(O * H * H, 85, 1), rand(O * H * H, 86, 1)];
  for (const opts of [
    { relpropformulatype: 0, epsstab: 0.5 },
    { relpropformulatype: 2, alphabeta_beta: 1 },
    { relpropformulatype: 2, alphabeta_beta: 0 },
    { relpropformulatype: 2, alphabeta_beta: 1, biastreatmenttype: 1 },
    { relpropformulatype: 11 },
    { relpropformulatype: 56, auxiliaryvariable_maxlayerindexforflatdistinconv: Infinity },
  ]) {
    // the aux index "every layer" is each net's own last layer (an index past the net is an error)
    const fit = (net: Net) => ('auxiliaryvariable_maxlayerindexforflatdistinconv' in opts ? { ...opts, auxiliaryvariable_maxlayerindexforflatdistinconv: net.layers.length - 1 } : opts);
    const a = await grouped.backwardRelevanceSeeded(seeds, { ...fit(grouped), lastlayerindex: 0 });
    const s = await split.backwardRelevanceSeeded(seeds, { ...fit(split), lastlayerindex: split.layers.length - 1 });
    a.forEach((h, i) => expectClose(h.data, s[i].data, 1e-5));
  }
  await grouped.dispose();
  await split.dispose();
});
