/**
 * net.explainImage on a CaffeNet-architecture net (the shared mini-caffenet: CaffeNet's
 * layer types and order with LRN, 67x67 input, binaryproto mean) with the shared photos,
 * against lrp-demo and lrp-parallel-demo run with the same config (issue 13). The config's
 * values, including what the demonstrators fix (lrn_backward_type 1, codeexectype 0), are
 * passed to the API explicitly. baseimgsize 80 makes every photo go through resize + crop
 * (and the grey PNG through ImageMagick's Mitchell choice); the mean is read as the config says.
 */
import * as path from 'path';
import { Net } from '../../lib/net';
import type { FormulaType, RelPropOptions } from '../../lib/relevance/options';
import { describeShared, sharedPath } from '../helpers/shared-data';
import { expectSameAsFiles, runDemonstrator, targetOf } from './explain-image-helpers';

const MINI = sharedPath('vectors', 'models', 'mini-caffenet');
const PHOTOS = sharedPath('images');
const MODEL = {
  prototxt: path.join(MINI, 'mini-caffenet_deploy_batch1.prototxt'),
  caffemodel: path.join(MINI, 'mini-caffenet_seed1234.caffemodel'),
  mean: path.join(MINI, 'mean_bgr_104_117_123_67.binaryproto'),
  labels: path.join(MINI, 'synsets_10.txt'),
};
const NAMES = ['cat1.jpg', 'scooter10.jpg', 'bw1.png', 'volcano2.jpg', 'ladybug5.jpg'];
const FIELDS = [-1, -2, 7, -1, 3];
const LIST = NAMES.map((n, i) => `${n} ${FIELDS[i]}`);
const BASE = 80;

function config(formula: FormulaType): Record<string, string | number> {
  return {
    param_file: MODEL.prototxt, model_file: MODEL.caffemodel, mean_file: MODEL.mean, synsetfile: MODEL.labels,
    use_mean_file_asbinaryprotoblob: 1, lastlayerindex: -2, firstlayerindex: 0, numclasses: 10, baseimgsize: BASE,
    relpropformulatype: formula, epsstab: 1, alphabeta_beta: 1, auxiliaryvariable_maxlayerindexforflatdistinconv: 0,
  };
}

function apiOptions(formula: FormulaType): RelPropOptions {
  return { rule: formula, epsstab: 1, alphabeta_beta: 1, lastlayerindex: -2, firstlayerindex: 0, numclasses: 10,
    auxiliaryvariable_maxlayerindexforflatdistinconv: 0, lrn_backward_type: 1, codeexectype: 0,
    maxpoolingtoavgpoolinginbackwardpass: 0, biastreatmenttype: 0 };
}

const load = (batchSize: number) =>
  Net.load({ ...MODEL, batchSize, preprocess: { baseImgSize: BASE, meanMode: 1 } });

describeShared('CaffeNet-architecture net with photos', ['vectors/models/mini-caffenet', 'images'], () => {
  describe.each([['layer_dep (100)', 100], ['epsilon (0)', 0]] as [string, FormulaType][])('rule %s', (_, formula) => {
    test('explainImage one image at a time = lrp-demo', async () => {
      const cli = await runDemonstrator('lrp-demo', config(formula), LIST, PHOTOS);
      const net = await load(1);
      try {
        for (const [i, name] of NAMES.entries()) {
          const r = await net.explainImage(path.join(PHOTOS, name), { ...apiOptions(formula), targets: targetOf(FIELDS[i]) });
          expectSameAsFiles(r, cli.base(name));
          expect([r.heatmap.channels, r.heatmap.height, r.heatmap.width, r.heatmap.channelOrder]).toEqual([3, 67, 67, 'RGB']);
        }
      } finally {
        await net.dispose();
      }
    }, 60000);

    test('explainImage with several images = lrp-parallel-demo, batch 2 (partial last batch)', async () => {
      const cli = await runDemonstrator('lrp-parallel-demo', { ...config(formula), batchsize: 2 }, LIST, PHOTOS);
      const net = await load(2);
      try {
        const results = await net.explainImage(NAMES.map((n) => path.join(PHOTOS, n)), { ...apiOptions(formula), targets: FIELDS.map(targetOf) });
        results.forEach((r, i) => expectSameAsFiles(r, cli.base(NAMES[i])));
      } finally {
        await net.dispose();
      }
    }, 60000);
  });

  test('without the mean the input differs by the mean: net.mean is applied', async () => {
    const withMean = await load(1);
    const noMean = await Net.load({ prototxt: MODEL.prototxt, caffemodel: MODEL.caffemodel, preprocess: { baseImgSize: BASE } });
    try {
      const a = await withMean.preprocess(path.join(PHOTOS, 'cat1.jpg'));
      const b = await noMean.preprocess(path.join(PHOTOS, 'cat1.jpg'));
      // The mean file holds B, G, R = 104, 117, 123 everywhere; blob channels are B, G, R.
      const plane = 67 * 67;
      for (const [c, m] of [[0, 104], [1, 117], [2, 123]]) {
        for (const p of [0, 1000, plane - 1]) expect(b.input[c * plane + p] - a.input[c * plane + p]).toBeCloseTo(m, 3);
      }
      expect(Array.from(a.asInputted.data)).toEqual(Array.from(b.asInputted.data));
    } finally {
      await withMean.dispose();
      await noMean.dispose();
    }
  });
});
