/**
 * lrp-parallel-demo with a Zennit composite on the bundled Fashion-MNIST model, end to end:
 * the config keys composite / zbox_low / zbox_high / gamma / epsilon / canonize reach the
 * relevance pass, every image gets its four files, and each file equals what explainImage
 * gives with the same composite (same batch size, so the same batches): the _rawhm.txt and
 * scores text byte for byte as the library formats them, the two PNGs byte for byte as the
 * library writes them. `--conservation` writes conservation.json into standalone_outpath,
 * whose numbers match explain()'s own per-layer report on the same inputs.
 */
import * as fs from 'fs';
import * as path from 'path';
import { Net, type RelPropOptions, type Target } from '../../lib';
import { demoModel } from '../../lib/demo-model';
import { parseFileList, outputBase, outputFiles } from '../../demonstrator/filelist';
import { formatRawhm, formatTopScores } from '../../lib/outputs/text-files';
import { writeAsInputtedPng, writeHeatmapPng } from '../../lib/outputs/png-files';
import { run, tempDir } from '../demonstrator/cli-helpers';

const IMAGES = path.dirname(demoModel.images[0] ?? '');
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

const COMPOSITE: RelPropOptions = { composite: 'EpsilonGammaBox', low: 0, high: 255, gamma: 0.5, epsilon: 0.01, canonize: true };
const CONFIG_KEYS = 'composite\nEpsilonGammaBox\nzbox_low\n0\nzbox_high\n255\ngamma\n0.5\nepsilon\n0.01\ncanonize\n1\n';

function config(out: string): string {
  return [
    `param_file\n${demoModel.prototxt}`, `model_file\n${demoModel.caffemodel}`, 'lastlayerindex\n-1', 'firstlayerindex\n0',
    'numclasses\n10', 'baseimgsize\n28', `standalone_outpath\n${out}`, 'batchsize\n4', 'heatmap_colormap\nblue-black-yellow', CONFIG_KEYS,
  ].join('\n');
}

describe('lrp-parallel-demo with a Zennit composite (bundled demo model)', () => {
  it('writes the four files per image, equal to explainImage with the same composite, and conservation.json', async () => {
    expect(demoModel.images.length).toBeGreaterThan(4);
    const d = tempDir('zennit-demo');
    dirs.push(d);
    const out = path.join(d, 'out');
    fs.writeFileSync(path.join(d, 'config.txt'), config(out));
    const list = fs.readFileSync(path.join(IMAGES, 'filelist.txt'), 'utf8');
    fs.writeFileSync(path.join(d, 'list.txt'), list);
    const r = await run(['--quiet', '--conservation', 'config.txt', 'list.txt', IMAGES], d, 'lrp-parallel-demo');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);

    const entries = parseFileList(list, IMAGES);
    const targets: Target[] = entries.map((e) => (e.classes.kind === 'class' ? [e.classes.index] : e.classes.kind === 'top' && e.classes.k === 5 ? 'top5' : 'top1'));
    const net = await Net.load({ prototxt: demoModel.prototxt, caffemodel: demoModel.caffemodel, batchSize: 4, preprocess: { baseImgSize: 28 } });
    try {
      const ours = await net.explainImage(entries.map((e) => e.imagePath), { ...COMPOSITE, lastlayerindex: -1, numclasses: 10, targets });
      const scratch = path.join(d, 'scratch');
      fs.mkdirSync(scratch);
      for (let i = 0; i < entries.length; i++) {
        const files = outputFiles(outputBase(entries[i], out));
        const e = ours[i];
        expect(fs.readFileSync(files.rawhm, 'utf8')).toBe(formatRawhm(e.heatmap));
        expect(fs.readFileSync(files.scores, 'utf8')).toBe(formatTopScores(e.scores.subarray(0, 10)));
        await writeHeatmapPng(path.join(scratch, 'h.png'), e.heatmap, 'blue-black-yellow');
        await writeAsInputtedPng(path.join(scratch, 'a.png'), e.asInputted.data, e.asInputted.width, e.asInputted.height);
        expect(fs.readFileSync(files.heatmap).equals(fs.readFileSync(path.join(scratch, 'h.png')))).toBe(true);
        expect(fs.readFileSync(files.asInputted).equals(fs.readFileSync(path.join(scratch, 'a.png')))).toBe(true);
      }
      // the relevance is the composite's, not the config's default formula type
      const caffeDefault = await net.explainImage(entries[0].imagePath, { lastlayerindex: -1, numclasses: 10, targets: targets[0] });
      expect(formatRawhm(caffeDefault.heatmap)).not.toBe(formatRawhm(ours[0].heatmap));

      // conservation.json: per image the seed and what reached the input; per layer the means over images
      const summary = JSON.parse(fs.readFileSync(path.join(out, 'conservation.json'), 'utf8'));
      expect(summary.images).toBe(entries.length);
      expect(summary.options.composite).toBe('EpsilonGammaBox');
      const report = await net.explain(ours.map((e) => e.input), { ...COMPOSITE, lastlayerindex: -1, numclasses: 10, targets: ours.map((e) => e.classes), conservation: true });
      const rows = report.conservation ?? [];
      expect(summary.layers.map((l: { index: number }) => l.index)).toEqual(rows.map((row) => row.index));
      const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;
      rows.forEach((row, k) => {
        const got = summary.layers[k];
        expect(got.name).toBe(row.name);
        expect(Math.abs(got.meanIn - mean(row.in))).toBeLessThanOrEqual(1e-4 * Math.max(1, Math.abs(mean(row.in))));
        expect(Math.abs(got.meanOut - mean(row.out))).toBeLessThanOrEqual(1e-4 * Math.max(1, Math.abs(mean(row.out))));
      });
      summary.perImage.forEach((p: { image: string; seed: number; atEnd: number }, i: number) => {
        expect(p.image).toBe(entries[i].imagePath);
        // the seed is the explained class's logit (the start layer's output), as the heatmap's total shows
        expect(Math.abs(p.atEnd - ours[i].heatmap.data.reduce((s, v) => s + v, 0))).toBeLessThanOrEqual(1e-3 * Math.max(1, Math.abs(p.atEnd)));
        expect(Math.abs(p.seed - rows[0].in[i])).toBeLessThanOrEqual(1e-4 * Math.max(1, Math.abs(p.seed)));
      });
    } finally {
      await net.dispose();
    }
  }, 120000);

  it("without --conservation no conservation file is written; 'canonize' without 'composite' is a config error", async () => {
    const d = tempDir('zennit-demo2');
    dirs.push(d);
    const out = path.join(d, 'out');
    fs.writeFileSync(path.join(d, 'config.txt'), config(out));
    fs.writeFileSync(path.join(d, 'list.txt'), `${path.basename(demoModel.images[0])} -1\n`);
    const r = await run(['--quiet', 'config.txt', 'list.txt', IMAGES], d, 'lrp-parallel-demo');
    expect(r.code).toBe(0);
    expect(fs.existsSync(path.join(out, 'conservation.json'))).toBe(false);
    fs.writeFileSync(path.join(d, 'bad.txt'), config(out).replace('composite\nEpsilonGammaBox\n', ''));
    const bad = await run(['--quiet', 'bad.txt', 'list.txt', IMAGES], d, 'lrp-parallel-demo');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/composite/);
  }, 120000);
});
