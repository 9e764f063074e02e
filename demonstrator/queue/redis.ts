/**
 * Redis and BullMQ for `lrp-queue` only: both are loaded here with require() when a queue
 * command runs, so the library and the other demonstrators never load them.
 */
import type * as BullMQ from 'bullmq';
import type IORedis from 'ioredis';
import { CaffeLrpError } from '../../lib/errors';
import type { ManifestRecord } from './manifest';

export type Redis = IORedis;
export type Bull = typeof BullMQ;

export const DEFAULT_QUEUE = 'lrp';

export function bullmq(): Bull {
  return require('bullmq') as Bull;
}

/** --redis, else REDIS_URL, else redis://127.0.0.1:6379. */
export function redisUrl(flag: string | undefined, env: Record<string, string | undefined>): string {
  const url = flag ?? env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  if (!/^rediss?:\/\//.test(url)) throw new CaffeLrpError('OPTION', `the Redis address must be a redis:// or rediss:// URL, got '${url}'`);
  return url;
}

/** A connection BullMQ can block on: no per-command retry limit, reconnecting forever (Redis may restart). */
export function connect(url: string): Redis {
  const Ctor = require('ioredis') as typeof IORedis;
  return new Ctor(url, { maxRetriesPerRequest: null, retryStrategy: (n: number) => Math.min(100 * n, 2000) });
}

/** Keys of a run's own state next to BullMQ's. */
export const keys = {
  meta: (queue: string, run: string) => `lrp-queue:${queue}:run:${run}`,
  images: (queue: string, run: string) => `lrp-queue:${queue}:run:${run}:images`,
  jobs: (queue: string, run: string) => `lrp-queue:${queue}:run:${run}:jobs`,
};

export interface RunMeta {
  total: number;
  chunks: number;
  outPath: string;
  started: number;
}

export async function readMeta(redis: Redis, queue: string, run: string): Promise<RunMeta> {
  const m = await redis.hgetall(keys.meta(queue, run));
  if (m.total === undefined) throw new CaffeLrpError('OPTION', `no run '${run}' in queue '${queue}' (never submitted, or cleaned)`);
  return { total: Number(m.total), chunks: Number(m.chunks), outPath: m.outPath, started: Number(m.started) };
}

/** Every image's latest record (one per list line). */
export async function readRecords(redis: Redis, queue: string, run: string): Promise<ManifestRecord[]> {
  const h = await redis.hgetall(keys.images(queue, run));
  return Object.values(h).map((v) => JSON.parse(v) as ManifestRecord);
}

/** A fresh run id: time and randomness, [a-z0-9-] only (BullMQ job ids may not contain ':'). */
export function newRunId(): string {
  return `${Date.now().toString(36)}-${require('crypto').randomBytes(4).toString('hex')}`;
}
