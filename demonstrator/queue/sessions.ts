/**
 * The worker's nets: for each distinct config (by content, folder and list size) up to
 * `concurrency` sessions, each used by one chunk at a time. One session per chunk in flight
 * is what keeps concurrent chunks correct: a Net queues its calls one by one, so two chunks on
 * one Net could run forward(A), forward(B), relevance(A) — and A's heatmaps would be B's.
 * With a session each, one chunk decodes and writes while another computes.
 */
import * as crypto from 'crypto';
import { checkConfigFiles, parseConfig } from '../config';
import { openSession, type Session } from '../session';
import type { ChunkJob } from './job';

interface Pool {
  free: Session[];
  open: number;
}

export class SessionPool {
  private readonly pools = new Map<string, Pool>();
  /** Every session opened (for dispose), including those in use. */
  private readonly all = new Set<Session>();

  /** A free session for the chunk's config, opened when none is free; `openedMs` > 0 when this call loaded the net. */
  async acquire(d: ChunkJob): Promise<{ session: Session; release(): void; openedMs: number }> {
    const key = crypto.createHash('sha256').update(JSON.stringify([d.config.text, d.config.cwd, d.listImages])).digest('hex');
    let pool = this.pools.get(key);
    if (pool === undefined) {
      pool = { free: [], open: 0 };
      this.pools.set(key, pool);
    }
    const p = pool;
    let session = p.free.pop();
    let openedMs = 0;
    if (session === undefined) {
      // BullMQ runs at most `concurrency` chunks at once, so at most that many are ever opened.
      p.open++;
      const t0 = Date.now();
      try {
        const { config } = parseConfig(d.config.text, { file: d.config.file, cwd: d.config.cwd });
        checkConfigFiles(config);
        session = await openSession({ config, parallel: true, images: d.listImages });
      } catch (e) {
        p.open--; // a start-up failure is retried by the job's next attempt
        throw e;
      }
      openedMs = Math.max(1, Date.now() - t0);
      this.all.add(session);
    }
    const s = session;
    return { session: s, openedMs, release: () => p.free.push(s) };
  }

  get size(): number {
    return this.all.size;
  }

  async dispose(): Promise<void> {
    for (const s of this.all) await s.net.dispose().catch(() => undefined);
    this.all.clear();
    this.pools.clear();
  }
}
