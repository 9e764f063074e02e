/**
 * Blob memory: diffs are shared by blobs whose backward lifetimes do not overlap
 * (native/engine/diff_plan.h) and allocated at the first backward pass; after a training
 * pass every blob keeps its own. The engine's own byte accounting (memory()) is checked
 * against sizes computed by hand, and relevance with shared diffs must equal relevance with
 * one diff per blob, also on a net with branches and for the conservation report.
 */
import type { LayerSpec, NetSpec } from '../../lib/caffe/netspec-types';
import { loadNative, type NativeBackwardOptions, type NativeNetInstance } from '../../lib/native';
import { caffenetSpec } from '../bench/caffenet-spec';
import { rand } from '../helpers/small-nets';

const conv = (name: string, bottom: string, cin: number, cout: number, seed: number): LayerSpec => ({
  name, type: 'Convolution', bottoms: [bottom], tops: [name],
  blobs: [{ shape: [cout, cin, 3, 3], data: rand(cout * cin * 9, seed, 0.4) }, { shape: [cout], data: rand(cout, seed + 1, 0.2) }],
  params: { numOutput: cout, biasTerm: true, kernel: [3, 3], stride: [1, 1], pad: [1, 1], dilation: [1, 1], group: 1, axis: 1 },
});

/** conv -> Split -> (conv a -> ReLU | conv b) -> Eltwise SUM -> Split -> (pool | identity branch) ... -> fc: lifetimes that are not a chain. */
function branchedNet(batch: number): NetSpec {
  const layers: LayerSpec[] = [
    conv('c0', 'data', 3, 4, 1),
    { name: 's0', type: 'Split', bottoms: ['c0'], tops: ['c0a', 'c0b'], params: {}, blobs: [] },
    conv('ca', 'c0a', 4, 4, 3),
    { name: 'ra', type: 'ReLU', bottoms: ['ca'], tops: ['ca'], params: { negativeSlope: 0 }, blobs: [] },
    conv('cb', 'c0b', 4, 4, 5),
    { name: 'sum', type: 'Eltwise', bottoms: ['ca', 'cb'], tops: ['sum'], params: { operation: 'SUM', coeff: [] }, blobs: [] },
    { name: 'rs', type: 'ReLU', bottoms: ['sum'], tops: ['sum'], params: { negativeSlope: 0 }, blobs: [] },
    { name: 'pool', type: 'Pooling', bottoms: ['sum'], tops: ['pool'], blobs: [],
      params: { pool: 'MAX', kernel: [2, 2], stride: [2, 2], pad: [0, 0], globalPooling: false, roundMode: 'CEIL' } },
    { name: 'fc', type: 'InnerProduct', bottoms: ['pool'], tops: ['fc'], blobs: [{ shape: [5, 64], data: rand(320, 7, 0.3) }, { shape: [5], data: rand(5, 8, 0.1) }],
      params: { numOutput: 5, biasTerm: true, axis: 1, transpose: false } },
  ];
  return { name: 'branched', inputs: [{ name: 'data', shape: [batch, 3, 8, 8] }], layers };
}

const request = (net: NativeNetInstance, linear: 'epsilon' | 'alphabeta'): NativeBackwardOptions => {
  const n = net.layers().length;
  return {
    start: n - 1, end: 0, conservation: true, classes: [[1], [3, 4]],
    rules: Array.from({ length: n }, () => ({ linear, epsilon: 0.01, beta: 1 })),
  };
};

test('CaffeNet at batch 10: diffs take the largest live pair of blobs, not one per blob, and only after a backward pass', async () => {
  const { NativeNet } = loadNative();
  const net = new NativeNet(caffenetSpec(10));
  try {
    const m = net.memory();
    // Forward values: every blob (net input and every layer's top, in-place layers included), by shape.
    const tops = net.layers().flatMap((l) => l.topShapes);
    const floats = [[10, 3, 227, 227], ...tops].reduce((s, shape) => s + shape.reduce((a, b) => a * b, 1), 0);
    expect(m.dataBytes).toBe(4 * floats);
    expect(m.unsharedDiffBytes).toBe(m.dataBytes);
    // A chain's walk holds two diffs at a time; the largest pair is conv1's output and relu1's
    // (10 x 96 x 55 x 55 each): two buffers of that size serve the whole net.
    expect(m.diffBuffers).toBe(2);
    expect(m.diffBytes).toBe(2 * 4 * 10 * 96 * 55 * 55);
    expect(m.diffBytes).toBeLessThan(0.35 * m.unsharedDiffBytes);
    expect(m.diffsAllocated).toBe(false);
    expect(m.dedicatedDiffs).toBe(false);
    // At batch 1 the plan shrinks with the shapes.
    net.reshape(1);
    expect(net.memory().diffBytes).toBe(2 * 4 * 96 * 55 * 55);
  } finally {
    net.dispose();
  }
});

test('relevance with shared diffs equals relevance with one diff per blob (branches, conservation, both rules)', async () => {
  const { NativeNet } = loadNative();
  const spec = branchedNet(2);
  const x = rand(2 * 3 * 8 * 8, 11, 2);
  const shared = new NativeNet(spec);
  const dedicated = new NativeNet(spec);
  try {
    expect(shared.memory().diffBytes).toBeLessThan(shared.memory().unsharedDiffBytes);
    // A training pass (here over the chain pool -> fc) switches a net to one diff per blob for good.
    await dedicated.forward([x]);
    const last = dedicated.layers().length - 1;
    await dedicated.trainBackward({ start: last, end: last - 1, seed: rand(10, 12), layers: [] });
    const dm = dedicated.memory();
    expect(dm.dedicatedDiffs).toBe(true);
    expect(dm.diffBytes).toBe(dm.unsharedDiffBytes);
    await shared.forward([x]);
    for (const rule of ['epsilon', 'alphabeta'] as const) {
      // twice: the second walk starts from what the first left in the shared buffers
      for (let k = 0; k < 2; ++k) {
        const a = await shared.backward(request(shared, rule));
        const b = await dedicated.backward(request(dedicated, rule));
        expect(Array.from(a.data)).toEqual(Array.from(b.data));
        expect(a.conservation).toEqual(b.conservation);
        expect(a.data.some((v) => v !== 0)).toBe(true);
      }
      // A walk that ends above the input: its result is the bottom diff of that layer.
      const mid = { ...request(shared, rule), end: 2 };
      expect(Array.from((await shared.backward(mid)).data)).toEqual(Array.from((await dedicated.backward({ ...mid })).data));
    }
    expect(shared.memory().diffsAllocated).toBe(true);
    expect(shared.memory().dedicatedDiffs).toBe(false);
    // Once forward passes and walks alternate, scratch lives for one pass only.
    expect(shared.memory().workspaceBytes.every((b) => b === 0)).toBe(true);
  } finally {
    shared.dispose();
    dedicated.dispose();
  }
});

test('blobData before any backward pass reports zero diffs; training after a reshape binds diffs of the new size', async () => {
  const { NativeNet } = loadNative();
  const net = new NativeNet(branchedNet(1));
  try {
    await net.forward([rand(3 * 8 * 8, 2)]);
    // Forward-only use keeps its scratch (the convolutions' columns) from pass to pass.
    expect(net.memory().workspaceBytes.some((b) => b > 0)).toBe(true);
    const b = net.blobData('pool');
    expect(b.diff).toHaveLength(b.data.length);
    expect(b.diff.every((v) => v === 0)).toBe(true);
    expect(net.memory().diffsAllocated).toBe(false);
    net.reshape(2);
    await net.forward([rand(2 * 3 * 8 * 8, 3)]);
    const last = net.layers().length - 1;
    const grads = (await net.trainBackward({ start: last, end: last - 1, seed: rand(10, 4), layers: [last] })) as Float32Array[][];
    expect(grads[0].map((g) => g.length)).toEqual([320, 5]);
    // fc's bias gradient is the seed summed over the batch.
    const seed = rand(10, 4);
    grads[0][1].forEach((g, j) => expect(g).toBeCloseTo(seed[j] + seed[5 + j], 5));
    expect(net.memory()).toMatchObject({ diffsAllocated: true, dedicatedDiffs: true });
  } finally {
    net.dispose();
  }
});
