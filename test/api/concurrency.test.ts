/**
 * The Node API under concurrency: calls on one Net are serialised (a forward/relevance
 * pair is never interleaved with another caller's), different Nets run in parallel, and
 * the event loop stays responsive while the engine works.
 */
import { Net } from '../../lib/net';
import { rand, smallNetWithLrn } from '../helpers/small-nets';
import { benchInput, caffenetSpec } from '../bench/caffenet-spec';

const opts = { relpropformulatype: 100, epsstab: 1, alphabeta_beta: 1, lrn_backward_type: 1 } as const;

test('16 concurrent explain calls on one net and on two nets equal 16 serial calls', async () => {
  const inputs = Array.from({ length: 16 }, (_, i) => rand(300, 100 + i, 30));
  const serialNet = new Net(smallNetWithLrn(1));
  const serial: Awaited<ReturnType<Net['explain']>>[] = [];
  for (const x of inputs) serial.push(await serialNet.explain(x, { ...opts, targets: 'top1' }));

  const one = new Net(smallNetWithLrn(1));
  const concurrentOne = await Promise.all(inputs.map((x) => one.explain(x, { ...opts, targets: 'top1' })));
  const nets = [new Net(smallNetWithLrn(1)), new Net(smallNetWithLrn(1))];
  const concurrentTwo = await Promise.all(inputs.map((x, i) => nets[i % 2].explain(x, { ...opts, targets: 'top1' })));

  for (const results of [concurrentOne, concurrentTwo])
    results.forEach((r, i) => {
      expect(r.classes).toEqual(serial[i].classes);
      expect(Array.from(r.scores[0])).toEqual(Array.from(serial[i].scores[0]));
      expect(Array.from(r.heatmaps[0].data)).toEqual(Array.from(serial[i].heatmaps[0].data));
    });
  await Promise.all([serialNet, one, ...nets].map((n) => n.dispose()));
});

test('calls run in the order they were made: a relevance call sees the forward queued before it', async () => {
  const net = new Net(smallNetWithLrn(1));
  const a = rand(300, 1, 30), b = rand(300, 2, 30);
  await net.forward(a);
  const expectedA = await net.backwardRelevance([0], opts);
  await net.forward(b);
  const expectedB = await net.backwardRelevance([0], opts);
  // All issued at once: forward(a), relevance, forward(b), relevance.
  const [, ha, , hb] = await Promise.all([net.forward(a), net.backwardRelevance([0], opts), net.forward(b), net.backwardRelevance([0], opts)]);
  expect(Array.from(ha.data)).toEqual(Array.from(expectedA.data));
  expect(Array.from(hb.data)).toEqual(Array.from(expectedB.data));
  expect(Array.from(ha.data)).not.toEqual(Array.from(hb.data));
  await net.dispose();
});

test('results are fresh arrays: later calls do not overwrite them', async () => {
  const net = new Net(smallNetWithLrn(1));
  const r1 = await net.explain(rand(300, 5, 30), { ...opts, targets: 0 });
  const copy = Float32Array.from(r1.heatmaps[0].data);
  const scoreCopy = Float32Array.from(r1.scores[0]);
  await net.explain(rand(300, 6, 30), { ...opts, targets: 1 });
  // (compared as plain arrays: jest's sandbox has its own Float32Array constructor)
  expect(Array.from(r1.heatmaps[0].data)).toEqual(Array.from(copy));
  expect(Array.from(r1.scores[0])).toEqual(Array.from(scoreCopy));
  await net.dispose();
});

test('the event loop stays responsive while a batch of 10 CaffeNet-architecture images is explained', async () => {
  // Relative, not absolute: were the work done on the event loop, the longest gap between
  // timer ticks would be about the whole call; off the loop it is a small fraction of it,
  // however busy the machine is (load slows the call and the ticks alike).
  const net = new Net(caffenetSpec(10));
  const x = benchInput(10);
  let worst = 0;
  let ticks = 0;
  let last = Date.now();
  const timer = setInterval(() => {
    const now = Date.now();
    worst = Math.max(worst, now - last);
    last = now;
    ticks++;
  }, 5);
  const start = Date.now();
  await net.explain(x, { relpropformulatype: 0, epsstab: 1, lastlayerindex: -2, targets: Array(10).fill('top1') });
  const total = Date.now() - start;
  clearInterval(timer);
  console.log(`explain took ${total} ms; worst gap between 5 ms timer ticks: ${worst} ms over ${ticks} ticks`);
  expect(worst).toBeLessThan(total / 4);
  expect(ticks).toBeGreaterThan(4);
  await net.dispose();
}, 60000);

test('dispose waits for queued work, then every call is a clear STATE error', async () => {
  const net = new Net(smallNetWithLrn(1));
  const pending = net.explain(rand(300, 9, 30), { ...opts, targets: 'top1' });
  await net.dispose();
  await expect(pending).resolves.toBeDefined();
  await expect(net.forward(rand(300, 1))).rejects.toMatchObject({ code: 'STATE' });
  expect(() => net.inputShape).toThrow(/disposed/);
});
