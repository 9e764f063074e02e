/**
 * toolbox.train's loop: one SGD step equals the update computed by hand with the toolbox's
 * scalings; the keep-best / convergence / discarded-tail rules; learning-rate decay; seeded
 * reproducibility; the written text model re-reads to the identical net; bad input.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { CaffeLrpError } from '../../lib/errors';
import {
  TrainRng, initToolboxModel, loadToolboxNet, readToolboxModel, train, writeToolboxModel,
  type ToolboxLinear, type ToolboxModel, type TrainArray, type TrainOptions,
} from '../../lib/toolbox';
import { prng } from '../helpers/random';

const lin = (m: number, n: number, w: number[], b: number[]): ToolboxLinear => ({ type: 'Linear', m, n, weights: Float64Array.from(w), bias: Float64Array.from(b) });
const arr = (shape: number[], values: number[]): TrainArray => ({ data: Float64Array.from(values), shape });

/** A small 3-class problem: 60 samples of 4 features, labels from a fixed linear rule. */
function problem(seed = 3): { X: TrainArray; Y: TrainArray } {
  const r = prng(seed);
  const n = 60, x = new Float64Array(n * 4), y = new Float64Array(n * 3);
  for (let s = 0; s < n; ++s) {
    for (let i = 0; i < 4; ++i) x[s * 4 + i] = 2 * r() - 1;
    const score = [x[s * 4] + x[s * 4 + 1], x[s * 4 + 2] - x[s * 4], x[s * 4 + 3] - x[s * 4 + 1]];
    y[s * 3 + score.indexOf(Math.max(...score))] = 1;
  }
  return { X: { data: x, shape: [n, 4] }, Y: { data: y, shape: [n, 3] } };
}
const smallNet = (seed = 5): ToolboxModel => initToolboxModel(['Linear 4 8', 'Tanh', 'Linear 8 3', 'SoftMax'], { seed });

function weightsOf(model: ToolboxModel): number[][] {
  return model.layers.flatMap((l) => (l.type === 'Linear' || l.type === 'Convolution' ? [Array.from(l.weights), Array.from(l.bias)] : []));
}

async function run(model: ToolboxModel, X: TrainArray, Y: TrainArray, o: TrainOptions) {
  const r = await train(model, X, Y, o);
  await r.net.dispose();
  return r;
}

describe('toolbox.train: one step by hand', () => {
  it('Linear 2 1 without SoftMax: W -= lrate dW / sqrt(m), B -= lrate dB / n^(1/4)', async () => {
    // x = [1, 2], W = [0.5, -1], B = 0 -> out = -1.5; target 1 -> delta = -2.5;
    // dW = x * delta = [-2.5, -5], dB = -2.5; lrate 0.1, m = 2, n = 1.
    const model: ToolboxModel = { layers: [lin(2, 1, [0.5, -1], [0])] };
    const r = await run(model, arr([1, 2], [1, 2]), arr([1, 1], [1]), { batchsize: 1, iters: 1, status: 1, lrate: 0.1, indices: [[0]] });
    const l = r.model.layers[0] as ToolboxLinear;
    expect(l.weights[0]).toBeCloseTo(0.5 + (0.1 * 2.5) / Math.SQRT2, 6);
    expect(l.weights[1]).toBeCloseTo(-1 + (0.1 * 5) / Math.SQRT2, 6);
    expect(l.bias[0]).toBeCloseTo(0.25, 6);
    // The status check sees the updated net: out = W0 + 2 W1 + B, loss |out - 1|.
    const out = l.weights[0] + 2 * l.weights[1] + l.bias[0];
    expect(r.history).toEqual([{ iteration: 1, on: 'training', accuracy: 1, loss: expect.closeTo(Math.abs(out - 1), 6), learningFactor: 1, improved: true }]);
    expect(out).toBeCloseTo(0.5 + 0.25 / Math.SQRT2 + 2 * (-1 + 0.5 / Math.SQRT2) + 0.25, 6);
  });

  it('two Linear layers: the signal reaching the lower one is scaled by sqrt(m/n) of the upper one', async () => {
    // W1 = I, W2 = [1, 1]^T, x = [1, 2], target 0: h = [1, 2], out = 3, delta = 3.
    // Upper: dW2 = h * 3 = [3, 6], dB2 = 3. Signal down: delta W2^T sqrt(2)/sqrt(1) = [3 sqrt2, 3 sqrt2].
    // Lower: dW1[i][j] = x_i 3 sqrt2, dB1 = 3 sqrt2. lrate 0.01.
    const model: ToolboxModel = { layers: [lin(2, 2, [1, 0, 0, 1], [0, 0]), lin(2, 1, [1, 1], [0])] };
    const r = await run(model, arr([1, 2], [1, 2]), arr([1, 1], [0]), { batchsize: 1, iters: 1, status: 1, lrate: 0.01, indices: [[0]] });
    const [l1, l2] = r.model.layers as ToolboxLinear[];
    const s = 3 * Math.SQRT2;
    const w1 = [1 - (0.01 * 1 * s) / Math.SQRT2, -(0.01 * 1 * s) / Math.SQRT2, -(0.01 * 2 * s) / Math.SQRT2, 1 - (0.01 * 2 * s) / Math.SQRT2];
    w1.forEach((v, i) => expect(l1.weights[i]).toBeCloseTo(v, 6));
    for (let j = 0; j < 2; ++j) expect(l1.bias[j]).toBeCloseTo(-(0.01 * s) / 2 ** 0.25, 6);
    expect(l2.weights[0]).toBeCloseTo(1 - (0.01 * 3) / Math.SQRT2, 6);
    expect(l2.weights[1]).toBeCloseTo(1 - (0.01 * 6) / Math.SQRT2, 6);
    expect(l2.bias[0]).toBeCloseTo(-0.03, 6);
  });
});

describe('toolbox.train: status logic', () => {
  const { X, Y } = problem();

  it('keeps the best state by loss, decays from the accuracy, stops after `convergence` checks without improvement', async () => {
    // Gradient ascent (negative lrate) makes every check after the first one worse.
    const o: TrainOptions = { batchsize: 10, iters: 50, status: 2, lrate: -0.05, convergence: 3, lrateDecay: 'linear', seed: 9 };
    const r = await run(smallNet(), X, Y, o);
    expect(r.history.map((h) => h.improved)).toEqual([true, false, false, false]);
    expect(r.iterations).toBe(8);
    expect(r.bestIteration).toBe(2);
    // 'linear': 1 - accuracy of the improving check, unchanged afterwards.
    expect(r.history.map((h) => h.learningFactor)).toEqual(Array(4).fill(1 - r.history[0].accuracy));
    const two = await run(smallNet(), X, Y, { ...o, iters: 2, convergence: -1 });
    expect(weightsOf(r.model)).toEqual(weightsOf(two.model));
  });

  it('sublinear decay is 1 - accuracy^2 and scales the next steps', async () => {
    const r = await run(smallNet(), X, Y, { batchsize: 10, iters: 6, status: 2, lrate: 0.05, lrateDecay: 'sublinear', seed: 4 });
    r.history.forEach((h, i) => {
      const lastImproved = r.history.slice(0, i + 1).filter((e) => e.improved).pop()!;
      expect(h.learningFactor).toBe(1 - lastImproved.accuracy * lastImproved.accuracy);
    });
  });

  it('throws away iterations after the last check, and returns the untrained model without any check', async () => {
    const o: TrainOptions = { batchsize: 10, status: 5, lrate: 0.05, seed: 2 };
    const seven = await run(smallNet(), X, Y, { ...o, iters: 7 });
    const five = await run(smallNet(), X, Y, { ...o, iters: 5 });
    expect(seven.iterations).toBe(7);
    expect(seven.bestIteration).toBe(5);
    expect(weightsOf(seven.model)).toEqual(weightsOf(five.model));
    const none = await run(smallNet(), X, Y, { ...o, iters: 4 });
    expect(none.bestIteration).toBe(0);
    expect(none.history).toEqual([]);
    expect(weightsOf(none.model)).toEqual(weightsOf(smallNet()));
  });

  it('evaluates on the validation set when given', async () => {
    const val = problem(8);
    const r = await run(smallNet(), X, Y, { Xval: val.X, Yval: val.Y, batchsize: 10, iters: 4, status: 2, seed: 1 });
    expect(r.history.map((h) => h.on)).toEqual(['validation', 'validation']);
    // Accuracies are counts over the 60 validation samples.
    for (const h of r.history) expect(Number.isInteger(Math.round(h.accuracy * 60 * 1e9) / 1e9)).toBe(true);
  });

  it('learns: accuracy on the training set rises well above chance', async () => {
    const r = await run(smallNet(), X, Y, { batchsize: 10, iters: 400, status: 100, lrate: 0.05, seed: 3 });
    expect(r.history[r.history.length - 1].accuracy).toBeGreaterThan(0.8);
    expect(r.history[0].accuracy).toBeLessThan(r.history[r.history.length - 1].accuracy);
  });
});

describe('toolbox.train: reproducibility and the written model', () => {
  const { X, Y } = problem();

  it('the same seed gives bit-identical weights; another seed other weights', async () => {
    const o: TrainOptions = { batchsize: 7, iters: 60, status: 20, lrate: 0.05 };
    const a = await run(smallNet(), X, Y, { ...o, seed: 42 });
    const b = await run(smallNet(), X, Y, { ...o, seed: 42 });
    const c = await run(smallNet(), X, Y, { ...o, seed: 43 });
    expect(a.seed).toBe(42);
    expect(weightsOf(a.model)).toEqual(weightsOf(b.model));
    expect(weightsOf(a.model)).not.toEqual(weightsOf(c.model));
    // The same seed as explicit indices: the generator's batches, replayed.
    const rng = new TrainRng(42);
    const rows = Array.from({ length: 60 }, () => Array.from(rng.batch(60, 7)));
    const d = await run(smallNet(), X, Y, { ...o, indices: rows });
    expect(weightsOf(d.model)).toEqual(weightsOf(a.model));
  });

  it('batches are sorted, distinct, and cover all samples over time', () => {
    const rng = new TrainRng(1);
    const seen = new Set<number>();
    for (let i = 0; i < 200; ++i) {
      const b = Array.from(rng.batch(30, 10));
      expect(b.length).toBe(10);
      expect(new Set(b).size).toBe(10);
      expect(b).toEqual([...b].sort((p, q) => p - q));
      b.forEach((v) => { expect(v).toBeGreaterThanOrEqual(0); expect(v).toBeLessThan(30); seen.add(v); });
    }
    expect(seen.size).toBe(30);
  });

  it('writes the toolbox text format and re-reads the identical net (weights and predictions)', async () => {
    const r = await train(smallNet(), X, Y, { batchsize: 10, iters: 40, status: 20, lrate: 0.05, seed: 7 });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'caffe-lrp-train-'));
    try {
      const file = path.join(dir, 'model.txt');
      await writeToolboxModel(file, r.model);
      const back = await readToolboxModel(file);
      // Float32 weights are written as their shortest decimals; read back (float64) and rounded
      // to float32 they are the engine's values again.
      expect(weightsOf(back).map((w) => w.map(Math.fround))).toEqual(weightsOf(r.model));
      const reread = await loadToolboxNet(back);
      try {
        const input = Float32Array.from(X.data);
        expect(await reread.forward(input)).toEqual(await r.net.forward(input));
      } finally {
        await reread.dispose();
      }
    } finally {
      await r.net.dispose();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('applies `transform` to every minibatch (toolbox layout)', async () => {
    const o: TrainOptions = { batchsize: 10, iters: 20, status: 10, lrate: 0.05, seed: 5 };
    const plain = await run(smallNet(), X, Y, o);
    const shapes: number[][] = [];
    const same = await run(smallNet(), X, Y, { ...o, transform: (b, shape) => { shapes.push(shape); return b.slice(); } });
    expect(shapes.length).toBe(20);
    expect(shapes[0]).toEqual([10, 4]);
    expect(weightsOf(same.model)).toEqual(weightsOf(plain.model));
    // Zeroed inputs: the first layer's weight gradient x^T delta vanishes, its weights stay.
    const zero = await run(smallNet(), X, Y, { ...o, transform: (b) => new Float64Array(b.length) });
    expect(weightsOf(zero.model)[0]).toEqual(weightsOf(smallNet())[0].map(Math.fround));
    expect(weightsOf(zero.model)[1]).not.toEqual(weightsOf(smallNet())[1].map(Math.fround));
  });

  it('trains a conv net on NHWC input (Float32Array data)', async () => {
    const r0 = prng(12);
    const n = 20, x = Float32Array.from({ length: n * 6 * 6 }, () => 2 * r0() - 1), y = new Float32Array(n * 2);
    for (let s = 0; s < n; ++s) y[s * 2 + (x[s * 36 + 14] > 0 ? 1 : 0)] = 1;
    const model = initToolboxModel(['Convolution 3 3 1 2 1 1', 'Rect', 'MaxPool 2 2 2 2', 'Flatten', 'Linear 8 2', 'SoftMax'], { seed: 2 });
    const r = await run(model, { data: x, shape: [n, 6, 6, 1] }, { data: y, shape: [n, 2] }, { batchsize: 5, iters: 20, status: 10, lrate: 0.05, seed: 1 });
    expect(r.history.length).toBe(2);
    expect(weightsOf(r.model)).not.toEqual(weightsOf(model));
  });
});

describe('toolbox.train: bad input', () => {
  const { X, Y } = problem();
  const bad: [string, () => Promise<unknown>, string, RegExp][] = [
    ['X of the wrong width', () => train(smallNet(), arr([2, 3], [1, 2, 3, 4, 5, 6]), arr([2, 3], [1, 0, 0, 0, 1, 0]), { batchsize: 1 }), 'SHAPE', /X: samples of shape 3/],
    ['X shape and data disagree', () => train(smallNet(), { data: new Float64Array(7), shape: [2, 4] }, Y), 'SHAPE', /X: shape 2x4 needs 8 values, got 7/],
    ['Y rows differ from X', () => train(smallNet(), X, arr([1, 3], [1, 0, 0])), 'SHAPE', /Y: must be 60 x 3/],
    ['Y columns differ from the outputs', () => train(smallNet(), X, { data: new Float64Array(120), shape: [60, 2] }), 'SHAPE', /Y: must be 60 x 3/],
    ['non-finite X', () => train(smallNet(), { data: Float64Array.from(X.data, (v, i) => (i === 5 ? NaN : v)), shape: X.shape }, Y), 'OPTION', /X: value NaN at index 5 \(sample 1\)/],
    ['batchsize > N', () => train(smallNet(), X, Y, { batchsize: 61 }), 'OPTION', /'batchsize': 61 is more than the 60/],
    ['batchsize 0', () => train(smallNet(), X, Y, { batchsize: 0 }), 'OPTION', /'batchsize'/],
    ['unknown lrateDecay', () => train(smallNet(), X, Y, { lrateDecay: 'exponential' as never }), 'OPTION', /'lrateDecay': must be one of/],
    ['status 0', () => train(smallNet(), X, Y, { status: 0 }), 'OPTION', /'status'/],
    ['lrate NaN', () => train(smallNet(), X, Y, { lrate: NaN }), 'OPTION', /'lrate'/],
    ['Xval without Yval', () => train(smallNet(), X, Y, { Xval: X }), 'OPTION', /'Xval' and 'Yval'/],
    ['indices of the wrong size', () => train(smallNet(), X, Y, { iters: 2, batchsize: 2, indices: [1, 2, 3] }), 'OPTION', /'indices': needs iters x batchsize = 2 x 2 = 4/],
    ['indices out of range', () => train(smallNet(), X, Y, { iters: 1, batchsize: 2, indices: [[0, 60]] }), 'OPTION', /'indices': entry 1 \(iteration 0\) is 60/],
    ['seed out of range', () => train(smallNet(), X, Y, { seed: -1 }), 'OPTION', /'seed'/],
    ['transform not a function', () => train(smallNet(), X, Y, { transform: 3 as never }), 'OPTION', /'transform'/],
    ['transform returning the wrong length', () => train(smallNet(), X, Y, { iters: 1, transform: () => new Float32Array(3) }), 'OPTION', /'transform': must return/],
    ['a model without learned layers', () => train({ layers: [{ type: 'SoftMax' }] }, X, Y), 'SHAPE', /.+/],
  ];
  for (const [name, call, code, message] of bad) {
    it(name, async () => {
      const e = await call().then(() => undefined, (err) => err);
      expect(e).toBeInstanceOf(CaffeLrpError);
      expect((e as CaffeLrpError).code).toBe(code);
      expect((e as Error).message).toMatch(message);
    });
  }

  it('a diverging run stops with a clear error instead of NaN weights', async () => {
    const e = await train(smallNet(), X, Y, { iters: 50, batchsize: 60, status: 10, lrate: 1e38, seed: 1 }).then(() => undefined, (err) => err);
    expect(e).toBeInstanceOf(CaffeLrpError);
    expect((e as CaffeLrpError).code).toBe('STATE');
    expect((e as Error).message).toMatch(/non-finite .* the training diverged/);
  });
});
