/**
 * POST /api/explain's work: request fields → library options, one image through the engine
 * (preprocess + explain, inside the engine queue), the results as PNG data URLs.
 */
import {
  COLORMAP_NAMES, encodeNpy, overlayHeatmap, rankClasses, renderHeatmap,
  type ColormapName, type ExplainOptions, type Heatmap, type Net, type RelPropOptions, type Target,
} from '../../lib/index';
import sharp from 'sharp';
import { HttpError } from './http-error';
import { COMPOSITES, RULES, optionName } from './rules';
import type { ServedModel } from './model';

/** The validated multipart body (Fastify has checked types and ranges against schemas.ts). */
export interface ExplainFields {
  image?: unknown;
  rule?: string;
  composite?: string;
  epsstab?: number;
  alphabeta_beta?: number;
  aux?: number;
  target?: string;
  colormap?: string;
  opacity?: number;
  firstlayerindex?: number;
  lastlayerindex?: number;
  relevance?: 'npy';
}

export interface ExplainRequest {
  options: ExplainOptions;
  target: Target;
  colormap: ColormapName;
  opacity: number;
  npy: boolean;
}

/** Builds the library call from the fields; 400 for what the schema cannot know (classes, composites). */
export function explainRequest(f: ExplainFields, model: ServedModel): ExplainRequest {
  for (const [k, v] of Object.entries(f))
    if (k !== 'image' && Array.isArray(v)) throw new HttpError(400, 'BAD_FIELD', `field '${k}' was given more than once`);
  if (f.composite !== undefined && !COMPOSITES.some((c) => c.name === f.composite))
    throw new HttpError(400, 'UNKNOWN_COMPOSITE', `unknown composite '${f.composite}' (available: ${COMPOSITES.map((c) => c.name).join(', ') || 'none'})`);
  let rel: RelPropOptions = { ...model.defaults };
  if (f.rule !== undefined) {
    const rule = /^[0-9]+$/.test(f.rule) ? Number(f.rule) : f.rule;
    const spec = RULES.find((r) => r.name === rule || r.formulaType === rule);
    if (!spec) throw new HttpError(400, 'UNKNOWN_RULE', `unknown rule '${f.rule}'`);
    const { relpropformulatype: _t, rule: _r, ...rest } = rel;
    rel = { ...rest, rule: spec.name };
    // parameters the rule does not read are left out, so that an unused field cannot fail the call
    for (const p of ['epsstab', 'alphabeta_beta', 'aux'] as const)
      if (f[p] !== undefined && spec.parameters.some((q) => q.name === p)) (rel as Record<string, unknown>)[optionName(p)] = f[p];
    // a rule that needs the aux index gets its listed default when the client gave none
    const aux = spec.parameters.find((q) => q.name === 'aux');
    if (aux && f.aux === undefined && !(Number(rel.auxiliaryvariable_maxlayerindexforflatdistinconv) >= 0)) rel.auxiliaryvariable_maxlayerindexforflatdistinconv = aux.default;
  } else {
    for (const p of ['epsstab', 'alphabeta_beta', 'aux'] as const) if (f[p] !== undefined) (rel as Record<string, unknown>)[optionName(p)] = f[p];
  }
  if (f.firstlayerindex !== undefined) rel.firstlayerindex = f.firstlayerindex;
  if (f.lastlayerindex !== undefined) rel.lastlayerindex = f.lastlayerindex;
  const target: Target = f.target === undefined || f.target === 'top1' ? 'top1' : f.target === 'top5' ? 'top5' : Number(f.target);
  const classes = classCount(model);
  if (typeof target === 'number' && target >= classes && (rel.lastlayerindex ?? -1) < 0)
    throw new HttpError(400, 'CLASS_OUT_OF_RANGE', `class ${target} is out of range: the model has ${classes} classes (0 to ${classes - 1})`);
  const colormap = (f.colormap ?? model.colormap) as ColormapName;
  if (!(COLORMAP_NAMES as readonly string[]).includes(colormap)) throw new HttpError(400, 'BAD_FIELD', `unknown colormap '${colormap}'`);
  return { options: { ...rel, targets: target }, target, colormap, opacity: f.opacity ?? 0.5, npy: f.relevance === 'npy' };
}

/** Classes the service offers: the config's numclasses, else the scores blob's size. */
export function classCount(model: ServedModel): number {
  return model.defaults.numclasses ?? model.net.numClasses;
}

export function labelOf(net: Net, c: number): string {
  return net.labels[c] ?? String(c);
}

export interface EngineResult {
  scores: Float32Array;
  classes: number[];
  heatmap: Heatmap;
  asInputted: { data: Uint8Array; width: number; height: number; channels: 3 };
  conservation?: { index: number; name: string; type: string; in: number[]; out: number[] }[];
  engineMs: number;
}

/** The engine's part (run inside the queue): the same steps as net.explainImage, plus the conservation report. */
export async function runEngine(net: Net, image: Buffer, options: ExplainOptions): Promise<EngineResult> {
  const t0 = performance.now();
  const pre = await net.preprocess(image);
  const r = await net.explain([pre.input], { ...options, conservation: true });
  return {
    scores: r.scores[0], classes: r.classes[0], heatmap: r.heatmaps[0], asInputted: pre.asInputted,
    conservation: r.conservation, engineMs: performance.now() - t0,
  };
}

const dataUrl = (mime: string, b: Buffer) => `data:${mime};base64,${b.toString('base64')}`;

/** The JSON answer (without timings). */
export async function renderResult(net: Net, numClasses: number, r: EngineResult, req: ExplainRequest): Promise<Record<string, unknown>> {
  const [heatmapPng, overlayPng, imagePng] = await Promise.all([
    renderHeatmap(r.heatmap, { colormap: req.colormap }),
    overlayHeatmap(r.heatmap, r.asInputted, { colormap: req.colormap, opacity: req.opacity }),
    sharp(Buffer.from(r.asInputted.data), { raw: { width: r.asInputted.width, height: r.asInputted.height, channels: 3 } }).png().toBuffer(),
  ]);
  const scores = Array.from(r.scores);
  const ranked = rankClasses(r.scores.subarray(0, numClasses)).slice(0, 5);
  let input = 0;
  for (const v of r.heatmap.data) input += v;
  const layers = (r.conservation ?? []).map((l) => ({ index: l.index, name: l.name, type: l.type, in: l.in[0], out: l.out[0] }));
  const top = layers.reduce<(typeof layers)[number] | undefined>((a, l) => (a === undefined || l.index > a.index ? l : a), undefined);
  const { targets: _t, ...options } = req.options;
  const out: Record<string, unknown> = {
    scores,
    top: ranked.map((c) => ({ class: c, label: labelOf(net, c), score: scores[c] })),
    explained: r.classes.map((c) => ({ class: c, label: labelOf(net, c) })),
    options: { ...options, target: req.target, colormap: req.colormap },
    image: { png: dataUrl('image/png', imagePng) },
    heatmap: { png: dataUrl('image/png', heatmapPng) },
    overlay: { png: dataUrl('image/png', overlayPng) },
    conservation: { seeded: top ? top.in : null, input, layers },
  };
  if (req.npy) {
    const shape = [r.heatmap.channels, r.heatmap.height, r.heatmap.width];
    out.relevance = { npy: dataUrl('application/octet-stream', encodeNpy(r.heatmap.data, shape)), shape };
  }
  return out;
}
