/**
 * A bounded load generator for the service (127.0.0.1 only): `total` requests from
 * `concurrency` workers, each request one of a few fixed explain calls. Shared by the load
 * test (correctness under load) and test/bench/serve.ts (latency and throughput figures).
 */
import { form } from './helpers';

export interface LoadCall {
  image: Buffer;
  fields: Record<string, string>;
}

export interface LoadResponse {
  call: number;
  status: number;
  retryAfter: string | null;
  /** The JSON body without its timings (they differ per request by nature). */
  body: unknown;
  ms: number;
}

export function assertLoopback(baseUrl: string): void {
  const host = new URL(baseUrl).hostname;
  if (host !== '127.0.0.1' && host !== 'localhost' && host !== '[::1]') throw new Error(`load is only ever sent to this machine, not to ${host}`);
}

export async function send(baseUrl: string, call: LoadCall, timeoutMs = 60_000): Promise<Omit<LoadResponse, 'call'>> {
  const t0 = performance.now();
  const res = await fetch(`${baseUrl}/api/explain`, { method: 'POST', body: form(call.image, call.fields), signal: AbortSignal.timeout(timeoutMs) });
  const json = (await res.json()) as Record<string, unknown>;
  const ms = performance.now() - t0;
  delete json.timings;
  return { status: res.status, retryAfter: res.headers.get('retry-after'), body: json, ms };
}

/** Sends `total` requests (call i % calls.length) with `concurrency` in flight; gives up after `deadlineMs`. */
export async function runLoad(baseUrl: string, calls: LoadCall[], total: number, concurrency: number, deadlineMs: number, backoffMs = 50): Promise<{ responses: LoadResponse[]; seconds: number }> {
  assertLoopback(baseUrl);
  if (total > 10_000 || concurrency > 64) throw new Error('load is bounded: at most 10000 requests, 64 at a time');
  const responses: LoadResponse[] = [];
  let next = 0;
  const deadline = Date.now() + deadlineMs;
  const t0 = performance.now();
  const worker = async () => {
    while (next < total) {
      if (Date.now() > deadline) throw new Error(`load did not finish within ${deadlineMs} ms`);
      const i = next++;
      const call = i % calls.length;
      const r = await send(baseUrl, calls[call]);
      responses.push({ call, ...r });
      // refused: back off a little before this worker's next request, as a polite client would
      // (the Retry-After itself, whole seconds, would make the bounded run slow)
      if (r.status === 503) await new Promise((done) => setTimeout(done, backoffMs));
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { responses, seconds: (performance.now() - t0) / 1000 };
}

/** The p-th percentile (0..100) of the values, nearest rank. */
export function percentile(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}
