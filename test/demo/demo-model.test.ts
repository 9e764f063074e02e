/**
 * The bundled demo model (demonstrator/demo-model), loaded with our own reader and run by our
 * engine: ≥ 89% on the 10,000 Fashion-MNIST test images, and its demo images and file list
 * are consistent with it. Needs Debian's dataset-fashion-mnist (installed here when missing
 * and we are root); without it the accuracy test is skipped with the reason printed.
 */
import * as fs from 'fs';
import * as path from 'path';
import sharp from 'sharp';
import { loadNetSpec, parseLabels } from '../../lib/caffe';
import { Net } from '../../lib/net';
import {
  CLASS_NAMES, PIXELS, demoModelFiles, ensureFashionMnist, evaluate, loadFashionMnist, argmax,
} from '../../demonstrator/demo-model/fashion-mnist';

const MIN_ACCURACY = 0.89;
const files = demoModelFiles();
const imagesDir = path.resolve(path.dirname(files.prototxt), '..', 'demo-images');

const missingData = ensureFashionMnist();
if (missingData) process.stdout.write(`skipping the demo model's accuracy test: ${missingData}\n`);
const testSet = missingData ? undefined : loadFashionMnist('t10k');

let net: Net;

beforeAll(async () => {
  net = new Net(await loadNetSpec({ prototxt: files.prototxt, caffemodel: files.caffemodel }));
});

afterAll(async () => {
  await net?.dispose();
});

describe('demo model files', () => {
  test('deploy net: 1x1x28x28 input, the LeNet-style layers with LRN and Dropout, Softmax "prob" last', () => {
    expect(net.inputShape).toEqual([1, 1, 28, 28]);
    const types = net.layers.map((l) => l.type);
    for (const t of ['Convolution', 'Pooling', 'ReLU', 'LRN', 'Dropout', 'InnerProduct', 'Softmax']) expect(types).toContain(t);
    const last = net.layers[net.layers.length - 1];
    expect(last).toMatchObject({ name: 'prob', type: 'Softmax' });
    expect(net.numClasses).toBe(10);
    expect(net.nonFiniteWeights()).toEqual([]);
  });

  test('labels: the 10 Fashion-MNIST class names; together under 5 MB', () => {
    expect(parseLabels(fs.readFileSync(files.labels, 'utf8'))).toEqual([...CLASS_NAMES]);
    const bytes = Object.values(files).reduce((n, f) => n + fs.statSync(f).size, 0);
    expect(bytes).toBeLessThan(5 * 1024 * 1024);
  });

  test('demo images: 12 greyscale 28x28 PNGs in filelist.txt, the net agrees with their listed top-1 use', async () => {
    const list = fs.readFileSync(path.join(imagesDir, 'filelist.txt'), 'utf8').trim().split('\n').map((l) => l.split(' '));
    expect(list).toHaveLength(12);
    expect(fs.readFileSync(path.join(imagesDir, 'NOTICE'), 'utf8')).toMatch(/MIT License/);
    const labels = new Set<number>();
    for (const [name, field] of list) {
      const file = path.join(imagesDir, name);
      const meta = await sharp(file).metadata();
      expect([meta.format, meta.width, meta.height, meta.channels, meta.depth]).toEqual(['png', 28, 28, 1, 'uchar']);
      const data = await sharp(file).toColourspace('b-w').raw().toBuffer();
      expect(data.length).toBe(PIXELS);
      if (testSet) {
        // The very pixels of the Fashion-MNIST test image named in the file name.
        const index = Number(/^t10k-(\d{5})-/.exec(name)![1]);
        expect(Buffer.compare(data, Buffer.from(testSet.images.subarray(index * PIXELS, (index + 1) * PIXELS)))).toBe(0);
      }
      const label = CLASS_NAMES.findIndex((_, c) => name.endsWith(`-${CLASS_NAMES[c].toLowerCase().replace(/[^a-z0-9]+/g, '-')}.png`));
      expect(label).toBeGreaterThanOrEqual(0);
      labels.add(label);
      const [scores] = await net.forward([Float32Array.from(data)]);
      if (Number(field) === -1) expect(argmax(scores)).toBe(label);
      expect(Number.isInteger(Number(field)) && Number(field) >= -2 && Number(field) < 10).toBe(true);
    }
    expect(labels.size).toBe(10);
  });
});

describe('demo model accuracy (our engine, Fashion-MNIST test set)', () => {
  const maybe = testSet ? test : test.skip;

  maybe(`≥ ${MIN_ACCURACY * 100}% top-1 on the 10,000 test images`, async () => {
    const set = testSet!;
    expect(set.count).toBe(10000);
    const ev = await evaluate(net, set);
    process.stdout.write(`demo model test accuracy (our engine): ${(100 * ev.accuracy).toFixed(2)}% (${ev.correct}/${ev.count})\n`);
    expect(ev.accuracy).toBeGreaterThanOrEqual(MIN_ACCURACY);
    // Softmax outputs are probabilities.
    for (let i = 0; i < 10; i++) {
      const row = ev.scores.subarray(i * 10, i * 10 + 10);
      expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 4);
    }
    // a hang bound, not a speed limit: 10,000 forward passes take 20-60 s on a busy 2-core machine
  }, 600_000);
});
