/**
 * A CaffeNet-architecture NetSpec (the layer shapes of BVLC CaffeNet's deploy prototxt,
 * 227x227 input) with He-random weights from a seeded generator: the benchmark net.
 * Made in code so no 233 MB model file is needed.
 */
import type { LayerSpec, NetSpec } from '../../lib/caffe/netspec-types';
import { normalGenerator, prng } from '../helpers/random';


/**
 * He initialisation (variance 2 / fan-in), drawn uniformly (a = sqrt(3) * std). The 60 M
 * weights are tiled from a pool of 2^20 draws (at a random offset per layer): the numbers
 * only have to look like trained weights to the engine, and filling by block copies keeps
 * this fast also inside jest's sandbox, where per-element loops are slow.
 */
const POOL_SIZE = 1 << 20;
function heWeights(count: number, fanIn: number, uniform: () => number): Float32Array {
  const a = Math.sqrt(3) * Math.sqrt(2 / fanIn);
  const pool = new Float32Array(Math.min(count, POOL_SIZE));
  for (let i = 0; i < pool.length; ++i) pool[i] = (2 * uniform() - 1) * a;
  const w = new Float32Array(count);
  const shift = Math.floor(uniform() * pool.length);
  w.set(pool.subarray(shift), 0);
  for (let at = pool.length - shift; at < count; at += pool.length) w.set(pool.subarray(0, Math.min(pool.length, count - at)), at);
  return w;
}

export function caffenetSpec(batch: number, seed = 1): NetSpec {
  const normal = prng(seed);
  const layers: LayerSpec[] = [];
  const conv = (name: string, bottom: string, cin: number, cout: number, k: number, s: number, p: number, g: number) => {
    const fanIn = (cin / g) * k * k;
    layers.push({
      name, type: 'Convolution', bottoms: [bottom], tops: [name],
      params: { numOutput: cout, biasTerm: true, kernel: [k, k], stride: [s, s], pad: [p, p], dilation: [1, 1], group: g, axis: 1 },
      blobs: [
        { shape: [cout, cin / g, k, k], data: heWeights(cout * fanIn, fanIn, normal) },
        { shape: [cout], data: new Float32Array(cout).fill(0.1) },
      ],
    });
  };
  const relu = (name: string, blob: string) =>
    layers.push({ name, type: 'ReLU', bottoms: [blob], tops: [blob], params: { negativeSlope: 0 }, blobs: [] });
  const pool = (name: string, bottom: string) =>
    layers.push({ name, type: 'Pooling', bottoms: [bottom], tops: [name], blobs: [],
      params: { pool: 'MAX', kernel: [3, 3], stride: [2, 2], pad: [0, 0], globalPooling: false, roundMode: 'CEIL' } });
  const lrn = (name: string, bottom: string) =>
    layers.push({ name, type: 'LRN', bottoms: [bottom], tops: [name], blobs: [],
      params: { localSize: 5, alpha: 1e-4, beta: 0.75, k: 1, normRegion: 'ACROSS_CHANNELS' } });
  const fc = (name: string, bottom: string, k: number, n: number) =>
    layers.push({ name, type: 'InnerProduct', bottoms: [bottom], tops: [name],
      params: { numOutput: n, biasTerm: true, axis: 1, transpose: false },
      blobs: [{ shape: [n, k], data: heWeights(n * k, k, normal) }, { shape: [n], data: new Float32Array(n).fill(0.1) }] });
  const dropout = (name: string, blob: string) =>
    layers.push({ name, type: 'Dropout', bottoms: [blob], tops: [blob], params: { dropoutRatio: 0.5 }, blobs: [] });

  conv('conv1', 'data', 3, 96, 11, 4, 0, 1); relu('relu1', 'conv1'); pool('pool1', 'conv1'); lrn('norm1', 'pool1');
  conv('conv2', 'norm1', 96, 256, 5, 1, 2, 2); relu('relu2', 'conv2'); pool('pool2', 'conv2'); lrn('norm2', 'pool2');
  conv('conv3', 'norm2', 256, 384, 3, 1, 1, 1); relu('relu3', 'conv3');
  conv('conv4', 'conv3', 384, 384, 3, 1, 1, 2); relu('relu4', 'conv4');
  conv('conv5', 'conv4', 384, 256, 3, 1, 1, 2); relu('relu5', 'conv5'); pool('pool5', 'conv5');
  fc('fc6', 'pool5', 9216, 4096); relu('relu6', 'fc6'); dropout('drop6', 'fc6');
  fc('fc7', 'fc6', 4096, 4096); relu('relu7', 'fc7'); dropout('drop7', 'fc7');
  fc('fc8', 'fc7', 4096, 1000);
  layers.push({ name: 'prob', type: 'Softmax', bottoms: ['fc8'], tops: ['prob'], params: { axis: 1 }, blobs: [] });
  return { name: 'CaffeNet-architecture (He-random)', inputs: [{ name: 'data', shape: [batch, 3, 227, 227] }], layers };
}

/** Multiply-adds x 2 of one image's forward pass through the convolution and fc layers. */
export function caffenetForwardFlops(): number {
  const convs = [
    [96, 3 * 11 * 11, 55 * 55], [256, 48 * 25, 27 * 27], [384, 256 * 9, 13 * 13], [384, 192 * 9, 13 * 13], [256, 192 * 9, 13 * 13],
  ];
  const fcs = [[9216, 4096], [4096, 4096], [4096, 1000]];
  return 2 * (convs.reduce((s, [m, k, p]) => s + m * k * p, 0) + fcs.reduce((s, [k, n]) => s + k * n, 0));
}

/** A deterministic image-like input (values in the mean-subtracted pixel range). */
export function benchInput(batch: number, seed = 7): Float32Array {
  const normal = normalGenerator(seed);
  const x = new Float32Array(batch * 3 * 227 * 227);
  for (let i = 0; i < x.length; ++i) x[i] = normal() * 50;
  return x;
}
