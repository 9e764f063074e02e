/** Small project-made nets (weights from a seeded generator) for engine tests. */
import type { LayerSpec, NetSpec } from '../../lib/caffe/netspec-types';
import { normalGenerator } from './random';

export function rand(n: number, seed: number, scale = 1): Float32Array {
  const g = normalGenerator(seed);
  return Float32Array.from({ length: n }, () => g() * scale);
}

/** conv(3->6, 3x3, pad 1) -> ReLU -> MAX pool 2/2 -> conv(6->8, 3x3, group 2) -> ReLU -> fc(8*3*3 -> 5) -> Softmax */
export function smallNet(batch: number, bias: boolean, seed = 3): NetSpec {
  const b = (n: number, s: number) => (bias ? [{ shape: [n], data: rand(n, s, 0.5) }] : []);
  const layers: LayerSpec[] = [
    { name: 'conv1', type: 'Convolution', bottoms: ['data'], tops: ['conv1'], blobs: [{ shape: [6, 3, 3, 3], data: rand(162, seed) }, ...b(6, seed + 1)],
      params: { numOutput: 6, biasTerm: bias, kernel: [3, 3], stride: [1, 1], pad: [1, 1], dilation: [1, 1], group: 1, axis: 1 } },
    { name: 'relu1', type: 'ReLU', bottoms: ['conv1'], tops: ['conv1'], params: { negativeSlope: 0 }, blobs: [] },
    { name: 'pool1', type: 'Pooling', bottoms: ['conv1'], tops: ['pool1'], blobs: [],
      params: { pool: 'MAX', kernel: [2, 2], stride: [2, 2], pad: [0, 0], globalPooling: false, roundMode: 'CEIL' } },
    { name: 'conv2', type: 'Convolution', bottoms: ['pool1'], tops: ['conv2'], blobs: [{ shape: [8, 3, 3, 3], data: rand(216, seed + 2) }, ...b(8, seed + 3)],
      params: { numOutput: 8, biasTerm: bias, kernel: [3, 3], stride: [1, 1], pad: [0, 0], dilation: [1, 1], group: 2, axis: 1 } },
    { name: 'relu2', type: 'ReLU', bottoms: ['conv2'], tops: ['conv2'], params: { negativeSlope: 0 }, blobs: [] },
    { name: 'fc', type: 'InnerProduct', bottoms: ['conv2'], tops: ['fc'], blobs: [{ shape: [5, 72], data: rand(360, seed + 4, 0.3) }, ...b(5, seed + 5)],
      params: { numOutput: 5, biasTerm: bias, axis: 1, transpose: false } },
    { name: 'prob', type: 'Softmax', bottoms: ['fc'], tops: ['prob'], params: { axis: 1 }, blobs: [] },
  ];
  return { name: 'small', inputs: [{ name: 'data', shape: [batch, 3, 10, 10] }], layers };
}


/** smallNet with an LRN (across channels) after the pooling layer. */
export function smallNetWithLrn(batch: number, seed = 5): NetSpec {
  const spec = smallNet(batch, true, seed);
  const at = spec.layers.findIndex((l) => l.name === 'pool1') + 1;
  spec.layers.splice(at, 0, {
    name: 'norm1', type: 'LRN', bottoms: ['pool1'], tops: ['norm1'], blobs: [],
    params: { localSize: 5, alpha: 1e-2, beta: 0.75, k: 1, normRegion: 'ACROSS_CHANNELS' },
  } as LayerSpec);
  spec.layers[at + 1].bottoms = ['norm1'];
  return spec;
}
