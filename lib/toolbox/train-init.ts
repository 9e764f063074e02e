/**
 * New toolbox models with the toolbox's initialisation (linear.py / convolution.py
 * constructors): Linear m n weights ~ N(0, m^-0.5), Convolution h w d n weights ~
 * N(0, (h*w*d)^-0.5), biases 0. The gaussians come from our seeded generator (polar
 * Box-Muller over TrainRng), not numpy's, so a seed does not recreate a toolbox model.
 *
 *   const model = initToolboxModel(['Linear 784 1296', 'Rect', 'Linear 1296 10', 'SoftMax'], { seed: 1 });
 */
import { showValue } from '../relevance/show-value';
import { CaffeLrpError } from '../errors';
import type { ToolboxLayer, ToolboxModel } from './model';
import { TrainRng } from './train-rng';

/** The toolbox's "long-rect" MLP (its models/MNIST/long-rect.txt architecture). */
export const LONG_RECT_ARCHITECTURE = [
  'Linear 784 1296', 'Rect', 'Linear 1296 1296', 'Rect', 'Linear 1296 1296', 'Rect', 'Linear 1296 10', 'SoftMax',
] as const;

/** A LeNet-like conv net for 28 x 28 x 1 digits (conv 5x5 stride 1, max-pool 2x2, two times, then dense). */
export const LENET_LIKE_ARCHITECTURE = [
  'Convolution 5 5 1 10 1 1', 'Rect', 'MaxPool 2 2 2 2', 'Convolution 5 5 10 25 1 1', 'Rect', 'MaxPool 2 2 2 2',
  'Flatten', 'Linear 400 100', 'Rect', 'Linear 100 10', 'SoftMax',
] as const;

class Gaussian {
  private cached: number | undefined;
  constructor(private readonly rng: TrainRng) {}
  /** Uniform in [0, 1) with 53 random bits. */
  private uniform(): number {
    const a = this.rng.nextU32() >>> 5, b = this.rng.nextU32() >>> 6;
    return (a * 67108864 + b) / 9007199254740992;
  }
  next(): number {
    if (this.cached !== undefined) {
      const c = this.cached;
      this.cached = undefined;
      return c;
    }
    for (;;) {
      const x1 = 2 * this.uniform() - 1, x2 = 2 * this.uniform() - 1, r2 = x1 * x1 + x2 * x2;
      if (r2 > 0 && r2 < 1) {
        const f = Math.sqrt((-2 * Math.log(r2)) / r2);
        this.cached = f * x1;
        return f * x2;
      }
    }
  }
}

/** A model from header lines ('Linear 784 10', 'Convolution 5 5 1 8 1 1', 'MaxPool 2 2 2 2', 'Rect', ...). */
export function initToolboxModel(architecture: readonly string[], options: { seed?: number } = {}): ToolboxModel {
  const seed = options.seed ?? 0;
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new CaffeLrpError('OPTION', `option 'seed': must be an integer in [0, 4294967295], got ${showValue(seed)}`);
  const g = new Gaussian(new TrainRng(seed));
  const layers: ToolboxLayer[] = architecture.map((line, k) => {
    const [type, ...rest] = line.trim().split(/\s+/);
    const nums = rest.map(Number);
    const bad = (need: number) => {
      if (nums.length !== need || nums.some((v) => !Number.isInteger(v) || v < 1))
        throw new CaffeLrpError('OPTION', `architecture line ${k + 1} '${line}': ${type} needs ${need} positive integers`);
    };
    switch (type) {
      case 'Linear': {
        bad(2);
        const [m, n] = nums;
        const std = m ** -0.5;
        const weights = new Float64Array(m * n);
        for (let i = 0; i < weights.length; ++i) weights[i] = std * g.next();
        return { type, m, n, weights, bias: new Float64Array(n) };
      }
      case 'Convolution': {
        bad(6);
        const [h, w, d, n, s0, s1] = nums;
        const std = 1 / (h * w * d) ** 0.5;
        const weights = new Float64Array(h * w * d * n);
        for (let i = 0; i < weights.length; ++i) weights[i] = std * g.next();
        return { type, h, w, d, n, stride: [s0, s1], weights, bias: new Float64Array(n) };
      }
      case 'MaxPool': case 'SumPool': {
        bad(4);
        return { type, pool: [nums[0], nums[1]], stride: [nums[2], nums[3]] };
      }
      case 'Rect': case 'Tanh': case 'SoftMax': case 'Flatten':
        bad(0);
        return { type };
      default:
        throw new CaffeLrpError('OPTION', `architecture line ${k + 1} '${line}': unknown layer type '${type}'`);
    }
  });
  return { layers, source: 'initToolboxModel' };
}
