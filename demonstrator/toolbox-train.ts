/**
 * lrp-toolbox-demo --train: the LRP Toolbox's train-save-explain flow on Fashion-MNIST.
 * Trains the toolbox's long-rect MLP (or a LeNet-like conv net) with toolbox.train, shows a
 * progress bar with the latest validation accuracy, measures test accuracy, writes the model
 * in the toolbox's text format, re-reads it and checks it predicts exactly the same, then
 * explains a few test images with the toolbox demo (demonstrator/toolbox-demo.ts).
 *
 *   lrp-toolbox-demo --train [--arch long-rect|lenet] [--iters 10000] [--batchsize 25]
 *       [--lrate 0.005] [--decay none|linear|sublinear] [--status 250] [--convergence -1]
 *       [--validation 5000] [--seed 1] [--count 5] [--test-count N] [--out toolbox_train_output]
 *       [--threads N] [--quiet]
 *
 * Data: Debian's dataset-fashion-mnist (installed with apt-get when missing and run as
 * root); pixels scaled x / 127.5 - 1 as the toolbox's demos do. The validation set (for the
 * status steps and the kept best state) is the last --validation training images, which are
 * then not trained on; test accuracy is measured on the 10,000 t10k images.
 */
import * as fs from 'fs';
import * as path from 'path';
import { CaffeLrpError } from '../lib/errors';
import { encodeNpy } from '../lib/io/npy';
import type { Net } from '../lib/net';
import {
  LENET_LIKE_ARCHITECTURE, LONG_RECT_ARCHITECTURE, initToolboxModel, loadToolboxNet, nhwcToNchw, readToolboxModel, train,
  writeToolboxModel, type LrateDecay, type TrainArray,
} from '../lib/toolbox';
import { ensureFashionMnist, loadFashionMnist, type FashionMnistSet } from './demo-model/fashion-mnist';
import { Progress, formatDuration, type ProgressStream } from './progress';

interface Out { write(s: string): unknown }

export const TRAIN_USAGE = `usage: lrp-toolbox-demo --train [options]

Trains a toolbox-format net on Fashion-MNIST with the LRP Toolbox's training loop, writes it
in the toolbox's text format and explains a few test images.

  --arch NAME          long-rect (default: Linear 784-1296-1296-1296-10, Rect, SoftMax) or lenet
  --iters N            training iterations (default 10000)
  --batchsize N        minibatch size (default 25)
  --lrate X            learning rate (default 0.005)
  --decay D            none (default), linear, sublinear
  --status N           iterations between validation checks (default 250)
  --convergence N      stop after N checks without improvement (default -1: never)
  --validation N       last N training images held out for validation (default 5000)
  --seed N             seed of the initial weights and the minibatches (default 1)
  --test-count N       test images to measure accuracy on (default: all 10000)
  --count N            test images to explain (default 5)
  --out DIR            output folder (default toolbox_train_output): model.txt, images, heatmaps
  --threads N          engine threads (sets OPENBLAS_NUM_THREADS and OMP_NUM_THREADS; minibatches
                       are small, so 1 is often as fast and best on a busy machine)
  --quiet              no progress bar
  --help               this text`;

class UsageError extends Error {}

interface TrainArgs {
  arch: 'long-rect' | 'lenet'; iters: number; batchsize: number; lrate: number; decay: LrateDecay; status: number;
  convergence: number; validation: number; seed: number; count: number; out: string; quiet: boolean; help: boolean;
  threads?: number; testCount?: number;
}

function parseTrainArgs(argv: string[]): TrainArgs {
  const a: TrainArgs = {
    arch: 'long-rect', iters: 10000, batchsize: 25, lrate: 0.005, decay: 'none', status: 250, convergence: -1,
    validation: 5000, seed: 1, count: 5, out: 'toolbox_train_output', quiet: false, help: false,
  };
  const int = (flag: string, v: string | undefined, min: number): number => {
    if (v === undefined || !/^-?\d+$/.test(v) || Number(v) < min) throw new UsageError(`${flag} needs an integer >= ${min}, got ${v === undefined ? 'nothing' : `'${v}'`}`);
    return Number(v);
  };
  for (let i = 0; i < argv.length; ++i) {
    const flag = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) throw new UsageError(`${flag} needs a value`);
      return argv[++i];
    };
    switch (flag) {
      case '--train': break;
      case '--arch': {
        const v = value();
        if (v !== 'long-rect' && v !== 'lenet') throw new UsageError(`--arch: 'long-rect' or 'lenet', got '${v}'`);
        a.arch = v;
        break;
      }
      case '--iters': a.iters = int(flag, value(), 1); break;
      case '--batchsize': a.batchsize = int(flag, value(), 1); break;
      case '--lrate': {
        const v = value();
        a.lrate = Number(v);
        if (v.trim() === '' || !Number.isFinite(a.lrate) || a.lrate <= 0) throw new UsageError(`--lrate needs a positive number, got '${v}'`);
        break;
      }
      case '--decay': {
        const v = value();
        if (v !== 'none' && v !== 'linear' && v !== 'sublinear') throw new UsageError(`--decay: none, linear or sublinear, got '${v}'`);
        a.decay = v;
        break;
      }
      case '--status': a.status = int(flag, value(), 1); break;
      case '--convergence': a.convergence = int(flag, value(), -1000000); break;
      case '--validation': a.validation = int(flag, value(), 1); break;
      case '--seed': a.seed = int(flag, value(), 0); break;
      case '--count': a.count = int(flag, value(), 0); break;
      case '--test-count': a.testCount = int(flag, value(), 1); break;
      case '--out': a.out = value(); break;
      case '--threads': a.threads = int(flag, value(), 1); break;
      case '--quiet': a.quiet = true; break;
      case '--help': case '-h': a.help = true; break;
      default: throw new UsageError(`unknown argument '${flag}' for --train`);
    }
  }
  return a;
}

/** Images i0..i1 of a set as the toolbox's input (x / 127.5 - 1) and one-hot targets. */
function toArrays(set: FashionMnistSet, i0: number, i1: number, conv: boolean): { X: TrainArray; Y: TrainArray } {
  const n = i1 - i0;
  const x = new Float32Array(n * 784);
  for (let i = 0; i < x.length; ++i) x[i] = set.images[i0 * 784 + i] / 127.5 - 1;
  const y = new Float32Array(n * 10);
  for (let k = 0; k < n; ++k) y[k * 10 + set.labels[i0 + k]] = 1;
  return { X: { data: x, shape: conv ? [n, 28, 28, 1] : [n, 784] }, Y: { data: y, shape: [n, 10] } };
}

/** Predicted classes of a net on X (toolbox layout), in chunks. */
async function predict(net: Net, X: TrainArray): Promise<Uint8Array> {
  const n = X.shape[0], per = X.data.length / n, chunk = 500;
  const out = new Uint8Array(n);
  for (let s = 0; s < n; s += chunk) {
    const count = Math.min(chunk, n - s);
    let input = Float32Array.from(X.data.subarray(s * per, (s + count) * per));
    if (X.shape.length === 4) input = nhwcToNchw(input, [count, ...X.shape.slice(1)]);
    const scores = await net.forward(input);
    scores.forEach((row, k) => {
      let best = 0;
      for (let j = 1; j < row.length; ++j) if (row[j] > row[best]) best = j;
      out[s + k] = best;
    });
  }
  return out;
}

/** A Progress bar counting iterations, with the latest validation accuracy. */
class TrainProgress extends Progress {
  accuracy: number | undefined;
  override line(t?: number): string {
    const acc = this.accuracy === undefined ? '' : `, validation ${(100 * this.accuracy).toFixed(2)} %`;
    return super.line(t).replace(' images', ' iterations').replace('img/s', 'it/s') + acc;
  }
}

/** Runs the training demo; resolves to the exit status. */
export async function runToolboxTrainDemo(argv: string[], io: { cwd?: string; stdout?: Out; stderr?: Out & ProgressStream;
  explain?: (argv: string[]) => Promise<number>; } = {}): Promise<number> {
  const stdout = io.stdout ?? process.stdout;
  const stderr = io.stderr ?? process.stderr;
  const cwd = io.cwd ?? process.cwd();
  let args: TrainArgs;
  try {
    args = parseTrainArgs(argv);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    stderr.write(`lrp-toolbox-demo: ${e.message}\n${TRAIN_USAGE}\n`);
    return 1;
  }
  if (args.help) {
    stdout.write(`${TRAIN_USAGE}\n`);
    return 0;
  }
  if (args.threads !== undefined) {
    // Read by OpenBLAS / OpenMP when the engine loads (it is loaded lazily, on the first net).
    process.env.OPENBLAS_NUM_THREADS = String(args.threads);
    process.env.OMP_NUM_THREADS = String(args.threads);
  }
  const problem = ensureFashionMnist({ log: (m) => stderr.write(`${m}\n`) });
  if (problem) {
    stderr.write(`lrp-toolbox-demo: ${problem}\n`);
    return 1;
  }
  try {
    const conv = args.arch === 'lenet';
    const trainSet = loadFashionMnist('train'), testSet = loadFashionMnist('t10k');
    if (args.validation >= trainSet.count) throw new CaffeLrpError('OPTION', `--validation ${args.validation}: must be less than the ${trainSet.count} training images`);
    const split = trainSet.count - args.validation;
    const { X, Y } = toArrays(trainSet, 0, split, conv);
    const val = toArrays(trainSet, split, trainSet.count, conv);
    const testCount = Math.min(args.testCount ?? testSet.count, testSet.count);
    const test = toArrays(testSet, 0, testCount, conv);
    const model = initToolboxModel(conv ? LENET_LIKE_ARCHITECTURE : LONG_RECT_ARCHITECTURE, { seed: args.seed });
    stdout.write(`training ${args.arch} on ${split} Fashion-MNIST images (validation: ${args.validation}), ${args.iters} iterations of ${args.batchsize}, lrate ${args.lrate}, decay ${args.decay}\n`);

    const progress = new TrainProgress(args.iters, { quiet: args.quiet, stream: stderr as ProgressStream });
    const started = Date.now();
    const result = await train(model, X, Y, {
      Xval: val.X, Yval: val.Y, batchsize: args.batchsize, iters: args.iters, lrate: args.lrate, lrateDecay: args.decay,
      status: args.status, convergence: args.convergence, seed: args.seed,
      onIteration: () => progress.tick(),
      onStatus: (s) => {
        progress.accuracy = s.accuracy;
        if (args.quiet) return;
        progress.log(`after ${s.iteration} iterations: validation accuracy ${(100 * s.accuracy).toFixed(2)} %, l1-loss ${s.loss.toFixed(4)}${s.improved ? ' (best so far, kept)' : ''}`);
      },
    });
    progress.finish();
    const seconds = (Date.now() - started) / 1000;
    try {
      const predicted = await predict(result.net, test.X);
      let correct = 0;
      predicted.forEach((p, i) => { if (p === testSet.labels[i]) ++correct; });
      stdout.write(`trained ${result.iterations} iterations in ${formatDuration(seconds)} (${seconds.toFixed(1)} s); kept the state after ${result.bestIteration} iterations\n`);
      stdout.write(`test accuracy: ${(100 * correct / testCount).toFixed(2)} % (${correct}/${testCount})\n`);

      const out = path.resolve(cwd, args.out);
      fs.mkdirSync(out, { recursive: true });
      const modelFile = path.join(out, 'model.txt');
      await writeToolboxModel(modelFile, result.model);
      const reread = await loadToolboxNet(await readToolboxModel(modelFile), { inputShape: conv ? [28, 28, 1] : [784] });
      try {
        const again = await predict(reread, test.X);
        const same = again.every((p, i) => p === predicted[i]);
        stdout.write(`wrote ${modelFile}; re-read: ${same ? `identical predictions on all ${testCount} test images` : 'DIFFERENT predictions'}\n`);
        if (!same) return 1;
      } finally {
        await reread.dispose();
      }
      if (args.count === 0) return 0;
      // Explain a few test images with the toolbox demo, as the toolbox's own flow does.
      const n = Math.min(args.count, testSet.count);
      const imagesFile = path.join(out, 'test-images.npy'), labelsFile = path.join(out, 'test-labels.npy');
      fs.writeFileSync(imagesFile, encodeNpy(testSet.images.slice(0, n * 784), [n, 784]));
      fs.writeFileSync(labelsFile, encodeNpy(testSet.labels.slice(0, n), [n]));
      const explain = io.explain ?? (async (a: string[]) => (await import('./toolbox-demo')).runToolboxDemo(a, { cwd, stdout, stderr }));
      return await explain(['--model', modelFile, '--images', imagesFile, '--labels', labelsFile, '--count', String(n), '--pad', '0', '--out', out]);
    } finally {
      await result.net.dispose();
    }
  } catch (e) {
    if (!(e instanceof CaffeLrpError)) throw e;
    stderr.write(`lrp-toolbox-demo: ${e.message}\n`);
    return 1;
  }
}
