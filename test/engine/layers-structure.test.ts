/**
 * Per-layer forward tests of the native engine against the float64 reference layers
 * (test/helpers/reference-layers.ts): structure layers (Concat, Slice, Split, Flatten,
 * Reshape, Permute, Eltwise) and affine layers (BatchNorm, Scale, Bias), plus the
 * construction errors that must name the offending layer.
 */
import type { LayerSpec } from '../../lib/caffe/netspec-types';
import { Net } from '../../lib/net';
import { FORWARD_TOL, L, blob, count, expectForwardMatches, netSpec, randn, worstViolation } from '../helpers/reference-layers';

/** 0, 1, 2, ... so that any misplaced element shows. */
const iota = (n: number) => Float32Array.from({ length: n }, (_, i) => i);

describe('Slice', () => {
  test.each<[string, number[], number, number[], number]>([
    ['axis 1 at slice points [1, 3] of 4 channels', [2, 4, 3, 2], 1, [1, 3], 3],
    ['axis 1 into 2 equal parts (no slice points)', [2, 4, 2, 3], 1, [], 2],
    ['axis 1 into 3 equal parts (no slice points)', [1, 6, 2, 2], 1, [], 3],
    ['axis 2 at [2]', [2, 2, 5, 3], 2, [2], 2],
    ['axis 3 into 3 equal parts', [2, 2, 2, 6], 3, [], 3],
    ['axis -1 at [1, 4]', [1, 2, 2, 5], -1, [1, 4], 3],
    ['axis 0 (the batch) at [1]', [3, 2, 2, 2], 0, [1], 2],
  ])('%s', async (_label, shape, axis, slicePoints, tops) => {
    const names = Array.from({ length: tops }, (_, i) => `s${i}`);
    const spec = netSpec(shape, [L.of('Slice', 'slice', ['data'], names, { axis, slicePoints })]);
    await expectForwardMatches(spec, iota(count(shape)));
  });
});

describe('Concat', () => {
  test('three blobs along channels, in a different order than sliced', async () => {
    const spec = netSpec([2, 4, 3, 2], [
      L.of('Slice', 'slice', ['data'], ['a', 'b', 'c'], { axis: 1, slicePoints: [1, 3] }),
      L.of('Concat', 'cat', ['c', 'a', 'b'], ['cat'], { axis: 1 }),
    ]);
    const ref = await expectForwardMatches(spec, iota(48));
    expect(ref.get('cat')!.shape).toEqual([2, 4, 3, 2]);
  });

  test('three blobs of different heights along axis 2, after convolutions', async () => {
    const spec = netSpec([2, 2, 6, 5], [
      L.of('Split', 'split', ['data'], ['d1', 'd2', 'd3']),
      L.conv('c1', 'd1', 'c1', { numOutput: 3, kernel: [3, 3] }, randn(54, 1), randn(3, 2), 2), // 4x3
      L.conv('c2', 'd2', 'c2', { numOutput: 3, kernel: [2, 3] }, randn(36, 3), randn(3, 4), 2), // 5x3
      L.conv('c3', 'd3', 'c3', { numOutput: 3, kernel: [6, 3] }, randn(108, 5), randn(3, 6), 2), // 1x3
      L.of('Concat', 'cat', ['c1', 'c2', 'c3'], ['cat'], { axis: 2 }),
    ]);
    const ref = await expectForwardMatches(spec, randn(120, 7));
    expect(ref.get('cat')!.shape).toEqual([2, 3, 10, 3]);
  });

  test('three blobs along the last axis (axis -1)', async () => {
    const spec = netSpec([2, 3, 2, 6], [
      L.of('Slice', 'slice', ['data'], ['a', 'b', 'c'], { axis: 3, slicePoints: [2, 5] }),
      L.of('Concat', 'cat', ['b', 'c', 'a'], ['cat'], { axis: -1 }),
    ]);
    await expectForwardMatches(spec, iota(72));
  });

  test('along the batch axis (axis 0)', async () => {
    const spec = netSpec([3, 2, 2, 2], [
      L.of('Slice', 'slice', ['data'], ['a', 'b'], { axis: 0, slicePoints: [2] }),
      L.of('Concat', 'cat', ['b', 'a'], ['cat'], { axis: 0 }),
    ]);
    await expectForwardMatches(spec, iota(24));
  });
});

describe('Split', () => {
  test('copies its bottom to every top; each branch computes independently', async () => {
    const spec = netSpec([2, 3, 4, 3], [
      L.of('Split', 'split', ['data'], ['x1', 'x2', 'x3']),
      L.of('ReLU', 'relu', ['x1'], ['x1'], { negativeSlope: 0 }), // in place on one branch only
      L.of('TanH', 'tanh', ['x2'], ['t2']),
      L.of('Eltwise', 'sum', ['x1', 't2', 'x3'], ['sum'], { operation: 'SUM', coeff: [] }),
    ]);
    await expectForwardMatches(spec, randn(72, 8));
  });
});

describe('Flatten', () => {
  test.each<[string, number[], number, number, number[]]>([
    ['default axis 1 .. -1', [2, 3, 4, 5], 1, -1, [2, 60]],
    ['axis 2 .. 3', [2, 3, 4, 5], 2, 3, [2, 3, 20]],
    ['axis 1 .. 2', [2, 3, 4, 5], 1, 2, [2, 12, 5]],
    ['axis 0 .. 1', [2, 3, 2, 2], 0, 1, [6, 2, 2]],
    ['axis -3 .. -2', [2, 3, 4, 5], -3, -2, [2, 12, 5]],
  ])('%s', async (_label, shape, axis, endAxis, out) => {
    const spec = netSpec(shape, [L.of('Flatten', 'flat', ['data'], ['flat'], { axis, endAxis })]);
    const ref = await expectForwardMatches(spec, iota(count(shape)));
    expect(ref.get('flat')!.shape).toEqual(out);
  });

  test('Flatten feeding an InnerProduct equals the InnerProduct on the 4-D blob', async () => {
    const w = blob([3, 24], randn(72, 9));
    const spec = netSpec([2, 2, 3, 4], [
      L.of('Flatten', 'flat', ['data'], ['flat'], { axis: 1, endAxis: -1 }),
      L.ip('ip', 'flat', 'ip', { numOutput: 3 }, w, randn(3, 10)),
    ]);
    await expectForwardMatches(spec, randn(48, 11));
  });
});

describe('Reshape', () => {
  test.each<[string, number[], { shape: number[]; axis: number; numAxes: number }, number[]]>([
    ['0 copies, -1 infers: [0, -1]', [2, 3, 4, 5], { shape: [0, -1], axis: 0, numAxes: -1 }, [2, 60]],
    ['[0, 0, -1, 2]', [2, 3, 4, 5], { shape: [0, 0, -1, 2], axis: 0, numAxes: -1 }, [2, 3, 10, 2]],
    ['[-1, 6, 0] with a copied W', [2, 3, 4, 5], { shape: [-1, 6, 2, 0], axis: 0, numAxes: -1 }, [2, 6, 2, 5]],
    ['axis 1, numAxes 2: [12] replaces C and H', [2, 3, 4, 5], { shape: [12], axis: 1, numAxes: 2 }, [2, 12, 5]],
    ['axis 1, numAxes 2: 0 copies the dimension at axis + i: [0, 2, -1]', [2, 3, 4, 5], { shape: [0, 2, -1], axis: 1, numAxes: 2 }, [2, 3, 2, 2, 5]],
    ['axis 2, numAxes 1: [2, -1] splits H', [2, 3, 4, 5], { shape: [2, -1], axis: 2, numAxes: 1 }, [2, 3, 2, 2, 5]],
    ['axis 2 (to the end): [-1, 2, 2]', [2, 3, 4, 2], { shape: [-1, 2, 2], axis: 2, numAxes: -1 }, [2, 3, 2, 2, 2]],
    ['axis -1 appends axes: [1]', [2, 3, 2, 2], { shape: [1], axis: -1, numAxes: 0 }, [2, 3, 2, 2, 1]],
    ['numAxes 0 inserts an axis: axis 1, [1]', [2, 3, 2, 2], { shape: [1], axis: 1, numAxes: 0 }, [2, 1, 3, 2, 2]],
    ['to 4-D with -1 in the middle: [0, 2, -1, 1]', [2, 4, 3, 1], { shape: [0, 2, -1, 1], axis: 0, numAxes: -1 }, [2, 2, 6, 1]],
  ])('%s', async (_label, shape, p, out) => {
    const spec = netSpec(shape, [L.of('Reshape', 'r', ['data'], ['r'], p)]);
    const ref = await expectForwardMatches(spec, iota(count(shape)));
    expect(ref.get('r')!.shape).toEqual(out);
  });

  test('Reshape between convolutions (channels regrouped into height)', async () => {
    const spec = netSpec([2, 4, 3, 3], [
      L.of('Reshape', 'r', ['data'], ['r'], { shape: [0, 2, -1, 0], axis: 0, numAxes: -1 }), // 2x2x6x3
      L.conv('conv', 'r', 'conv', { numOutput: 2, kernel: [3, 2], stride: [2, 1] }, randn(24, 12), randn(2, 13), 2),
    ]);
    const ref = await expectForwardMatches(spec, randn(72, 14));
    expect(ref.get('conv')!.shape).toEqual([2, 2, 2, 2]);
  });
});

describe('Permute', () => {
  test.each<[string, number[], number[], number[]]>([
    ['NCHW -> NHWC [0, 2, 3, 1]', [2, 3, 4, 5], [0, 2, 3, 1], [2, 4, 5, 3]],
    ['NHWC -> NCHW [0, 3, 1, 2]', [2, 3, 4, 5], [0, 3, 1, 2], [2, 5, 3, 4]],
    ['transpose H and W [0, 1, 3, 2]', [1, 2, 3, 4], [0, 1, 3, 2], [1, 2, 4, 3]],
    ['full reversal [3, 2, 1, 0]', [2, 3, 2, 4], [3, 2, 1, 0], [4, 2, 3, 2]],
    ['identity [0, 1, 2, 3]', [2, 2, 2, 3], [0, 1, 2, 3], [2, 2, 2, 3]],
    ['partial order [0, 2] (the rest follow in order)', [2, 3, 4, 5], [0, 2], [2, 4, 3, 5]],
  ])('%s', async (_label, shape, order, out) => {
    const spec = netSpec(shape, [L.of('Permute', 'perm', ['data'], ['perm'], { order })]);
    const ref = await expectForwardMatches(spec, iota(count(shape)));
    expect(ref.get('perm')!.shape).toEqual(out);
  });

  test('Permute then Flatten then InnerProduct (SSD-style head)', async () => {
    const spec = netSpec([2, 3, 2, 3], [
      L.of('Permute', 'perm', ['data'], ['perm'], { order: [0, 2, 3, 1] }),
      L.of('Flatten', 'flat', ['perm'], ['flat'], { axis: 1, endAxis: -1 }),
      L.ip('ip', 'flat', 'ip', { numOutput: 2 }, blob([2, 18], randn(36, 15)), randn(2, 16)),
    ]);
    await expectForwardMatches(spec, randn(36, 17));
  });
});

describe('Eltwise', () => {
  /** data (2x6x3x3) sliced into three 2-channel blobs a, b, c. */
  const sliced = (op: object, bottoms = ['a', 'b', 'c']): LayerSpec[] => [
    L.of('Slice', 'slice', ['data'], ['a', 'b', 'c'], { axis: 1, slicePoints: [] }),
    L.of('Eltwise', 'elt', bottoms, ['elt'], op),
  ];
  const x = randn(108, 18);
  test.each<[string, object, string[]]>([
    ['SUM without coefficients (all 1)', { operation: 'SUM', coeff: [] }, ['a', 'b', 'c']],
    ['SUM with coefficients [1, -0.5, 2]', { operation: 'SUM', coeff: [1, -0.5, 2] }, ['a', 'b', 'c']],
    ['SUM of two with coefficients [-1, 1] (a difference)', { operation: 'SUM', coeff: [-1, 1] }, ['a', 'c']],
    ['PROD of three', { operation: 'PROD', coeff: [] }, ['a', 'b', 'c']],
    ['PROD of two', { operation: 'PROD', coeff: [] }, ['c', 'a']],
    ['MAX of three', { operation: 'MAX', coeff: [] }, ['a', 'b', 'c']],
    ['MAX of two', { operation: 'MAX', coeff: [] }, ['b', 'a']],
  ])('%s', async (_label, op, bottoms) => {
    await expectForwardMatches(netSpec([2, 6, 3, 3], sliced(op, bottoms)), x);
  });

  test('residual block: conv branch + identity via Split, SUM, then in-place ReLU', async () => {
    const spec = netSpec([2, 3, 5, 4], [
      L.of('Split', 'split', ['data'], ['id', 'br']),
      L.conv('conv', 'br', 'conv', { numOutput: 3, kernel: [3, 3], pad: [1, 1] }, randn(81, 19, 0.4), randn(3, 20), 3),
      L.of('Eltwise', 'add', ['id', 'conv'], ['add'], { operation: 'SUM', coeff: [] }),
      L.of('ReLU', 'relu', ['add'], ['add'], { negativeSlope: 0 }),
    ]);
    await expectForwardMatches(spec, randn(120, 21));
  });
});

describe('BatchNorm', () => {
  const C = 3;
  const stats = (factor: number): ReturnType<typeof blob>[] => [
    blob([C], Float32Array.from([0.5, -1.2, 2.0])),
    blob([C], Float32Array.from([1.5, 0.25, 4.0])),
    blob([1], Float32Array.from([factor])),
  ];
  test.each<[string, number, number]>([
    ['global stats, factor 1', 1, 1e-5],
    ['global stats, factor 2.5 (mean and var divided by it)', 2.5, 1e-5],
    ['global stats, factor 0.2', 0.2, 1e-3],
    ['global stats, factor 0 (mean and var taken as 0)', 0, 0.5],
    ['global stats, large eps', 1, 0.7],
  ])('%s', async (_label, factor, eps) => {
    const spec = netSpec([2, C, 3, 4], [
      L.of('BatchNorm', 'bn', ['data'], ['bn'], { useGlobalStats: true, eps, movingAverageFraction: 0.999 }, stats(factor)),
    ]);
    await expectForwardMatches(spec, randn(72, 22, 2));
  });

  test('useGlobalStats false still uses the stored statistics (README: "BatchNorm always uses its stored global statistics")', async () => {
    const layer = (useGlobalStats: boolean) =>
      L.of('BatchNorm', 'bn', ['data'], ['bn'], { useGlobalStats, eps: 1e-5, movingAverageFraction: 0.999 }, stats(2));
    const x = randn(72, 40, 2);
    // The reference with global statistics; Caffe itself would normalise with the batch's own statistics here.
    const ref = await expectForwardMatches(netSpec([2, C, 3, 4], [layer(true)]), x);
    const net = new Net(netSpec([2, C, 3, 4], [layer(false)]));
    await net.forward(x);
    expect(worstViolation(net.blob('bn').data, ref.get('bn')!.data, FORWARD_TOL).ratio).toBeLessThanOrEqual(1);
    await net.dispose();
  });

  test('BatchNorm + Scale with bias, in place (the ResNet pattern)', async () => {
    const spec = netSpec([2, C, 3, 3], [
      L.conv('conv', 'data', 'conv', { numOutput: C, kernel: [3, 3], pad: [1, 1] }, randn(81, 23, 0.5), undefined, C),
      L.of('BatchNorm', 'bn', ['conv'], ['conv'], { useGlobalStats: true, eps: 1e-5, movingAverageFraction: 0.999 }, stats(3)),
      L.of('Scale', 'scale', ['conv'], ['conv'], { axis: 1, numAxes: 1, biasTerm: true }, [blob([C], Float32Array.from([1.5, -0.5, 0.8])), blob([C], Float32Array.from([0.1, 0.2, -0.3]))]),
      L.of('ReLU', 'relu', ['conv'], ['conv'], { negativeSlope: 0 }),
    ]);
    await expectForwardMatches(spec, randn(54, 24));
  });
});

describe('Scale and Bias', () => {
  const x = randn(2 * 3 * 4 * 5, 25);
  test.each<[string, LayerSpec]>([
    ['Scale per channel, no bias', L.of('Scale', 's', ['data'], ['s'], { axis: 1, numAxes: 1, biasTerm: false }, [blob([3], Float32Array.from([2, -1, 0.5]))])],
    ['Scale per channel with bias', L.of('Scale', 's', ['data'], ['s'], { axis: 1, numAxes: 1, biasTerm: true }, [blob([3], Float32Array.from([2, -1, 0.5])), blob([3], Float32Array.from([-1, 0.25, 3]))])],
    ['Scale over C x H (numAxes 2) with bias', L.of('Scale', 's', ['data'], ['s'], { axis: 1, numAxes: 2, biasTerm: true }, [blob([3, 4], randn(12, 26)), blob([3, 4], randn(12, 27))])],
    ['Scale over C x H x W (numAxes -1)', L.of('Scale', 's', ['data'], ['s'], { axis: 1, numAxes: -1, biasTerm: false }, [blob([3, 4, 5], randn(60, 28))])],
    ['Scale over H (axis 2, numAxes 1) with bias', L.of('Scale', 's', ['data'], ['s'], { axis: 2, numAxes: 1, biasTerm: true }, [blob([4], randn(4, 29)), blob([4], randn(4, 30))])],
    ['Scale by one scalar (numAxes 0)', L.of('Scale', 's', ['data'], ['s'], { axis: 1, numAxes: 0, biasTerm: true }, [blob([1], Float32Array.from([-2.5])), blob([1], Float32Array.from([0.75]))])],
    ['Bias per channel', L.of('Bias', 'b', ['data'], ['b'], { axis: 1, numAxes: 1 }, [blob([3], Float32Array.from([1, -2, 0.5]))])],
    ['Bias over C x H x W (numAxes -1)', L.of('Bias', 'b', ['data'], ['b'], { axis: 1, numAxes: -1 }, [blob([3, 4, 5], randn(60, 31))])],
    ['Bias over W (axis 3)', L.of('Bias', 'b', ['data'], ['b'], { axis: 3, numAxes: 1 }, [blob([5], randn(5, 32))])],
  ])('%s', async (_label, layer) => {
    await expectForwardMatches(netSpec([2, 3, 4, 5], [layer]), x);
  });
});

describe('construction errors name the layer', () => {
  const conv = (name: string, inC: number, k: [number, number], pad: [number, number], wShape?: number[]): LayerSpec => {
    const spec = L.conv(name, 'data', name, { numOutput: 2, kernel: k, pad }, randn(2 * inC * k[0] * k[1], 33), randn(2, 34), inC);
    if (wShape) spec.blobs[0] = { shape: wShape, data: randn(count(wShape), 35) };
    return spec;
  };
  const expectThrowNaming = (build: () => unknown, layer: string) => {
    let error: unknown;
    try {
      build();
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toContain(layer);
  };

  test('convolution kernel larger than the padded input', () => {
    expectThrowNaming(() => new Net(netSpec([1, 2, 3, 3], [conv('conv_too_big', 2, [5, 5], [0, 0])])), 'conv_too_big');
    expectThrowNaming(() => new Net(netSpec([1, 2, 3, 3], [conv('conv_too_tall', 2, [6, 1], [1, 0])])), 'conv_too_tall');
  });

  test('pooling kernel larger than the padded input', () => {
    const spec = netSpec([1, 1, 3, 3], [L.pool('pool_too_big', 'data', 'pool', { pool: 'MAX', kernel: [6, 6], stride: [1, 1], pad: [1, 1] })]);
    expectThrowNaming(() => new Net(spec), 'pool_too_big');
  });

  test('concat of mismatched shapes', () => {
    const spec = netSpec([1, 4, 3, 3], [
      L.of('Slice', 'slice', ['data'], ['a', 'b'], { axis: 1, slicePoints: [1] }),
      L.pool('pool', 'b', 'p', { pool: 'MAX', kernel: [2, 2], stride: [2, 2] }),
      L.of('Concat', 'cat_mismatch', ['a', 'p'], ['cat'], { axis: 1 }),
    ]);
    expectThrowNaming(() => new Net(spec), 'cat_mismatch');
  });

  test('wrong weight blob shapes', () => {
    expectThrowNaming(() => new Net(netSpec([1, 2, 5, 5], [conv('conv_bad_w', 2, [3, 3], [0, 0], [2, 3, 3, 3])])), 'conv_bad_w');
    const ipBad = L.ip('ip_bad_w', 'data', 'ip', { numOutput: 3 }, blob([3, 10], randn(30, 36)));
    expectThrowNaming(() => new Net(netSpec([1, 2, 3, 2], [ipBad])), 'ip_bad_w');
    const biasBad = L.ip('ip_bad_b', 'data', 'ip', { numOutput: 3 }, blob([3, 12], randn(36, 37)), randn(3, 38));
    biasBad.blobs[1] = blob([4], randn(4, 38));
    expectThrowNaming(() => new Net(netSpec([1, 2, 3, 2], [biasBad])), 'ip_bad_b');
    const scaleBad = L.of('Scale', 'scale_bad', ['data'], ['s'], { axis: 1, numAxes: 1, biasTerm: false }, [blob([3], randn(3, 39))]);
    expectThrowNaming(() => new Net(netSpec([1, 2, 3, 2], [scaleBad])), 'scale_bad');
  });

  test('eltwise of mismatched shapes', () => {
    const spec = netSpec([1, 3, 2, 2], [
      L.of('Slice', 'slice', ['data'], ['a', 'b'], { axis: 1, slicePoints: [1] }),
      L.of('Eltwise', 'elt_mismatch', ['a', 'b'], ['e'], { operation: 'SUM', coeff: [] }),
    ]);
    expectThrowNaming(() => new Net(spec), 'elt_mismatch');
  });
});
