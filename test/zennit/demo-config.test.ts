/** The demonstrators' Zennit config keys: composite, zbox_low/zbox_high (comma-separated lists: a config value is one token), gamma, stabilizer. */
import { parseConfig } from '../../demonstrator/config';
import { resolveOptions } from '../../lib/relevance/options';

const base = 'param_file\nnet.onnx\n';
const parse = (extra: string) => parseConfig(base + extra, { file: 'cfg.txt', cwd: '/tmp' }).config;

describe('demonstrator config: Zennit keys', () => {
  it('reads a composite with per-channel bounds, gamma and stabilizer', () => {
    const c = parse('composite\nEpsilonGammaBox\nzbox_low\n-2.1179,-2.0357,-1.8044\nzbox_high\n2.2489,2.4286,2.64\ngamma\n0.5\nstabilizer\n1e-7\n');
    expect(c.zennit).toEqual({ composite: 'EpsilonGammaBox', low: [-2.1179, -2.0357, -1.8044], high: [2.2489, 2.4286, 2.64], gamma: 0.5, stabilizer: 1e-7 });
    const o = resolveOptions({ composite: 'EpsilonGammaBox', low: c.zennit?.low, high: c.zennit?.high, gamma: 0.5 });
    expect(o.semantics).toBe('zennit');
    expect(o.zennit?.defaults.gamma).toBe(0.5);
  });

  it('no composite: no zennit settings; bounds without a composite or malformed are errors naming the line', () => {
    expect(parse('').zennit).toBeUndefined();
    expect(() => parse('gamma\n0.5\n')).toThrow(/'gamma' \(line 3\).*composite/);
    expect(() => parse('composite\nEpsilonPlus\nzbox_low\n1,x\n')).toThrow(/'zbox_low' \(line 5\)/);
  });
});
