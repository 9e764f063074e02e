/**
 * The stand-alone LRP Toolbox (python) reference vectors: every case of
 * ../shared/vectors/toolbox-python must be reproduced by the engine under
 * `semantics: 'toolbox'` within 1e-4 relative L2 per sample (scores within 1e-5). Cases made
 * with per-layer presets (set_lrp_parameters) are run through the `layerRules` option.
 */
import * as fs from 'fs';
import * as path from 'path';
import { parseNpy } from '../../lib/io/npy';
import { readNpz } from '../../lib/io/npz';
import { Net } from '../../lib/net';
import type { RelPropOptions } from '../../lib/relevance/options';
import { hwcIndexOfChw, nchwToNhwc, nhwcToNchw, readToolboxModelSync, toolboxToNetSpec, type ToolboxModel } from '../../lib/toolbox';
import type { NetSpec } from '../../lib/caffe/netspec-types';
import { VECTORS, describeIfExists, relativeL2, relativeMax } from '../helpers/vectors';

const DIR = path.join(VECTORS, 'toolbox-python');
const models = new Map<string, ToolboxModel>();
const measured: { name: string; input: number; layers: number }[] = [];

function npy(file: string): { shape: number[]; data: Float32Array } {
  const n = parseNpy(fs.readFileSync(file), file);
  return { shape: n.shape, data: Float32Array.from(n.data as ArrayLike<number>) };
}

function caseNames(): string[] {
  if (!fs.existsSync(DIR)) return [];
  return fs.readdirSync(DIR).filter((d) => fs.existsSync(path.join(DIR, d, 'meta.json'))).sort();
}

/** The relevance options of a case: the global rule of nn.lrp(R, var, param), or its presets as layerRules. */
function optionsOf(meta: any, layerNames: string[]): RelPropOptions {
  const compat = !meta.toolbox.patched_for_this_case; // the fixed SumPool case is the default behaviour
  const call: string = meta.lrp.call;
  const global = /nn\.lrp\(Rinit, '(\w+)'(?:, ([\d.e+-]+))?\)/.exec(call);
  const param = (rule: string, p: number | null) =>
    rule === 'epsilon' ? { epsilon: p as number } : rule === 'alphabeta' ? { alpha: p as number } : {};
  if (global) {
    const rule = global[1];
    const p = global[2] === undefined ? null : Number(global[2]);
    const o: RelPropOptions = { semantics: 'toolbox', rule, compat };
    if (rule === 'epsilon') o.epsstab = p as number;
    if (rule === 'alphabeta') o.alpha = p as number;
    return o;
  }
  expect(call).toMatch(/presets/);
  const layerRules: NonNullable<RelPropOptions['layerRules']> = {};
  for (const preset of meta.lrp.presets) {
    if (preset.lrp_var === null) continue; // module default: simple
    const name = layerNames.find((n) => new RegExp(`^[a-z]+${preset.index}$`).test(n));
    expect(name).toBeDefined();
    layerRules[name as string] = { rule: preset.lrp_var, ...param(preset.lrp_var, preset.param) };
  }
  return { semantics: 'toolbox', rule: 'simple', layerRules, compat };
}

/**
 * The engine's relevance at the bottom of layer `index` in the toolbox's layout: NHWC for
 * volumes; for flat vectors made by a Flatten of a C x H x W volume, (H, W, C) order.
 */
function toToolboxLayout(spec: NetSpec, index: number, data: Float32Array, n: number, refShape: number[]): Float32Array {
  const bottomShape = (j: number) => (j === 0 ? spec.inputs[0].shape : spec.layers[j - 1].topShapes![0]);
  if (refShape.length === 4) return nchwToNhwc(data, bottomShape(index));
  let chw: number[] | undefined;
  for (let j = 0; j < index; ++j) {
    if (spec.layers[j].type === 'Flatten' && bottomShape(j).length === 4) chw = bottomShape(j).slice(1);
    if (spec.layers[j].type === 'InnerProduct') chw = undefined;
  }
  if (!chw) return data;
  const map = hwcIndexOfChw(chw[0], chw[1], chw[2]);
  const per = data.length / n;
  const out = new Float32Array(data.length);
  for (let i = 0; i < n; ++i) for (let k = 0; k < per; ++k) out[i * per + map[k]] = data[i * per + k];
  return out;
}

function modelFor(file: string): ToolboxModel {
  if (!models.has(file)) models.set(file, readToolboxModelSync(file));
  return models.get(file)!;
}

afterAll(() => {
  if (measured.length === 0) return;
  const lines = measured.map((m) => `${m.name.padEnd(36)} ${m.input.toExponential(2)}   ${m.layers.toExponential(2)}`);
  // eslint-disable-next-line no-console
  console.log(`toolbox vectors: worst relative L2 per sample: at the input, and at any layer's input\n${lines.join('\n')}`);
});

describeIfExists(DIR, 'LRP Toolbox (python) reference vectors', () => {
  const names = caseNames();

  test('the vector set is complete', () => {
    expect(names.length).toBeGreaterThanOrEqual(42);
  });

  test("compat reproduces the toolbox's SumPool alpha-beta defect; the default is the fixed rule", async () => {
    const dir = (c: string) => path.join(DIR, c);
    const meta = JSON.parse(fs.readFileSync(path.join(dir('tanhsum_alphabeta_2'), 'meta.json'), 'utf8'));
    const input = npy(path.join(dir('tanhsum_alphabeta_2'), 'input.npy'));
    const n = input.shape[0];
    const net = new Net(toolboxToNetSpec(modelFor(path.resolve(dir('tanhsum_alphabeta_2'), meta.model.file)), { inputShape: input.shape.slice(1), batchSize: n }));
    try {
      await net.forward(nhwcToNchw(input.data, input.shape));
      const classes = (meta.results.target_class as number[]).map((t) => [t]);
      const run = async (compat: boolean) => {
        const hm = await net.backwardRelevanceMulti(classes, { semantics: 'toolbox', rule: 'alphabeta', alpha: 2, compat });
        const flat = new Float32Array(input.data.length);
        hm.forEach((h, i) => flat.set(h.data, i * h.data.length));
        return nchwToNhwc(flat, [n, input.shape[3], input.shape[1], input.shape[2]]);
      };
      const buggy = npy(path.join(dir('tanhsum_alphabeta_2'), 'relevance.npy')).data;
      const fixed = npy(path.join(dir('tanhsum_alphabeta_2_sumpoolfixed'), 'relevance.npy')).data;
      expect(relativeL2(await run(true), buggy)).toBeLessThan(1e-4);
      expect(relativeL2(await run(false), fixed)).toBeLessThan(1e-4);
      expect(relativeL2(await run(false), buggy)).toBeGreaterThan(1e-2);
      expect(relativeL2(await run(true), fixed)).toBeGreaterThan(1e-2);
    } finally {
      await net.dispose();
    }
  });

  for (const name of names) {
    test(name, async () => {
      const dir = path.join(DIR, name);
      const meta = JSON.parse(fs.readFileSync(path.join(dir, 'meta.json'), 'utf8'));
      const model = modelFor(path.resolve(dir, meta.model.file));
      const input = npy(path.join(dir, 'input.npy'));
      const reference = npy(path.join(dir, 'relevance.npy'));
      const ypred = npy(path.join(dir, 'ypred.npy'));
      const nhwc = input.shape.length === 4;
      const n = input.shape[0];
      const spec = toolboxToNetSpec(model, { inputShape: nhwc ? input.shape.slice(1) : undefined, batchSize: n });
      const net = new Net(spec);
      try {
        const x = nhwc ? nhwcToNchw(input.data, input.shape) : input.data;
        await net.forward(x);
        // ypred: the scores after dropping a final SoftMax = the output of the start layer.
        const layers = net.layers;
        const start = layers[layers.length - 1].type === 'Softmax' ? layers.length - 2 : layers.length - 1;
        const scores = net.blob(layers[start].tops[0]).data;
        expect(relativeMax(scores, ypred.data)).toBeLessThan(1e-5);

        const per = ypred.data.length / n;
        const pred: number[] = meta.results.predicted_class;
        for (let i = 0; i < n; ++i) {
          const row = Array.from(scores.subarray(i * per, (i + 1) * per));
          expect(row.indexOf(Math.max(...row))).toBe(pred[i]);
        }
        const kind = meta.seed.kind;
        const classes: number[][] = kind === 'all'
          ? pred.map(() => Array.from({ length: per }, (_, k) => k))
          : (meta.results.target_class as number[]).map((t) => [t]);
        const options = optionsOf(meta, layers.map((l) => l.name));
        const heatmaps = await net.backwardRelevanceMulti(classes, options);
        const engine = new Float32Array(reference.data.length);
        heatmaps.forEach((h, i) => engine.set(h.data, i * h.data.length));
        const got = nhwc ? nchwToNhwc(engine, [n, input.shape[3], input.shape[1], input.shape[2]]) : engine;
        const size = reference.data.length / n;
        let worst = 0;
        for (let i = 0; i < n; ++i) {
          const a = got.subarray(i * size, (i + 1) * size);
          const b = reference.data.subarray(i * size, (i + 1) * size);
          expect(a.some((v) => !Number.isFinite(v))).toBe(false);
          const err = relativeL2(a, b);
          worst = Math.max(worst, err);
          expect(err).toBeLessThan(1e-4);
          if (name.startsWith('tiny_')) {
            // +-4e15 entries (1e-16 stabiliser on a zero pre-activation) next to O(1) ones: per element.
            for (let k = 0; k < size; ++k) expect(Math.abs(a[k] - b[k])).toBeLessThanOrEqual(1e-5 * Math.abs(b[k]) + 1e-6);
          }
        }
        // Every layer: the relevance at its input (walk stopped there) against relevance_layers.npz.
        const perLayer = readNpz(path.join(dir, 'relevance_layers.npz'));
        let worstLayer = 0;
        for (const [key, ref] of perLayer) {
          const m = /^R_in_(\d+)_(\w+)$/.exec(key);
          expect(m).not.toBeNull();
          const index = Number(m![1]);
          expect(layers[index].name).toMatch(new RegExp(`^[a-z]+${index}$`));
          const hm = await net.backwardRelevanceMulti(classes, { ...options, firstlayerindex: index });
          const flat = new Float32Array(ref.data.length);
          hm.forEach((h, i) => flat.set(h.data, i * h.data.length));
          const mine = toToolboxLayout(spec, index, flat, n, ref.shape);
          const refData = Float32Array.from(ref.data as ArrayLike<number>);
          const sz = refData.length / n;
          for (let i = 0; i < n; ++i) {
            const err = relativeL2(mine.subarray(i * sz, (i + 1) * sz), refData.subarray(i * sz, (i + 1) * sz));
            worstLayer = Math.max(worstLayer, err);
            expect(err).toBeLessThan(1e-4);
          }
        }
        expect(perLayer.size).toBe(spec.layers.length - (layers[layers.length - 1].type === 'Softmax' ? 1 : 0));
        measured.push({ name, input: worst, layers: worstLayer });
      } finally {
        await net.dispose();
      }
    });
  }
});
