/**
 * The heatmap service's speed (for `npm run bench`; run alone: node dist/test/bench/serve.js):
 * the bundled Fashion-MNIST model served on 127.0.0.1, 200 explain requests with 16 in
 * flight (queue 16, so none is refused), then p50/p99 latency and requests/s; and the same
 * request alone, one after another, for the latency without queueing. Figures, not
 * assertions. CAFFE_LRP_SERVE_BENCH_REQUESTS overrides the 200 (a smoke run).
 */
import { buildServer } from '../../demonstrator/serve/server';
import { bundledImage, bundledModel, disposeModel } from '../serve/helpers';
import { percentile, runLoad, send, type LoadCall } from '../serve/load-driver';

export async function benchServe(total = 200, concurrency = 16): Promise<void> {
  const app = await buildServer({ served: await bundledModel(), pageDir: '/nonexistent', queue: concurrency });
  try {
    await app.listen({ host: '127.0.0.1', port: 0 });
    const base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
    const calls: LoadCall[] = [
      { image: bundledImage(0), fields: {} },
      { image: bundledImage(1), fields: { rule: 'epsilon', epsstab: '0.1' } },
      { image: bundledImage(2), fields: { rule: 'alphabeta', target: 'top5' } },
    ];
    for (const c of calls) await send(base, c); // warm-up
    const alone: number[] = [];
    for (let i = 0; i < Math.min(30, total); i++) alone.push((await send(base, calls[i % calls.length])).ms);
    const { responses, seconds } = await runLoad(base, calls, total, concurrency, 600_000);
    const ok = responses.filter((r) => r.status === 200);
    const ms = ok.map((r) => r.ms);
    console.log(`\nheatmap service (caffe-lrp serve), bundled Fashion-MNIST model, 127.0.0.1`);
    console.log(`  one at a time (${alone.length} requests): p50 ${percentile(alone, 50).toFixed(1)} ms, p99 ${percentile(alone, 99).toFixed(1)} ms`);
    console.log(`  ${total} requests, ${concurrency} concurrent: ${ok.length} x 200, ${responses.length - ok.length} other; ` +
      `p50 ${percentile(ms, 50).toFixed(1)} ms, p99 ${percentile(ms, 99).toFixed(1)} ms, ${(responses.length / seconds).toFixed(1)} requests/s`);
  } finally {
    await app.close();
    await disposeModel();
  }
}

if (require.main === module) {
  const n = Number(process.env.CAFFE_LRP_SERVE_BENCH_REQUESTS ?? 200);
  benchServe(Number.isInteger(n) && n > 0 ? n : 200).catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
