/**
 * Max pooling's winner where float32 cannot tell (native/engine/layers/pooling_layer.cc,
 * SettleNearTie): two convolution outputs that differ in exact arithmetic but round to the
 * same float32 must send the gradient and the relevance to the larger one, whatever the
 * BLAS kernel; true ties keep the first position. Hand-made: a 1x1 convolution summing three
 * channels, 1 + 1e-8 (float32: exactly 1) at the second position, 1 at the first.
 */
import type { LayerSpec, NetSpec } from '../../lib/caffe/netspec-types';
import { Net } from '../../lib/net';

function net(withRelu: boolean): NetSpec {
  const layers: LayerSpec[] = [
    { name: 'conv', type: 'Convolution', bottoms: ['data'], tops: ['conv'], blobs: [{ shape: [1, 3, 1, 1], data: new Float32Array([1, 1, 1]) }],
      params: { numOutput: 1, biasTerm: false, kernel: [1, 1], stride: [1, 1], pad: [0, 0], dilation: [1, 1], group: 1, axis: 1 } },
    ...(withRelu ? [{ name: 'relu', type: 'ReLU', bottoms: ['conv'], tops: ['conv'], params: { negativeSlope: 0 }, blobs: [] } as LayerSpec] : []),
    { name: 'pool', type: 'Pooling', bottoms: ['conv'], tops: ['pool'], blobs: [],
      params: { pool: 'MAX', kernel: [1, 2], stride: [1, 2], pad: [0, 0], globalPooling: false, roundMode: 'CEIL' } },
  ];
  return { name: 'near-tie', inputs: [{ name: 'data', shape: [1, 3, 1, 2] }], layers };
}

// channel-major input of one image, 3 channels x 1 x 2 positions
function input(second: number): Float32Array {
  return new Float32Array([1, 1, /* channel 1 */ 0, second, /* channel 2 */ 0, 0]);
}

describe('max pooling near-ties', () => {
  test.each([true, false])('the exactly larger input wins although float32 rounds both to 1 (ReLU between: %s)', async (withRelu) => {
    const n = new Net(net(withRelu));
    try {
      const x = input(1e-8);
      expect(Math.fround(1 + 1e-8)).toBe(1); // the premise: float32 cannot tell them apart
      const [scores] = await n.forward(x);
      expect(Array.from(scores)).toEqual([1]);
      // gradient and epsilon relevance both go to position 1 (x = 1 + 1e-8), none to position 0
      // gradient: d(x0 + x1 + x2)/dx = 1 per channel; epsilon: the seed (the output, 1) conserved
      for (const [options, total] of [[{ relpropformulatype: 11 }, 3], [{ relpropformulatype: 0, epsstab: 1e-9 }, 1]] as const) {
        const e = await n.explain(x, { ...options, lastlayerindex: withRelu ? 2 : 1, targets: [[0]] });
        const r = e.heatmaps[0].data; // C x H x W of the input (channels reversed: Caffe's BGR), W = 2 positions
        expect([r[0], r[2], r[4]]).toEqual([0, 0, 0]);
        expect(r[1] + r[3] + r[5]).toBeCloseTo(total, 5);
      }
    } finally {
      await n.dispose();
    }
  });

  test('a true tie keeps the first position', async () => {
    const n = new Net(net(true));
    try {
      const e = await n.explain(input(0), { relpropformulatype: 11, lastlayerindex: 2, targets: [[0]] });
      const r = e.heatmaps[0].data;
      expect([r[0], r[2], r[4]]).toEqual([1, 1, 1]); // d(x0 + x1 + x2)/dx at position 0
      expect([r[1], r[3], r[5]]).toEqual([0, 0, 0]);
    } finally {
      await n.dispose();
    }
  });
});
