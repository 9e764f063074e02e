/**
 * Issue 14 acceptance: 16 concurrent API calls mixing good and bad inputs on two nets (the
 * bundled demo model and a small project-made net). The good calls give exactly the results of
 * the same calls made one at a time, the bad ones reject with CaffeLrpError, and the process
 * (and both nets) survive to answer a final good call.
 */
import { Net } from '../../lib/net';
import { CaffeLrpError } from '../../lib/errors';
import { demoModel } from '../../lib/demo-model';
import { smallNet, rand } from '../helpers/small-nets';

type Call = { net: 'demo' | 'small'; good: boolean; run: (net: Net) => Promise<unknown> };

const demoInput = (seed: number) => Float32Array.from(rand(784, seed), (v) => Math.abs(v) * 60);
const smallInput = (seed: number) => rand(300, seed);

/** Scores and heatmaps as plain arrays, to compare results exactly. */
async function explainPlain(net: Net, x: Float32Array, rule: 'epsilon' | 'alphabeta'): Promise<number[][]> {
  const r = await net.explain([x], { rule, targets: 'top1' });
  return [Array.from(r.scores[0]), Array.from(r.heatmaps[0].data)];
}

const calls: Call[] = [
  { net: 'demo', good: true, run: (n) => explainPlain(n, demoInput(1), 'epsilon') },
  { net: 'small', good: true, run: (n) => explainPlain(n, smallInput(2), 'epsilon') },
  { net: 'demo', good: false, run: (n) => n.forward([new Float32Array(10)]) },
  { net: 'small', good: false, run: (n) => n.explain([smallInput(3)], { rule: 'epsilon', epsstab: NaN }) },
  { net: 'demo', good: true, run: (n) => explainPlain(n, demoInput(4), 'alphabeta') },
  { net: 'small', good: true, run: (n) => explainPlain(n, smallInput(5), 'alphabeta') },
  { net: 'demo', good: false, run: (n) => n.forward([Float32Array.from(demoInput(6), (v, i) => (i === 17 ? NaN : v))]) },
  { net: 'small', good: false, run: (n) => n.explain([smallInput(7)], { targets: 99 }) },
  { net: 'demo', good: true, run: async (n) => Array.from((await n.forward([demoInput(8)]))[0]) },
  { net: 'small', good: true, run: async (n) => Array.from((await n.forward([smallInput(9)]))[0]) },
  { net: 'demo', good: false, run: (n) => n.explain([demoInput(10)], { rule: 'no-such-rule' }) },
  { net: 'small', good: false, run: async (n) => n.blob('no-such-blob') },
  { net: 'demo', good: true, run: (n) => explainPlain(n, demoInput(12), 'epsilon') },
  { net: 'small', good: true, run: (n) => explainPlain(n, smallInput(13), 'epsilon') },
  { net: 'demo', good: false, run: (n) => n.explain([demoInput(14)], { rule: 'alphabeta', alphabeta_beta: -1 }) },
  { net: 'small', good: false, run: (n) => n.forward(new Array(3) as unknown as Float32Array[]) },
];

test('16 concurrent good and bad calls on two nets: good ones equal the serial results, bad ones are CaffeLrpErrors', async () => {
  expect(calls).toHaveLength(16);
  const nets = {
    demo: await Net.load({ prototxt: demoModel.prototxt, caffemodel: demoModel.caffemodel }),
    small: new Net(smallNet(1, true)),
  };
  try {
    // serial reference for the good calls
    const serial: unknown[] = [];
    for (const c of calls) serial.push(c.good ? await c.run(nets[c.net]) : undefined);

    const settled = await Promise.allSettled(calls.map(async (c) => c.run(nets[c.net])));
    settled.forEach((s, i) => {
      if (calls[i].good) {
        expect({ i, status: s.status }).toEqual({ i, status: 'fulfilled' });
        expect((s as PromiseFulfilledResult<unknown>).value).toEqual(serial[i]);
      } else {
        expect({ i, status: s.status }).toEqual({ i, status: 'rejected' });
        expect((s as PromiseRejectedResult).reason).toBeInstanceOf(CaffeLrpError);
        expect(typeof (s as PromiseRejectedResult).reason.code).toBe('string');
      }
    });
    // both nets still answer, with the serial result
    expect(await calls[0].run(nets.demo)).toEqual(serial[0]);
    expect(await calls[1].run(nets.small)).toEqual(serial[1]);
  } finally {
    await nets.demo.dispose();
    await nets.small.dispose();
  }
});
