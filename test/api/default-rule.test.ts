/**
 * Options ergonomics (issue 13): without a rule, explain() uses the demonstrators' default
 * (formula type 100 with epsstab 1 and alphabeta_beta 1), and `rule` takes formula type
 * numbers as well as names.
 */
import { Net } from '../../lib/net';
import { DEFAULT_RULE, resolveOptions } from '../../lib/relevance/options';
import { rand, smallNet } from '../helpers/small-nets';

let net: Net;
beforeAll(() => { net = new Net(smallNet(1, true)); });
afterAll(() => net.dispose());

const input = rand(300, 21, 10);
const mapOf = async (opts?: Parameters<Net['explain']>[1]) => (await net.explain(input, opts)).heatmaps[0].data;

test('the default rule is layer_dep with epsilon 1 and beta 1, documented in DEFAULT_RULE', async () => {
  expect(DEFAULT_RULE).toEqual({ rule: 'layer_dep', epsstab: 1, alphabeta_beta: 1 });
  expect(resolveOptions({})).toMatchObject({ formulaType: 100, epsstab: 1, beta: 1 });
  const explicit = await mapOf({ rule: 'layer_dep', epsstab: 1, alphabeta_beta: 1 });
  expect(Array.from(await mapOf({}))).toEqual(Array.from(explicit));
  expect(Array.from(await mapOf())).toEqual(Array.from(explicit));
  // The beta default matters: the original options class's 0.1 gives another map.
  const beta01 = await mapOf({ rule: 'layer_dep', alphabeta_beta: 0.1 });
  expect(Array.from(beta01)).not.toEqual(Array.from(explicit));
  // Only the rule is defaulted: a given epsilon or beta is used with it.
  expect(Array.from(await mapOf({ alphabeta_beta: 0.1 }))).toEqual(Array.from(beta01));
});

test('rule accepts formula type numbers: the same maps as the names', async () => {
  for (const [n, name] of [[0, 'epsilon'], [2, 'alphabeta'], [100, 'layer_dep']] as const) {
    const byNumber = await mapOf({ rule: n, epsstab: 0.5 });
    const byName = await mapOf({ rule: name, epsstab: 0.5 });
    const byType = await mapOf({ relpropformulatype: n, epsstab: 0.5 });
    expect(Array.from(byNumber)).toEqual(Array.from(byName));
    expect(Array.from(byNumber)).toEqual(Array.from(byType));
  }
  expect(Array.from(await mapOf({ rule: 0 }))).not.toEqual(Array.from(await mapOf({ rule: 2 })));
});

test("numclasses bounds the classes 'top1' and 'top5' choose from, as in the demonstrators", async () => {
  const x = rand(300, 24, 0.3); // scores 0.001 0.000 0.983 0.000 0.015: the best class is 2
  const scores = (await net.forward(x))[0];
  const order = Array.from(scores.keys()).sort((a, b) => scores[b] - scores[a]);
  expect(order[0]).toBe(2);
  // numclasses 2: only classes 0 and 1 count, and 0 scores higher.
  expect(scores[0]).toBeGreaterThan(scores[1]);
  expect((await net.explain(x, { numclasses: 2, targets: 'top1' })).classes[0]).toEqual([0]);
  expect((await net.explain(x, { numclasses: 2, targets: 'top5' })).classes[0]).toEqual([0, 1]);
  expect((await net.explain(x, { targets: 'top1' })).classes[0]).toEqual([2]);
});

test("explainImage ranks equal scores as the demonstrators do (higher class index first)", async () => {
  // A bright image saturates the small net's softmax: scores 1, 0, 0, 0, 0 (ties among the zeros).
  const data = new Uint8Array(10 * 10 * 3).fill(255);
  const r = await net.explainImage({ data, width: 10, height: 10, channels: 3 }, { targets: 'top5' });
  const zeros = Array.from(r.scores.keys()).filter((c) => r.scores[c] === 0);
  expect(zeros.length).toBeGreaterThanOrEqual(2);
  const best = Array.from(r.scores.keys()).sort((a, b) => r.scores[b] - r.scores[a])[0];
  // The original's order: best first, then equal scores from the highest index down.
  const expected = [best, ...Array.from(r.scores.keys()).filter((c) => c !== best).sort((a, b) => r.scores[b] - r.scores[a] || b - a)];
  expect(r.classes).toEqual(expected.slice(0, 5));
  // explain() keeps its documented order (equal scores: lower index first).
  const e = await net.explain(r.input, { targets: 'top5' });
  expect(e.classes[0]).toEqual([best, ...Array.from(r.scores.keys()).filter((c) => c !== best).sort((a, b) => r.scores[b] - r.scores[a] || a - b)].slice(0, 5));
});
