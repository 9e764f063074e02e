/**
 * Loading grows linearly with the layer count. A chain of in-place layers used to cost n²
 * in the deploy conversion (every layer looked at every user of the shared blob name):
 * 20,000 in-place ReLUs took 8.7 s and 100,000 more than two minutes, on the main thread.
 */
import { loadNetSpecSync } from '../../lib/caffe';
import { Net } from '../../lib/net';
import { expectLinearGrowth } from '../helpers/growth';

function inPlaceChain(n: number): Buffer {
  const parts = ['input: "x"\ninput_shape { dim: 1 dim: 4 }\n'];
  for (let i = 0; i < n; i++) parts.push(`layer { name: "r${i}" type: "ReLU" bottom: "x" top: "x" }\n`);
  return Buffer.from(parts.join(''));
}

test('in-place layer chains load in linear time (4x the layers: at most 10x the time; quadratic gives 16x)', () => {
  expectLinearGrowth('loading an in-place chain', inPlaceChain, (prototxt) => loadNetSpecSync({ prototxt }), 12500, { k: 4, bound: 10, runs: 2 });
});

test('a 100,000-layer net loads, builds and runs', async () => {
  const spec = loadNetSpecSync({ prototxt: inPlaceChain(100000) });
  expect(spec.layers).toHaveLength(100000);
  const net = new Net(spec);
  const [scores] = await net.forward(Float32Array.of(-1, 2, -3, 4));
  expect(Array.from(scores)).toEqual([0, 2, 0, 4]);
  await net.dispose();
});
