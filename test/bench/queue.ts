/**
 * Bench row for `lrp-queue` (figures, not assertions): images/s of a queue run with 1, 2 and 3
 * worker processes on a real redis-server, against one lrp-parallel-demo process on the same
 * list, and the queue's overhead per chunk ((queue time with 1 worker − single-run time) / chunks).
 * Worker start-up (Node + net load) is inside the queue times, as a user sees it.
 * Needs redis-server; returns undefined (with the reason) without it.
 */
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { runStatus } from '../../demonstrator/queue/admin';
import { bin, makeCase, runBin, runBinAsync } from '../queue/fixture';
import { findRedisServer, startRedis } from '../queue/redis-server';

export interface QueueBenchRow {
  workers: number;
  seconds: number;
  imagesPerSecond: number;
}

export interface QueueBench {
  images: number;
  chunks: number;
  single: { seconds: number; imagesPerSecond: number };
  queue: QueueBenchRow[];
  overheadMsPerChunk: number;
}

export async function benchQueue(opts: { images?: number; batch?: number; workers?: number[] } = {}): Promise<QueueBench | string> {
  const images = opts.images ?? 200;
  const batch = opts.batch ?? 8;
  const { bin: redisBin, reason } = findRedisServer();
  if (!redisBin) return `queue bench skipped: ${reason}`;
  const c = await makeCase(images, { batch });
  const redis = await startRedis(redisBin);
  try {
    let t0 = Date.now();
    const single = await runBinAsync('lrp-parallel-demo', ['-q', c.writeConfig(path.join(c.dir, 'single'), 'single.cfg'), c.list, '.'], c.dir);
    if (single.code !== 0) throw new Error(`lrp-parallel-demo failed: ${single.stderr}`);
    const singleSeconds = (Date.now() - t0) / 1000;
    const rows: QueueBenchRow[] = [];
    for (const n of opts.workers ?? [1, 2, 3]) {
      const queue = `bench${n}`;
      t0 = Date.now();
      const s = runBin('lrp-queue', ['submit', '--redis', redis.url, '--queue', queue, c.writeConfig(path.join(c.dir, queue), `${queue}.cfg`), c.list, '.'], c.dir);
      if (s.code !== 0) throw new Error(`submit failed: ${s.stderr}`);
      const run = s.stdout.trim().split('\n').pop() as string;
      const ws = Array.from({ length: n }, () => spawn(process.execPath, [bin('lrp-queue'), 'worker', '--redis', redis.url, '--queue', queue], { cwd: c.dir, stdio: 'ignore' }));
      while (!(await runStatus(redis.url, queue, run)).complete) await new Promise((r) => setTimeout(r, 100));
      const seconds = (Date.now() - t0) / 1000;
      await Promise.all(ws.map((w) => new Promise((r) => (w.once('exit', r), w.kill('SIGTERM')))));
      rows.push({ workers: n, seconds, imagesPerSecond: images / seconds });
    }
    const chunks = Math.ceil(images / batch);
    const one = rows.find((r) => r.workers === 1);
    return {
      images,
      chunks,
      single: { seconds: singleSeconds, imagesPerSecond: images / singleSeconds },
      queue: rows,
      overheadMsPerChunk: one ? ((one.seconds - singleSeconds) * 1000) / chunks : NaN,
    };
  } finally {
    await redis.dispose();
    fs.rmSync(c.dir, { recursive: true, force: true });
  }
}

/** The rows as text, with what 2 cores can and cannot show. */
export function queueBenchText(b: QueueBench | string): string {
  if (typeof b === 'string') return `${b}\n`;
  const lines = [`lrp-queue, ${b.images} images in ${b.chunks} chunks (bundled Fashion-MNIST model):`, `  lrp-parallel-demo (1 process): ${b.single.imagesPerSecond.toFixed(1)} img/s`];
  for (const r of b.queue) lines.push(`  lrp-queue, ${r.workers} worker${r.workers > 1 ? 's' : ''}: ${r.imagesPerSecond.toFixed(1)} img/s (${r.seconds.toFixed(1)} s, start-up included)`);
  lines.push(`  queue overhead: ${b.overheadMsPerChunk.toFixed(1)} ms per chunk (1 worker vs 1 process)`);
  lines.push('  (workers beyond the number of cores cannot add speed; on 2 cores 3 workers only show that nothing is lost)');
  return `${lines.join('\n')}\n`;
}
