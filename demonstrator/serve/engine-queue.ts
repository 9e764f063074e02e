/**
 * One engine per process, and a bounded line in front of it. The native engine runs one
 * explanation at a time anyway; this queue makes the waiting visible and finite: when
 * `capacity` requests already wait, a new one is refused at once (503 + Retry-After)
 * instead of piling up memory and latency. A request that waits past its deadline leaves
 * the line without running.
 */
import { HttpError } from './http-error';

interface Waiting {
  run: () => void;
  cancelled: boolean;
}

export class EngineQueue {
  private waiting: Waiting[] = [];
  private busy = false;
  /** Seconds the engine spent on tasks, and how many ran (for /metrics and Retry-After). */
  engineSeconds = 0;
  tasksRun = 0;
  rejected = 0;
  timedOut = 0;

  constructor(readonly capacity: number) {}

  /** Requests waiting (not counting the one running). */
  get depth(): number {
    return this.waiting.length;
  }

  get running(): boolean {
    return this.busy;
  }

  /** Seconds a client should wait before retrying: the work ahead of it, at least 1. */
  retryAfterSeconds(): number {
    const mean = this.tasksRun > 0 ? this.engineSeconds / this.tasksRun : 1;
    return Math.max(1, Math.ceil(mean * (this.depth + 1)));
  }

  /**
   * Runs `task` when the engine is free. Rejects with 503 QUEUE_FULL when the line is full,
   * or 503 TIMEOUT when `timeoutMs` pass before the task starts or ends (a started task
   * cannot be stopped; its result is then dropped).
   */
  run<T>(task: () => Promise<T>, timeoutMs: number): Promise<T> {
    if (this.busy && this.waiting.length >= this.capacity) {
      this.rejected++;
      const retry = String(this.retryAfterSeconds());
      return Promise.reject(new HttpError(503, 'QUEUE_FULL', `the engine queue is full (${this.capacity} waiting); retry in ${retry} s`, { 'Retry-After': retry }));
    }
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const timer = setTimeout(() => {
        if (settled) return;
        settled = true;
        entry.cancelled = true;
        this.timedOut++;
        const retry = String(this.retryAfterSeconds());
        reject(new HttpError(503, 'TIMEOUT', `the request took longer than ${timeoutMs} ms`, { 'Retry-After': retry }));
      }, timeoutMs);
      timer.unref();
      const entry: Waiting = {
        cancelled: false,
        run: () => {
          const started = process.hrtime.bigint();
          task().then(
            (v) => { if (!settled) { settled = true; clearTimeout(timer); resolve(v); } },
            (e) => { if (!settled) { settled = true; clearTimeout(timer); reject(e); } },
          ).finally(() => {
            this.engineSeconds += Number(process.hrtime.bigint() - started) / 1e9;
            this.tasksRun++;
            this.busy = false;
            this.next();
          });
        },
      };
      this.waiting.push(entry);
      this.next();
    });
  }

  private next(): void {
    if (this.busy) return;
    let entry: Waiting | undefined;
    while ((entry = this.waiting.shift()) && entry.cancelled);
    if (!entry) return;
    this.busy = true;
    entry.run();
  }
}
