/**
 * Zennit's composites on the Caffe ResNet-20 (BatchNorm, Scale, Eltwise SUM, Split):
 * with every bias set to 0, EpsilonPlus's rules all conserve (ZPlus on the convolutions,
 * Pass on BatchNorm/Scale/ReLU, Norm on the residual sums and the average pool, Epsilon
 * 1e-6 on the classifier), so the input relevance sums to the seed (the logit) within 1e-4
 * and every layer passes on what it receives; with the real biases EpsilonGammaBox runs and
 * its conservation report is finite and bounded by the seed's magnitude where expected.
 */
import * as fs from 'fs';
import { parseTextFormat } from '../../lib/caffe/textformat';
import { caffeType } from '../../lib/caffe/schema';
import { decodeCaffemodel } from '../../lib/caffe/caffemodel';
import { buildNetSpec } from '../../lib/caffe/netspec';
import { Net } from '../../lib/net';
import { describeShared, sharedPath } from '../helpers/shared-data';
import { rand } from '../helpers/small-nets';

function resnet20(zeroBiases: boolean): Net {
  const prototxt = sharedPath('models', 'resnet20-cifar10', 'res20_cifar_train_test.prototxt');
  const caffemodel = sharedPath('models', 'resnet20-cifar10', 'ResNet_20.caffemodel');
  const def = parseTextFormat(fs.readFileSync(prototxt, 'utf8'), caffeType('NetParameter'), prototxt);
  const weights = { net: decodeCaffemodel(fs.readFileSync(caffemodel), caffemodel), file: caffemodel };
  const spec = buildNetSpec(def as never, weights, { file: prototxt, inputShape: [2, 3, 32, 32] });
  if (zeroBiases)
    for (const l of spec.layers)
      if ((l.type === 'Convolution' || l.type === 'InnerProduct') && l.blobs.length > 1) l.blobs[1].data.fill(0);
  return new Net(spec);
}

const sum = (a: ArrayLike<number>) => Array.from(a).reduce((s, v) => s + v, 0);

describeShared('Zennit composites on the Caffe ResNet-20', 'models/resnet20-cifar10', () => {
  const input = rand(2 * 3 * 32 * 32, 17);

  it('EpsilonPlus without biases conserves: input relevance sums to the logit, layer by layer', async () => {
    const net = resnet20(true);
    const out = await net.explain(input, { composite: 'EpsilonPlus', conservation: true, lastlayerindex: -2, targets: 'top1' });
    out.heatmaps.forEach((h, i) => {
      const seed = out.scores[i][out.classes[i][0]];
      expect(Math.abs(sum(h.data) - seed)).toBeLessThan(1e-4 * Math.abs(seed));
    });
    for (const row of out.conservation ?? [])
      row.in.forEach((v, i) => expect(Math.abs(row.out[i] - v)).toBeLessThanOrEqual(1e-4 * Math.max(1, Math.abs(v))));
    expect(out.conservation?.some((r) => r.type === 'Eltwise')).toBe(true);
    net.dispose();
  }, 120000);

  it('EpsilonGammaBox runs with its bounds and gives finite relevance', async () => {
    const net = resnet20(false);
    const out = await net.explain(input, { composite: 'EpsilonGammaBox', low: -3, high: 3, conservation: true, lastlayerindex: -2, targets: 'top1' });
    for (const h of out.heatmaps) {
      expect(h.data.every(Number.isFinite)).toBe(true);
      expect(sum(h.data.map(Math.abs))).toBeGreaterThan(0);
    }
    net.dispose();
  }, 120000);
});
