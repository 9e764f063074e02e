/**
 * Under load (200 requests, 16 at a time, against 127.0.0.1): no error other than 503 from
 * the full queue (with Retry-After), and every 200 answer identical to the same request
 * made alone (timings aside): concurrent requests never see each other's state.
 */
import type { FastifyInstance } from 'fastify';
import { buildServer } from '../../demonstrator/serve/server';
import { bundledImage, bundledModel, disposeModel } from './helpers';
import { runLoad, send, type LoadCall } from './load-driver';

let app: FastifyInstance;
let base: string;

beforeAll(async () => {
  // a queue shorter than the 16 in flight: some requests must meet a full queue
  app = await buildServer({ served: await bundledModel(), pageDir: '/nonexistent', queue: 12 });
  await app.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
});

afterAll(async () => {
  await app.close();
  await disposeModel();
});

const CALLS: LoadCall[] = [
  { image: bundledImage(0), fields: {} },
  { image: bundledImage(1), fields: { rule: 'epsilon', epsstab: '0.1', target: '3' } },
  { image: bundledImage(2), fields: { rule: 'alphabeta', alphabeta_beta: '1', target: 'top5', colormap: 'jet' } },
  { image: bundledImage(3), fields: { rule: 'gradient', relevance: 'npy' } },
  { image: bundledImage(4), fields: { rule: 'layer_dep', target: '7', opacity: '0.2' } },
];

test('200 requests, 16 concurrent: only 503s besides 200s, and every 200 equals the request made alone', async () => {
  const alone = [];
  for (const c of CALLS) {
    const r = await send(base, c);
    expect(r.status).toBe(200);
    alone.push(r.body);
  }
  const { responses } = await runLoad(base, CALLS, 200, 16, 100_000, 200);
  expect(responses).toHaveLength(200);
  const statuses = new Set(responses.map((r) => r.status));
  expect([...statuses].filter((s) => s !== 200 && s !== 503)).toEqual([]);
  for (const r of responses) {
    if (r.status === 503) {
      expect((r.body as { error: { code: string } }).error.code).toBe('QUEUE_FULL');
      expect(Number(r.retryAfter)).toBeGreaterThanOrEqual(1);
    } else {
      expect(r.body).toEqual(alone[r.call]);
    }
  }
  const ok = responses.filter((r) => r.status === 200).length;
  process.stdout.write(`load: ${ok} x 200, ${200 - ok} x 503 (queue full)\n`);
  expect(ok).toBeGreaterThan(0);
  // the service is still healthy and idle afterwards
  expect((await send(base, CALLS[0])).body).toEqual(alone[0]);
}, 120_000);
