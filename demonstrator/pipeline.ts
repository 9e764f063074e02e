/**
 * The per-image pipeline of both demonstrators (behaviour spec §5.10, §5.13, §5.14;
 * contract §2), in batches of the session's batch size (1 for the sequential demo):
 * preprocess → forward → class choice → relevance → outputs.
 *
 * The next batch is decoded and resized (sharp, off the main thread) while the engine
 * computes the current one, and a batch's files are written while the next one computes.
 * A bad image (missing, unreadable, undecodable, no output name, class field not an integer or out of range)
 * is taken out of its batch and reported; the others go on. The input blob of a partial
 * batch is zero-filled by Net.forward, never stale, and only real images are explained.
 */
import { promises as fsp } from 'fs';
import * as path from 'path';
import { CaffeLrpError } from '../lib/errors';
import { loadNative } from '../lib/native';
import type { Heatmap } from '../lib/heatmap';
import { FileListEntry, OutputFiles, outputBase, outputFiles } from './filelist';
import { writeAsInputtedPng, writeHeatmapPng } from '../lib/outputs/png-files';
import { writeRawhm, writeTopScores } from '../lib/outputs/text-files';
import { preprocessImage, type Preprocessed } from '../lib/image/preprocess';
import { chooseClasses, rankClasses } from './ranking';
import type { Session } from './session';
import type { ConservationSummary } from './conservation';

export interface PipelineOptions {
  /** Only `_rawhm.txt` and the scores file (the *_minimaloutput demonstrators). */
  minimal: boolean;
  /** Base for relative image paths (the process's cwd for the command line). */
  cwd: string;
  /** Called once per list entry, in list order within a batch, with the error for a failed one and the files written for a good one. */
  onImageDone(entry: FileListEntry, error?: unknown, files?: OutputFiles): void;
  /** Only every `count`-th batch, starting at batch `index` (`--shard index/count`); default all. */
  shard?: Shard;
  /** `--conservation`: every batch's per-layer report is added here. */
  conservation?: ConservationSummary;
}

/** Batch b of a list belongs to shard b mod count. */
export interface Shard {
  index: number;
  count: number;
}

/** The list split into the batches runPipeline processes, restricted to one shard. */
export function shardBatches(entries: FileListEntry[], batchSize: number, shard?: Shard): FileListEntry[][] {
  const batches: FileListEntry[][] = [];
  for (let i = 0, b = 0; i < entries.length; i += batchSize, b++) {
    if (shard === undefined || b % shard.count === shard.index) batches.push(entries.slice(i, i + batchSize));
  }
  return batches;
}

export interface PipelineResult {
  total: number;
  failed: number;
}

interface Job {
  entry: FileListEntry;
  /** Absolute path of the image. */
  file: string;
  files?: OutputFiles;
  pre?: Preprocessed;
  scores?: Float32Array;
  classes?: number[];
  heatmap?: Heatmap;
  error?: unknown;
}

export async function runPipeline(session: Session, entries: FileListEntry[], opts: PipelineOptions): Promise<PipelineResult> {
  // A demonstrator is an application: it may set how the process allocates (see the README's
  // Memory paragraph); a library user's process is left as it is.
  loadNative().tuneAllocator?.();
  const batches = shardBatches(entries, session.batchSize, opts.shard);

  let failed = 0;
  const finish = (jobs: Job[]) => {
    for (const j of jobs) {
      if (j.error !== undefined) failed++;
      opts.onImageDone(j.entry, j.error, j.error === undefined ? j.files : undefined);
    }
  };

  let next = batches.length > 0 ? prepareBatch(session, batches[0], opts.cwd) : undefined;
  let writing: Promise<void> = Promise.resolve();
  for (let b = 0; b < batches.length; b++) {
    const jobs = await (next as Promise<Job[]>);
    // Start decoding the next batch before this one's native compute.
    next = b + 1 < batches.length ? prepareBatch(session, batches[b + 1], opts.cwd) : undefined;
    await computeBatch(session, jobs, opts.conservation);
    await writing; // at most one batch of files in flight
    writing = writeBatch(session, jobs, opts.minimal).then(() => finish(jobs));
  }
  await writing;
  return { total: batches.reduce((n, b) => n + b.length, 0), failed };
}

/**
 * Images of a batch prepared, and written, at the same time. Decoding and encoding run off
 * the main thread, but cropping, normalising and colouring run on it and leave buffers that
 * wait for the garbage collector: ten images at once put ~50 MB of transient memory on top of
 * the engine's peak each time. With two at a time the next batch is still ready, and this one
 * written, before the engine has finished its batch (the 100-photo run was no slower).
 */
const IMAGES_IN_FLIGHT = 2;

/** fn(items[i], i) for every item, at most `limit` running at a time. */
async function eachLimited<T>(items: T[], limit: number, fn: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/** Output names, file checks, class range checks and preprocessing; never rejects. */
async function prepareBatch(session: Session, entries: FileListEntry[], cwd: string): Promise<Job[]> {
  const jobs: Job[] = new Array(entries.length);
  await eachLimited(entries, IMAGES_IN_FLIGHT, async (entry, i) => {
    jobs[i] = await prepare(session, entry, cwd);
  });
  return jobs;
}

async function prepare(session: Session, entry: FileListEntry, cwd: string): Promise<Job> {
  const { config } = session;
  const job: Job = { entry, file: path.resolve(cwd, entry.imagePath) };
  try {
    job.files = outputFiles(outputBase(entry, config.outPath, config.rootPath), config.compat);
    const st = await fsp.stat(job.file).catch(() => undefined);
    if (st === undefined) throw new CaffeLrpError('IO', 'no such file');
    if (!st.isFile()) throw new CaffeLrpError('IO', 'not a regular file');
    // Explicit class indices are checked before any work is spent on the image.
    if (entry.classes.kind !== 'top') chooseClasses(entry.classes, new Float32Array(session.numClasses));
    job.pre = await preprocessImage(job.file, {
      size: session.size,
      channels: session.channels,
      baseImgSize: session.baseImgSize,
      mean: session.mean,
      compat: config.compat,
    });
  } catch (e) {
    job.error = e;
  }
  return job;
}

/** One forward and one relevance pass for the good images of a batch. */
async function computeBatch(session: Session, jobs: Job[], conservation?: ConservationSummary): Promise<void> {
  const ok = jobs.filter((j) => j.error === undefined);
  if (ok.length === 0) return;
  const { net } = session;
  let scores: Float32Array[];
  try {
    scores = await net.forward(ok.map((j) => (j.pre as Preprocessed).blob));
  } catch (e) {
    for (const j of ok) j.error = e;
    return;
  }
  // The engine has its copy of the input: only what the as-inputted PNG needs stays.
  for (const j of ok) {
    const pre = j.pre as Preprocessed;
    j.pre = { ...pre, blob: new Float32Array(0) };
  }
  const classes = ok.map((j, i) => {
    j.scores = scores[i].subarray(0, session.numClasses);
    try {
      j.classes = chooseClasses(j.entry.classes, j.scores);
      return j.classes;
    } catch (e) {
      // Cannot happen after prepare's check; the image still needs a seed in this pass.
      j.error = e;
      return rankClasses(j.scores).slice(0, 1);
    }
  });
  try {
    const result = conservation
      ? await net.relevance(classes, { ...session.relOptions, conservation: true })
      : { heatmaps: await net.backwardRelevanceMulti(classes, session.relOptions), conservation: undefined };
    ok.forEach((j, i) => {
      j.heatmap = result.heatmaps[i];
    });
    if (conservation && result.conservation) conservation.add(result.conservation, ok.map((j) => j.entry.imagePath));
  } catch (e) {
    for (const j of ok) if (j.error === undefined) j.error = e;
  }
}

/** The output files of every good image of a batch (each file atomically). */
async function writeBatch(session: Session, jobs: Job[], minimal: boolean): Promise<void> {
  await eachLimited(jobs, IMAGES_IN_FLIGHT, async (j) => {
    if (j.error !== undefined) return;
    const files = j.files as OutputFiles;
    const hm = j.heatmap as Heatmap;
    const pre = j.pre as Preprocessed;
    const writes = [writeRawhm(files.rawhm, hm), writeTopScores(files.scores, j.scores as Float32Array)];
    if (!minimal) {
      writes.push(writeHeatmapPng(files.heatmap, hm, session.config.heatmapColormap));
      writes.push(writeAsInputtedPng(files.asInputted, pre.asInputted, pre.width, pre.height));
    }
    const settled = await Promise.allSettled(writes);
    const bad = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (bad) j.error = bad.reason;
    // Written: the buffers can go before the rest of the batch is done.
    j.heatmap = undefined;
    j.pre = undefined;
  });
}
