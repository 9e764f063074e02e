/**
 * A float64 forward pass of toolbox models written straight from the toolbox's module
 * definitions (NHWC data, filters (h, w, d, n), Linear (m, n)), independent of the engine:
 * the reference for finite-difference gradient tests. Slow and simple on purpose.
 */
import type { ToolboxModel } from '../../lib/toolbox';

export interface Tensor64 { data: Float64Array; shape: number[] }

export function forward64(model: ToolboxModel, x: Tensor64): Tensor64 {
  let cur = x;
  for (const l of model.layers) {
    switch (l.type) {
      case 'Linear': {
        const n = cur.shape[0], m = l.m, out = new Float64Array(n * l.n);
        for (let s = 0; s < n; ++s)
          for (let j = 0; j < l.n; ++j) {
            let z = l.bias[j];
            for (let i = 0; i < m; ++i) z += cur.data[s * m + i] * l.weights[i * l.n + j];
            out[s * l.n + j] = z;
          }
        cur = { data: out, shape: [n, l.n] };
        break;
      }
      case 'Convolution': {
        const [n, H, W, D] = cur.shape;
        const ho = Math.floor((H - l.h) / l.stride[0]) + 1, wo = Math.floor((W - l.w) / l.stride[1]) + 1;
        const out = new Float64Array(n * ho * wo * l.n);
        for (let s = 0; s < n; ++s)
          for (let i = 0; i < ho; ++i)
            for (let j = 0; j < wo; ++j)
              for (let f = 0; f < l.n; ++f) {
                let z = l.bias[f];
                for (let a = 0; a < l.h; ++a)
                  for (let b = 0; b < l.w; ++b)
                    for (let d = 0; d < D; ++d)
                      z += cur.data[((s * H + i * l.stride[0] + a) * W + j * l.stride[1] + b) * D + d] * l.weights[((a * l.w + b) * l.d + d) * l.n + f];
                out[((s * ho + i) * wo + j) * l.n + f] = z;
              }
        cur = { data: out, shape: [n, ho, wo, l.n] };
        break;
      }
      case 'MaxPool':
      case 'SumPool': {
        const [n, H, W, D] = cur.shape;
        const [ph, pw] = l.pool, [sh, sw] = l.stride;
        const ho = Math.floor((H - ph) / sh) + 1, wo = Math.floor((W - pw) / sw) + 1;
        const out = new Float64Array(n * ho * wo * D);
        for (let s = 0; s < n; ++s)
          for (let i = 0; i < ho; ++i)
            for (let j = 0; j < wo; ++j)
              for (let d = 0; d < D; ++d) {
                let acc = l.type === 'MaxPool' ? -Infinity : 0;
                for (let a = 0; a < ph; ++a)
                  for (let b = 0; b < pw; ++b) {
                    const v = cur.data[((s * H + i * sh + a) * W + j * sw + b) * D + d];
                    acc = l.type === 'MaxPool' ? Math.max(acc, v) : acc + v;
                  }
                out[((s * ho + i) * wo + j) * D + d] = l.type === 'MaxPool' ? acc : acc / Math.sqrt(ph * pw);
              }
        cur = { data: out, shape: [n, ho, wo, D] };
        break;
      }
      case 'Rect': cur = { data: cur.data.map((v) => Math.max(0, v)), shape: cur.shape }; break;
      case 'Tanh': cur = { data: cur.data.map(Math.tanh), shape: cur.shape }; break;
      case 'Flatten': cur = { data: cur.data, shape: [cur.shape[0], cur.data.length / cur.shape[0]] }; break;
      case 'SoftMax': {
        const [n, c] = [cur.shape[0], cur.data.length / cur.shape[0]];
        const out = new Float64Array(cur.data.length);
        for (let s = 0; s < n; ++s) {
          let sum = 0;
          for (let j = 0; j < c; ++j) sum += Math.exp(cur.data[s * c + j]);
          for (let j = 0; j < c; ++j) out[s * c + j] = Math.exp(cur.data[s * c + j]) / sum;
        }
        cur = { data: out, shape: cur.shape };
        break;
      }
    }
  }
  return cur;
}

/**
 * The loss whose gradient the toolbox's error signal (prediction - target) is: the summed
 * cross-entropy when the model ends with SoftMax, else half the summed squared error.
 */
export function loss64(model: ToolboxModel, x: Tensor64, y: Float64Array): number {
  const out = forward64(model, x).data;
  const softmax = model.layers[model.layers.length - 1].type === 'SoftMax';
  let l = 0;
  for (let i = 0; i < out.length; ++i) l += softmax ? (y[i] ? -y[i] * Math.log(out[i]) : 0) : 0.5 * (out[i] - y[i]) ** 2;
  return l;
}
