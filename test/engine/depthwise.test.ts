/**
 * Depthwise convolutions (group = channels = outputs) run as direct loops
 * (native/engine/layers/depthwise_convolution.*): forward, gradient and the epsilon rule must
 * equal the general path's numbers, which a dense convolution with block-diagonal weights
 * (zero between different channels) computes through im2col and sgemm.
 */
import type { NetSpec } from '../../lib/caffe/netspec-types';
import { Net } from '../../lib/net';
import { rand } from '../helpers/small-nets';

const C = 5, H = 9, W = 8, BATCH = 2;

function spec(depthwise: boolean, stride: number, pad: number, dilation: number, kernel: [number, number], filters: Float32Array): NetSpec {
  const kk = kernel[0] * kernel[1];
  let weights = filters;
  if (!depthwise) {
    weights = new Float32Array(C * C * kk);
    for (let c = 0; c < C; c++) weights.set(filters.subarray(c * kk, (c + 1) * kk), (c * C + c) * kk);
  }
  return {
    name: 'dw', inputs: [{ name: 'data', shape: [BATCH, C, H, W] }],
    layers: [{
      name: 'conv', type: 'Convolution', bottoms: ['data'], tops: ['conv'],
      blobs: [{ shape: [C, depthwise ? 1 : C, ...kernel], data: weights }, { shape: [C], data: rand(C, 9, 0.3) }],
      params: { numOutput: C, biasTerm: true, kernel, stride: [stride, stride], pad: [pad, pad], dilation: [dilation, dilation], group: depthwise ? C : 1, axis: 1 },
    }],
  };
}

function relErr(a: Float32Array, b: Float32Array): number {
  let d = 0, m = 0;
  for (let i = 0; i < a.length; i++) { d = Math.max(d, Math.abs(a[i] - b[i])); m = Math.max(m, Math.abs(b[i])); }
  return d / m;
}

describe('depthwise convolution', () => {
  test.each([
    [1, 1, 1, [3, 3]], [2, 1, 1, [3, 3]], [1, 2, 2, [3, 3]], [2, 0, 1, [3, 2]], [3, 2, 1, [5, 5]],
  ] as [number, number, number, [number, number]][])('stride %d pad %d dilation %d kernel %j: same numbers as the general path', async (stride, pad, dilation, kernel) => {
    const filters = rand(C * kernel[0] * kernel[1], 4, 0.5);
    const dw = new Net(spec(true, stride, pad, dilation, kernel, filters));
    const dense = new Net(spec(false, stride, pad, dilation, kernel, filters));
    try {
      const x = rand(BATCH * C * H * W, 5, 1);
      const a = await dw.forward(x);
      const b = await dense.forward(x);
      expect(a).toHaveLength(BATCH);
      for (let i = 0; i < BATCH; i++) expect(relErr(a[i], b[i])).toBeLessThan(1e-6);
      const per = a[0].length;
      // a few output units per image as seeds; gradient (11) and epsilon (0)
      const targets = [[0, Math.floor(per / 2), per - 1], [1, 3]];
      for (const options of [{ relpropformulatype: 11 }, { relpropformulatype: 0, epsstab: 0.01 }]) {
        const ea = await dw.explain(x, { ...options, lastlayerindex: 0, targets });
        const eb = await dense.explain(x, { ...options, lastlayerindex: 0, targets });
        for (let i = 0; i < BATCH; i++) {
          expect(relErr(ea.heatmaps[i].data, eb.heatmaps[i].data)).toBeLessThan(1e-5);
          expect(ea.heatmaps[i].data.some((v) => v !== 0)).toBe(true);
        }
      }
    } finally {
      await dw.dispose();
      await dense.dispose();
    }
  });
});
