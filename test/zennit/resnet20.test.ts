/**
 * Zennit's composites on the Caffe ResNet-20 (BatchNorm, Scale, Eltwise SUM, Split), as the
 * issue's acceptance asks, on the canonized net (every BatchNorm + Scale folded into its
 * convolution; lib/canonize):
 * - canonized and raw forward outputs agree within 1e-5 (relative to the largest score);
 * - with every bias of the canonized net set to 0, EpsilonPlus's and EpsilonGammaBox's rules
 *   all conserve (ZPlus / Gamma / ZBox on the convolutions, Pass on ReLU, Identity where a
 *   batch norm was, Norm on the residual sums and the average pool, Epsilon 1e-6 on the
 *   classifier), so the input relevance sums to the seed (the logit) within 1e-4 and every
 *   layer passes on what it receives;
 * - with the real (merged) biases, every layer without a bias conserves: Zennit's residual
 *   canonizer's effect, Norm on each Eltwise SUM, splits R proportionally to the branches'
 *   contributions and loses nothing.
 */
import * as fs from 'fs';
import { parseTextFormat } from '../../lib/caffe/textformat';
import { caffeType } from '../../lib/caffe/schema';
import { decodeCaffemodel } from '../../lib/caffe/caffemodel';
import { buildNetSpec } from '../../lib/caffe/netspec';
import type { NetSpec } from '../../lib/caffe/netspec-types';
import { canonize } from '../../lib/canonize';
import { Net, type Explanation } from '../../lib/net';
import type { RelPropOptions } from '../../lib';
import { describeShared, sharedPath } from '../helpers/shared-data';
import { rand } from '../helpers/small-nets';

function resnet20Spec(): NetSpec {
  const prototxt = sharedPath('models', 'resnet20-cifar10', 'res20_cifar_train_test.prototxt');
  const caffemodel = sharedPath('models', 'resnet20-cifar10', 'ResNet_20.caffemodel');
  const def = parseTextFormat(fs.readFileSync(prototxt, 'utf8'), caffeType('NetParameter'), prototxt);
  const weights = { net: decodeCaffemodel(fs.readFileSync(caffemodel), caffemodel), file: caffemodel };
  return buildNetSpec(def as never, weights, { file: prototxt, inputShape: [2, 3, 32, 32] });
}

/** The canonized ResNet-20 with every Convolution/InnerProduct bias set to 0. */
function biasFreeCanonized(): Net {
  const spec = canonize(resnet20Spec());
  for (const l of spec.layers)
    if ((l.type === 'Convolution' || l.type === 'InnerProduct') && l.blobs.length > 1) l.blobs[1].data.fill(0);
  return new Net(spec);
}

const sum = (a: ArrayLike<number>) => Array.from(a).reduce((s, v) => s + v, 0);
const WEIGHTED = new Set(['Convolution', 'InnerProduct']);

function expectLayerConserves(out: Explanation, which: (type: string) => boolean): number {
  let checked = 0;
  for (const row of out.conservation ?? []) {
    if (!which(row.type)) continue;
    checked++;
    row.in.forEach((v, i) => expect(Math.abs(row.out[i] - v)).toBeLessThanOrEqual(1e-4 * Math.max(1, Math.abs(v))));
  }
  return checked;
}

describeShared('Zennit composites on the canonized Caffe ResNet-20', 'models/resnet20-cifar10', () => {
  const input = rand(2 * 3 * 32 * 32, 17);
  // Without biases the net is positively homogeneous: a larger input scales every z alike,
  // keeping the 1e-6 stabilisers' share of each sum below float32's noise (about 1e-6 relative).
  const bigInput = input.map((v) => v * 100);
  const composites: [string, RelPropOptions][] = [
    ['EpsilonPlus', { composite: 'EpsilonPlus' }],
    ['EpsilonGammaBox', { composite: 'EpsilonGammaBox', low: -3, high: 3 }],
  ];

  it('canonized and raw forward outputs agree within 1e-5; every BatchNorm and Scale is merged', async () => {
    const raw = new Net(resnet20Spec());
    try {
      const merged = raw.layers.filter((l) => l.mergedInto !== undefined);
      expect(merged.length).toBe(raw.layers.filter((l) => l.type === 'BatchNorm' || l.type === 'Scale').length);
      expect(merged.every((l) => raw.layers.find((c) => c.name === l.mergedInto)?.type === 'Convolution')).toBe(true);
      const a = await raw.forward(input);
      // explain runs the canonized twin: its scores are the canonized net's forward pass
      const b = (await raw.explain(input, { composite: 'EpsilonPlus', lastlayerindex: -2 })).scores;
      for (let n = 0; n < 2; n++) {
        const scale = Math.max(...Array.from(a[n], Math.abs));
        a[n].forEach((v, k) => expect(Math.abs(b[n][k] - v)).toBeLessThanOrEqual(1e-5 * scale));
      }
    } finally {
      await raw.dispose();
    }
  }, 120000);

  for (const [name, options] of composites) {
    it(`${name} without biases conserves: input relevance sums to the logit, layer by layer`, async () => {
      const net = biasFreeCanonized();
      try {
        const out = await net.explain(bigInput, { ...options, conservation: true, lastlayerindex: -2, targets: 'top1' });
        out.heatmaps.forEach((h, i) => {
          const seed = out.scores[i][out.classes[i][0]];
          expect(Math.abs(sum(h.data) - seed)).toBeLessThan(1e-4 * Math.abs(seed));
        });
        expect(expectLayerConserves(out, () => true)).toBe(out.conservation?.length);
        expect(out.conservation?.filter((r) => r.type === 'Eltwise').length).toBe(9);
        // 21 BatchNorm + 21 Scale layers, each left as an Identity where it was
        expect(out.conservation?.filter((r) => r.type === 'Identity').length).toBe(42);
      } finally {
        await net.dispose();
      }
    }, 120000);

    it(`${name} with the merged biases: every layer without a bias (residual sums included) conserves`, async () => {
      const net = new Net(resnet20Spec());
      try {
        const out = await net.explain(input, { ...options, conservation: true, lastlayerindex: -2, targets: 'top1' });
        for (const h of out.heatmaps) expect(h.data.every(Number.isFinite)).toBe(true);
        const checked = expectLayerConserves(out, (t) => !WEIGHTED.has(t));
        expect(checked).toBeGreaterThan(40);
      } finally {
        await net.dispose();
      }
    }, 120000);
  }
});
