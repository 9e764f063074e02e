/**
 * Fashion-MNIST as Debian's `dataset-fashion-mnist` ships it (idx files, gzipped), and the
 * bundled demo model's evaluation on it with our engine. Shared by build-model.ts (which
 * writes the model), accuracy.ts (`npm run demo:accuracy`) and test/demo/demo-model.test.ts.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as zlib from 'zlib';
import type { Net } from '../../lib/net';

export const DATA_DIR = '/usr/share/datasets/fashion-mnist';
export const DEBIAN_PACKAGE = 'dataset-fashion-mnist';

/** Class names in label order (Fashion-MNIST's README). */
export const CLASS_NAMES = [
  'T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot',
] as const;

export const IMAGE_SIZE = 28;
export const PIXELS = IMAGE_SIZE * IMAGE_SIZE;

export type Split = 'train' | 't10k';

export interface FashionMnistSet {
  count: number;
  /** count x 28 x 28 grey values 0..255, row-major. */
  images: Uint8Array;
  labels: Uint8Array;
}

/** The bundled model's files, in the source tree (found from here or from dist/). */
export function demoModelDir(): string {
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, 'package.json')) && path.dirname(dir) !== dir) dir = path.dirname(dir);
  return path.join(dir, 'demonstrator', 'demo-model');
}

export function demoModelFiles(dir = demoModelDir()): { prototxt: string; caffemodel: string; labels: string } {
  return {
    prototxt: path.join(dir, 'deploy.prototxt'),
    caffemodel: path.join(dir, 'fashion-mnist.caffemodel'),
    labels: path.join(dir, 'labels.txt'),
  };
}

const splitFiles = (split: Split): string[] =>
  [`${split}-images-idx3-ubyte.gz`, `${split}-labels-idx1-ubyte.gz`].map((f) => path.join(DATA_DIR, f));

/**
 * Makes sure the data set is installed: installs the Debian package with apt-get when it
 * is missing and we are root (and `install` is not false). Returns undefined when the files
 * are there, else the reason they are not (with what to install).
 */
export function ensureFashionMnist(opts: { install?: boolean; log?: (msg: string) => void } = {}): string | undefined {
  const present = (): boolean => (['train', 't10k'] as Split[]).every((s) => splitFiles(s).every((f) => fs.existsSync(f)));
  if (present()) return undefined;
  const hint = `install it with: sudo apt-get install ${DEBIAN_PACKAGE}`;
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (opts.install === false) return `Fashion-MNIST is not installed in ${DATA_DIR}; ${hint}`;
  if (!isRoot) return `Fashion-MNIST is not installed in ${DATA_DIR} and we are not root; ${hint}`;
  const installer = aptInstaller();
  if (!installer) return `Fashion-MNIST is not installed in ${DATA_DIR}; ${hint}`;
  opts.log?.(`installing ${DEBIAN_PACKAGE} with apt-get`);
  if (!installer(DEBIAN_PACKAGE)) return `apt-get could not install ${DEBIAN_PACKAGE} (Fashion-MNIST); ${hint}`;
  return present() ? undefined : `${DEBIAN_PACKAGE} is installed but ${DATA_DIR} lacks the idx files`;
}

/** The development checkout's apt-get helper; absent from the npm package (which never runs apt-get). */
function aptInstaller(): ((pkg: string) => boolean) | undefined {
  try {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    return (require('./apt-install') as typeof import('./apt-install')).aptInstall;
  } catch {
    return undefined;
  }
}

/** Reads a gzipped idx file of unsigned bytes (idx1 labels, idx3 images). */
export function readIdxGz(file: string): { dims: number[]; data: Uint8Array } {
  const buf = zlib.gunzipSync(fs.readFileSync(file));
  if (buf.length < 4 || buf[0] !== 0 || buf[1] !== 0 || buf[2] !== 0x08)
    throw new Error(`${file}: not an idx file of unsigned bytes`);
  const ndim = buf[3];
  const dims: number[] = [];
  for (let i = 0; i < ndim; i++) dims.push(buf.readUInt32BE(4 + 4 * i));
  const offset = 4 + 4 * ndim;
  const count = dims.reduce((a, b) => a * b, 1);
  if (buf.length - offset !== count) throw new Error(`${file}: expected ${count} values for ${dims.join('x')}, found ${buf.length - offset}`);
  return { dims, data: new Uint8Array(buf.buffer, buf.byteOffset + offset, count) };
}

export function loadFashionMnist(split: Split): FashionMnistSet {
  const [imageFile, labelFile] = splitFiles(split);
  const images = readIdxGz(imageFile);
  const labels = readIdxGz(labelFile);
  if (images.dims.length !== 3 || images.dims[1] !== IMAGE_SIZE || images.dims[2] !== IMAGE_SIZE)
    throw new Error(`${imageFile}: expected N x 28 x 28 images, got ${images.dims.join('x')}`);
  if (labels.dims.length !== 1 || labels.dims[0] !== images.dims[0])
    throw new Error(`${labelFile}: ${labels.dims[0]} labels for ${images.dims[0]} images`);
  return { count: images.dims[0], images: images.data, labels: labels.data };
}

/**
 * The net's input for image i: the raw grey values 0..255 as floats, no mean subtracted
 * (the demo model's first layer expects exactly that; see README.md).
 */
export function inputOf(set: FashionMnistSet, i: number): Float32Array {
  return Float32Array.from(set.images.subarray(i * PIXELS, (i + 1) * PIXELS));
}

export const argmax = (v: ArrayLike<number>): number => {
  let best = 0;
  for (let i = 1; i < v.length; i++) if (v[i] > v[best]) best = i;
  return best;
};

export interface Evaluation {
  count: number;
  correct: number;
  accuracy: number;
  /** count x numClasses output values (the softmax "prob" blob). */
  scores: Float32Array;
  predictions: Uint8Array;
}

/** Runs the net over the whole set in batches and counts top-1 hits. */
export async function evaluate(net: Net, set: FashionMnistSet, batch = 250): Promise<Evaluation> {
  await net.reshape(batch);
  const classes = net.numClasses;
  const scores = new Float32Array(set.count * classes);
  const predictions = new Uint8Array(set.count);
  let correct = 0;
  for (let start = 0; start < set.count; start += batch) {
    const n = Math.min(batch, set.count - start);
    const out = await net.forward(Array.from({ length: n }, (_, j) => inputOf(set, start + j)));
    out.forEach((s, j) => {
      scores.set(s, (start + j) * classes);
      predictions[start + j] = argmax(s);
      if (predictions[start + j] === set.labels[start + j]) correct++;
    });
  }
  return { count: set.count, correct, accuracy: correct / set.count, scores, predictions };
}
