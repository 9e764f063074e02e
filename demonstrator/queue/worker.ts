/**
 * `lrp-queue worker`: takes chunk jobs and runs them through lrp-parallel-demo's pipeline
 * (runPipeline), writing the same files atomically. Each distinct config (by content and
 * folder) opens its net once per chunk that may run at once (SessionPool). Per-image results
 * go into the run's Redis hash keyed by list line, so a chunk that runs twice (retry, a dead
 * worker's stalled job) overwrites its own records and files with identical ones.
 * SIGTERM/SIGINT close the worker: the chunks in hand are finished first, no new one is
 * taken; a worker killed outright leaves its job to BullMQ's stalled-job check.
 */
import * as os from 'os';
import * as path from 'path';
import type { Job } from 'bullmq';
import { runPipeline } from '../pipeline';
import { imageReason } from '../cli';
import type { ChunkJob } from './job';
import { manifestPath, manifestRecord, writeManifest, type ManifestRecord } from './manifest';
import { bullmq, connect, keys, readMeta, readRecords, type Redis, type RunMeta } from './redis';
import { SessionPool } from './sessions';

export interface WorkerOptions {
  url: string;
  queue: string;
  concurrency: number;
  /** Engine threads of this process (already in OMP_NUM_THREADS / OPENBLAS_NUM_THREADS). */
  threads: number;
  /** BullMQ lock duration / stalled check interval (ms); short values let tests see a dead worker quickly. */
  lockDuration?: number;
  stalledInterval?: number;
  log(s: string): void;
}

/** What a finished chunk job returns (BullMQ keeps it as the job's return value; the bench reads it). */
export interface ChunkResult {
  images: number;
  /** Time in runPipeline (decode, compute, write). */
  pipelineMs: number;
  /** Time this chunk spent opening the net (0 when a session was free). */
  openMs: number;
  /** Time of the Redis bookkeeping after the pipeline (records, progress, manifest check). */
  bookkeepingMs: number;
}

/** Writes the manifest once every image of the run has a record (idempotent: same records, same text). */
export async function writeManifestIfComplete(redis: Redis, queue: string, run: string): Promise<boolean> {
  const meta = await readMeta(redis, queue, run);
  if ((await redis.hlen(keys.images(queue, run))) < meta.total) return false;
  await writeManifest(manifestPath(meta.outPath, run), await readRecords(redis, queue, run));
  return true;
}

/** The name BullMQ records as a job's processedBy and lists in CLIENT LIST: host, process, engine threads. */
export function workerName(threads: number): string {
  return `${os.hostname()}:${process.pid}:t${threads}`;
}

/**
 * The engine threads of this queue's workers on this host (from Redis' client list), when they
 * are more than the cores: several plain workers each took every core. Only a warning: the
 * thread count is fixed when the engine loads, and one chosen from a racy count would make the
 * files depend on start-up order.
 */
async function oversubscription(redis: Redis, queue: string, cores: number): Promise<string | undefined> {
  const q = new (bullmq().Queue)(queue, { connection: redis });
  try {
    const host = `:w:${os.hostname()}:`;
    const here = (await q.getWorkers()).map((c) => String(c.rawname ?? '')).filter((n) => n.includes(host));
    const threads = here.reduce((sum, n) => sum + Number(/:t(\d+)$/.exec(n)?.[1] ?? 1), 0);
    if (here.length < 2 || threads <= cores) return undefined;
    return `${here.length} workers of queue '${queue}' on this host run ${threads} engine threads on ${cores} cores: they slow each other down; start one 'lrp-queue worker --processes ${here.length}' or give each --threads ${Math.max(1, Math.floor(cores / here.length))}`;
  } finally {
    await q.close();
  }
}

export function cores(): number {
  return typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
}

export async function runWorker(o: WorkerOptions): Promise<void> {
  const sessions = new SessionPool();
  const redis = connect(o.url);
  // A run's meta never changes after submit: read once per run, not once per chunk.
  const metas = new Map<string, Promise<RunMeta>>();
  const metaOf = (run: string) => {
    let m = metas.get(run);
    if (m === undefined) {
      m = readMeta(redis, o.queue, run);
      m.catch(() => metas.delete(run));
      metas.set(run, m);
    }
    return m;
  };
  let engineLogged = false;

  const process_ = async (job: Job<ChunkJob>): Promise<ChunkResult> => {
    const d = job.data;
    const { session, release, openedMs } = await sessions.acquire(d);
    if (!engineLogged) {
      engineLogged = true;
      const { loadNative } = await import('../../lib/native');
      o.log(`engine: ${loadNative().blasInfo().threads} threads`);
    }
    const records: ManifestRecord[] = [];
    const t0 = Date.now();
    try {
      await runPipeline(session, d.entries, {
        minimal: d.minimal,
        cwd: d.config.cwd,
        onImageDone(entry, error, files) {
          const reason = error === undefined ? undefined : imageReason(error, path.resolve(d.config.cwd, entry.imagePath));
          records.push(manifestRecord(entry, d.minimal, files, reason));
        },
      });
    } finally {
      release();
    }
    const t1 = Date.now();
    const meta = await metaOf(d.run);
    // The records with the count of the run's records (one round trip), and the job's progress
    // at the same time: per chunk, each round trip to Redis is time the engine waits.
    const [res] = await Promise.all([
      redis
        .multi()
        .hset(keys.images(o.queue, d.run), Object.fromEntries(records.map((r) => [String(r.line), JSON.stringify(r)])))
        .hlen(keys.images(o.queue, d.run))
        .exec(),
      job.updateProgress({ done: records.filter((r) => r.status === 'done').length, failed: records.filter((r) => r.status === 'failed').length }),
    ]);
    const failedCmd = res?.find(([e]) => e !== null);
    if (res === null || failedCmd !== undefined) throw new Error(`saving the chunk's records in Redis failed: ${failedCmd?.[0]?.message ?? 'transaction aborted'}`);
    if ((res[1][1] as number) >= meta.total) await writeManifest(manifestPath(meta.outPath, d.run), await readRecords(redis, o.queue, d.run));
    return { images: records.length, pipelineMs: t1 - t0, openMs: openedMs, bookkeepingMs: Date.now() - t1 };
  };

  const { Worker } = bullmq();
  const workerConnection = connect(o.url);
  const worker = new Worker<ChunkJob, ChunkResult>(o.queue, process_, {
    connection: workerConnection,
    name: workerName(o.threads),
    concurrency: o.concurrency,
    maxStalledCount: 3,
    // Only the values given: BullMQ takes an explicit undefined as the setting, not as its default.
    ...(o.lockDuration === undefined ? {} : { lockDuration: o.lockDuration }),
    ...(o.stalledInterval === undefined ? {} : { stalledInterval: o.stalledInterval }),
  });
  worker.on('active', (job) => o.log(`run ${job.data.run}: chunk ${job.id} started`));
  worker.on('completed', (job) => o.log(`run ${job.data.run}: chunk ${job.id} done (${job.data.entries.length} images)`));
  worker.on('failed', (job, err) => o.log(`run ${job?.data.run}: chunk ${job?.id} failed (attempt ${job?.attemptsMade}): ${err.message}`));
  worker.on('error', (err) => o.log(`worker error: ${err.message}`));
  worker.once('ready', () => {
    o.log(`ready: queue '${o.queue}', ${o.concurrency} chunk${o.concurrency === 1 ? '' : 's'} at a time, ${o.threads} engine thread${o.threads === 1 ? '' : 's'}`);
    oversubscription(redis, o.queue, cores()).then(
      (w) => w !== undefined && o.log(`warning: ${w}`),
      () => undefined, // a Redis without CLIENT LIST: no warning
    );
  });

  await new Promise<void>((resolve) => {
    let stopping = false;
    // Handlers stay: a second signal (Ctrl-C reaches a --processes child directly and through
    // its parent) must not kill a worker that is finishing its chunk.
    const stop = (why: string) => {
      if (stopping) return;
      stopping = true;
      o.log(`${why}: finishing the chunks in hand, then stopping`);
      worker.close().then(resolve, resolve);
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
    // A worker started by `--processes` stops with its parent, even one that was killed outright.
    if (process.send !== undefined) process.once('disconnect', () => stop('parent gone'));
  });
  await sessions.dispose();
  redis.disconnect();
  workerConnection.disconnect();
}
