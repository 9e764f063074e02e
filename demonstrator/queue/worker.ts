/**
 * `lrp-queue worker`: takes chunk jobs and runs them through lrp-parallel-demo's pipeline
 * (runPipeline), writing the same files atomically. Each distinct config (by content and
 * folder) opens its net once. Per-image results go into the run's Redis hash keyed by list
 * line, so a chunk that runs twice (retry, a dead worker's stalled job) overwrites its own
 * records and files with identical ones. SIGTERM/SIGINT close the worker: the current chunk
 * is finished first; a worker killed outright leaves its job to BullMQ's stalled-job check.
 */
import * as crypto from 'crypto';
import * as path from 'path';
import type { Job } from 'bullmq';
import { checkConfigFiles, parseConfig } from '../config';
import { openSession, type Session } from '../session';
import { runPipeline } from '../pipeline';
import { imageReason } from '../cli';
import type { ChunkJob } from './job';
import { manifestPath, manifestRecord, writeManifest, type ManifestRecord } from './manifest';
import { bullmq, connect, keys, readMeta, readRecords, type Redis } from './redis';

export interface WorkerOptions {
  url: string;
  queue: string;
  concurrency: number;
  /** BullMQ lock duration / stalled check interval (ms); short values let tests see a dead worker quickly. */
  lockDuration?: number;
  stalledInterval?: number;
  log(s: string): void;
}

/** Writes the manifest once every image of the run has a record (idempotent: same records, same text). */
export async function writeManifestIfComplete(redis: Redis, queue: string, run: string): Promise<boolean> {
  const meta = await readMeta(redis, queue, run);
  if ((await redis.hlen(keys.images(queue, run))) < meta.total) return false;
  await writeManifest(manifestPath(meta.outPath, run), await readRecords(redis, queue, run));
  return true;
}

export async function runWorker(o: WorkerOptions): Promise<void> {
  const sessions = new Map<string, Promise<Session>>();
  const sessionFor = (d: ChunkJob): Promise<Session> => {
    const key = crypto.createHash('sha256').update(JSON.stringify([d.config.text, d.config.cwd, d.listImages])).digest('hex');
    let s = sessions.get(key);
    if (s === undefined) {
      s = (async () => {
        const { config } = parseConfig(d.config.text, { file: d.config.file, cwd: d.config.cwd });
        checkConfigFiles(config);
        return openSession({ config, parallel: true, images: d.listImages });
      })();
      s.catch(() => sessions.delete(key)); // a start-up failure is retried by the next attempt
      sessions.set(key, s);
    }
    return s;
  };

  const redis = connect(o.url);
  const process_ = async (job: Job<ChunkJob>) => {
    const d = job.data;
    const session = await sessionFor(d);
    const records: ManifestRecord[] = [];
    await runPipeline(session, d.entries, {
      minimal: d.minimal,
      cwd: d.config.cwd,
      onImageDone(entry, error, files) {
        const reason = error === undefined ? undefined : imageReason(error, path.resolve(d.config.cwd, entry.imagePath));
        records.push(manifestRecord(entry, d.minimal, files, reason));
      },
    });
    await redis.hset(keys.images(o.queue, d.run), Object.fromEntries(records.map((r) => [String(r.line), JSON.stringify(r)])));
    await job.updateProgress({ done: records.filter((r) => r.status === 'done').length, failed: records.filter((r) => r.status === 'failed').length });
    await writeManifestIfComplete(redis, o.queue, d.run);
    return { images: records.length };
  };

  const { Worker } = bullmq();
  const workerConnection = connect(o.url);
  const worker = new Worker<ChunkJob>(o.queue, process_, {
    connection: workerConnection,
    concurrency: o.concurrency,
    maxStalledCount: 3,
    // Only the values given: BullMQ takes an explicit undefined as the setting, not as its default.
    ...(o.lockDuration === undefined ? {} : { lockDuration: o.lockDuration }),
    ...(o.stalledInterval === undefined ? {} : { stalledInterval: o.stalledInterval }),
  });
  worker.on('completed', (job) => o.log(`run ${job.data.run}: chunk ${job.id} done (${job.data.entries.length} images)`));
  worker.on('failed', (job, err) => o.log(`run ${job?.data.run}: chunk ${job?.id} failed (attempt ${job?.attemptsMade}): ${err.message}`));
  worker.on('error', (err) => o.log(`worker error: ${err.message}`));

  await new Promise<void>((resolve) => {
    const stop = (sig: string) => {
      o.log(`${sig}: finishing the current chunk, then stopping`);
      worker.close().then(resolve, resolve);
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  for (const s of sessions.values()) await s.then((x) => x.net.dispose()).catch(() => undefined);
  redis.disconnect();
  workerConnection.disconnect();
}
