/**
 * explainImage with a Zennit composite is preprocess() followed by explain() with the same
 * options: on the bundled demo model (no batch norm) and on the Caffe ResNet-20 with a CIFAR-10
 * image (explained through its canonized twin), the inputs, scores and heatmaps match those of
 * explain() on the preprocessed inputs, run in the same batches.
 */
import { Net, type RelPropOptions } from '../../lib';
import { demoModel } from '../../lib/demo-model';
import { describeShared, sharedPath } from '../helpers/shared-data';

async function expectSameAsExplain(net: Net, images: string[], options: RelPropOptions & { lastlayerindex: number }): Promise<void> {
  const viaImage = await net.explainImage(images, { ...options, targets: 'top1' });
  const inputs = await Promise.all(images.map(async (im) => (await net.preprocess(im)).input));
  viaImage.forEach((e, i) => expect(Array.from(e.input)).toEqual(Array.from(inputs[i])));
  // explain() in the batches explainImage runs (the net's batch size): the same GEMM shapes, so the same roundings
  const direct: { scores: Float32Array[]; heatmaps: { data: Float32Array }[] } = { scores: [], heatmaps: [] };
  for (let from = 0; from < images.length; from += net.batchSize) {
    const chunk = viaImage.slice(from, from + net.batchSize);
    const r = await net.explain(inputs.slice(from, from + net.batchSize), { ...options, targets: chunk.map((e) => e.classes) });
    direct.scores.push(...r.scores);
    direct.heatmaps.push(...r.heatmaps);
  }
  viaImage.forEach((e, i) => {
    expect(Array.from(e.scores)).toEqual(Array.from(direct.scores[i]));
    const a = e.heatmap.data, b = direct.heatmaps[i].data;
    expect(a.length).toBe(b.length);
    const scale = Math.max(...Array.from(b, Math.abs));
    expect(scale).toBeGreaterThan(0);
    a.forEach((v, k) => expect(Math.abs(v - b[k])).toBeLessThanOrEqual(1e-6 * scale));
  });
}

describe('explainImage with a composite = explain on the preprocessed input', () => {
  it('bundled demo model, EpsilonPlusFlat and EpsilonGammaBox', async () => {
    const net = await Net.load({ prototxt: demoModel.prototxt, caffemodel: demoModel.caffemodel, batchSize: 3, preprocess: { baseImgSize: 28 } });
    try {
      const images = demoModel.images.slice(0, 5);
      await expectSameAsExplain(net, images, { composite: 'EpsilonPlusFlat', lastlayerindex: -1 });
      await expectSameAsExplain(net, images, { composite: 'EpsilonGammaBox', low: 0, high: 255, lastlayerindex: -1 });
    } finally {
      await net.dispose();
    }
  }, 120000);
});

describeShared('explainImage with a composite on the canonized ResNet-20', ['models/resnet20-cifar10', 'models/cifar10-aux'], () => {
  it('ResNet-20 + CIFAR-10 images, EpsilonPlus', async () => {
    const net = await Net.load({
      prototxt: sharedPath('models', 'resnet20-cifar10', 'res20_cifar_train_test.prototxt'),
      caffemodel: sharedPath('models', 'resnet20-cifar10', 'ResNet_20.caffemodel'),
      inputShape: [2, 3, 32, 32],
      mean: sharedPath('models', 'cifar10-aux', 'cifar10_mean.binaryproto'),
      preprocess: { baseImgSize: 32 },
    });
    try {
      expect(net.layers.some((l) => l.mergedInto)).toBe(true);
      const images = ['cat10.png', 'dog10.png', 'truck10.png'].map((f) => sharedPath('models', 'cifar10-aux', f));
      await expectSameAsExplain(net, images, { composite: 'EpsilonPlus', lastlayerindex: -2 });
    } finally {
      await net.dispose();
    }
  }, 120000);
});
