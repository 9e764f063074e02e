/**
 * Native memory stays flat: nets built and disposed many times, and 1,000 forward +
 * relevance calls on one net, must not grow the resident set beyond a small bound.
 */
import { Net } from '../../lib/net';
import { smallNetWithLrn } from '../helpers/small-nets';

const mb = () => process.memoryUsage().rss / 2 ** 20;

test('1,000 explain calls (forward + relevance) and 200 net lifetimes keep RSS flat', async () => {
  const spec = smallNetWithLrn(2);
  const x = new Float32Array(2 * 3 * 10 * 10).map((_, i) => Math.cos(i * 0.1) * 40);
  const run = (net: Net, i: number) =>
    net.explain(x, { relpropformulatype: i % 2 ? 2 : 0, alphabeta_beta: 1, lrn_backward_type: 1, targets: [i % 5, 'top5'], conservation: i % 3 === 0 });
  const net = new Net(spec);
  for (let i = 0; i < 100; ++i) await run(net, i); // warm-up: workspaces reach their size
  const before = mb();
  for (let i = 0; i < 1000; ++i) await run(net, i);
  for (let i = 0; i < 200; ++i) {
    const n = new Net(spec);
    await run(n, i);
    await n.dispose();
  }
  const after = mb();
  await net.dispose();
  console.log(`RSS before ${before.toFixed(1)} MB, after ${after.toFixed(1)} MB`);
  // AddressSanitizer keeps freed memory in quarantine: only the plain build is measured.
  if (!process.env.CAFFE_LRP_SANITIZED) expect(after - before).toBeLessThan(40);
});

test('absurd sizes are refused before anything is allocated', async () => {
  const { smallNet } = await import('../helpers/small-nets');
  const spec = smallNet(1, true);
  spec.layers = spec.layers.filter((l) => l.type !== 'InnerProduct' && l.type !== 'Softmax'); // fully convolutional
  spec.inputs[0].shape = [1, 3, 14000, 14000]; // every blob < 2^31 values, ~26 GB for the net
  expect(() => new Net(spec)).toThrow(/GiB .* more than/);
  spec.inputs[0].shape = [1, 3, 16, 16];
  const net = new Net(spec);
  await expect(net.reshape(1_000_000)).rejects.toMatchObject({ code: 'SHAPE', message: expect.stringMatching(/GiB/) });
  await expect(net.forward(new Float32Array(768))).resolves.toHaveLength(1); // still usable at its old size
  expect(() => new Net({ ...smallNet(1, true), inputs: [{ name: 'data', shape: [1, 3, 50000, 50000] }] })).toThrow(/too large/);
  await net.dispose();
});
