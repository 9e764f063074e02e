/** Net basics: layer list, shapes, reshape without reloading weights, non-finite weight report. */
import { Net } from '../../lib/net';
import { rand, smallNet } from '../helpers/small-nets';

test('layer list, input shape and class count', async () => {
  const net = new Net(smallNet(1, true));
  expect(net.layers.map((l) => `${l.index}:${l.name}:${l.type}`)).toEqual([
    '0:conv1:Convolution', '1:relu1:ReLU', '2:pool1:Pooling', '3:conv2:Convolution', '4:relu2:ReLU', '5:fc:InnerProduct', '6:prob:Softmax',
  ]);
  expect(net.layers[2].outputShapes).toEqual([[1, 6, 5, 5]]);
  expect(net.inputShape).toEqual([1, 3, 10, 10]);
  expect(net.numClasses).toBe(5);
  expect(net.scoresBlob).toBe('prob');
  // The weights were copied into native memory; the Net keeps only the structure.
  expect(net.spec.layers.every((l) => l.blobs.length === 0)).toBe(true);
  await net.dispose();
});

test('reshape to another batch size keeps the weights: per-image results do not change', async () => {
  const images = [rand(300, 1, 20), rand(300, 2, 20), rand(300, 3, 20)];
  const net = new Net(smallNet(1, true));
  const single: Float32Array[] = [];
  for (const x of images) single.push((await net.forward(x))[0]);
  await net.reshape(3);
  expect(net.inputShape).toEqual([3, 3, 10, 10]);
  expect(net.layers[5].outputShapes).toEqual([[3, 5]]);
  const batch = await net.forward(images);
  batch.forEach((s, i) => s.forEach((v, k) => expect(v).toBeCloseTo(single[i][k], 6)));
  await expect(net.reshape(0)).rejects.toMatchObject({ code: 'OPTION' });
  await net.dispose();
});

test('NaN/Inf weights: refused by default, reported by nonFiniteWeights() when allowed, never a NaN result', async () => {
  const spec = smallNet(1, true);
  spec.layers[3].blobs[0].data[5] = NaN;
  spec.layers[5].blobs[1].data[0] = Infinity;
  expect(() => new Net(spec)).toThrow(expect.objectContaining({ code: 'NONFINITE' }));
  const net = new Net(spec, { allowNonFiniteWeights: true });
  expect(net.nonFiniteWeights()).toEqual(['conv2', 'fc']);
  await expect(net.forward(rand(300, 4, 20))).rejects.toMatchObject({ code: 'NONFINITE' });
  await net.dispose();
  expect(new Net(smallNet(1, true)).nonFiniteWeights()).toEqual([]);
});

test('Net.load reads large weights in place and still equals a net built from a copied spec', async () => {
  // A wide fc layer (72 x 100 = 7200 weights) takes the in-place path; the small ones are copied.
  const { saveCaffemodel, savePrototxt } = await import('../../lib/caffe');
  const fs = await import('fs');
  const os = await import('os');
  const path = await import('path');
  const spec = smallNet(2, true, 9);
  const fc = spec.layers.find((l) => l.name === 'fc')!;
  fc.blobs = [{ shape: [100, 72], data: rand(7200, 31, 0.2) }, { shape: [100], data: rand(100, 32, 0.1) }];
  fc.params = { ...fc.params, numOutput: 100 };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'caffe-lrp-load-'));
  try {
    const prototxt = path.join(dir, 'net.prototxt');
    const caffemodel = path.join(dir, 'net.caffemodel');
    await savePrototxt(spec, prototxt);
    await saveCaffemodel(spec, caffemodel);
    const fileBytes = fs.readFileSync(caffemodel);
    const callerBuffer = Buffer.from(fileBytes);
    const fromPath = await Net.load({ prototxt, caffemodel });
    const fromBuffer = await Net.load({ prototxt, caffemodel: callerBuffer });
    const reference = new Net(spec);
    expect(callerBuffer.equals(fileBytes)).toBe(true); // a caller's buffer is never modified
    // churn the heap so that anything not kept alive would be collected and reused
    for (let i = 0; i < 50; ++i) new Float32Array(1 << 16).fill(i);
    const x = [rand(600, 33, 20).subarray(0, 300), rand(600, 33, 20).subarray(300)];
    const want = await reference.forward(x);
    for (const net of [fromPath, fromBuffer]) {
      const got = await net.forward(x);
      got.forEach((s, i) => expect(Array.from(s)).toEqual(Array.from(want[i])));
      const [a, b] = await Promise.all([net.backwardRelevance([3, 7], { relpropformulatype: 2, alphabeta_beta: 1 }), reference.backwardRelevance([3, 7], { relpropformulatype: 2, alphabeta_beta: 1 })]);
      expect(Array.from(a.data)).toEqual(Array.from(b.data));
    }
    await Promise.all([fromPath.dispose(), fromBuffer.dispose(), reference.dispose()]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
