/**
 * Acceptance: every model under ../shared/models parses and builds, and the layer
 * lists, blob shapes and parameter values match the facts in their SOURCE.md files, in
 * the vectors' meta.json layer lists (Caffe's own internal lists) and in the layer lists
 * that Caffe saved inside the caffemodels (including its automatic Split layers).
 * Skipped, with a printed reason, when ../shared is absent.
 */
import * as fs from 'fs';
import { loadNetSpec, loadNetSpecSync, readCaffemodel } from '../../lib/caffe';
import { LayerSpec, NetSpec } from '../../lib/caffe/netspec-types';
import { LayerObject } from '../../lib/caffe/proto-objects';
import { MODELS, SHARED } from '../helpers/caffe-fixtures';
import { describeIfShared } from '../helpers/shared-data';

const VECTORS = `${SHARED}/vectors`;
const maybe = describeIfShared(['models', 'vectors'], 'the shared-model acceptance tests');

/**
 * Loads on first use: the describe bodies below call this while jest collects the tests,
 * which it does for skipped describes too (so that they are listed when the data is absent).
 */
const load = (prototxt: string, caffemodel?: string, inputShape?: number[]): NetSpec => {
  let spec: NetSpec | undefined;
  const get = (): NetSpec => (spec ??= loadNetSpecSync({ prototxt: `${MODELS}/${prototxt}`, caffemodel: caffemodel && `${MODELS}/${caffemodel}`, inputShape }));
  return new Proxy({} as NetSpec, { get: (_target, key) => Reflect.get(get(), key) });
};

const byName = (s: NetSpec, name: string): LayerSpec => {
  const l = s.layers.find((x) => x.name === name);
  if (!l) throw new Error(`no layer ${name}`);
  return l;
};
const shapes = (l: LayerSpec): number[][] => l.blobs.map((b) => b.shape);
const types = (s: NetSpec): string[] => s.layers.map((l) => l.type);
const countTypes = (s: NetSpec): Record<string, number> =>
  s.layers.reduce<Record<string, number>>((m, l) => ({ ...m, [l.type]: (m[l.type] ?? 0) + 1 }), {});
/** meta.json files were written by Python and may contain NaN, which JSON.parse rejects. */
const readMeta = (c: string) => JSON.parse(fs.readFileSync(`${VECTORS}/${c}/meta.json`, 'utf8').replace(/\bNaN\b/g, 'null'));
const sameBytes = (a: Float32Array, b: Float32Array): boolean =>
  Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
const list = (s: NetSpec) => s.layers.map((l, index) => ({ index, name: l.name, type: l.type, bottoms: l.bottoms, tops: l.tops }));

/** The layers Caffe saved in a caffemodel, without the ones the deploy net drops. */
async function savedLayers(caffemodel: string, drop: (l: LayerObject) => boolean) {
  const net = await readCaffemodel(`${MODELS}/${caffemodel}`);
  return (net.layer ?? [])
    .filter((l) => !drop(l))
    .map((l, index) => ({ index, name: l.name, type: l.type, bottoms: l.bottom ?? [], tops: l.top ?? [] }));
}

maybe('lenet-mnist (V2, Input layer)', () => {
  const s = load('lenet-mnist/lenet.prototxt', 'lenet-mnist/lenet_iter_10000.caffemodel');

  test('layers, input and blob shapes', () => {
    expect(s.name).toBe('LeNet');
    expect(s.inputs).toEqual([{ name: 'data', shape: [64, 1, 28, 28] }]);
    expect(s.layers.map((l) => l.name)).toEqual(['conv1', 'pool1', 'conv2', 'pool2', 'ip1', 'relu1', 'ip2', 'prob']);
    expect(shapes(byName(s, 'conv1'))).toEqual([[20, 1, 5, 5], [20]]);
    expect(shapes(byName(s, 'conv2'))).toEqual([[50, 20, 5, 5], [50]]);
    expect(shapes(byName(s, 'ip1'))).toEqual([[500, 800], [500]]);
    expect(shapes(byName(s, 'ip2'))).toEqual([[10, 500], [10]]);
    expect(byName(s, 'pool1').params).toMatchObject({ pool: 'MAX', kernel: [2, 2], stride: [2, 2] });
    expect(byName(s, 'pool2').topShapes).toEqual([[64, 50, 4, 4]]);
    expect(s.weightsLoaded).toBe(true);
  });

  test('the Input layer is not a layer: indices equal the derived input_shape prototxt and meta.json', () => {
    const derived = loadNetSpecSync({
      prototxt: `${VECTORS}/models/lenet-mnist/lenet_deploy_inputshape_batch1.prototxt`,
      caffemodel: `${MODELS}/lenet-mnist/lenet_iter_10000.caffemodel`,
    });
    expect(list(derived)).toEqual(list(s));
    const meta = readMeta('ln-f0-eps1-d0');
    expect(list(s)).toEqual(meta.layers);
  });
});

maybe('lenet-mnist-v1 (V1 layers, input_dim, legacy blob dims)', () => {
  test('deploy net: V1 types mapped, legacy dims reshaped', () => {
    const s = load('lenet-mnist-v1/lenet.prototxt', 'lenet-mnist-v1/lenet_iter_10000.caffemodel');
    expect(s.inputs).toEqual([{ name: 'data', shape: [64, 1, 28, 28] }]);
    expect(types(s)).toEqual(['Convolution', 'Pooling', 'Convolution', 'Pooling', 'InnerProduct', 'ReLU', 'InnerProduct', 'Softmax']);
    expect(shapes(byName(s, 'ip1'))).toEqual([[500, 800], [500]]);
    expect(shapes(byName(s, 'ip2'))).toEqual([[10, 500], [10]]);
    expect(shapes(byName(s, 'conv1'))).toEqual([[20, 1, 5, 5], [20]]);
  });

  test('train_test net with inputShape equals the deploy net minus the Softmax', async () => {
    const tt = await loadNetSpec({
      prototxt: `${MODELS}/lenet-mnist-v1/lenet_train_test.prototxt`,
      caffemodel: `${MODELS}/lenet-mnist-v1/lenet_iter_10000.caffemodel`,
      inputShape: [1, 1, 28, 28],
    });
    const deploy = load('lenet-mnist-v1/lenet.prototxt', 'lenet-mnist-v1/lenet_iter_10000.caffemodel');
    expect(tt.inputs).toEqual([{ name: 'data', shape: [1, 1, 28, 28] }]);
    expect(list(tt)).toEqual(list(deploy).slice(0, -1));
    tt.layers.forEach((l, i) => {
      expect(shapes(l)).toEqual(shapes(deploy.layers[i]));
      l.blobs.forEach((b, j) => expect(sameBytes(b.data, deploy.layers[i].blobs[j].data)).toBe(true));
    });
  });
});

maybe('cifar10-quick-v1', () => {
  const s = load('cifar10-quick-v1/cifar10_quick.prototxt', 'cifar10-quick-v1/cifar10_quick_iter_5000.caffemodel');

  test('layers match meta.json (batch 1 and batch 3)', () => {
    const meta = readMeta('cq-f0-eps1-cat10');
    expect(list(s)).toEqual(meta.layers);
    const b3 = loadNetSpecSync({ prototxt: `${VECTORS}/models/cifar10-quick-v1/cifar10_quick_batch3.prototxt` });
    expect(b3.inputs[0].shape).toEqual([3, 3, 32, 32]);
    expect(list(b3)).toEqual(meta.layers);
  });

  test('ceil-mode pooling 32 → 16 → 8 → 4, MAX then AVE, ip1 64x1024 from 1x1x64x1024', () => {
    expect(['pool1', 'pool2', 'pool3'].map((n) => byName(s, n).topShapes![0].slice(2))).toEqual([[16, 16], [8, 8], [4, 4]]);
    expect(['pool1', 'pool2', 'pool3'].map((n) => byName(s, n).params.pool)).toEqual(['MAX', 'AVE', 'AVE']);
    expect(shapes(byName(s, 'conv1'))).toEqual([[32, 3, 5, 5], [32]]);
    expect(byName(s, 'conv1').params).toMatchObject({ pad: [2, 2], kernel: [5, 5], stride: [1, 1] });
    expect(shapes(byName(s, 'conv2'))).toEqual([[32, 32, 5, 5], [32]]);
    expect(shapes(byName(s, 'conv3'))).toEqual([[64, 32, 5, 5], [64]]);
    expect(shapes(byName(s, 'ip1'))).toEqual([[64, 1024], [64]]);
    expect(shapes(byName(s, 'ip2'))).toEqual([[10, 64], [10]]);
  });

  test('train_test prototxt builds with inputShape', () => {
    const tt = load('cifar10-quick-v1/cifar10_quick_train_test.prototxt', 'cifar10-quick-v1/cifar10_quick_iter_5000.caffemodel', [1, 3, 32, 32]);
    expect(list(tt)).toEqual(list(s).slice(0, -1));
  });
});

maybe('cifar10-full-v1 (LRN WITHIN_CHANNEL)', () => {
  const s = load('cifar10-full-v1/cifar10_full.prototxt', 'cifar10-full-v1/cifar10_full_iter_70000.caffemodel');

  test('layers match meta.json', () => {
    const meta = readMeta('cf-f0-eps1-lrn0-cat10');
    expect(list(s)).toEqual(meta.layers);
  });

  test('LRN parameters, pooling kinds and blob shapes', () => {
    for (const n of ['norm1', 'norm2']) {
      expect(byName(s, n).params).toEqual({ localSize: 3, alpha: Math.fround(5e-5), beta: 0.75, k: 1, normRegion: 'WITHIN_CHANNEL' });
    }
    expect(['pool1', 'pool2', 'pool3'].map((n) => byName(s, n).params.pool)).toEqual(['MAX', 'AVE', 'AVE']);
    expect(shapes(byName(s, 'conv1'))).toEqual([[32, 3, 5, 5], [32]]);
    expect(shapes(byName(s, 'conv3'))).toEqual([[64, 32, 5, 5], [64]]);
    expect(shapes(byName(s, 'ip1'))).toEqual([[10, 1024], [10]]);
  });

  test('train_test prototxt builds with inputShape', () => {
    const tt = load('cifar10-full-v1/cifar10_full_train_test.prototxt', 'cifar10-full-v1/cifar10_full_iter_70000.caffemodel', [1, 3, 32, 32]);
    expect(list(tt)).toEqual(list(s).slice(0, -1));
  });
});

maybe('resnet20-cifar10 (train_test, BatchNorm/Scale/Eltwise, Split)', () => {
  const s = load('resnet20-cifar10/res20_cifar_train_test.prototxt', 'resnet20-cifar10/ResNet_20.caffemodel', [1, 3, 32, 32]);

  test('the Data layer becomes input Data1; loss and accuracy are gone', () => {
    expect(s.inputs).toEqual([{ name: 'Data1', shape: [1, 3, 32, 32] }]);
    expect(countTypes(s)).toEqual({ Convolution: 21, BatchNorm: 21, Scale: 21, Eltwise: 9, ReLU: 19, Split: 9, Pooling: 1, InnerProduct: 1 });
  });

  test('our layer list (incl. Split names) equals the one Caffe saved in the caffemodel', async () => {
    const saved = await savedLayers('resnet20-cifar10/ResNet_20.caffemodel', (l) => l.type === 'Data' || l.type === 'SoftmaxWithLoss');
    expect(list(s)).toEqual(saved);
    expect(s.layers[4].name).toBe('Convolution1_ReLU1_0_split');
  });

  test('blob shapes and parameters', () => {
    expect(shapes(byName(s, 'BatchNorm1'))).toEqual([[16], [16], [1]]);
    expect(byName(s, 'BatchNorm1').params).toEqual({ useGlobalStats: true, eps: Math.fround(1e-5), movingAverageFraction: Math.fround(0.999) });
    expect(shapes(byName(s, 'Scale1'))).toEqual([[16], [16]]);
    expect(byName(s, 'Scale1').params).toEqual({ axis: 1, numAxes: 1, biasTerm: true });
    expect(shapes(byName(s, 'Convolution8'))).toEqual([[32, 16, 1, 1], [32]]);
    expect(byName(s, 'Eltwise1').params).toEqual({ operation: 'SUM', coeff: [1, 1] });
    expect(byName(s, 'Pooling1')).toMatchObject({ params: { pool: 'AVE', globalPooling: true, kernel: [8, 8] }, topShapes: [[1, 64, 1, 1]] });
    expect(shapes(byName(s, 'InnerProduct1'))).toEqual([[10, 64], [10]]);
    const bn = byName(s, 'BatchNorm1').blobs[2].data;
    expect(bn.length).toBe(1);
    expect(bn[0]).toBeGreaterThan(0);
  });
});

maybe('mtcnn det1-4 (PReLU, caffemodels are training nets)', () => {
  const det = (i: number) => load(`mtcnn/det${i}.prototxt`, `mtcnn/det${i}.caffemodel`);

  test('det1 PNet', () => {
    const s = det(1);
    expect(s.inputs).toEqual([{ name: 'data', shape: [1, 3, 12, 12] }]);
    expect(countTypes(s)).toEqual({ Convolution: 5, PReLU: 3, Pooling: 1, Softmax: 1, Split: 1 });
    expect(shapes(byName(s, 'PReLU1'))).toEqual([[10]]);
    expect(byName(s, 'conv4-2').topShapes).toEqual([[1, 4, 1, 1]]);
    expect(byName(s, 'prob1').topShapes).toEqual([[1, 2, 1, 1]]);
    expect(s.layers[7].name).toBe('conv3_PReLU3_0_split');
  });

  test('det2 RNet and det3 ONet', () => {
    const r = det(2);
    expect(countTypes(r)).toEqual({ Convolution: 3, InnerProduct: 3, PReLU: 4, Pooling: 2, Softmax: 1, Split: 1 });
    expect(shapes(byName(r, 'conv4'))).toEqual([[128, 576], [128]]);
    const o = det(3);
    expect(countTypes(o)).toEqual({ Convolution: 4, InnerProduct: 4, PReLU: 5, Pooling: 3, Dropout: 1, Softmax: 1, Split: 1 });
    expect(shapes(byName(o, 'conv5'))).toEqual([[256, 1152], [256]]);
    expect(byName(o, 'conv6-3').topShapes).toEqual([[1, 10]]);
  });

  test('det4 LNet: Slice of the 15-channel input, five branches, Concat', () => {
    const s = det(4);
    expect(s.inputs).toEqual([{ name: 'data', shape: [1, 15, 24, 24] }]);
    expect(byName(s, 'slicer_data')).toMatchObject({ params: { axis: 1, slicePoints: [3, 6, 9, 12] } });
    expect(byName(s, 'slicer_data').topShapes).toEqual(Array(5).fill([1, 3, 24, 24]));
    expect(byName(s, 'concat').topShapes).toEqual([[1, 320, 3, 3]]);
    expect(shapes(byName(s, 'fc4'))).toEqual([[256, 2880], [256]]);
    expect(countTypes(s)).toEqual({ Slice: 1, Convolution: 15, PReLU: 21, Pooling: 10, Concat: 1, InnerProduct: 11, Split: 1 });
    expect(s.layers.length).toBe(60);
  });

  test('Split names equal the ones Caffe saved in the training caffemodels', async () => {
    const saved = await readCaffemodel(`${MODELS}/mtcnn/det3.caffemodel`);
    const savedSplits = (saved.layer ?? []).filter((l) => l.type === 'Split' && !l.name!.startsWith('label')).map((l) => [l.name, l.top]);
    const ours = det(3).layers.filter((l) => l.type === 'Split').map((l) => [l.name, l.tops]);
    // The training net splits conv6-1 for loss + accuracy too; the deploy net has only the trunk split.
    expect(savedSplits).toContainEqual(ours[0]);
  });
});

maybe('ultraface RFB-320 (Input layer, grouped/dilated conv, Concat, Eltwise, Permute, Reshape)', () => {
  const s = load('ultraface-rfb320/RFB-320.prototxt', 'ultraface-rfb320/RFB-320.caffemodel');

  test('type counts and outputs', () => {
    expect(s.inputs).toEqual([{ name: 'input', shape: [1, 3, 240, 320] }]);
    expect(countTypes(s)).toEqual({ Convolution: 52, ReLU: 37, Concat: 3, Eltwise: 1, Split: 5, Permute: 8, Reshape: 8, Softmax: 1 });
    expect(byName(s, 'scores')).toMatchObject({ params: { axis: 2 }, topShapes: [[1, 4420, 2]] });
    expect(byName(s, 'boxes').topShapes).toEqual([[1, 4420, 4]]);
  });

  test('our layer list equals the one saved in the caffemodel (minus its Input layer)', async () => {
    const saved = await savedLayers('ultraface-rfb320/RFB-320.caffemodel', (l) => l.type === 'Input');
    expect(list(s)).toEqual(saved);
  });

  test('depthwise and dilated convolutions', () => {
    expect(byName(s, '248').params).toMatchObject({ group: 16, numOutput: 16 });
    expect(shapes(byName(s, '248'))).toEqual([[16, 1, 3, 3], [16]]);
    const dilated = s.layers.filter((l) => l.type === 'Convolution' && (l.params.dilation as number[])[0] > 1);
    expect(new Set(dilated.map((l) => (l.params.dilation as number[])[0]))).toEqual(new Set([2, 3, 5]));
    expect(byName(s, '318').params).toEqual({ order: [0, 2, 3, 1] });
    expect(byName(s, '328').params).toEqual({ shape: [1, -1, 2], axis: 0, numAxes: -1 });
  });
});

maybe('prototxt-only nets (structure without weights)', () => {
  test('SqueezeNet v1.1: Input layer, fire modules with Concat, global AVE pooling, no InnerProduct', () => {
    const s = load('prototxt-only/squeezenet-v1.1/deploy.prototxt');
    expect(s.weightsLoaded).toBe(false);
    expect(s.inputs).toEqual([{ name: 'data', shape: [10, 3, 227, 227] }]);
    const c = countTypes(s);
    expect(c.Concat).toBe(8);
    expect(c.Split).toBe(8);
    expect(c.InnerProduct).toBeUndefined();
    expect(byName(s, 'pool10')).toMatchObject({ params: { pool: 'AVE', globalPooling: true }, topShapes: [[10, 1000, 1, 1]] });
    expect(s.layers[s.layers.length - 1]).toMatchObject({ type: 'Softmax', topShapes: [[10, 1000, 1, 1]] });
    expect(s.layers.every((l) => l.blobs.length === 0)).toBe(true);
  });

  test('CaffeNet (LRP toolbox): the indices of behaviour spec Appendix A', () => {
    const s = load('prototxt-only/lrp-toolbox-caffenet/deploy.prototxt');
    expect(s.inputs).toEqual([{ name: 'data', shape: [10, 3, 227, 227] }]);
    expect(s.layers.map((l) => l.name)).toEqual([
      'conv1', 'relu1', 'pool1', 'norm1', 'conv2', 'relu2', 'pool2', 'norm2', 'conv3', 'relu3', 'conv4', 'relu4',
      'conv5', 'relu5', 'pool5', 'fc6', 'relu6', 'drop6', 'fc7', 'relu7', 'drop7', 'fc8', 'prob',
    ]);
    expect(byName(s, 'conv1').params).toMatchObject({ numOutput: 96, kernel: [11, 11], stride: [4, 4], group: 1 });
    expect(byName(s, 'conv2').params).toMatchObject({ numOutput: 256, kernel: [5, 5], pad: [2, 2], group: 2 });
    expect(byName(s, 'conv4').params).toMatchObject({ numOutput: 384, pad: [1, 1], group: 2 });
    expect(byName(s, 'norm1').params).toEqual({ localSize: 5, alpha: Math.fround(1e-4), beta: 0.75, k: 1, normRegion: 'ACROSS_CHANNELS' });
    expect(byName(s, 'pool5').topShapes).toEqual([[10, 256, 6, 6]]);
    expect(byName(s, 'fc8').topShapes).toEqual([[10, 1000]]);
    const seq = load('prototxt-only/lrp-toolbox-caffenet/deploy_sequential.prototxt');
    expect(seq.inputs[0].shape).toEqual([1, 3, 227, 227]);
    expect(list(seq)).toEqual(list(s));
  });

  test('GoogLeNet (LRP toolbox): input_shape, many Concat layers, LRN, Dropout', () => {
    const s = load('prototxt-only/lrp-toolbox-googlenet/deploy.prototxt');
    expect(s.inputs).toEqual([{ name: 'data', shape: [10, 3, 224, 224] }]);
    const c = countTypes(s);
    expect(c.Concat).toBe(9);
    expect(c.LRN).toBe(2);
    expect(c.Dropout).toBe(1);
    expect(s.layers[s.layers.length - 1]).toMatchObject({ type: 'Softmax', topShapes: [[10, 1000]] });
    expect(byName(s, 'inception_3a/output').topShapes).toEqual([[10, 256, 28, 28]]);
  });
});

maybe('synthetic nets of the reference vectors (made with the original Caffe)', () => {
  const cases = [
    ['mc-f0-eps0.01-scooter10', 'models/mini-caffenet/mini-caffenet_deploy_batch1.prototxt', 'models/mini-caffenet/mini-caffenet_seed1234.caffemodel'],
    ['mc-multi4-f0-eps1', 'models/mini-caffenet/mini-caffenet_deploy_batch4.prototxt', 'models/mini-caffenet/mini-caffenet_seed1234.caffemodel'],
    ['tiny-f0-eps1-truck10', 'models/tiny-allconv/tiny-allconv_deploy_batch1.prototxt', 'models/tiny-allconv/tiny-allconv_seed1234.caffemodel'],
  ];
  test.each(cases)('%s: layer list equals meta.json', (c, p, m) => {
    const s = loadNetSpecSync({ prototxt: `${VECTORS}/${p}`, caffemodel: `${VECTORS}/${m}` });
    const meta = readMeta(c);
    expect(list(s)).toEqual(meta.layers);
    expect(s.layers.every((l) => ['Convolution', 'InnerProduct'].includes(l.type) === (l.blobs.length === 2))).toBe(true);
  });

  test('mini-caffenet facts from its README', () => {
    const s = loadNetSpecSync({ prototxt: `${VECTORS}/models/mini-caffenet/mini-caffenet_deploy_batch1.prototxt` });
    expect(byName(s, 'conv1').topShapes).toEqual([[1, 16, 15, 15]]);
    expect(byName(s, 'pool1').topShapes).toEqual([[1, 16, 7, 7]]);
    expect(byName(s, 'conv2').params).toMatchObject({ group: 2, pad: [2, 2] });
    expect(byName(s, 'pool5').topShapes).toEqual([[1, 32, 1, 1]]);
    expect(byName(s, 'fc6').topShapes).toEqual([[1, 64]]);
    expect(s.layers.findIndex((l) => l.name === 'fc6')).toBe(15);
  });
});
