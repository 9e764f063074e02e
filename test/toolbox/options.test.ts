/**
 * The `semantics` switch and the per-layer `layerRules` option: validation with clear
 * errors, layer selection (name > index > '@first'/'@last' > type), and a Caffe composite
 * built from layer rules reproducing a formula type exactly.
 */
import { CaffeLrpError } from '../../lib/errors';
import { Net } from '../../lib/net';
import { resolveOptions, type RelPropOptions } from '../../lib/relevance/options';
import { matchLayerRules } from '../../lib/relevance/layer-rules';
import { rulesFor } from '../../lib/relevance/policy';
import type { NativeLayerInfo } from '../../lib/native';
import { rand, smallNet } from '../helpers/small-nets';

function optionError(o: unknown): string {
  try {
    resolveOptions(o as RelPropOptions);
  } catch (e) {
    expect(e).toBeInstanceOf(CaffeLrpError);
    expect((e as CaffeLrpError).code).toBe('OPTION');
    return (e as Error).message;
  }
  throw new Error(`accepted: ${JSON.stringify(o)}`);
}

const layer = (index: number, name: string, type: string): NativeLayerInfo => ({ index, name, type, bottoms: [], tops: [], topShapes: [] });
const LAYERS = [layer(0, 'conv1', 'Convolution'), layer(1, 'relu1', 'ReLU'), layer(2, 'pool1', 'Pooling'), layer(3, 'conv2', 'Convolution'),
  layer(4, 'fc1', 'InnerProduct'), layer(5, 'fc2', 'InnerProduct'), layer(6, 'prob', 'Softmax')];

describe('validation', () => {
  test('semantics', () => {
    expect(optionError({ semantics: 'matlab' })).toMatch(/option 'semantics': must be one of caffe, toolbox, zennit, got "matlab"/);
    expect(resolveOptions({ semantics: 'toolbox' })).toMatchObject({ semantics: 'toolbox', toolboxRule: { rule: 'simple' } });
    expect(resolveOptions({ rule: 'epsilon' })).toMatchObject({ semantics: 'caffe', formulaType: 0, layerRules: undefined });
  });

  test('toolbox rules and parameters', () => {
    expect(resolveOptions({ semantics: 'toolbox', rule: 'alphabeta', alpha: 2 }).toolboxRule).toEqual({ rule: 'alphabeta', epsilon: 1, alpha: 2, beta: 1 });
    expect(resolveOptions({ semantics: 'toolbox', rule: 'ww' }).toolboxRule?.rule).toBe('wsquare');
    expect(optionError({ semantics: 'toolbox', rule: 'layer_dep' })).toMatch(/option 'rule': unknown rule "layer_dep" for semantics 'toolbox' \(rules: simple, epsilon, alphabeta, flat, ww, wsquare\)/);
    expect(optionError({ semantics: 'toolbox', rule: { rule: 'flat' } })).toMatch(/option 'rule': must be a rule name/);
    expect(optionError({ semantics: 'toolbox', relpropformulatype: 0 })).toMatch(/option 'relpropformulatype': does not apply under semantics 'toolbox'/);
    expect(optionError({ semantics: 'toolbox', alphabeta_beta: 1 })).toMatch(/option 'alphabeta_beta': does not apply/);
    expect(optionError({ semantics: 'toolbox', biastreatmenttype: 1 })).toMatch(/never redistributes the bias/);
    expect(optionError({ semantics: 'toolbox', alpha: 'two' })).toMatch(/option 'alpha': must be a finite number/);
    expect(optionError({ rule: 'alphabeta', alpha: 2 })).toMatch(/option 'alpha': is the toolbox's alpha-beta parameter/);
  });

  test('layerRules entries', () => {
    const caffe = resolveOptions({ rule: 'alphabeta', alphabeta_beta: 0.5, epsstab: 0.1, layerRules: { fc1: 'epsilon', conv1: { rule: 'ww' } } });
    expect(caffe.layerRules).toEqual({ fc1: { rule: 'epsilon', epsilon: 0.1, alpha: 1.5, beta: 0.5 }, conv1: { rule: 'wsquare', epsilon: 0.1, alpha: 1.5, beta: 0.5 } });
    expect(optionError({ rule: 'epsilon', layerRules: [] })).toMatch(/option 'layerRules': must be an object/);
    expect(optionError({ rule: 'epsilon', layerRules: { fc1: 'simple' } })).toMatch(/option 'layerRules.fc1': unknown rule "simple" for semantics 'caffe'/);
    expect(optionError({ rule: 'epsilon', layerRules: { fc1: { rule: 'alphabeta', alpha: 2 } } })).toMatch(/'alpha' is not a parameter under semantics 'caffe'/);
    expect(optionError({ rule: 'epsilon', layerRules: { fc1: { rule: 'alphabeta', beta: -1 } } })).toMatch(/'beta' must be >= 0/);
    expect(optionError({ semantics: 'toolbox', layerRules: { fc1: { rule: 'alphabeta', beta: 1 } } })).toMatch(/'beta' is not a parameter under semantics 'toolbox'/);
    expect(optionError({ semantics: 'toolbox', layerRules: { fc1: { rule: 'epsilon', eps: 1 } } })).toMatch(/unknown key 'eps' \(known: rule, epsilon, alpha\)/);
    expect(optionError({ semantics: 'toolbox', layerRules: { fc1: { rule: 'epsilon', epsilon: NaN } } })).toMatch(/'epsilon' must be a finite number/);
    expect(optionError({ rule: 'gradient', layerRules: { fc1: 'flat' } })).toMatch(/formula type 11 is computed by the gradient walk/);
  });
});

describe('layer selection', () => {
  const rules = (layerRules: Record<string, unknown>, semantics: 'caffe' | 'toolbox' = 'toolbox') =>
    matchLayerRules(LAYERS, resolveOptions({ semantics, ...(semantics === 'caffe' ? { rule: 'epsilon' } : {}), layerRules } as RelPropOptions).layerRules!);

  test('name, then index, then @first/@last, then type', () => {
    const m = rules({ Convolution: 'alphabeta', InnerProduct: 'epsilon', '@first': 'flat', '@last': 'ww', 3: 'simple', fc1: { rule: 'epsilon', epsilon: 0.01 } });
    expect(m.map((r) => r && `${r.key}:${r.rule}`)).toEqual([
      '@first:flat', undefined, undefined, '3:simple', 'fc1:epsilon', '@last:wsquare', undefined,
    ]);
    expect(m[4]?.epsilon).toBe(0.01);
  });

  test('a selector that matches no layer is an error listing what exists', () => {
    expect(() => rules({ conv9: 'flat' })).toThrow(/option 'layerRules.conv9': selects no layer of this net \(layer names: conv1, relu1, pool1, conv2, fc1, fc2, prob; indices 0..6; types: Convolution, ReLU, Pooling, InnerProduct, Softmax; '@first', '@last'\)/);
    expect(() => rules({ 7: 'flat' })).toThrow(/layerRules.7': selects no layer/);
  });

  test('a selector shadowed on every layer by a more specific one is still valid', () => {
    expect(() => rules({ Pooling: 'flat', pool1: 'simple' })).not.toThrow();
  });

  test('caffe semantics: only layers with linear rules', () => {
    const o = resolveOptions({ rule: 'epsilon', layerRules: { Pooling: 'flat' } });
    expect(() => rulesFor(LAYERS, o)).toThrow(/option 'layerRules.Pooling': selects layer 'pool1' \(Pooling\), which has no linear rule under semantics 'caffe'/);
    const ok = rulesFor(LAYERS, resolveOptions({ rule: 'epsilon', epsstab: 0.5, layerRules: { '@first': 'flat', fc2: { rule: 'alphabeta', beta: 1 } } }));
    expect(ok.map((r) => r.linear)).toEqual(['flat', 'epsilon', 'epsilon', 'epsilon', 'epsilon', 'alphabeta', 'epsilon']);
    expect(ok[5].beta).toBe(1);
    expect(ok[5].alpha).toBeUndefined();
  });

  test('toolbox rules per layer type', () => {
    const spec = { name: 's', inputs: [], layers: LAYERS.map((l) => ({ name: l.name, type: l.type, bottoms: [], tops: [], blobs: [], params: l.type === 'Pooling' ? { pool: 'MAX' } : {} })) };
    const r = rulesFor(LAYERS, resolveOptions({ semantics: 'toolbox', rule: 'alphabeta', alpha: 2, layerRules: { '@first': 'flat', fc2: { rule: 'epsilon', epsilon: 0.01 } } }), spec);
    expect(r[0]).toMatchObject({ linear: 'flat', flatOverDepth: true, stabilizer: 'toolbox' });
    expect(r[2]).toMatchObject({ pool: 'wta-ties' });
    expect(r[3]).toMatchObject({ linear: 'alphabeta', alpha: 2, beta: 1, stabilizer: 'toolbox', biasTreatment: 0 });
    expect(r[5]).toMatchObject({ linear: 'epsilon', epsilon: 0.01, stabilizer: 'toolbox' });
    expect(() => rulesFor(LAYERS, resolveOptions({ semantics: 'toolbox' }))).toThrow(/need the net's spec/);
  });
});

describe('a Caffe composite from layer rules', () => {
  test('equals formula type 102 (flat at and below the aux layer, alpha-beta convs, epsilon fc)', async () => {
    const net = new Net(smallNet(2, true));
    try {
      const x = rand(2 * 3 * 10 * 10, 17);
      await net.forward(x);
      const classes = [[1], [3]];
      const base = { epsstab: 0.01, alphabeta_beta: 1 };
      const formula = await net.backwardRelevanceMulti(classes, { ...base, rule: 'layer_dep_n_flat', auxiliaryvariable_maxlayerindexforflatdistinconv: 0 });
      const composite = await net.backwardRelevanceMulti(classes, { ...base, rule: 'epsilon', layerRules: { '@first': 'flat', Convolution: 'alphabeta' } });
      formula.forEach((h, i) => expect(Array.from(composite[i].data)).toEqual(Array.from(h.data)));
      // And the option does something: without it, plain epsilon differs.
      const plain = await net.backwardRelevanceMulti(classes, { ...base, rule: 'epsilon' });
      expect(Array.from(plain[0].data)).not.toEqual(Array.from(formula[0].data));
    } finally {
      await net.dispose();
    }
  });
});

describe('toolbox semantics on a Caffe net', () => {
  test('grouped and padded convolutions, MAX pooling, Softmax: every rule runs, seeded with the logit below the Softmax', async () => {
    const net = new Net(smallNet(1, true));
    try {
      await net.forward(rand(3 * 10 * 10, 19));
      for (const rule of ['simple', 'epsilon', 'alphabeta', 'flat', 'ww']) {
        const [hm] = await net.backwardRelevanceMulti([[2]], { semantics: 'toolbox', rule, alpha: 2, conservation: true });
        expect(hm.channelOrder).toBe('blob');
        expect(hm.data.every(Number.isFinite)).toBe(true);
        expect(hm.data.some((v) => v !== 0)).toBe(true);
      }
      // The seed is the logit below the Softmax, as with Caffe semantics.
      const res = await net.relevance([[2]], { semantics: 'toolbox', rule: 'ww', conservation: true });
      expect(res.conservation![0].name).toBe('fc');
      expect(res.conservation![0].in[0]).toBeCloseTo(net.blob('fc').data[2], 5);
    } finally {
      await net.dispose();
    }
  });
});
