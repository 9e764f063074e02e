/**
 * Bad input to the Node API is a rejected Promise with a CaffeLrpError naming the
 * problem, never a crash or a silently wrong result.
 */
import { Net } from '../../lib/net';
import { CaffeLrpError } from '../../lib/errors';
import { rand, smallNet } from '../helpers/small-nets';

let net: Net;
beforeAll(() => { net = new Net(smallNet(2, true)); });
afterAll(() => net.dispose());

const good = () => rand(300, 4, 10);

test.each([
  ['a wrong-length input', () => net.forward(new Float32Array(299)), /not a whole number of images/],
  ['a wrong-length image in a list', () => net.forward([good(), new Float32Array(10)]), /image 1 has 10 values/],
  ['a NaN in the input', () => { const x = good(); x[17] = NaN; return net.forward(x); }, /non-finite value .* index 17/],
  ['an Infinity in the second image', () => { const x = good(); x[3] = Infinity; return net.forward([good(), x]); }, /image 1 has a non-finite/],
  ['a plain array instead of Float32Array', () => net.forward([[1, 2, 3]] as unknown as Float32Array[]), /must be a Float32Array/],
])('forward rejects %s', async (_, call, message) => {
  await expect(call()).rejects.toThrow(CaffeLrpError);
  await expect(call()).rejects.toThrow(message);
});

describe('relevance options', () => {
  beforeAll(async () => { await net.forward([good(), good()]); });
  test.each([
    ['an unknown rule name', { rule: 'zplus' }, /option 'rule': unknown rule "zplus"/],
    ['an unsupported formula type', { relpropformulatype: 18 }, /unsupported value 18/],
    ['a formula type that is not a number', { relpropformulatype: 'fast' }, /relpropformulatype': unsupported value "fast"/],
    ['a NaN epsilon, shown as NaN', { relpropformulatype: 0, epsstab: NaN }, /'epsstab': must be a finite number, got NaN/],
    ['a rule number that is no formula type', { rule: 7 }, /option 'rule': unsupported value 7/],
    ['a rule name and a different formula type', { rule: 'epsilon', relpropformulatype: 2 }, /option 'rule': "epsilon" is formula type 0 but relpropformulatype is 2/],
    ['a string epsilon', { relpropformulatype: 0, epsstab: '1' }, /'epsstab': must be a finite number/],
    ['a negative beta', { relpropformulatype: 2, alphabeta_beta: -1 }, /'alphabeta_beta': must be >= 0/],
    ['a fractional layer index', { relpropformulatype: 0, lastlayerindex: 1.5 }, /'lastlayerindex': must be an integer/],
    ['a start layer outside the net', { relpropformulatype: 0, lastlayerindex: 99 }, /'lastlayerindex': 99 is outside the net/],
    ['a first layer above the start', { relpropformulatype: 0, lastlayerindex: 2, firstlayerindex: 4 }, /'firstlayerindex': 4 is above the start layer/],
    ['lrn_backward_type 2', { relpropformulatype: 0, lrn_backward_type: 2 }, /'lrn_backward_type': must be one of -1, 0, 1/],
    ['an unknown option', { relpropformulatype: 0, epsilonn: 1 }, /option 'epsilonn': unknown option/],
    ["a Zennit option under Caffe semantics", { relpropformulatype: 0, epsilon: 1 }, /option 'epsilon': applies to Zennit's rules only/],
    ['compat as a string', { relpropformulatype: 0, compat: 'yes' }, /'compat': must be true or false/],
  ])('rejects %s', async (_, opts, message) => {
    await expect(net.backwardRelevanceMulti([[0], [1]], opts as never)).rejects.toMatchObject({ code: 'OPTION', message: expect.stringMatching(message) });
  });

  test.each([
    ['a class index past the outputs', [[0], [5]], /class index 5 for image 1 is out of range/],
    ['a negative class index', [[-1], [0]], /class index -1 /],
    ['a fractional class index', [[0.5], [0]], /class index 0.5 /],
    ['too few class lists', [[0]], /one class list for each of the 2 image/],
    ['a non-array class list', [3, [0]], /must be an array/],
  ])('rejects %s', async (_, classes, message) => {
    await expect(net.backwardRelevanceMulti(classes as never, { relpropformulatype: 0 })).rejects.toThrow(message);
  });

  test('the net still works after every rejected call', async () => {
    const maps = await net.backwardRelevanceMulti([[0], [1, 2]], { rule: 'epsilon' });
    expect(maps).toHaveLength(2);
    expect(maps[1].data.every(Number.isFinite)).toBe(true);
  });
});

test('explain rejects a bad target naming the image', async () => {
  await expect(net.explain([good(), good()], { rule: 'epsilon', targets: ['top1', 'top7' as never] })).rejects.toThrow(/target for image 1/);
});

test('a spec the engine cannot build is a clear error', () => {
  const spec = smallNet(1, true);
  spec.layers[0].type = 'Deconvolution';
  expect(() => new Net(spec)).toThrow(/unsupported layer type 'Deconvolution'.*supported types: AbsVal/);
  const bad = smallNet(1, true);
  bad.layers[5].blobs[0] = { shape: [5, 71], data: new Float32Array(355) };
  expect(() => new Net(bad)).toThrow(/layer 'fc' \(InnerProduct\)/);
});

test('a rule a layer cannot apply is a CaffeLrpError naming the layer', async () => {
  const spec = smallNet(1, true);
  // within-channel LRN after the pooling layer: lrn_backward_type 1 has no rule for it
  spec.layers.splice(3, 0, { name: 'norm1', type: 'LRN', bottoms: ['pool1'], tops: ['norm1'], blobs: [],
    params: { localSize: 3, alpha: 1e-2, beta: 0.75, k: 1, normRegion: 'WITHIN_CHANNEL' } });
  spec.layers[4].bottoms = ['norm1'];
  const n = new Net(spec);
  await n.forward(good());
  await expect(n.backwardRelevance([0], { relpropformulatype: 0, lrn_backward_type: 1 })).rejects.toMatchObject({
    code: 'UNSUPPORTED', message: expect.stringMatching(/layer 'norm1' \(LRN\): lrn_backward_type 1 needs ACROSS_CHANNELS/),
  });
  await expect(n.backwardRelevance([0], { relpropformulatype: 0, lrn_backward_type: 0 })).resolves.toBeDefined();
  await n.dispose();
});
