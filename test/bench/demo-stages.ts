/**
 * The end-to-end row's stages one at a time, in their own process (so that the row's peak
 * resident set stays the demonstrator's alone): the same 100 photos, net and options as
 * lrp-parallel-demo, ten at a time as its batches run, each stage finished before the next
 * starts. Prints one JSON line: per stage the wall time and the process's CPU time (all its
 * threads) per image. The CPU times added up and divided by the cores are what overlapping
 * the stages can at best reach; their sum against the demonstrator's time shows what
 * overlapping costs or saves.
 */
import * as fs from 'fs';
import * as path from 'path';
import { Net } from '../../lib/net';
import { loadInputMean } from '../../lib/image/mean';
import { preprocessImage, type Preprocessed } from '../../lib/image/preprocess';
import { writeAsInputtedPng, writeHeatmapPng } from '../../lib/outputs/png-files';
import { writeRawhm, writeTopScores } from '../../lib/outputs/text-files';
import type { Heatmap } from '../../lib/heatmap';

export interface StageTimes {
  images: number;
  /** Stage name → [wall ms, CPU ms] per image (the model load: per run, not per image). */
  stages: Record<string, [number, number]>;
}

const BATCH = 10;

async function timed(stages: StageTimes['stages'], name: string, per: number, fn: () => Promise<void>): Promise<void> {
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  await fn();
  const wall = Number(process.hrtime.bigint() - t0) / 1e6;
  const cpu = process.cpuUsage(cpu0);
  stages[name] = [wall / per, (cpu.user + cpu.system) / 1e3 / per];
}

async function inBatches<T>(items: T[], fn: (item: T, index: number) => Promise<void>): Promise<void> {
  for (let b = 0; b < items.length; b += BATCH) await Promise.all(items.slice(b, b + BATCH).map((it, i) => fn(it, b + i)));
}

function argmax(v: Float32Array): number {
  let best = 0;
  for (let i = 1; i < v.length; i++) if (v[i] > v[best]) best = i;
  return best;
}

async function run(dir: string, meanFile: string): Promise<void> {
  const files = fs.readFileSync(path.join(dir, 'list.txt'), 'utf8').trim().split('\n').map((l) => path.join(dir, l.split(' ')[0]));
  const out = fs.mkdtempSync(path.join(dir, 'stages-'));
  const mean = loadInputMean(meanFile, 1);
  const stages: StageTimes['stages'] = {};
  let net: Net | undefined;
  await timed(stages, 'model load (per run)', 1, async () => {
    net = await Net.load({ prototxt: path.join(dir, 'deploy.prototxt'), caffemodel: path.join(dir, 'weights.caffemodel') });
  });
  const n = files.length;
  const pre: Preprocessed[] = [];
  await timed(stages, 'decode + resize + crop', n, () => inBatches(files, async (f, i) => {
    pre[i] = await preprocessImage(f, { size: 227, channels: 3, baseImgSize: 256, mean });
  }));
  const heatmaps: Heatmap[] = [];
  const scores: Float32Array[] = [];
  await timed(stages, 'engine: forward + epsilon', n, async () => {
    for (let b = 0; b < n; b += BATCH) {
      const s = await (net as Net).forward(pre.slice(b, b + BATCH).map((p) => p.blob));
      scores.push(...s);
      heatmaps.push(...(await (net as Net).backwardRelevanceMulti(s.map((v) => [argmax(v)]), { relpropformulatype: 0, epsstab: 1 })));
    }
  });
  await timed(stages, '_rawhm.txt', n, () => inBatches(heatmaps, (h, i) => writeRawhm(path.join(out, `${i}_rawhm.txt`), h)));
  await timed(stages, '_heatmap.png', n, () => inBatches(heatmaps, (h, i) => writeHeatmapPng(path.join(out, `${i}_heatmap.png`), h)));
  await timed(stages, '_as_inputted_into_the_dnn.png', n, () => inBatches(pre, (p, i) => writeAsInputtedPng(path.join(out, `${i}_in.png`), p.asInputted, p.width, p.height)));
  await timed(stages, 'scores file', n, () => inBatches(scores, (s, i) => writeTopScores(path.join(out, `${i}_scores.txt`), s)));
  await (net as Net).dispose();
  fs.rmSync(out, { recursive: true, force: true });
  const result: StageTimes = { images: n, stages };
  process.stdout.write(JSON.stringify(result) + '\n');
}

if (require.main === module) {
  run(process.argv[2], process.argv[3]).catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
