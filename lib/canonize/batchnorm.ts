/**
 * The BatchNorm canonizer (Zennit's SequentialMergeBatchNorm): a batch norm directly after a
 * Convolution or InnerProduct whose output feeds only that batch norm is folded into the
 * layer's weights, so the rules see one linear layer instead of a linear map followed by a
 * per-channel affine map:
 *
 *   s = γ / √(var + eps),   W' = W · s (per output channel),   b' = (b − mean) · s + β
 *
 * (float64 arithmetic). Forms recognised: Caffe's BatchNorm (mean and var are stored
 * multiplied by the moving-average factor in blob 2, divided out here as Caffe does),
 * Caffe's BatchNorm followed by its Scale (γ, β), and the Scale layer the ONNX lowering makes
 * of a BatchNormalization it could not fold itself. The folded layers stay in the net as
 * Identity layers with their names, so layer indices are the same in both nets. Unlike
 * Zennit 0.5.1, the merged batch norm is an exact identity (Zennit's keeps dividing by
 * √(1 + eps); see ../shared/vectors/onnx/README.md). Batch norms without such a producer
 * are left alone (they keep their rule).
 */
import { CaffeLrpError } from '../errors';
import type { BlobData, LayerSpec, NetSpec } from '../caffe/netspec-types';
import { layerGraph } from './graph';

/** One fold: the batch norm layers (BatchNorm, then maybe Scale) merged into layer `into`. */
export interface BatchNormMerge {
  into: number;
  merged: number[];
}

const LINEAR = new Set(['Convolution', 'InnerProduct']);

function param(layer: LayerSpec, key: string, fallback: number): number {
  const v = layer.params[key];
  return typeof v === 'number' ? v : fallback;
}

/** A per-channel Scale on axis 1 with learned factors (not the two-input form). */
function isChannelScale(layer: LayerSpec): boolean {
  return layer.type === 'Scale' && layer.bottoms.length === 1 && layer.tops.length === 1 &&
    param(layer, 'axis', 1) === 1 && param(layer, 'numAxes', 1) === 1;
}

/** The Scale the ONNX lowering writes for a BatchNormalization node. */
function isLoweredBatchNorm(layer: LayerSpec): boolean {
  return isChannelScale(layer) && (layer as { onnx?: { op?: string } }).onnx?.op === 'BatchNormalization';
}

/** Which batch norms fold into which layer (from the structure alone: no weights needed). */
export function planBatchNormMerges(spec: NetSpec): BatchNormMerge[] {
  const { producers, consumers } = layerGraph(spec);
  const soleReader = (j: number): number | undefined => (consumers[j].length === 1 ? consumers[j][0] : undefined);
  const plan: BatchNormMerge[] = [];
  spec.layers.forEach((layer, i) => {
    const caffeBn = layer.type === 'BatchNorm' && layer.bottoms.length === 1 && layer.tops.length === 1;
    if (!caffeBn && !isLoweredBatchNorm(layer)) return;
    const p = producers[i][0];
    if (p < 0) return;
    const prev = spec.layers[p];
    if (!LINEAR.has(prev.type) || prev.tops.length !== 1 || param(prev, 'axis', 1) !== 1 || soleReader(p) !== i) return;
    const merged = [i];
    const next = soleReader(i);
    if (caffeBn && next !== undefined && isChannelScale(spec.layers[next])) merged.push(next);
    plan.push({ into: p, merged });
  });
  return plan;
}

/** The per-channel map y = s x + t of a batch norm layer (BatchNorm or Scale), in float64. */
function channelMap(layer: LayerSpec, channels: number, file: string | undefined): { s: number[]; t: number[] } {
  const wrong = (what: string): never => {
    throw new CaffeLrpError('SHAPE', `canonize: layer '${layer.name}' (${layer.type}): ${what}, expected ${channels} (the outputs of the layer before)`, { file, layer: layer.name });
  };
  if (layer.type === 'BatchNorm') {
    const [mean, varc, factorBlob] = layer.blobs;
    if (!mean || !varc || !factorBlob || factorBlob.data.length < 1) wrong(`needs 3 learned blobs (mean, variance, factor), got ${layer.blobs.length}`);
    if (mean.data.length !== channels || varc.data.length !== channels) wrong(`mean/variance have ${mean.data.length}/${varc.data.length} values`);
    const factor = factorBlob.data[0];
    const k = factor === 0 ? 0 : 1 / factor; // Caffe: the stored statistics are sums weighted by the factor
    const eps = param(layer, 'eps', 1e-5);
    const s = Array.from(varc.data, (v) => 1 / Math.sqrt(v * k + eps));
    return { s, t: s.map((si, c) => -mean.data[c] * k * si) };
  }
  const [gamma, beta] = layer.blobs;
  if (!gamma || gamma.data.length !== channels) wrong(`has ${gamma ? gamma.data.length : 0} factors`);
  if (beta && beta.data.length !== channels) wrong(`has ${beta.data.length} bias values`);
  return { s: Array.from(gamma.data), t: Array.from(gamma.data, (_, c) => (beta ? beta.data[c] : 0)) };
}

/** W' = W s per output channel, b' = b s + t. New arrays: the originals may be shared. */
function foldInto(layer: LayerSpec, s: number[], t: number[]): BlobData[] {
  const [w, b] = layer.blobs;
  const channels = s.length;
  const data = new Float32Array(w.data.length);
  const transposed = layer.type === 'InnerProduct' && layer.params.transpose === true;
  const per = w.data.length / channels;
  for (let i = 0; i < w.data.length; i++) {
    const o = transposed ? i % channels : Math.floor(i / per); // [K, N] when transposed, else [N, ...]
    data[i] = w.data[i] * s[o];
  }
  const bias = Float32Array.from(t, (tc, o) => (b ? b.data[o] : 0) * s[o] + tc);
  return [{ shape: w.shape, data }, { shape: [channels], data: bias }];
}

/** The layer left where a batch norm was folded away. */
function identity(layer: LayerSpec): LayerSpec {
  const { name, bottoms, tops, line, topShapes } = layer;
  const onnx = (layer as { onnx?: unknown }).onnx;
  return { name, type: 'Identity', bottoms, tops, params: {}, blobs: [], line, topShapes, ...(onnx ? { onnx } : {}) } as LayerSpec;
}

/** Applies a plan to a spec with weights (of at least the layers the plan names). */
export function mergeBatchNorms(spec: NetSpec, plan: BatchNormMerge[]): NetSpec {
  const layers = spec.layers.slice();
  for (const { into, merged } of plan) {
    const target = layers[into];
    const channels = param(target, 'numOutput', 0);
    if (target.blobs.length < 1) throw new CaffeLrpError('SHAPE', `canonize: layer '${target.name}' has no weights to merge into`, { file: spec.source, layer: target.name });
    // Compose the batch norm's maps: s x + t after s0 x + t0 is (s s0) x + (s t0 + t).
    let s = new Array<number>(channels).fill(1), t = new Array<number>(channels).fill(0);
    for (const m of merged) {
      const next = channelMap(layers[m], channels, spec.source);
      s = s.map((v, c) => v * next.s[c]);
      t = t.map((v, c) => v * next.s[c] + next.t[c]);
      layers[m] = identity(layers[m]);
    }
    layers[into] = { ...target, params: { ...target.params, biasTerm: true }, blobs: foldInto(target, s, t) };
  }
  return { ...spec, layers };
}
