/** `lrp-queue status | retry-failed | clean <run>`: reading, re-queueing and removing a run's state. */
import type { ChunkJob } from './job';
import { formatDuration } from '../progress';
import { writeManifestIfComplete } from './worker';
import { bullmq, connect, keys, readMeta, readRecords } from './redis';

export interface RunStatus {
  total: number;
  done: number;
  failed: { image: string; line: number; error: string }[];
  /** Chunks BullMQ gave up on (every attempt failed), with the reason. */
  failedJobs: { id: string; reason: string }[];
  complete: boolean;
  rate: number;
  etaSeconds: number;
}

export async function runStatus(url: string, queue: string, run: string): Promise<RunStatus> {
  const redis = connect(url);
  const q = new (bullmq().Queue)<ChunkJob>(queue, { connection: redis });
  try {
    const meta = await readMeta(redis, queue, run);
    const records = await readRecords(redis, queue, run);
    const done = records.filter((r) => r.status === 'done').length;
    const failed = records.filter((r) => r.status === 'failed').map((r) => ({ image: r.image, line: r.line, error: r.error ?? '' })).sort((a, b) => a.line - b.line);
    // The queue's failed jobs that are this run's: a few reads, where asking every chunk of a
    // long run for its state cost one round trip per chunk at every status call.
    const ids = new Set(await redis.smembers(keys.jobs(queue, run)));
    const failedJobs: RunStatus['failedJobs'] = (await q.getJobs(['failed']))
      .filter((job) => job?.id !== undefined && ids.has(job.id))
      .map((job) => ({ id: job.id as string, reason: job.failedReason }))
      .sort((a, b) => a.id.localeCompare(b.id, 'en', { numeric: true }));
    const complete = records.length >= meta.total;
    if (complete) await writeManifestIfComplete(redis, queue, run);
    const seconds = Math.max(1e-3, (Date.now() - meta.started) / 1000);
    const rate = records.length / seconds;
    return { total: meta.total, done, failed, failedJobs, complete, rate, etaSeconds: rate > 0 ? (meta.total - records.length) / rate : Infinity };
  } finally {
    await q.close();
    redis.disconnect();
  }
}

export function statusText(run: string, s: RunStatus): string {
  const n = s.done + s.failed.length;
  const width = 30;
  const fill = s.total > 0 ? Math.round((width * n) / s.total) : width;
  const lines = [
    `run ${run}: [${'#'.repeat(fill)}${'.'.repeat(width - fill)}] ${n}/${s.total} images, ${s.done} done, ${s.failed.length} failed, ${s.rate.toFixed(2)} img/s, ETA ${s.complete ? '0s' : Number.isFinite(s.etaSeconds) ? formatDuration(s.etaSeconds) : '?'}${s.complete ? ', complete' : ''}`,
  ];
  for (const f of s.failed) lines.push(`failed: ${f.image} (line ${f.line}): ${f.error}`);
  for (const j of s.failedJobs) lines.push(`failed job ${j.id}: ${j.reason}`);
  return `${lines.join('\n')}\n`;
}

/** Re-queues the run's failed images (as new chunk jobs) and the chunks BullMQ gave up on; returns how many images. */
export async function retryFailed(url: string, queue: string, run: string, attempts: number): Promise<number> {
  const redis = connect(url);
  const q = new (bullmq().Queue)<ChunkJob>(queue, { connection: redis });
  try {
    await readMeta(redis, queue, run);
    let images = 0;
    // Each failed image once, even when it was in a chunk and in a later retry of it.
    const bad = new Set((await readRecords(redis, queue, run)).filter((r) => r.status === 'failed').map((r) => r.line));
    for (const id of await redis.smembers(keys.jobs(queue, run))) {
      const job = await q.getJob(id);
      if (!job) continue;
      const state = await job.getState();
      if (state === 'failed') {
        images += job.data.entries.length;
        await job.retry();
      } else if (state === 'completed') {
        // Images that failed inside a completed chunk: the chunk again, only those images.
        const entries = job.data.entries.filter((e) => bad.has(e.line));
        if (entries.length === 0) continue;
        entries.forEach((e) => bad.delete(e.line));
        const newId = `${id}-r${Date.now().toString(36)}`;
        await redis.hdel(keys.images(queue, run), ...entries.map((e) => String(e.line)));
        await redis.sadd(keys.jobs(queue, run), newId);
        await q.add('chunk', { ...job.data, entries }, { jobId: newId, attempts, backoff: { type: 'exponential', delay: 1000 } });
        images += entries.length;
      }
    }
    return images;
  } finally {
    await q.close();
    redis.disconnect();
  }
}

/** Removes the run's jobs and records from Redis (the output files and the manifest stay). */
export async function cleanRun(url: string, queue: string, run: string): Promise<number> {
  const redis = connect(url);
  const q = new (bullmq().Queue)<ChunkJob>(queue, { connection: redis });
  try {
    await readMeta(redis, queue, run);
    const ids = await redis.smembers(keys.jobs(queue, run));
    for (const id of ids) await q.remove(id);
    await redis.del(keys.meta(queue, run), keys.images(queue, run), keys.jobs(queue, run));
    return ids.length;
  } finally {
    await q.close();
    redis.disconnect();
  }
}
