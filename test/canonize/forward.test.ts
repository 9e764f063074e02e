/**
 * Canonization never changes what a net computes: on every model we have (the bundled demo
 * model, the Caffe models of ../shared/models, every ONNX model of ../shared/models/onnx),
 * every output blob of the canonized net (lib/canonize) equals the raw net's within 1e-5 of
 * that blob's largest magnitude, on a seeded random input. (ResNet-20 is the model whose
 * BatchNorm + Scale layers are folded; the ONNX lowering already folds a BatchNormalization
 * that follows a Conv, and the other nets have none, so for them the test checks that
 * canonization leaves them alone.) The number of merges per model is checked too.
 */
import { demoModel } from '../../lib/demo-model';
import { loadNetSpec } from '../../lib/caffe';
import type { NetSpec } from '../../lib/caffe/netspec-types';
import { loadOnnxNetSpec } from '../../lib/onnx';
import { canonize, planCanonize } from '../../lib/canonize';
import { Net } from '../../lib/net';
import { describeShared, sharedPath } from '../helpers/shared-data';
import { rand } from '../helpers/small-nets';

/** Blobs no later layer reads: the net's outputs. */
function outputBlobs(spec: NetSpec): string[] {
  const out = new Set<string>();
  for (const l of spec.layers) {
    for (const b of l.bottoms) out.delete(b);
    for (const t of l.tops) out.add(t);
  }
  return [...out];
}

async function expectSameForward(spec: NetSpec, expectedMerges: number): Promise<void> {
  expect(planCanonize(spec).batchNorms.length).toBe(expectedMerges);
  const raw = new Net(spec);
  const canon = new Net(canonize(spec));
  try {
    const per = raw.inputShape.slice(1).reduce((a, b) => a * b, 1);
    const input = rand(raw.batchSize * per, 29, 20);
    await raw.forward(input);
    await canon.forward(input);
    const outputs = outputBlobs(spec);
    expect(outputs.length).toBeGreaterThan(0);
    for (const name of outputs) {
      const a = raw.blob(name).data, b = canon.blob(name).data;
      expect(b.length).toBe(a.length);
      let scale = 0, diff = 0;
      for (let i = 0; i < a.length; i++) { scale = Math.max(scale, Math.abs(a[i])); diff = Math.max(diff, Math.abs(a[i] - b[i])); }
      expect(a.every(Number.isFinite)).toBe(true);
      expect(diff).toBeLessThanOrEqual(1e-5 * scale);
    }
  } finally {
    await Promise.all([raw.dispose(), canon.dispose()]);
  }
}

describe('canonized vs raw forward outputs: the bundled demo model', () => {
  it('demo model', async () => {
    await expectSameForward(await loadNetSpec({ prototxt: demoModel.prototxt, caffemodel: demoModel.caffemodel }), 0);
  });
});

const CAFFE: [string, string, string, number, number[]?][] = [
  ['lenet-mnist', 'lenet.prototxt', 'lenet_iter_10000.caffemodel', 0],
  ['lenet-mnist-v1', 'lenet.prototxt', 'lenet_iter_10000.caffemodel', 0],
  ['cifar10-quick-v1', 'cifar10_quick.prototxt', 'cifar10_quick_iter_5000.caffemodel', 0],
  ['cifar10-full-v1', 'cifar10_full.prototxt', 'cifar10_full_iter_70000.caffemodel', 0],
  ['resnet20-cifar10', 'res20_cifar_train_test.prototxt', 'ResNet_20.caffemodel', 21, [2, 3, 32, 32]],
  ['mtcnn', 'det1.prototxt', 'det1.caffemodel', 0],
  ['mtcnn', 'det2.prototxt', 'det2.caffemodel', 0],
  ['mtcnn', 'det3.prototxt', 'det3.caffemodel', 0],
  ['mtcnn', 'det4.prototxt', 'det4.caffemodel', 0],
  ['ultraface-rfb320', 'RFB-320.prototxt', 'RFB-320.caffemodel', 0],
];

for (const [dir, prototxt, caffemodel, merges, inputShape] of CAFFE) {
  describeShared(`canonized vs raw forward outputs: Caffe ${dir}/${prototxt}`, `models/${dir}`, () => {
    it(`${dir}/${prototxt} (${merges} BatchNorm merges)`, async () => {
      const spec = await loadNetSpec({ prototxt: sharedPath('models', dir, prototxt), caffemodel: sharedPath('models', dir, caffemodel), inputShape });
      await expectSameForward(spec, merges);
    }, 120000);
  });
}

const ONNX = ['fmnist-cnn/model.onnx', 'fmnist-cnn/model-opset11.onnx', 'fmnist-cnn/model-opset17.onnx', 'mobilenet_v2/model.onnx',
  'resnet18/model.onnx', 'squeezenet1_1/model.onnx', 'ultraface-rfb320/model.onnx', 'ultraface-rfb320/model-simplified.onnx'];

describeShared('canonized vs raw forward outputs: every ONNX model', 'models/onnx', () => {
  for (const file of ONNX) {
    it(file, async () => {
      await expectSameForward(await loadOnnxNetSpec(sharedPath('models', 'onnx', file)), 0);
    }, 120000);
  }
});
