import { CaffeLrpError } from '../../lib/errors';
import { V1_TYPE_NAMES, fitBlobShape, upgradeLayers, upgradeV1Layer } from '../../lib/caffe/upgrade';
import { caffeType } from '../../lib/caffe/schema';
import { parsePrototxt } from '../../lib/caffe';

describe('V1 → V2 layer upgrade', () => {
  test('every V1 LayerType of the schema (but NONE) has a V2 name', () => {
    const e = caffeType('V1LayerParameter').lookupEnum('LayerType');
    const names = Object.keys(e.values).filter((n) => n !== 'NONE');
    expect(names.filter((n) => !V1_TYPE_NAMES[n])).toEqual([]);
    expect(Object.keys(V1_TYPE_NAMES).sort()).toEqual(names.sort());
  });

  test('the names Caffe uses', () => {
    const expected: Record<string, string> = {
      CONVOLUTION: 'Convolution', INNER_PRODUCT: 'InnerProduct', POOLING: 'Pooling', RELU: 'ReLU', SOFTMAX: 'Softmax',
      SOFTMAX_LOSS: 'SoftmaxWithLoss', LRN: 'LRN', DROPOUT: 'Dropout', CONCAT: 'Concat', SLICE: 'Slice', SPLIT: 'Split',
      FLATTEN: 'Flatten', ELTWISE: 'Eltwise', TANH: 'TanH', SIGMOID: 'Sigmoid', POWER: 'Power', ABSVAL: 'AbsVal', DATA: 'Data',
      ACCURACY: 'Accuracy', HDF5_DATA: 'HDF5Data', HDF5_OUTPUT: 'HDF5Output', IMAGE_DATA: 'ImageData', MEMORY_DATA: 'MemoryData',
      WINDOW_DATA: 'WindowData', DUMMY_DATA: 'DummyData', EUCLIDEAN_LOSS: 'EuclideanLoss', SILENCE: 'Silence', BNLL: 'BNLL',
      IM2COL: 'Im2col', DECONVOLUTION: 'Deconvolution', MULTINOMIAL_LOGISTIC_LOSS: 'MultinomialLogisticLoss', MVN: 'MVN',
      SIGMOID_CROSS_ENTROPY_LOSS: 'SigmoidCrossEntropyLoss', THRESHOLD: 'Threshold', ARGMAX: 'ArgMax', EXP: 'Exp',
      INFOGAIN_LOSS: 'InfogainLoss', HINGE_LOSS: 'HingeLoss', CONTRASTIVE_LOSS: 'ContrastiveLoss',
    };
    expect(V1_TYPE_NAMES).toEqual(expected);
  });

  test('fields carry over; blobs_lr/weight_decay/param become ParamSpecs; source line kept', () => {
    const net = parsePrototxt(`layers {
  name: "conv1" type: CONVOLUTION bottom: "data" top: "conv1"
  blobs_lr: 1 blobs_lr: 2 weight_decay: 1 weight_decay: 0 param: "w"
  include { phase: TEST }
  convolution_param { num_output: 4 kernel_size: 3 }
  transform_param { scale: 0.5 }
}`, 'v1.prototxt');
    const [l] = upgradeLayers(net, 'v1.prototxt');
    expect(l).toEqual({
      name: 'conv1', type: 'Convolution', bottom: ['data'], top: ['conv1'], include: [{ phase: 'TEST' }],
      param: [{ name: 'w', lr_mult: 1, decay_mult: 1 }, { lr_mult: 2, decay_mult: 0 }],
      convolution_param: { num_output: 4, kernel_size: [3] }, transform_param: { scale: 0.5 },
    });
    expect(Object.getOwnPropertySymbols(l).length).toBe(1);
  });

  test('untyped or unknown V1 layers are SCHEMA errors naming the layer', () => {
    expect(() => upgradeV1Layer({ name: 'x' }, 'f')).toThrow(/layer 'x'.*V1 layer has no type/);
    expect(() => upgradeV1Layer({ name: 'x', type: 'NONE' }, 'f')).toThrow(CaffeLrpError);
    expect(() => upgradeV1Layer({ name: 'y', type: 77 }, 'f')).toThrow(/unknown V1 layer type 77/);
  });

  test('V2 nets pass through; mixing is refused', () => {
    const v2 = [{ name: 'a', type: 'ReLU' }];
    expect(upgradeLayers({ layer: v2 }, 'f')).toBe(v2);
    expect(() => upgradeLayers({ layer: v2, layers: [{ name: 'b', type: 'RELU' }] }, 'f')).toThrow(/both V2 'layer' and legacy V1 'layers'/);
  });
});

describe('fitting stored blobs to the expected shape', () => {
  const blob = (shape: number[], legacy: boolean) => ({ shape, legacy, data: new Float32Array(shape.reduce((a, b) => a * b, 1)) });
  test('legacy dims: any layout with the same count is reshaped (the memory order is the same)', () => {
    expect(fitBlobShape(blob([1, 1, 500, 800], true), [500, 800])).toEqual([500, 800]);
    expect(fitBlobShape(blob([1, 1, 1, 500], true), [500])).toEqual([500]);
    expect(fitBlobShape(blob([20, 1, 5, 5], true), [20, 1, 5, 5])).toEqual([20, 1, 5, 5]);
    expect(fitBlobShape(blob([1, 1, 1, 1], true), [])).toEqual([]);
    expect(fitBlobShape(blob([1, 1, 1, 499], true), [500])).toBeUndefined();
  });
  test('BlobShape dims must match exactly', () => {
    expect(fitBlobShape(blob([500, 800], false), [500, 800])).toEqual([500, 800]);
    expect(fitBlobShape(blob([800, 500], false), [500, 800])).toBeUndefined();
    expect(fitBlobShape(blob([1, 500], false), [500])).toBeUndefined();
  });
});
