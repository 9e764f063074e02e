/**
 * Legacy Caffe formats → the current ones, the way Caffe upgrades them when it loads a
 * file: V1 `layers` (enum types, blobs_lr/weight_decay) → V2 `layer`, and legacy 4-D
 * blob dims → the shape the layer expects.
 */
import { CaffeLrpError } from '../errors';
import { DecodedBlob, LayerObject, NetParameterObject, V1LayerObject, countOf } from './proto-objects';
import { copySourceLine } from './source-line';

/** V1LayerParameter.LayerType → V2 type string, as Caffe's UpgradeV1LayerType maps them. */
export const V1_TYPE_NAMES: Readonly<Record<string, string>> = {
  ABSVAL: 'AbsVal',
  ACCURACY: 'Accuracy',
  ARGMAX: 'ArgMax',
  BNLL: 'BNLL',
  CONCAT: 'Concat',
  CONTRASTIVE_LOSS: 'ContrastiveLoss',
  CONVOLUTION: 'Convolution',
  DATA: 'Data',
  DECONVOLUTION: 'Deconvolution',
  DROPOUT: 'Dropout',
  DUMMY_DATA: 'DummyData',
  EUCLIDEAN_LOSS: 'EuclideanLoss',
  ELTWISE: 'Eltwise',
  EXP: 'Exp',
  FLATTEN: 'Flatten',
  HDF5_DATA: 'HDF5Data',
  HDF5_OUTPUT: 'HDF5Output',
  HINGE_LOSS: 'HingeLoss',
  IM2COL: 'Im2col',
  IMAGE_DATA: 'ImageData',
  INFOGAIN_LOSS: 'InfogainLoss',
  INNER_PRODUCT: 'InnerProduct',
  LRN: 'LRN',
  MEMORY_DATA: 'MemoryData',
  MULTINOMIAL_LOGISTIC_LOSS: 'MultinomialLogisticLoss',
  MVN: 'MVN',
  POOLING: 'Pooling',
  POWER: 'Power',
  RELU: 'ReLU',
  SIGMOID: 'Sigmoid',
  SIGMOID_CROSS_ENTROPY_LOSS: 'SigmoidCrossEntropyLoss',
  SILENCE: 'Silence',
  SOFTMAX: 'Softmax',
  SOFTMAX_LOSS: 'SoftmaxWithLoss',
  SPLIT: 'Split',
  SLICE: 'Slice',
  TANH: 'TanH',
  WINDOW_DATA: 'WindowData',
  THRESHOLD: 'Threshold',
};

/** V1 fields that carry over to V2 under the same name. */
const V1_SAME_NAME_FIELDS = ['name', 'bottom', 'top', 'include', 'exclude', 'blobs', 'loss_weight'];

/** V1 fields replaced by V2's `param` list (ParamSpec), or by the type string. */
const V1_SPECIAL_FIELDS = new Set(['type', 'param', 'blob_share_mode', 'blobs_lr', 'weight_decay']);

/**
 * Returns the layers of a net as V2 layer objects. V1 nets are upgraded; a net with both
 * `layer` and `layers` is rejected as Caffe does.
 */
export function upgradeLayers(net: NetParameterObject, file: string): LayerObject[] {
  const v2 = net.layer ?? [];
  const v1 = net.layers ?? [];
  if (v2.length && v1.length) {
    throw new CaffeLrpError(
      'SCHEMA',
      `the net has both V2 'layer' and legacy V1 'layers' entries; Caffe refuses such files, use one form`,
      { file },
    );
  }
  return v1.length ? v1.map((l) => upgradeV1Layer(l, file)) : v2;
}

export function upgradeV1Layer(v1: V1LayerObject, file: string): LayerObject {
  const out: LayerObject = {};
  copySourceLine(v1, out);
  for (const f of V1_SAME_NAME_FIELDS) if (v1[f] !== undefined) out[f] = v1[f];
  out.type = v1TypeName(v1, file);
  const params = upgradeParamSpecs(v1);
  if (params.length) out.param = params;
  // Every other field (*_param, transform_param, loss_param) has the same name and message in V2.
  for (const [key, value] of Object.entries(v1)) {
    if (!V1_SAME_NAME_FIELDS.includes(key) && !V1_SPECIAL_FIELDS.has(key)) out[key] = value;
  }
  return out;
}

function v1TypeName(v1: V1LayerObject, file: string): string {
  const t = v1.type;
  if (typeof t === 'string' && V1_TYPE_NAMES[t]) return V1_TYPE_NAMES[t];
  throw new CaffeLrpError(
    'SCHEMA',
    t === undefined || t === 'NONE' ? `V1 layer has no type` : `unknown V1 layer type ${String(t)}`,
    { file, layer: v1.name },
  );
}

/** blobs_lr / weight_decay / param names / blob_share_mode → one ParamSpec per blob. */
function upgradeParamSpecs(v1: V1LayerObject): Record<string, unknown>[] {
  const lists: [string, string][] = [
    ['param', 'name'],
    ['blob_share_mode', 'share_mode'],
    ['blobs_lr', 'lr_mult'],
    ['weight_decay', 'decay_mult'],
  ];
  const specs: Record<string, unknown>[] = [];
  for (const [v1Field, specField] of lists) {
    const values = v1[v1Field];
    if (!Array.isArray(values)) continue;
    values.forEach((v, i) => {
      while (specs.length <= i) specs.push({});
      specs[i][specField] = v;
    });
  }
  return specs;
}

/**
 * Fits a stored blob to the shape the layer expects. A blob with a BlobShape must match
 * exactly. Legacy 4-D dims (V1 files) are accepted when the element count matches and
 * reshaped, e.g. InnerProduct 1x1x500x800 → [500, 800], biases 1x1x1xN → [N]; the data
 * order is the same row-major order either way. Returns undefined when it does not fit.
 */
export function fitBlobShape(blob: DecodedBlob, expected: readonly number[]): number[] | undefined {
  if (!blob.legacy) return sameShape(blob.shape, expected) ? [...expected] : undefined;
  return countOf(blob.shape) === countOf(expected) ? [...expected] : undefined;
}

export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}
