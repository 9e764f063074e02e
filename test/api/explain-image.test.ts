/**
 * net.explainImage on the bundled Fashion-MNIST model equals what the demonstrators write
 * for the same model, options and images (issue 13): lrp-demo image by image, and
 * lrp-parallel-demo with the same batch size, for two rules. The demonstrator's config
 * values (demonstrator/demo-config.txt) are passed to the API explicitly.
 */
import * as path from 'path';
import { demoModel } from '../../lib/demo-model';
import { Net } from '../../lib/net';
import type { FormulaType, RelPropOptions } from '../../lib/relevance/options';
import { expectSameAsFiles, runDemonstrator, targetOf } from './explain-image-helpers';

const IMAGES = path.dirname(demoModel.images[0]);
const names = demoModel.images.map((f) => path.basename(f));
// Class fields of the file list: the top class, an explicit class, the top five.
const fields = names.map((_, i) => [-1, 4, -2][i % 3]);
const list = names.map((n, i) => `${n} ${fields[i]}`);

/** demonstrator/demo-config.txt's values, with the rule varied. */
function config(formula: FormulaType, epsstab: number): Record<string, string | number> {
  return {
    param_file: demoModel.prototxt, model_file: demoModel.caffemodel, synsetfile: demoModel.labels,
    lastlayerindex: -1, firstlayerindex: 0, numclasses: 10, baseimgsize: 28, relpropformulatype: formula,
    epsstab, alphabeta_beta: 1, auxiliaryvariable_maxlayerindexforflatdistinconv: -1, lrn_backward_type: 0,
  };
}

function apiOptions(formula: FormulaType, epsstab: number): RelPropOptions {
  return { rule: formula, epsstab, alphabeta_beta: 1, lastlayerindex: -1, firstlayerindex: 0, numclasses: 10, lrn_backward_type: 0,
    codeexectype: 0, maxpoolingtoavgpoolinginbackwardpass: 0, biastreatmenttype: 0 };
}

const RULES: [string, FormulaType, number][] = [['layer_dep (100)', 100, 1], ['epsilon (0), eps 0.01', 0, 0.01]];

describe.each(RULES)('bundled model, rule %s', (_, formula, epsstab) => {
  test('explainImage one image at a time = lrp-demo', async () => {
    const cli = await runDemonstrator('lrp-demo', config(formula, epsstab), list, IMAGES);
    const net = await Net.load({ prototxt: demoModel.prototxt, caffemodel: demoModel.caffemodel, labels: demoModel.labels, batchSize: 1, preprocess: { baseImgSize: 28 } });
    try {
      for (const [i, name] of names.entries()) {
        const r = await net.explainImage(demoModel.images[i], { ...apiOptions(formula, epsstab), targets: targetOf(fields[i]) });
        expectSameAsFiles(r, cli.base(name));
        expect(r.classes.length).toBe(fields[i] === -2 ? 5 : 1);
        expect(r.labels).toEqual(r.classes.map((c) => (net.labels as string[])[c]));
        expect([r.asInputted.width, r.asInputted.height, r.asInputted.channels]).toEqual([28, 28, 3]);
      }
    } finally {
      await net.dispose();
    }
  });

  test('explainImage with several images = lrp-parallel-demo at the same batch size (partial last batch)', async () => {
    const n = 10; // batches of 4: 4 + 4 + 2
    const cli = await runDemonstrator('lrp-parallel-demo', { ...config(formula, epsstab), batchsize: 4 }, list.slice(0, n), IMAGES);
    const net = await Net.load({ prototxt: demoModel.prototxt, caffemodel: demoModel.caffemodel, labels: demoModel.labels, batchSize: 4 });
    try {
      const results = await net.explainImage(demoModel.images.slice(0, n), { ...apiOptions(formula, epsstab), targets: fields.slice(0, n).map(targetOf) });
      expect(results).toHaveLength(n);
      results.forEach((r, i) => expectSameAsFiles(r, cli.base(names[i])));
    } finally {
      await net.dispose();
    }
  });
});

test('the images may be Buffers or raw pixels: same input as from the path', async () => {
  const fs = await import('fs');
  const sharp = (await import('sharp')).default;
  const net = await Net.load({ prototxt: demoModel.prototxt, caffemodel: demoModel.caffemodel });
  try {
    const file = demoModel.images[0];
    const fromPath = await net.preprocess(file);
    const fromBuffer = await net.preprocess(fs.readFileSync(file));
    const { data, info } = await sharp(file).greyscale().raw().toBuffer({ resolveWithObject: true });
    const fromRaw = await net.preprocess({ data, width: info.width, height: info.height, channels: 1 });
    expect(Array.from(fromBuffer.input)).toEqual(Array.from(fromPath.input));
    expect(Array.from(fromRaw.input)).toEqual(Array.from(fromPath.input));
    // 16-bit raw pixels on ImageMagick's scale (v * 257) are the same image.
    const fromRaw16 = await net.preprocess({ data: Uint16Array.from(data, (v) => v * 257), width: info.width, height: info.height, channels: 1 });
    expect(Array.from(fromRaw16.input)).toEqual(Array.from(fromPath.input));
    // RGB raw pixels of a grey image: the grey net sees the same values.
    const rgb = new Uint8Array(data.length * 3).map((_, i) => data[Math.floor(i / 3)]);
    expect(Array.from((await net.preprocess({ data: rgb, width: info.width, height: info.height, channels: 3 })).input)).toEqual(Array.from(fromPath.input));
    // A grey net sees the grey values on the 0..255 scale (the demo net has no mean).
    expect(Array.from(fromPath.input)).toEqual(Array.from(data));
  } finally {
    await net.dispose();
  }
});
