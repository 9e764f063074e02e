/**
 * Data preparation as the LRP Toolbox's MNIST demos do it: pixel values 0..255 scaled to
 * [-1, 1] (x / 127.5 - 1) and, for its convolutional LeNet-5, 28 x 28 digits padded by 2
 * pixels of -1 to 32 x 32 (channels-last, N x H x W x D).
 */
import { showValue } from '../relevance/show-value';
import { CaffeLrpError } from '../errors';

/** x / 127.5 - 1 per value (computed in float64, stored as float32). */
export function scaleDigits(values: ArrayLike<number>): Float32Array {
  const out = new Float32Array(values.length);
  for (let i = 0; i < values.length; ++i) out[i] = values[i] / 127.5 - 1;
  return out;
}

/** Pads N x H x W x D images by `pad` pixels on every side with `value`. Returns the data and its shape. */
export function padImages(data: Float32Array, shape: number[], pad: number, value: number): { data: Float32Array; shape: number[] } {
  const [n, h, w, d] = shape;
  if (shape.length !== 4 || n * h * w * d !== data.length)
    throw new CaffeLrpError('SHAPE', `padImages: ${data.length} values do not fit N x H x W x D = ${shape.join('x')}`);
  if (!Number.isInteger(pad) || pad < 0) throw new CaffeLrpError('OPTION', `padImages: pad must be an integer >= 0, got ${showValue(pad)}`);
  const H = h + 2 * pad, W = w + 2 * pad;
  const out = new Float32Array(n * H * W * d).fill(value);
  for (let i = 0; i < n; ++i)
    for (let y = 0; y < h; ++y)
      out.set(data.subarray(((i * h + y) * w) * d, ((i * h + y) * w + w) * d), ((i * H + y + pad) * W + pad) * d);
  return { data: out, shape: [n, H, W, d] };
}
