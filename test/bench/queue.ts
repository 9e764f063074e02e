/**
 * Bench rows for `lrp-queue` (figures, not assertions) on a real redis-server, for two
 * workloads: the bundled Fashion-MNIST model (tiny: per-chunk costs dominate) and the
 * CaffeNet-architecture net at batch 10 (compute dominates). Against one lrp-parallel-demo
 * process on the same list, each worker count n is `lrp-queue worker --processes n` (engine
 * threads: the cores shared out), plus one worker with --concurrency 2 and n = 2 with every
 * process on all cores (oversubscribed, what workers started by hand without --threads do).
 *
 * What is timed, per row: start-up (spawn until the last worker has its net, from the jobs'
 * processedOn and the net-open time the worker returns) and the first run's wall time; then the
 * same list again with the workers warm, whose span (first chunk taken to last chunk finished)
 * gives the steady images/s. Per chunk (1 worker, warm) against lrp-parallel-demo's time per
 * batch after its own start-up: the difference, split into Redis/BullMQ time inside the job,
 * the gap between one job and the next, and the rest (a chunk of one batch decodes, computes and
 * writes one after another, while lrp-parallel-demo overlaps them across batches).
 * Needs redis-server; returns the reason instead when it is missing.
 */
import { spawn, type ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { Job } from 'bullmq';
import { saveCaffemodel, savePrototxt } from '../../lib/caffe';
import type { ChunkJob } from '../../demonstrator/queue/job';
import { bullmq, connect, keys } from '../../demonstrator/queue/redis';
import type { ChunkResult } from '../../demonstrator/queue/worker';
import { bin, makeCase, runBin, runBinAsync } from '../queue/fixture';
import { sharedPath } from '../helpers/shared-data';
import { findRedisServer, startRedis, type RedisServer } from '../queue/redis-server';
import { caffenetSpec } from './caffenet-spec';

const CORES = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;

interface Workload {
  label: string;
  dir: string;
  list: string;
  images: number;
  batch: number;
  writeConfig(out: string, name: string): string;
}

export interface QueueBenchRow {
  workers: number;
  threads: number;
  /** Chunks at once per worker (--concurrency). */
  concurrency: number;
  /** Spawn until the last worker has opened its net. */
  startupSeconds: number;
  /** The first run, start-up included. */
  firstRunSeconds: number;
  /** The second run with warm workers: first chunk taken to last chunk finished. */
  steadySeconds: number;
  steadyImagesPerSecond: number;
  /** Nets opened during the warm run (0 unless a worker got no chunk in the first run). */
  warmOpens: number;
}

export interface ChunkCost {
  queueMs: number;
  singleMs: number;
  /** Our records, progress and manifest check after the pipeline. */
  bookkeepingMs: number;
  /** The rest of the job's time outside runPipeline: BullMQ's lock, events and moving the job. */
  bullmqMs: number;
  betweenMs: number;
  restMs: number;
}

export interface WorkloadBench {
  label: string;
  images: number;
  chunks: number;
  batch: number;
  submitSeconds: number;
  single: { threads: number; startupSeconds: number; seconds: number; steadyImagesPerSecond: number };
  rows: QueueBenchRow[];
  perChunk?: ChunkCost;
}

export interface QueueBench {
  cores: number;
  workloads: WorkloadBench[];
  skipped: string[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The bundled model: `images` crafted PNGs at `batch`. */
async function fashionWorkload(images: number, batch: number): Promise<Workload> {
  const c = await makeCase(images, { batch });
  return { label: `bundled Fashion-MNIST model (28x28, layer_dep rule), batch ${batch}`, dir: c.dir, list: c.list, images, batch, writeConfig: c.writeConfig };
}

/** The CaffeNet-architecture net of the end-to-end row (227x227, epsilon) over the shared photos; or why not. */
async function caffenetWorkload(images: number, batch: number): Promise<Workload | string> {
  const photos = sharedPath('images');
  const mean = sharedPath('vectors', 'preprocess', 'mean_bgr_104_117_123_256.binaryproto');
  if (!fs.existsSync(photos) || !fs.existsSync(mean)) return `CaffeNet-architecture workload skipped: ${photos} or ${mean} is not available`;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'caffe-lrp-queue-bench-'));
  const spec = caffenetSpec(batch);
  await savePrototxt(spec, path.join(dir, 'deploy.prototxt'));
  await saveCaffemodel(spec, path.join(dir, 'weights.caffemodel'));
  fs.symlinkSync(photos, path.join(dir, 'images'));
  const names = fs.readdirSync(photos).filter((f) => /\.(jpe?g|png)$/i.test(f)).sort();
  const list = path.join(dir, 'list.txt');
  fs.writeFileSync(list, Array.from({ length: images }, (_, i) => `images/${names[i % names.length]} -1`).join('\n') + '\n');
  const writeConfig = (out: string, name: string) => {
    const cfg = [
      'param_file', path.join(dir, 'deploy.prototxt'), 'model_file', path.join(dir, 'weights.caffemodel'),
      'mean_file', mean, 'use_mean_file_asbinaryprotoblob', '1', 'lastlayerindex', '-2', 'firstlayerindex', '0',
      'numclasses', '1000', 'baseimgsize', '256', 'standalone_outpath', out, 'standalone_rootpath', 'images',
      'relpropformulatype', '0', 'epsstab', '1', 'alphabeta_beta', '1', 'auxiliaryvariable_maxlayerindexforflatdistinconv', '-1',
    ].join('\n');
    const f = path.join(dir, name);
    fs.writeFileSync(f, `${cfg}\n`);
    return f;
  };
  return { label: `CaffeNet architecture (227x227, epsilon rule), batch ${batch}`, dir, list, images, batch, writeConfig };
}

function startWorkers(redis: RedisServer, queue: string, cwd: string, processes: number, threads: number, concurrency: number): { child: ChildProcess; log: () => string } {
  const args = [bin('lrp-queue'), 'worker', '--redis', redis.url, '--queue', queue, '--threads', String(threads), '--concurrency', String(concurrency)];
  if (processes > 1) args.push('--processes', String(processes));
  const child = spawn(process.execPath, args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr?.on('data', (d) => (log += d));
  return { child, log: () => log };
}

function submit(redis: RedisServer, queue: string, w: Workload, config: string): { run: string; seconds: number } {
  const t0 = Date.now();
  const s = runBin('lrp-queue', ['submit', '--redis', redis.url, '--queue', queue, config, w.list, '.'], w.dir);
  if (s.code !== 0) throw new Error(`lrp-queue submit failed: ${s.stderr}`);
  return { run: s.stdout.trim().split('\n').pop() as string, seconds: (Date.now() - t0) / 1000 };
}

/** Waits (one cheap HLEN per 20 ms) until every image of the run has a record; then its finished jobs. */
async function finishedJobs(redis: RedisServer, queue: string, run: string, images: number, chunks: number, log: () => string): Promise<Job<ChunkJob, ChunkResult>[]> {
  const r = connect(redis.url);
  const q = new (bullmq().Queue)<ChunkJob, ChunkResult>(queue, { connection: r });
  try {
    const until = Date.now() + 600_000;
    while ((await r.hlen(keys.images(queue, run))) < images) {
      if (Date.now() > until) throw new Error(`queue bench: run ${run} did not complete; worker log:\n${log().slice(-2000)}`);
      await sleep(20);
    }
    // The last chunk's records land just before BullMQ marks it finished.
    const jobs: Job<ChunkJob, ChunkResult>[] = [];
    for (let c = 0; c < chunks; c++) {
      let job = await q.getJob(`${run}-${c}`);
      while (job !== undefined && job.finishedOn === undefined) {
        await sleep(10);
        job = await q.getJob(`${run}-${c}`);
      }
      if (job === undefined) throw new Error(`queue bench: job ${run}-${c} is missing`);
      jobs.push(job);
    }
    return jobs;
  } finally {
    await q.close();
    r.disconnect();
  }
}

function span(jobs: Job<ChunkJob, ChunkResult>[]): number {
  return (Math.max(...jobs.map((j) => j.finishedOn as number)) - Math.min(...jobs.map((j) => j.processedOn as number))) / 1000;
}

async function queueRow(redis: RedisServer, w: Workload, processes: number, threads: number, concurrency: number, chunks: number): Promise<{ row: QueueBenchRow; warm: Job<ChunkJob, ChunkResult>[] }> {
  const queue = `bench-${path.basename(w.dir)}-${processes}x${threads}c${concurrency}`;
  const config = w.writeConfig(path.join(w.dir, `out-${queue}`), `${queue}.cfg`);
  const first = submit(redis, queue, w, config);
  const spawned = Date.now();
  const workers = startWorkers(redis, queue, w.dir, processes, threads, concurrency);
  try {
    const cold = await finishedJobs(redis, queue, first.run, w.images, chunks, workers.log);
    const firstRunSeconds = (Math.max(...cold.map((j) => j.finishedOn as number)) - spawned) / 1000;
    // each worker is ready when its first chunk has opened the net
    const byWorker = new Map<string, Job<ChunkJob, ChunkResult>>();
    for (const j of cold) {
      const k = j.processedBy ?? '?';
      const seen = byWorker.get(k);
      if (seen === undefined || (j.processedOn as number) < (seen.processedOn as number)) byWorker.set(k, j);
    }
    const ready = [...byWorker.values()].map((j) => (j.processedOn as number) + (j.returnvalue?.openMs ?? 0));
    const again = submit(redis, queue, w, config);
    const warm = await finishedJobs(redis, queue, again.run, w.images, chunks, workers.log);
    const steadySeconds = span(warm);
    return {
      row: {
        workers: processes,
        threads,
        concurrency,
        startupSeconds: (Math.max(...ready) - spawned) / 1000,
        firstRunSeconds,
        steadySeconds,
        steadyImagesPerSecond: w.images / steadySeconds,
        warmOpens: warm.filter((j) => (j.returnvalue?.openMs ?? 0) > 0).length,
      },
      warm,
    };
  } finally {
    await new Promise((r) => {
      if (workers.child.exitCode !== null) return r(undefined);
      workers.child.once('exit', r);
      workers.child.kill('SIGTERM');
    });
  }
}

/** Where a warm 1-worker chunk's time goes, against lrp-parallel-demo's time per batch. */
function chunkCost(warm: Job<ChunkJob, ChunkResult>[], singleMsPerBatch: number): ChunkCost {
  const jobs = [...warm].sort((a, b) => (a.processedOn as number) - (b.processedOn as number));
  const mean = (xs: number[]) => (xs.length === 0 ? 0 : xs.reduce((s, x) => s + x, 0) / xs.length);
  const queueMs = (span(jobs) * 1000) / jobs.length;
  const outside = mean(jobs.map((j) => (j.finishedOn as number) - (j.processedOn as number) - (j.returnvalue?.pipelineMs ?? 0)));
  const bookkeepingMs = mean(jobs.map((j) => j.returnvalue?.bookkeepingMs ?? 0));
  const betweenMs = mean(jobs.slice(1).map((j, i) => (j.processedOn as number) - (jobs[i].finishedOn as number)));
  return { queueMs, singleMs: singleMsPerBatch, bookkeepingMs, bullmqMs: outside - bookkeepingMs, betweenMs, restMs: queueMs - singleMsPerBatch - outside - betweenMs };
}

export interface RowSpec {
  workers: number;
  /** Default: the cores shared out among the workers. */
  threads?: number;
  /** Default 1. */
  concurrency?: number;
}

async function benchWorkload(redis: RedisServer, w: Workload, rows: RowSpec[]): Promise<WorkloadBench> {
  const chunks = Math.ceil(w.images / w.batch);
  // lrp-parallel-demo: start-up alone (an empty list), then the whole list; same default threads as one worker
  fs.writeFileSync(path.join(w.dir, 'empty.txt'), '');
  const cfg = w.writeConfig(path.join(w.dir, 'out-single'), 'single.cfg');
  let t0 = Date.now();
  const e = await runBinAsync('lrp-parallel-demo', ['-q', '--threads', String(CORES), cfg, 'empty.txt', '.'], w.dir);
  const startup = (Date.now() - t0) / 1000;
  t0 = Date.now();
  const s = await runBinAsync('lrp-parallel-demo', ['-q', '--threads', String(CORES), cfg, w.list, '.'], w.dir);
  const seconds = (Date.now() - t0) / 1000;
  if (e.code !== 0 || s.code !== 0) throw new Error(`lrp-parallel-demo failed: ${e.stderr}${s.stderr}`);
  const single = { threads: CORES, startupSeconds: startup, seconds, steadyImagesPerSecond: w.images / Math.max(1e-3, seconds - startup) };

  const out: QueueBenchRow[] = [];
  let perChunk: ChunkCost | undefined;
  for (const r of rows) {
    const threads = r.threads ?? Math.max(1, Math.floor(CORES / r.workers));
    const { row, warm } = await queueRow(redis, w, r.workers, threads, r.concurrency ?? 1, chunks);
    out.push(row);
    if (r.workers === 1 && (r.concurrency ?? 1) === 1 && perChunk === undefined) perChunk = chunkCost(warm, ((seconds - startup) * 1000) / chunks);
  }
  // submit alone: one more, nothing to process it (the queue is removed with the server)
  const sub = submit(redis, `bench-submit-${path.basename(w.dir)}`, w, cfg);
  return { label: w.label, images: w.images, chunks, batch: w.batch, submitSeconds: sub.seconds, single, rows: out, perChunk };
}

export async function benchQueue(
  opts: { fashionImages?: number; caffenetImages?: number; rows?: RowSpec[] } = {},
): Promise<QueueBench | string> {
  const { bin: redisBin, reason } = findRedisServer();
  if (!redisBin) return `queue bench skipped: ${reason}`;
  // 1, 2, 3 workers with the cores shared out; 1 worker with two chunks at once (one decodes
  // and writes while the other computes); 2 workers each on every core (what plain
  // `lrp-queue worker` processes started by hand do)
  const rows = opts.rows ?? [{ workers: 1 }, { workers: 1, concurrency: 2 }, { workers: 2 }, { workers: 3 }, { workers: 2, threads: CORES }];
  const skipped: string[] = [];
  const loads: Workload[] = [await fashionWorkload(opts.fashionImages ?? 240, 8)];
  const cn = await caffenetWorkload(opts.caffenetImages ?? 60, 10);
  if (typeof cn === 'string') skipped.push(cn);
  else loads.push(cn);
  const redis = await startRedis(redisBin);
  try {
    const workloads: WorkloadBench[] = [];
    for (const w of loads) workloads.push(await benchWorkload(redis, w, rows));
    return { cores: CORES, workloads, skipped };
  } finally {
    await redis.dispose();
    for (const w of loads) fs.rmSync(w.dir, { recursive: true, force: true });
  }
}

const f1 = (x: number) => x.toFixed(1);
const f2 = (x: number) => x.toFixed(2);

/** The rows as text, with what this machine's cores can and cannot show. */
export function queueBenchText(b: QueueBench | string): string {
  if (typeof b === 'string') return `${b}\n`;
  const lines = [
    `lrp-queue on a local redis-server, ${b.cores} cores; n workers = \`lrp-queue worker --processes n\` (engine threads: the cores shared out unless marked)`,
  ];
  for (const w of b.workloads) {
    lines.push(`${w.label}: ${w.images} images, ${w.chunks} chunks`);
    lines.push(`  lrp-parallel-demo, 1 process, ${w.single.threads} threads: ${f2(w.single.seconds)} s = ${f2(w.single.startupSeconds)} s start-up + ${f1(w.single.steadyImagesPerSecond)} img/s`);
    const one = w.rows.find((r) => r.workers === 1 && r.concurrency === 1);
    for (const r of w.rows) {
      const who =
        `${r.workers} worker${r.workers > 1 ? 's' : ''} x ${r.threads} thread${r.threads > 1 ? 's' : ''}` +
        `${r.concurrency > 1 ? `, --concurrency ${r.concurrency}` : ''}${r.workers * r.threads > b.cores ? ' (oversubscribed)' : ''}`;
      const vsOne = one && r !== one ? `, ${f2(r.steadyImagesPerSecond / one.steadyImagesPerSecond)}x 1 worker` : '';
      const warm = r.warmOpens > 0 ? ` (${r.warmOpens} chunk${r.warmOpens > 1 ? 's' : ''} of the warm run opened a net)` : '';
      lines.push(`  lrp-queue, ${who}: start-up ${f2(r.startupSeconds)} s, first run ${f2(r.firstRunSeconds)} s; warm: ${f1(r.steadyImagesPerSecond)} img/s${vsOne}${warm}`);
    }
    const c = w.perChunk;
    if (c) {
      lines.push(
        `  per chunk (1 worker, warm): ${f1(c.queueMs)} ms vs ${f1(c.singleMs)} ms per batch in lrp-parallel-demo = ${f1(c.queueMs - c.singleMs)} ms overhead:` +
          ` ${f1(c.bookkeepingMs)} ms our Redis records, ${f1(c.bullmqMs)} ms BullMQ in the job, ${f1(c.betweenMs)} ms between jobs,` +
          ` ${f1(c.restMs)} ms the chunk's decode, compute and write not overlapped (and noise)`,
      );
    }
    lines.push(`  lrp-queue submit: ${f2(w.submitSeconds)} s (a Node process, the config read, ${w.chunks} jobs added)`);
  }
  for (const s of b.skipped) lines.push(s);
  lines.push(`  (${b.cores} cores: at most ${b.cores} single-threaded workers can add speed here; more workers only show that nothing is lost)`);
  return `${lines.join('\n')}\n`;
}
