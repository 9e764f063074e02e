/** Heatmaps: relevance maps returned by the API, one per image. */

export type ChannelOrder = 'RGB' | 'GRAY' | 'reversed' | 'blob' | 'input';

export interface Heatmap {
  channels: number;
  height: number;
  width: number;
  /** channels x height x width, row-major within a channel. */
  data: Float32Array;
  /**
   * 'RGB' for the relevance of a 3-channel network input (the blob's BGR channels
   * reversed, like the original's rawhm), 'GRAY' for a 1-channel input, 'reversed' for
   * other inputs (channel order reversed), 'blob' for intermediate blobs (blob order),
   * 'input' for the input of an ONNX net (the input tensor's own channel order, unreversed).
   */
  channelOrder: ChannelOrder;
}

/** Splits an N x ... relevance blob into per-image heatmaps. */
export function toHeatmaps(shape: number[], data: Float32Array, images: number, netInput: boolean, keptInput = false): Heatmap[] {
  // Only image inputs (N x C x H x W) are stored BGR by Caffe convention; vectors keep their order.
  const isNetInput = netInput && shape.length === 4;
  const [n, c = 1, h = 1, w = 1] = shape.length === 2 ? [shape[0], shape[1], 1, 1] : shape;
  const per = data.length / n;
  const channels = shape.length > 4 ? per / (h * w) : c;
  const plane = per / channels;
  const out: Heatmap[] = [];
  for (let i = 0; i < Math.min(images, n); ++i) {
    const src = data.subarray(i * per, (i + 1) * per);
    const dst = new Float32Array(per);
    if (isNetInput) {
      for (let ch = 0; ch < channels; ++ch) dst.set(src.subarray((channels - 1 - ch) * plane, (channels - ch) * plane), ch * plane);
    } else {
      dst.set(src);
    }
    const channelOrder: ChannelOrder = keptInput ? 'input' : !isNetInput ? 'blob' : channels === 3 ? 'RGB' : channels === 1 ? 'GRAY' : 'reversed';
    out.push({ channels, height: shape.length === 2 ? 1 : h, width: shape.length === 2 ? 1 : w, data: dst, channelOrder });
  }
  return out;
}

/** Sensitivity (formula type 99): per-pixel L2 norm over channels, written to every channel. */
export function channelNorm(hm: Heatmap): Heatmap {
  const plane = hm.height * hm.width;
  const out = new Float32Array(hm.data.length);
  for (let p = 0; p < plane; ++p) {
    let s = 0;
    for (let c = 0; c < hm.channels; ++c) s += hm.data[c * plane + p] ** 2;
    const norm = Math.sqrt(s);
    for (let c = 0; c < hm.channels; ++c) out[c * plane + p] = norm;
  }
  return { ...hm, data: out };
}
