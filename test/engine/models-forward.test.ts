/**
 * Forward passes of the trained public models in ../shared/models against the facts in
 * their SOURCE.md files (expected classes, logits, accuracy), read in place.
 */
import * as fs from 'fs';
import * as path from 'path';
import sharp from 'sharp';
import { loadNetFromFiles } from '../helpers/load';
import { MODELS, describeIfExists } from '../helpers/vectors';
import { readNpy } from '../../lib/io/npy';
import { parseMean } from '../../lib/caffe/mean';
import { rankClasses } from '../../lib/net';
import { loadNetSpecSync } from '../../lib/caffe';
import { runReference, tensor } from '../helpers/reference-layers';

const m = (...p: string[]) => path.join(MODELS, ...p);

function argmax(v: Float32Array): number {
  return rankClasses(v)[0];
}

/** First `count` MNIST test digits scaled by 1/256 (Caffe's MNIST recipe), and labels. */
function mnist(count: number): { images: Float32Array[]; labels: number[] } {
  const x = readNpy(m('lrp-toolbox-mnist', 'test_images_first1000_uint8.npy'));
  const y = readNpy(m('lrp-toolbox-mnist', 'test_labels_first1000_uint8.npy'));
  const images: Float32Array[] = [];
  for (let i = 0; i < count; ++i) images.push(Float32Array.from(x.data.subarray(i * 784, (i + 1) * 784), (v) => v * 0.00390625));
  return { images, labels: Array.from(y.data.subarray(0, count)) };
}

/** A CIFAR sample PNG as RGB planes minus the CIFAR mean (stored as R,G,B planes). */
async function cifarInput(name: string): Promise<Float32Array> {
  const { data, info } = await sharp(m('cifar10-aux', `${name}.png`)).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const mean = parseMean(fs.readFileSync(m('cifar10-aux', 'cifar10_mean.binaryproto')), 'cifar10_mean.binaryproto');
  const plane = info.width * info.height;
  const out = new Float32Array(3 * plane);
  for (let c = 0; c < 3; ++c) for (let p = 0; p < plane; ++p) out[c * plane + p] = data[p * 3 + c] - mean.data[c * plane + p];
  return out;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0;
  for (let i = 0; i < b.length; ++i) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}

describeIfExists(MODELS, 'trained public models (SOURCE.md facts)', () => {
  test.each([
    ['lenet-mnist', 'lenet.prototxt', [-3.0647, 0.0659, 0.1572, 3.6047, -3.9565, -2.4661, -11.2302, 14.8798, -2.3711, 1.9829]],
    ['lenet-mnist-v1', 'lenet.prototxt', [-3.8173, -1.0166, 0.5979, 5.2876, -3.1753, -2.2874, -11.7608, 14.8582, -1.2083, 2.9904]],
  ])('%s: logits of digit 0 and 99%% accuracy on 1000 digits', async (folder, proto, logits) => {
    const net = await loadNetFromFiles(m(folder, proto), m(folder, 'lenet_iter_10000.caffemodel'));
    const { images, labels } = mnist(1000);
    let correct = 0;
    for (let i = 0; i < images.length; i += 64) {
      const batch = images.slice(i, i + 64);
      const scores = await net.forward(batch);
      if (i === 0) expect(maxAbsDiff(net.blob('ip2').data.subarray(0, 10), logits)).toBeLessThan(2e-4);
      scores.forEach((s, k) => { if (argmax(s) === labels[i + k]) correct++; });
    }
    expect(correct / 1000).toBeCloseTo(0.99, 2);
    await net.dispose();
  });

  test.each([
    ['cifar10-quick-v1', 'cifar10_quick.prototxt', 'cifar10_quick_iter_5000.caffemodel', [5, 5, 9]],
    ['cifar10-full-v1', 'cifar10_full.prototxt', 'cifar10_full_iter_70000.caffemodel', [3, 5, 9]],
  ])('%s classifies cat10/dog10/truck10 as in SOURCE.md', async (folder, proto, model, expected) => {
    const net = await loadNetFromFiles(m(folder, proto), m(folder, model));
    const got: number[] = [];
    for (const name of ['cat10', 'dog10', 'truck10']) got.push(argmax((await net.forward(await cifarInput(name)))[0]));
    expect(got).toEqual(expected);
    await net.dispose();
  });

  test('resnet20 (BatchNorm, Scale, Eltwise, Split) from its train_test prototxt', async () => {
    const files = { prototxt: m('resnet20-cifar10', 'res20_cifar_train_test.prototxt'), caffemodel: m('resnet20-cifar10', 'ResNet_20.caffemodel'), inputShape: [1, 3, 32, 32] };
    const net = await loadNetFromFiles(files.prototxt, files.caffemodel, { inputShape: files.inputShape });
    const spec = loadNetSpecSync(files);
    const logitsBlob = spec.layers[spec.layers.length - 1].tops[0];
    const logits: number[] = [];
    const classes: number[] = [];
    for (const name of ['cat10', 'dog10', 'truck10']) {
      const input = await cifarInput(name);
      const s = (await net.forward(input))[0];
      classes.push(argmax(s));
      logits.push(Math.max(...s));
      // The exact check: the float64 reference interpreter (test/helpers/reference-layers.ts,
      // written from Caffe's documented semantics) on the same input and weights.
      const ref = runReference(spec, { [spec.inputs[0].name]: tensor([1, 3, 32, 32], input) }).get(logitsBlob)!.data;
      expect(maxAbsDiff(s, ref) / Math.max(...Array.from(ref, Math.abs))).toBeLessThan(1e-5);
    }
    expect(classes).toEqual([3, 5, 9]);
    // SOURCE.md: cat 21.8, dog 33.7, truck 23.1, the winning logits of another executor, given
    // to one decimal with its input handling unstated. Ours (21.91, 34.72, 22.62) equal the
    // float64 reference above, so the gap of up to 1.02 is in how that executor made its input,
    // not in the net: none of BGR order, BGR mean, a transposed mean, swapped mean planes or the
    // per-plane mean gets closer on all three images (checked while writing this test).
    [21.8, 33.7, 23.1].forEach((expected, i) => expect(Math.abs(logits[i] - expected)).toBeLessThan(1.05));
    expect(net.layers.filter((l) => l.type === 'Split').length).toBe(9);
    await net.dispose();
  });

  test.each([['mtcnn', 'det1.prototxt', 'det1.caffemodel'], ['mtcnn', 'det2.prototxt', 'det2.caffemodel'], ['mtcnn', 'det3.prototxt', 'det3.caffemodel'], ['mtcnn', 'det4.prototxt', 'det4.caffemodel'], ['ultraface-rfb320', 'RFB-320.prototxt', 'RFB-320.caffemodel']])(
    '%s %s runs forward with finite outputs',
    async (folder, proto, model) => {
      const net = await loadNetFromFiles(m(folder, proto), m(folder, model));
      const [, c, h, w] = net.inputShape;
      const x = Float32Array.from({ length: c * h * w }, (_, i) => Math.sin(i * 0.37) * 0.9);
      const scores = await net.forward(x);
      expect(scores[0].every(Number.isFinite)).toBe(true);
      await net.dispose();
    },
  );
});
