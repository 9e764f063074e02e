/**
 * toolbox.train: the LRP Toolbox's training loop (python Sequential.train; behaviour in
 * shared/spec/toolbox-training.md) for toolbox-format models, run on the native engine.
 *
 * Per iteration: a minibatch of distinct sample indices in ascending order (drawn with our
 * seeded generator, or replayed from `indices`), forward, the toolbox's backward pass of
 * prediction - target (SoftMax passes it unchanged), and an SGD step with the toolbox's own
 * scalings. Every `status` iterations: accuracy and l1-loss on the validation set (or the
 * training set), keep-best by loss (`<=`), learning-rate decay on improvements, convergence
 * counting; at the end the best state is returned (the untrained model when none was seen).
 *
 * The engine computes in float32 (the toolbox in float64): see README for how close that
 * stays to the toolbox's own runs.
 *
 * How the toolbox's scalings are applied: Linear's backward multiplies its signal by
 * sqrt(m)/sqrt(n), everything else in the backward pass is linear in the signal, so the
 * toolbox's dW of a layer is the true gradient times the product P of those factors of the
 * Linear layers above it. The engine computes true gradients (native/engine/net_training.cc)
 * and adds factor x gradient to its own weights, with factor = -lrate * P / sqrt(m) for a
 * Linear's weights, / n^(1/4) for its bias, / sqrt(hf*wf*df*Hy*Wy) and / sqrt(Hy*Wy) for a
 * Convolution's.
 */
import { randomBytes } from 'crypto';
import { CaffeLrpError } from '../errors';
import { loadNative, type NativeNetInstance } from '../native';
import { Net } from '../net';
import type { NetSpec } from '../caffe/netspec-types';
import { nhwcToNchw } from './layout';
import type { ToolboxLayer, ToolboxModel } from './model';
import { netSpecToToolbox, toolboxToNetSpec } from './netspec';
import { TrainRng } from './train-rng';
import { checkArray, checkDecay, checkFinite, checkIndices, checkInt, checkPair, type LrateDecay, type TrainArray } from './train-checks';

export type { TrainArray, LrateDecay } from './train-checks';

export interface TrainStatus {
  /** Iterations done (the toolbox's d + 1). */
  iteration: number;
  /** Set the status was measured on. */
  on: 'validation' | 'training';
  /** Correct predictions / samples (argmax, first maximum on ties). */
  accuracy: number;
  /** The toolbox's "l1-loss": sum |prediction - target| / samples. */
  loss: number;
  /** Learning factor after this status step (changes only on improvements, with a decay). */
  learningFactor: number;
  /** Whether this state became the kept best (loss <= best loss so far). */
  improved: boolean;
}

export interface TrainOptions {
  Xval?: TrainArray;
  Yval?: TrainArray;
  batchsize?: number;
  iters?: number;
  lrate?: number;
  lrateDecay?: LrateDecay;
  lfactorInitial?: number;
  status?: number;
  /** Stop after this many status steps without improvement; <= 0: never. */
  convergence?: number;
  /** Applied to every minibatch (toolbox layout, shape [b, ...sample]); must return as many values. */
  transform?: (batch: Float32Array | Float64Array, shape: number[]) => Float32Array | Float64Array;
  onStatus?: (status: TrainStatus) => void;
  /** Called after every iteration with the iterations done and the total. */
  onIteration?: (done: number, total: number) => void;
  /** Seed of our minibatch generator (not numpy's sequence); default: a random seed, reported in the result. */
  seed?: number;
  /** iters x batchsize sample indices to use instead of drawing them (replays a toolbox run). */
  indices?: ArrayLike<number> | number[][];
}

export interface TrainResult {
  /** The trained model (the best state), as writeToolboxModel writes it. */
  model: ToolboxModel;
  /** That model in the engine, ready for forward() and explain(). */
  net: Net;
  history: TrainStatus[];
  /** Iterations done when the returned state was measured (0: no status step improved; untrained). */
  bestIteration: number;
  /** Iterations actually run (fewer than iters after a convergence stop). */
  iterations: number;
  /** The seed used for the minibatches (undefined when replaying `indices`). */
  seed?: number;
}

/** One learned engine layer with the toolbox's factors for its weights and bias (per unit learning rate). */
interface Learned { index: number; weightScale: number; biasScale: number }

const EVAL_CHUNK = 1000;

/** The engine layers with learned blobs and the toolbox's update factors of each. */
function learnedLayers(model: ToolboxModel, spec: NetSpec): Learned[] {
  // P of module k: product of sqrt(m)/sqrt(n) of the Linear modules above it.
  const above = new Array<number>(model.layers.length).fill(1);
  let p = 1;
  for (let k = model.layers.length - 1; k >= 0; --k) {
    above[k] = p;
    const l = model.layers[k];
    if (l.type === 'Linear') p *= Math.sqrt(l.m) / Math.sqrt(l.n);
  }
  const out: Learned[] = [];
  spec.layers.forEach((layer, index) => {
    if (layer.type !== 'InnerProduct' && layer.type !== 'Convolution') return;
    const module = Number(/(\d+)$/.exec(layer.name)?.[1]);
    const t = model.layers[module] as ToolboxLayer;
    if (t?.type === 'Linear') {
      out.push({ index, weightScale: above[module] / t.m ** 0.5, biasScale: above[module] / t.n ** 0.25 });
    } else if (t?.type === 'Convolution') {
      const [, , hy, wy] = layer.topShapes?.[0] ?? [];
      out.push({ index, weightScale: above[module] / (t.h * t.w * t.d * hy * wy) ** 0.5, biasScale: above[module] / (hy * wy) ** 0.5 });
    } else {
      throw new CaffeLrpError('SHAPE', `internal: engine layer '${layer.name}' has no toolbox module`);
    }
  });
  return out;
}

/** X in the engine's layout (N x C x H x W, or N x D), float32. */
function toEngineLayout(X: TrainArray): Float32Array {
  const f = X.data instanceof Float32Array ? X.data : Float32Array.from(X.data);
  return X.shape.length === 4 ? nhwcToNchw(f, X.shape) : f;
}

function argmaxRow(a: ArrayLike<number>, off: number, c: number): number {
  let best = 0;
  for (let j = 1; j < c; ++j) if (a[off + j] > a[off + best]) best = j;
  return best;
}

/** Trains a toolbox model with the LRP Toolbox's Sequential.train semantics. */
export async function train(model: ToolboxModel, X: TrainArray, Y: TrainArray, options: TrainOptions = {}): Promise<TrainResult> {
  if (!model || !Array.isArray(model.layers) || model.layers.length === 0) throw new CaffeLrpError('OPTION', 'train: model must be a toolbox model with layers');
  checkArray(X, 'X');
  checkArray(Y, 'Y');
  const n = X.shape[0];
  const batchsize = checkInt(options.batchsize ?? 25, 'batchsize', 1);
  if (batchsize > n) throw new CaffeLrpError('OPTION', `option 'batchsize': ${batchsize} is more than the ${n} training samples`);
  const iters = checkInt(options.iters ?? 10000, 'iters', 0);
  const lrate = checkFinite(options.lrate ?? 0.005, 'lrate');
  const decay = checkDecay(options.lrateDecay ?? 'none');
  const lfactorInitial = checkFinite(options.lfactorInitial ?? 1, 'lfactorInitial');
  const status = checkInt(options.status ?? 250, 'status', 1);
  const convergence = checkInt(options.convergence ?? -1, 'convergence', Number.MIN_SAFE_INTEGER);
  for (const name of ['transform', 'onStatus', 'onIteration'] as const)
    if (options[name] !== undefined && typeof options[name] !== 'function') throw new CaffeLrpError('OPTION', `option '${name}': must be a function`);
  if ((options.Xval === undefined) !== (options.Yval === undefined)) throw new CaffeLrpError('OPTION', "options 'Xval' and 'Yval': give both or neither");
  const indices = options.indices !== undefined ? checkIndices(options.indices, iters, batchsize, n) : undefined;
  const seed = indices ? undefined : options.seed !== undefined ? checkInt(options.seed, 'seed', 0, 0xffffffff) : randomBytes(4).readUInt32LE(0);

  const first = model.layers[0];
  const sample = first.type === 'Linear' ? [first.m] : X.shape.slice(1);
  if (first.type === 'Linear' && X.shape.length !== 2)
    throw new CaffeLrpError('SHAPE', `X: the model starts with Linear ${first.m} ${first.n}, so X must be N x ${first.m}, got ${X.shape.join('x')}`);
  if (first.type !== 'Linear' && X.shape.length !== 4)
    throw new CaffeLrpError('SHAPE', `X: the model starts with ${first.type}, so X must be N x H x W x C (the toolbox's layout), got ${X.shape.join('x')}`);
  const spec = toolboxToNetSpec(model, { inputShape: sample, batchSize: batchsize });
  const last = spec.layers[spec.layers.length - 1];
  const classes = (last.topShapes?.[0] ?? []).slice(1).reduce((p, d) => p * d, 1);
  checkPair(X, Y, sample, classes, 'X', 'Y');
  let evalX = X, evalY = Y, on: TrainStatus['on'] = 'training';
  if (options.Xval && options.Yval) {
    checkArray(options.Xval, 'Xval');
    checkArray(options.Yval, 'Yval');
    checkPair(options.Xval, options.Yval, sample, classes, 'Xval', 'Yval');
    evalX = options.Xval; evalY = options.Yval; on = 'validation';
  }
  const learned = learnedLayers(model, spec);
  if (learned.length === 0) throw new CaffeLrpError('OPTION', 'train: the model has no Linear or Convolution layer to train');

  const { NativeNet } = loadNative();
  const engine: NativeNetInstance = new NativeNet(spec); // copies the weights: the engine owns what it updates
  try {
    const per = X.data.length / n;
    const xEngine = options.transform ? undefined : toEngineLayout(X);
    const evalEngine = evalX === X && xEngine ? xEngine : toEngineLayout(evalX);
    const rng = seed !== undefined ? new TrainRng(seed) : undefined;
    const start = spec.layers.length - 1, end = learned[0].index;
    const layerIndices = learned.map((l) => l.index);
    const batch = new Float32Array(batchsize * per);
    const seedSignal = new Float32Array(batchsize * classes);

    let learningFactor = lfactorInitial, untilConvergence = convergence;
    let bestLoss = Infinity, bestIteration = 0;
    let best: Float32Array[][] | undefined;
    const history: TrainStatus[] = [];
    let d = 0;
    for (; d < iters; ++d) {
      const rows = indices ? indices.subarray(d * batchsize, (d + 1) * batchsize) : rng!.batch(n, batchsize);
      fillBatch(batch, rows, X, xEngine, per, options.transform);
      const [out] = await engine.forward([batch]);
      for (let k = 0; k < batchsize; ++k)
        for (let j = 0; j < classes; ++j) seedSignal[k * classes + j] = out.data[k * classes + j] - Y.data[rows[k] * classes + j];
      const lr = lrate * learningFactor;
      const factors = learned.map((l) => [-lr * l.weightScale, -lr * l.biasScale]);
      try {
        await engine.trainBackward({ start, end, seed: seedSignal, layers: layerIndices, factors });
      } catch (e) {
        if (/non-finite/.test((e as Error).message)) throw diverged(d + 1, 'non-finite predictions');
        throw e;
      }
      options.onIteration?.(d + 1, iters);
      if ((d + 1) % status !== 0) continue;

      const broken = engine.nonFiniteWeights();
      if (broken.length) throw diverged(d + 1, `non-finite weights in ${broken.join(', ')}`);
      engine.reshape(Math.min(EVAL_CHUNK, evalX.shape[0]));
      const { accuracy, loss } = await evaluate(engine, evalEngine, evalY, classes);
      engine.reshape(batchsize);
      const improved = loss <= bestLoss;
      let stop = false;
      if (improved) {
        bestLoss = loss;
        bestIteration = d + 1;
        best = layerIndices.map((i) => engine.learnedBlobs(i));
        if (decay === 'sublinear') learningFactor = 1 - accuracy * accuracy;
        else if (decay === 'linear') learningFactor = 1 - accuracy;
        untilConvergence = convergence;
      } else {
        untilConvergence -= 1;
        stop = untilConvergence === 0 && convergence > 0;
      }
      const entry: TrainStatus = { iteration: d + 1, on, accuracy, loss, learningFactor, improved };
      history.push(entry);
      options.onStatus?.(entry);
      if (stop) { ++d; break; }
    }

    const trained = best ? modelFromBlobs(spec, layerIndices, best, model.source) : { layers: model.layers.map((l) => ({ ...l })), source: model.source };
    const net = new Net(toolboxToNetSpec(trained, { inputShape: sample }));
    return { model: trained, net, history, bestIteration, iterations: d, seed };
  } finally {
    engine.dispose();
  }
}

function diverged(iteration: number, what: string): CaffeLrpError {
  return new CaffeLrpError('STATE', `train: ${what} in iteration ${iteration}: the training diverged (try a smaller lrate)`);
}

function fillBatch(batch: Float32Array, rows: ArrayLike<number>, X: TrainArray, xEngine: Float32Array | undefined, per: number,
  transform: TrainOptions['transform']): void {
  if (xEngine) {
    for (let k = 0; k < rows.length; ++k) batch.set(xEngine.subarray(rows[k] * per, (rows[k] + 1) * per), k * per);
    return;
  }
  const raw = X.data instanceof Float32Array ? new Float32Array(rows.length * per) : new Float64Array(rows.length * per);
  for (let k = 0; k < rows.length; ++k) raw.set(X.data.subarray(rows[k] * per, (rows[k] + 1) * per), k * per);
  const shape = [rows.length, ...X.shape.slice(1)];
  const t = transform!(raw, shape);
  if (!(t instanceof Float32Array || t instanceof Float64Array) || t.length !== raw.length)
    throw new CaffeLrpError('OPTION', `option 'transform': must return a Float32Array or Float64Array of ${raw.length} values`);
  const converted = toEngineLayout({ data: t, shape });
  for (let i = 0; i < converted.length; ++i)
    if (!Number.isFinite(converted[i])) throw new CaffeLrpError('OPTION', `option 'transform': returned a non-finite value at index ${i}`);
  batch.set(converted);
}

/** Accuracy and l1-loss of the engine's current weights on a whole set, in chunks of the engine's batch. */
async function evaluate(engine: NativeNetInstance, x: Float32Array, Y: TrainArray, classes: number): Promise<{ accuracy: number; loss: number }> {
  const m = Y.shape[0], per = x.length / m;
  const chunk = engine.inputs()[0].shape[0];
  const input = new Float32Array(chunk * per);
  let correct = 0, abs = 0;
  for (let s = 0; s < m; s += chunk) {
    const count = Math.min(chunk, m - s);
    input.fill(0);
    input.set(x.subarray(s * per, (s + count) * per));
    const [out] = await engine.forward([input]);
    for (let k = 0; k < count; ++k) {
      const yo = (s + k) * classes, po = k * classes;
      if (argmaxRow(out.data, po, classes) === argmaxRow(Y.data, yo, classes)) ++correct;
      for (let j = 0; j < classes; ++j) abs += Math.abs(out.data[po + j] - Y.data[yo + j]);
    }
  }
  return { accuracy: correct / m, loss: abs / m };
}

/** The toolbox model of the training spec with the given learned blobs. */
function modelFromBlobs(spec: NetSpec, layerIndices: number[], blobs: Float32Array[][], source?: string): ToolboxModel {
  const layers = spec.layers.map((l, i) => {
    const k = layerIndices.indexOf(i);
    if (k < 0) return l;
    // Fresh arrays of this realm (the engine's are created by the addon: `instanceof` checks
    // in other contexts, e.g. a vm sandbox, would not recognise them).
    return { ...l, blobs: l.blobs.map((b, j) => ({ ...b, data: Float32Array.from(blobs[k][j]) })) };
  });
  const model = netSpecToToolbox({ ...spec, layers });
  return { layers: model.layers, source };
}
