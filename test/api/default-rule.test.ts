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
