/**
 * NetSpec: the plain, typed description of a deploy network that the native engine
 * consumes. It is what lib/caffe makes of a prototxt + caffemodel: TEST phase only,
 * data/loss/accuracy layers removed, net inputs explicit, Caffe's automatic Split layers
 * inserted (so layer indices equal the original's), layer parameters normalised
 * (defaults applied, scalar-or-h/w forms resolved), weights as Float32Array.
 */

export interface BlobData {
  /** Caffe blob shape, e.g. [numOutput, channels/group, kh, kw] for convolution weights. */
  shape: number[];
  data: Float32Array;
}

export interface InputSpec {
  name: string;
  /** N, C, H, W (or any rank Caffe allows; the engine requires 4-D image inputs or 2-D vectors). */
  shape: number[];
}

export interface ConvolutionParams {
  numOutput: number;
  biasTerm: boolean;
  kernel: [number, number]; // [h, w]
  stride: [number, number];
  pad: [number, number];
  dilation: [number, number];
  group: number;
  axis: number;
  /** ONNX only: bottom/right padding [h, w] when it differs from pad (then the top/left padding). */
  padEnd?: [number, number];
}

export interface InnerProductParams {
  numOutput: number;
  biasTerm: boolean;
  axis: number;
  transpose: boolean;
}

export interface PoolingParams {
  pool: 'MAX' | 'AVE' | 'STOCHASTIC';
  kernel: [number, number];
  stride: [number, number];
  pad: [number, number];
  globalPooling: boolean;
  roundMode: 'CEIL' | 'FLOOR';
  /** ONNX only: bottom/right padding [h, w] when it differs from pad (then the top/left padding). */
  padEnd?: [number, number];
  /** ONNX only: AVE divides by the window's pixels inside the image (count_include_pad = 0). */
  excludePad?: boolean;
  /** ONNX only: in ceil mode a last window starting past the image and its top/left padding is dropped, padded or not. */
  lastWindowInside?: boolean;
}

export interface LRNParams {
  localSize: number;
  alpha: number;
  beta: number;
  k: number;
  normRegion: 'ACROSS_CHANNELS' | 'WITHIN_CHANNEL';
}

export interface ReLUParams { negativeSlope: number }
export interface PReLUParams { channelShared: boolean }
export interface SoftmaxParams {
  axis: number;
  /** ONNX only: the logarithm of the softmax (a trailing LogSoftmax). */
  log?: boolean;
}
export interface DropoutParams { dropoutRatio: number }
export interface ConcatParams { axis: number }
export interface SliceParams { axis: number; slicePoints: number[] }
export interface FlattenParams { axis: number; endAxis: number }
export interface ReshapeParams { shape: number[]; axis: number; numAxes: number }
export interface EltwiseParams { operation: 'PROD' | 'SUM' | 'MAX'; coeff: number[] }
export interface BatchNormParams { useGlobalStats: boolean; eps: number; movingAverageFraction: number }
export interface ScaleParams { axis: number; numAxes: number; biasTerm: boolean }
export interface BiasParams { axis: number; numAxes: number }
export interface PowerParams { power: number; scale: number; shift: number }
export interface PermuteParams { order: number[] }
export type EmptyParams = Record<string, never>;

/** Normalised parameters by V2 layer type name. */
export interface LayerParamsByType {
  Convolution: ConvolutionParams;
  InnerProduct: InnerProductParams;
  Pooling: PoolingParams;
  LRN: LRNParams;
  ReLU: ReLUParams;
  PReLU: PReLUParams;
  Softmax: SoftmaxParams;
  Dropout: DropoutParams;
  Concat: ConcatParams;
  Slice: SliceParams;
  Split: EmptyParams;
  Flatten: FlattenParams;
  Reshape: ReshapeParams;
  Eltwise: EltwiseParams;
  BatchNorm: BatchNormParams;
  Scale: ScaleParams;
  Bias: BiasParams;
  TanH: EmptyParams;
  Sigmoid: EmptyParams;
  AbsVal: EmptyParams;
  Power: PowerParams;
  Permute: PermuteParams;
}

export interface LayerSpec {
  name: string;
  /** V2 type name (V1 enum names are mapped, e.g. INNER_PRODUCT -> InnerProduct). */
  type: string;
  bottoms: string[];
  tops: string[];
  /**
   * Normalised parameters for the types in LayerParamsByType; for other types the raw
   * decoded *_param message (or {}), so the engine can name them in its error.
   */
  params: Record<string, unknown>;
  /** Learned blobs in Caffe's order (weights, bias; BatchNorm mean, var, factor; ...). */
  blobs: BlobData[];
  /** 1-based line of the layer in its prototxt, when it came from text (for error messages). */
  line?: number;
  /** Output shapes as lib/caffe infers them (absent when a shape is unknown, e.g. after an unknown layer type). */
  topShapes?: number[][];
  /** For pass-through (unnormalised) types: the Caffe *_param field `params` came from. */
  rawParamName?: string;
  /** True for the Split layers that Caffe (and lib/caffe) insert automatically; not written back to prototxts. */
  inserted?: boolean;
}

export interface NetSpec {
  name: string;
  inputs: InputSpec[];
  layers: LayerSpec[];
  /** Where the definition came from (for error messages). */
  source?: string;
  /** False when the spec was built from a prototxt alone (every layer's blobs are []). */
  weightsLoaded?: boolean;
  /** Where the weights came from (for error messages). */
  weightsSource?: string;
}
