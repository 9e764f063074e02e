/**
 * Second half of the demo model's training (train.sh runs it after train.py): turns the
 * weight dump of train.py into Caffe files written by our own writer, checks them with our
 * engine, and exports the demo images.
 *
 *   node dist/demonstrator/demo-model/build-model.js <dump dir>
 *
 * Writes demonstrator/demo-model/{deploy.prototxt, fashion-mnist.caffemodel, labels.txt,
 * training-log.json} and demonstrator/demo-images/{*.png, filelist.txt, NOTICE}. Fails when
 * our engine's test accuracy is below 89% or its scores differ from torch's.
 */
import * as fs from 'fs';
import * as path from 'path';
import sharp from 'sharp';
import { loadNetSpec, saveCaffemodel, savePrototxt, type BlobData, type LayerSpec, type NetSpec } from '../../lib/caffe';
import { Net } from '../../lib/net';
import {
  CLASS_NAMES, IMAGE_SIZE, PIXELS, demoModelDir, demoModelFiles, ensureFashionMnist, evaluate, loadFashionMnist,
  type FashionMnistSet,
} from './fashion-mnist';

/** The accuracy the bundled model must reach with our engine (the requirement). */
export const MIN_ACCURACY = 0.89;
/** Largest allowed difference between torch's and our engine's softmax outputs. */
const MAX_SCORE_DIFF = 1e-4;

interface Manifest {
  torch: string;
  seed: number;
  epochs: number;
  batch: number;
  lr: number;
  architecture: { conv1: number; conv2: number; ip1: number; lrn: [number, number, number, number]; dropout: number };
  blobs: Record<string, number[][]>;
  log: { epoch: number; loss: number; testAccuracy: number; seconds: number }[];
  trainingSeconds: number;
  torchTestAccuracy: number;
  testProb: [number, number];
}

const log = (msg: string): void => void process.stdout.write(`[demo-model] ${msg}\n`);

function readF32(file: string, count: number): Float32Array {
  const buf = fs.readFileSync(file);
  if (buf.length !== count * 4) throw new Error(`${file}: expected ${count} float32 values, found ${buf.length / 4}`);
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = buf.readFloatLE(i * 4);
  return out;
}

function readBlobs(dump: string, manifest: Manifest, layer: string): BlobData[] {
  const shapes = manifest.blobs[layer];
  if (!shapes) throw new Error(`${dump}/manifest.json: no blobs for layer '${layer}'`);
  return shapes.map((shape, i) => ({ shape, data: readF32(path.join(dump, `${layer}.${i}.f32`), shape.reduce((a, b) => a * b, 1)) }));
}

/** The deploy net: the same layers as train.py's DemoNet, with Caffe's parameters. */
export function demoNetSpec(manifest: Manifest, blobs: (layer: string) => BlobData[]): NetSpec {
  const a = manifest.architecture;
  const [localSize, alpha, beta, k] = a.lrn;
  const layer = (name: string, type: string, bottom: string, top: string, params: object, withBlobs = false): LayerSpec => ({
    name, type, bottoms: [bottom], tops: [top], params: params as Record<string, unknown>, blobs: withBlobs ? blobs(name) : [],
  });
  const conv = (name: string, bottom: string, numOutput: number, pad: number): LayerSpec =>
    layer(name, 'Convolution', bottom, name, {
      numOutput, biasTerm: true, kernel: [5, 5], stride: [1, 1], pad: [pad, pad], dilation: [1, 1], group: 1, axis: 1,
    }, true);
  const pool = (name: string, bottom: string): LayerSpec =>
    layer(name, 'Pooling', bottom, name, {
      pool: 'MAX', kernel: [2, 2], stride: [2, 2], pad: [0, 0], globalPooling: false, roundMode: 'CEIL',
    });
  const ip = (name: string, bottom: string, numOutput: number): LayerSpec =>
    layer(name, 'InnerProduct', bottom, name, { numOutput, biasTerm: true, axis: 1, transpose: false }, true);
  const relu = (name: string, blob: string): LayerSpec => layer(name, 'ReLU', blob, blob, { negativeSlope: 0 });
  return {
    name: 'FashionMNIST_LeNet_LRN',
    inputs: [{ name: 'data', shape: [1, 1, IMAGE_SIZE, IMAGE_SIZE] }],
    layers: [
      conv('conv1', 'data', a.conv1, 2), // 28x28 -> 28x28
      relu('relu1', 'conv1'),
      pool('pool1', 'conv1'), // -> 14x14 (ceil and floor agree)
      layer('norm1', 'LRN', 'pool1', 'norm1', { localSize, alpha, beta, k, normRegion: 'ACROSS_CHANNELS' }),
      conv('conv2', 'norm1', a.conv2, 0), // -> 10x10
      relu('relu2', 'conv2'),
      pool('pool2', 'conv2'), // -> 5x5
      ip('ip1', 'pool2', a.ip1),
      relu('relu3', 'ip1'),
      layer('drop1', 'Dropout', 'ip1', 'ip1', { dropoutRatio: a.dropout }),
      ip('ip2', 'ip1', CLASS_NAMES.length),
      layer('prob', 'Softmax', 'ip2', 'prob', { axis: 1 }),
    ],
  };
}

// ---------------------------------------------------------------------------------------
// Demo images
// ---------------------------------------------------------------------------------------

interface DemoPick {
  index: number;
  /** The file-list class field: -1 top-1, -2 top-5, >= 0 that class. */
  classField: number;
  why: string;
}

const slug = (c: number): string => CLASS_NAMES[c].toLowerCase().replace(/[^a-z0-9]+/g, '-');

/**
 * Twelve test images: per class the first one the net gets right with a probability of at
 * least 0.9 (top-1; the pullover explained as "coat" instead, the shirt as top-5), a second
 * shirt (the hardest class) and the first image the net gets wrong, explained for its true class.
 */
function pickDemoImages(set: FashionMnistSet, predictions: Uint8Array, scores: Float32Array): DemoPick[] {
  const picks: DemoPick[] = [];
  const used = new Set<number>();
  const first = (ok: (i: number) => boolean): number => {
    for (let i = 0; i < set.count; i++) {
      if (!used.has(i) && ok(i)) {
        used.add(i);
        return i;
      }
    }
    throw new Error('no test image fits the demo selection');
  };
  const confident = (i: number, c: number): boolean => set.labels[i] === c && predictions[i] === c && scores[i * 10 + c] >= 0.9;
  for (let c = 0; c < CLASS_NAMES.length; c++) {
    const index = first((i) => confident(i, c));
    if (c === 2) picks.push({ index, classField: 4, why: `a pullover, explained for class 4 (${CLASS_NAMES[4]})` });
    else if (c === 6) picks.push({ index, classField: -2, why: 'a shirt, the top-5 classes together' });
    else picks.push({ index, classField: -1, why: `${CLASS_NAMES[c]}, top-1` });
  }
  const shirt = first((i) => set.labels[i] === 6 && predictions[i] === 6);
  picks.push({ index: shirt, classField: -1, why: 'another shirt, top-1' });
  const wrong = first((i) => predictions[i] !== set.labels[i]);
  picks.push({
    index: wrong, classField: set.labels[wrong],
    why: `misclassified as ${CLASS_NAMES[predictions[wrong]]}, explained for its true class`,
  });
  return picks;
}

const imageName = (set: FashionMnistSet, i: number): string => `t10k-${String(i).padStart(5, '0')}-${slug(set.labels[i])}.png`;

async function writeDemoImages(dir: string, set: FashionMnistSet, picks: DemoPick[]): Promise<void> {
  fs.mkdirSync(dir, { recursive: true });
  for (const f of fs.readdirSync(dir)) if (f.endsWith('.png')) fs.rmSync(path.join(dir, f));
  for (const p of picks) {
    const pixels = Buffer.from(set.images.subarray(p.index * PIXELS, (p.index + 1) * PIXELS));
    await sharp(pixels, { raw: { width: IMAGE_SIZE, height: IMAGE_SIZE, channels: 1 } })
      .toColourspace('b-w')
      .png({ compressionLevel: 9 })
      .toFile(path.join(dir, imageName(set, p.index)));
  }
  // The original demonstrator's list format: `<path relative to the images root> <class>`.
  fs.writeFileSync(path.join(dir, 'filelist.txt'), picks.map((p) => `${imageName(set, p.index)} ${p.classField}\n`).join(''));
  fs.writeFileSync(path.join(dir, 'NOTICE'), notice(set, picks));
}

function notice(set: FashionMnistSet, picks: DemoPick[]): string {
  const lines = picks.map((p) => `  ${imageName(set, p.index)}  test image ${p.index}, label ${set.labels[p.index]} (${CLASS_NAMES[set.labels[p.index]]}); list entry ${p.classField}: ${p.why}`);
  return `The images in this directory are unmodified 28x28 greyscale images from the test set
(t10k-images-idx3-ubyte) of Fashion-MNIST, by Zalando Research,
https://github.com/zalandoresearch/fashion-mnist, as packaged by Debian in
dataset-fashion-mnist. They were written as PNG files by
demonstrator/demo-model/build-model.ts (run through demonstrator/demo-model/train.sh).

${lines.join('\n')}

filelist.txt lists them in the demonstrators' format "<image> <class>": -1 explains the
top-1 class, -2 the top-5 classes together, a class index >= 0 that class. Class indices
are Fashion-MNIST's labels (see demonstrator/demo-model/labels.txt).

Fashion-MNIST is licensed under the MIT License:

Copyright (c) 2017 Zalando SE, https://tech.zalando.com

Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.
`;
}

// ---------------------------------------------------------------------------------------

async function main(argv: string[]): Promise<number> {
  const dump = argv[0];
  if (!dump || argv.length !== 1) {
    process.stderr.write('usage: node dist/demonstrator/demo-model/build-model.js <dump dir written by train.py>\n');
    return 2;
  }
  const manifest = JSON.parse(fs.readFileSync(path.join(dump, 'manifest.json'), 'utf8')) as Manifest;
  const modelDir = demoModelDir();
  const files = demoModelFiles(modelDir);

  const spec = demoNetSpec(manifest, (name) => readBlobs(dump, manifest, name));
  await savePrototxt(spec, files.prototxt, { inputStyle: 'input_shape' });
  await saveCaffemodel(spec, files.caffemodel);
  fs.writeFileSync(files.labels, CLASS_NAMES.join('\n') + '\n');
  log(`wrote ${files.prototxt}, ${files.caffemodel}, ${files.labels}`);

  // Check the written files as a user would load them.
  const reason = ensureFashionMnist({ log });
  if (reason) throw new Error(reason);
  const test = loadFashionMnist('t10k');
  const net = new Net(await loadNetSpec({ prototxt: files.prototxt, caffemodel: files.caffemodel }));
  const ev = await evaluate(net, test);
  const torchProb = readF32(path.join(dump, 'test-prob.f32'), test.count * 10);
  let maxDiff = 0;
  let disagree = 0;
  for (let i = 0; i < torchProb.length; i++) maxDiff = Math.max(maxDiff, Math.abs(torchProb[i] - ev.scores[i]));
  for (let i = 0; i < test.count; i++) {
    let best = 0;
    for (let c = 1; c < 10; c++) if (torchProb[i * 10 + c] > torchProb[i * 10 + best]) best = c;
    if (best !== ev.predictions[i]) disagree++;
  }
  log(`our engine: test accuracy ${(100 * ev.accuracy).toFixed(2)}% (${ev.correct}/${ev.count}); ` +
    `torch: ${(100 * manifest.torchTestAccuracy).toFixed(2)}%; largest softmax difference ${maxDiff.toExponential(2)}, ` +
    `${disagree} differing top-1 decisions`);
  if (maxDiff > MAX_SCORE_DIFF) throw new Error(`our engine's scores differ from torch's by ${maxDiff} (> ${MAX_SCORE_DIFF})`);
  if (ev.accuracy < MIN_ACCURACY) throw new Error(`test accuracy ${ev.accuracy} is below ${MIN_ACCURACY}`);

  const modelBytes = [files.prototxt, files.caffemodel, files.labels].reduce((n, f) => n + fs.statSync(f).size, 0);
  const record = {
    model: 'demonstrator/demo-model (see README.md)',
    torch: manifest.torch,
    seed: manifest.seed,
    epochs: manifest.epochs,
    batch: manifest.batch,
    lr: manifest.lr,
    architecture: manifest.architecture,
    inputScaling: 'raw grey values 0..255, no mean (trained on x/255; conv1 weights divided by 255 at export)',
    epochLog: manifest.log.map(({ epoch, loss, testAccuracy }) => ({ epoch, loss, testAccuracy })),
    torchTestAccuracy: manifest.torchTestAccuracy,
    engineTestAccuracy: ev.accuracy,
  };
  fs.writeFileSync(path.join(modelDir, 'training-log.json'), JSON.stringify(record, null, 1) + '\n');

  const imagesDir = path.resolve(modelDir, '..', 'demo-images');
  const picks = pickDemoImages(test, ev.predictions, ev.scores);
  await writeDemoImages(imagesDir, test, picks);
  log(`wrote ${picks.length} demo images, filelist.txt and NOTICE to ${imagesDir}`);
  log(`model files: ${(modelBytes / 1e6).toFixed(2)} MB; training took ${manifest.trainingSeconds} s`);
  await net.dispose();
  return 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e) => {
      process.stderr.write(`[demo-model] failed: ${(e as Error).message}\n`);
      process.exit(1);
    },
  );
}
