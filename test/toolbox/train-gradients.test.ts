/**
 * The engine's training pass (native trainBackward): the learned-blob gradients of Linear and
 * Convolution through every toolbox layer kind (Tanh, Rect, SoftMax, MaxPool, SumPool,
 * Flatten, strided and non-square convolutions) equal central finite differences of the
 * loss computed by an independent float64 forward pass (test/helpers/toolbox-forward64.ts);
 * MaxPool gives every tied maximum the full gradient, as the toolbox does.
 */
import { loadNative } from '../../lib/native';
import { initToolboxModel, netSpecToToolbox, nhwcToNchw, toolboxToNetSpec, type ToolboxModel } from '../../lib/toolbox';
import { forward64, loss64, type Tensor64 } from '../helpers/toolbox-forward64';
import { prng } from '../helpers/random';
import { relativeL2 } from '../helpers/vectors';

/** A model with random biases too (zero biases would put Rect kinks and pool ties on symmetric points). */
function randomModel(arch: string[], seed: number): ToolboxModel {
  const model = initToolboxModel(arch, { seed });
  const r = prng(seed + 100);
  for (const l of model.layers) if (l.type === 'Linear' || l.type === 'Convolution') for (let i = 0; i < l.bias.length; ++i) l.bias[i] = 0.2 * (r() - 0.5);
  return model;
}

function randomData(shape: number[], classes: number, seed: number): { x: Tensor64; y: Float64Array } {
  const r = prng(seed);
  const n = shape[0], count = shape.reduce((a, b) => a * b, 1);
  const x = { data: Float64Array.from({ length: count }, () => 2 * r() - 1), shape };
  const y = new Float64Array(n * classes);
  for (let s = 0; s < n; ++s) y[s * classes + Math.floor(r() * classes)] = 1;
  return { x, y };
}

/** The engine's gradients in the toolbox's layout, one {weights, bias} per learned module. */
async function engineGradients(model: ToolboxModel, x: Tensor64, y: Float64Array): Promise<{ weights: ArrayLike<number>; bias: ArrayLike<number> }[]> {
  const sample = x.shape.slice(1);
  const spec = toolboxToNetSpec(model, { inputShape: sample.length === 1 ? sample : sample, batchSize: x.shape[0] });
  const net = new (loadNative().NativeNet)(spec);
  try {
    const input = Float32Array.from(x.data);
    const [out] = await net.forward([x.shape.length === 4 ? nhwcToNchw(input, x.shape) : input]);
    const seed = Float32Array.from(out.data, (v, i) => v - y[i]);
    const learned = spec.layers.flatMap((l, i) => (l.type === 'InnerProduct' || l.type === 'Convolution' ? [i] : []));
    const grads = (await net.trainBackward({ start: spec.layers.length - 1, end: learned[0], seed, layers: learned })) as Float32Array[][];
    // Gradients share the weights' layout: netSpecToToolbox converts them like weights.
    const layers = spec.layers.map((l, i) => (learned.includes(i) ? { ...l, blobs: l.blobs.map((b, j) => ({ ...b, data: grads[learned.indexOf(i)][j] })) } : l));
    return netSpecToToolbox({ ...spec, layers }).layers.flatMap((l) => (l.type === 'Linear' || l.type === 'Convolution' ? [{ weights: l.weights, bias: l.bias }] : []));
  } finally {
    net.dispose();
  }
}

/** Central differences of the float64 loss for every weight and bias. */
function finiteDifferences(model: ToolboxModel, x: Tensor64, y: Float64Array, h = 1e-6): { weights: Float64Array; bias: Float64Array }[] {
  const out: { weights: Float64Array; bias: Float64Array }[] = [];
  for (const l of model.layers) {
    if (l.type !== 'Linear' && l.type !== 'Convolution') continue;
    const fd = (v: Float64Array) => Float64Array.from(v, (_, i) => {
      const keep = v[i];
      v[i] = keep + h; const up = loss64(model, x, y);
      v[i] = keep - h; const down = loss64(model, x, y);
      v[i] = keep;
      return (up - down) / (2 * h);
    });
    out.push({ weights: fd(l.weights as Float64Array), bias: fd(l.bias as Float64Array) });
  }
  return out;
}

const CASES: { name: string; arch: string[]; input: number[]; classes: number }[] = [
  { name: 'MLP: Linear, Tanh, Rect, SoftMax', arch: ['Linear 6 5', 'Tanh', 'Linear 5 4', 'Rect', 'Linear 4 3', 'SoftMax'], input: [4, 6], classes: 3 },
  // MaxPool sits where its windows hold no equal values: after Rect + overlapping SumPool two
  // windows can sum the same single non-zero input, and the toolbox's tie rule (full gradient
  // to every maximum, tested below) is then not the derivative.
  {
    name: 'conv net: Convolution (stride 1), Tanh, MaxPool (overlapping), Rect, SumPool, Convolution, Flatten, Linear, SoftMax',
    arch: ['Convolution 3 3 2 3 1 1', 'Tanh', 'MaxPool 2 2 1 1', 'Rect', 'SumPool 2 2 2 2', 'Convolution 2 2 3 4 1 1', 'Tanh', 'Flatten', 'Linear 16 3', 'SoftMax'],
    input: [3, 9, 9, 2], classes: 3,
  },
  {
    name: 'strided non-square convolution, no final SoftMax (squared error)',
    arch: ['Convolution 3 2 2 3 2 1', 'Rect', 'MaxPool 3 3 2 2', 'Flatten', 'Linear 9 2'],
    input: [2, 9, 8, 2], classes: 2,
  },
];

describe('training pass: learned-blob gradients equal float64 finite differences', () => {
  for (const c of CASES) {
    it(c.name, async () => {
      const model = randomModel(c.arch, 7);
      const { x, y } = randomData(c.input, c.classes, 11);
      expect(forward64(model, x).data.length).toBe(c.input[0] * c.classes);
      const got = await engineGradients(model, x, y);
      const want = finiteDifferences(model, x, y);
      expect(got.length).toBe(want.length);
      got.forEach((g, k) => {
        expect(g.weights.length).toBe(want[k].weights.length);
        expect(relativeL2(g.weights, want[k].weights)).toBeLessThan(1e-4);
        expect(relativeL2(g.bias, want[k].bias)).toBeLessThan(1e-4);
      });
    });
  }

  it('MaxPool passes the full gradient to every tied maximum (the toolbox\'s backward)', async () => {
    // Convolution 1x1 (weight 1, bias 0) -> MaxPool 2x2 -> Flatten -> Linear 4 1 (weights 1, 2, 3, 4).
    const model: ToolboxModel = {
      layers: [
        { type: 'Convolution', h: 1, w: 1, d: 1, n: 1, stride: [1, 1], weights: Float64Array.of(1), bias: Float64Array.of(0) },
        { type: 'MaxPool', pool: [2, 2], stride: [2, 2] },
        { type: 'Flatten' },
        { type: 'Linear', m: 4, n: 1, weights: Float64Array.of(1, 2, 3, 4), bias: Float64Array.of(0) },
      ],
    };
    // 4 x 4 image: window (0,0) has a tie of two 5s, window (0,1) three 2s, the others a single maximum (3, 7).
    const img = [
      5, 5, 2, 2,
      1, 0, 2, 1,
      0, 3, 7, 1,
      1, 0, 0, 6,
    ];
    const spec = toolboxToNetSpec(model, { inputShape: [4, 4, 1], batchSize: 1 });
    const net = new (loadNative().NativeNet)(spec);
    try {
      await net.forward([Float32Array.from(img)]);
      const grads = (await net.trainBackward({ start: spec.layers.length - 1, end: 0, seed: Float32Array.of(1), layers: [0] })) as Float32Array[][];
      const diff = Array.from(net.blobData('conv0').diff);
      // Pool outputs in order (0,0), (0,1), (1,0), (1,1) get the Linear weights 1, 2, 3, 4.
      expect(diff).toEqual([
        1, 1, 2, 2,
        0, 0, 2, 0,
        0, 3, 4, 0,
        0, 0, 0, 0,
      ]);
      // dW of the 1x1 convolution = sum of x * diff; dB = sum of diff.
      expect(grads[0][0][0]).toBeCloseTo(5 + 5 + 2 * 2 * 3 + 3 * 3 + 7 * 4, 4);
      expect(grads[0][1][0]).toBeCloseTo(1 + 1 + 2 * 3 + 3 + 4, 4);
    } finally {
      net.dispose();
    }
  });

  it('refuses bad requests with clear errors', async () => {
    const model = randomModel(['Linear 3 2', 'SoftMax'], 1);
    const spec = toolboxToNetSpec(model, { batchSize: 2 });
    const net = new (loadNative().NativeNet)(spec);
    try {
      await expect(net.trainBackward({ start: 1, end: 0, seed: new Float32Array(4), layers: [0] })).rejects.toThrow(/no forward pass/);
      await net.forward([new Float32Array(6)]);
      await expect(net.trainBackward({ start: 1, end: 0, seed: new Float32Array(3), layers: [0] })).rejects.toThrow(/has 3 values but layer 'softmax1' outputs 4/);
      await expect(net.trainBackward({ start: 1, end: 0, seed: Float32Array.of(0, NaN, 0, 0), layers: [0] })).rejects.toThrow(/non-finite/);
      expect(() => net.trainBackward({ start: 2, end: 0, seed: new Float32Array(4), layers: [0] })).toThrow(/start must be an integer in \[0, 1\]/);
      expect(() => net.trainBackward({ start: 1, end: 0, seed: new Float32Array(4), layers: [0], factors: [[1]] })).toThrow(/must hold 2 numbers/);
      await expect(net.trainBackward({ start: 1, end: 0, seed: new Float32Array(4), layers: [1] })).rejects.toThrow(/no learned-blob gradients/);
      expect(() => net.learnedBlobs(5)).toThrow(/layer must be an integer/);
    } finally {
      net.dispose();
    }
  });
});
