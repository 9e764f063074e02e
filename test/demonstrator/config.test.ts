import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { CaffeLrpError } from '../../lib/errors';
import { DEFAULTS, parseConfig, readConfig } from '../../demonstrator/config';
import { E2E_CASES, VECTORS, testIfShared } from './shared';

const CWD = '/work/case';
const minimal = 'param_file\nnet.prototxt\nmodel_file\nnet.caffemodel\n';

function parse(text: string) {
  return parseConfig(text, { file: 'cfg.txt', cwd: CWD });
}

function error(text: string): CaffeLrpError {
  try {
    parse(text);
  } catch (e) {
    expect(e).toBeInstanceOf(CaffeLrpError);
    return e as CaffeLrpError;
  }
  throw new Error('expected an error');
}

describe('config files', () => {
  testIfShared(path.join(VECTORS, E2E_CASES[0]), 'the e2e config')("the original's shipped-style config (e2e case) parses to the values it names", () => {
    const dir = path.join(VECTORS, E2E_CASES[0]);
    const { config, warnings } = readConfig(path.join(dir, 'config.txt'), { cwd: dir });
    expect(warnings).toEqual([]);
    expect(config.paramFile).toBe(path.join(VECTORS, 'models/mini-caffenet/mini-caffenet_deploy_batch1.prototxt'));
    expect(config.meanFile).toBe(path.join(VECTORS, 'models/mini-caffenet/mean_bgr_104_117_123_67.binaryproto'));
    expect(config).toMatchObject({
      meanMode: 1,
      lastLayerIndex: -2,
      firstLayerIndex: 0,
      numClasses: 10,
      baseImgSize: 67,
      outPath: path.join(dir, 'output'),
      rootPath: 'images',
      epsstab: 1,
      alphabetaBeta: 1,
      relpropFormulaType: 100,
      auxLayerIndex: 0,
      lrnBackwardType: 1,
      codeExecType: 0,
      biasTreatmentType: 0,
      maxPoolToAvgPool: 0,
      compat: false,
      heatmapColormap: 'blue-black-yellow',
    });
    expect(config.lines.relpropformulatype).toBe(40);
  });

  test('only param_file and model_file are required; defaults for the rest', () => {
    const { config, warnings } = parse(minimal);
    expect(warnings).toEqual([]);
    expect(config).toMatchObject({
      paramFile: '/work/case/net.prototxt',
      modelFile: '/work/case/net.caffemodel',
      meanFile: undefined,
      meanMode: undefined,
      synsetFile: undefined,
      numClasses: undefined,
      baseImgSize: undefined,
      rootPath: undefined,
      batchSize: undefined,
      outPath: path.resolve(CWD, DEFAULTS.outPath),
      lastLayerIndex: -2,
      firstLayerIndex: 0,
      relpropFormulaType: 100,
      epsstab: 1,
      alphabetaBeta: 1,
      auxLayerIndex: -1,
      lrnBackwardType: 1,
      codeExecType: 0,
      biasTreatmentType: 0,
      maxPoolToAvgPool: 0,
      compat: false,
    });
  });

  test('missing required key → PARSE error naming it', () => {
    const e = error('param_file\nx\n');
    expect(e.code).toBe('PARSE');
    expect(e.message).toContain("'model_file'");
  });

  test('free text, stripping of spaces/tabs/CR, CRLF files, absolute paths kept', () => {
    const text = 'This config explains a net.\r\n  param_file \t\r\n\t/abs/net.prototxt   # trailing note\r\nSome more words here\r\nmodel_file\r\nm.caffemodel\r\n';
    const { config, warnings } = parse(text);
    expect(config.paramFile).toBe('/abs/net.prototxt');
    expect(config.modelFile).toBe('/work/case/m.caffemodel');
    expect(warnings).toEqual([]);
  });

  test('a key line is the exact first token: prefixes do not match (contract departure)', () => {
    const { config, warnings } = parse(`${minimal}epsstab_x\n5\nepsstab\n0.5\n`);
    expect(config.epsstab).toBe(0.5);
    expect(warnings.join()).toContain("did you mean 'epsstab'");
  });

  test('the first key line wins; a repeated key is a warning', () => {
    const { config, warnings } = parse(`${minimal}numclasses\n10\nnumclasses\n20\n`);
    expect(config.numClasses).toBe(10);
    expect(warnings[0]).toMatch(/cfg\.txt:7: 'numclasses' appears again/);
  });

  test('quoted values may contain spaces', () => {
    const { config } = parse('param_file\n"my nets/net.prototxt"\nmodel_file\nm\nstandalone_rootpath\n"some images"\n');
    expect(config.paramFile).toBe('/work/case/my nets/net.prototxt');
    expect(config.rootPath).toBe('some images');
  });

  test('value missing, empty or another key → PARSE error at the value line', () => {
    let e = error(`${minimal}epsstab\n\n0.5\n`);
    expect([e.code, e.line]).toEqual(['PARSE', 6]);
    e = error(`${minimal}epsstab`);
    expect(e.code).toBe('PARSE');
    e = error(`${minimal}mean_file\nuse_mean_file_asbinaryprotoblob\n1\n`);
    expect(e.message).toContain("that line is the key 'use_mean_file_asbinaryprotoblob'");
  });

  test.each([
    ['numclasses', '1.5', 'must be an integer'],
    ['numclasses', '0', 'must be >= 1'],
    ['lastlayerindex', '-3', 'must be >= -2'],
    ['firstlayerindex', '-1', 'must be >= 0'],
    ['baseimgsize', 'big', 'must be an integer'],
    ['use_mean_file_asbinaryprotoblob', '3', 'between 0 and 2'],
    ['epsstab', '1e', 'must be a number'],
    ['epsstab', 'nan', 'must be a number'],
    ['alphabeta_beta', '-1', 'must be >= 0'],
    ['relpropformulatype', '6', 'CaffeNet-specific'],
    ['relpropformulatype', '7', 'unsupported formula type'],
    ['lrn_backward_type', '2', 'one of -1, 0, 1'],
    ['maxpoolingtoavgpoolinginbackwardpass', '2', 'one of 0, 1'],
    ['biastreatmenttype', '-1', 'one of 0, 1'],
    ['codeexectype', '3', 'one of -1, 0, 1'],
    ['batchsize', '0', 'must be >= 1'],
    ['heatmap_colormap', 'viridis', 'must be one of'],
    ['caffe_lrp_compat', 'yes', 'must be an integer'],
    ['auxiliaryvariable_maxlayerindexforflatdistinconv', '-2', 'must be >= -1'],
  ])('%s %s → OPTION error naming key and line', (key, value, why) => {
    const e = error(`${minimal}\n${key}\n${value}\n`);
    expect(e.code).toBe('OPTION');
    expect(e.line).toBe(7);
    expect(e.message).toContain(`'${key}' (line 6)`);
    expect(e.message).toContain(why);
  });

  test('formula types by number or rule name; aux needed where the type uses it', () => {
    expect(parse(`${minimal}relpropformulatype\nalphabeta\n`).config.relpropFormulaType).toBe(2);
    expect(parse(`${minimal}relpropformulatype\n+0\n`).config.relpropFormulaType).toBe(0);
    const e = error(`${minimal}relpropformulatype\n54\n`);
    expect(e.message).toContain('auxiliaryvariable_maxlayerindexforflatdistinconv');
    expect(parse(`${minimal}relpropformulatype\n54\nauxiliaryvariable_maxlayerindexforflatdistinconv\n4\n`).config.auxLayerIndex).toBe(4);
  });

  test('extra keys of contract §2', () => {
    const { config } = parse(
      `${minimal}lrn_backward_type\n-1\nmaxpoolingtoavgpoolinginbackwardpass\n1\nbiastreatmenttype\n1\ncodeexectype\n1\nbatchsize\n8\nheatmap_colormap\nseismic\ncaffe_lrp_compat\n1\n`,
    );
    expect(config).toMatchObject({ lrnBackwardType: -1, maxPoolToAvgPool: 1, biasTreatmentType: 1, codeExecType: 1, batchSize: 8, heatmapColormap: 'seismic', compat: true });
  });

  test('numbers: trailing tokens after the value are ignored (as the original), floats in C++ syntax', () => {
    const { config } = parse(`${minimal}epsstab\n.5e-2 the stabiliser\nalphabeta_beta\n2.\nnumclasses\n1000 classes\n`);
    expect([config.epsstab, config.alphabetaBeta, config.numClasses]).toEqual([0.005, 2, 1000]);
  });

  test('did-you-mean only for lone identifiers close to a key, not for free text or values', () => {
    const { warnings } = parse(`${minimal}relpropformulatyp\n0\nstandalone_outpth\noutput\nNotes\nthis is free text\nmean\n`);
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toBe("cfg.txt:5: 'relpropformulatyp' is not a config key; did you mean 'relpropformulatype'? (the line is ignored)");
    expect(warnings[1]).toContain("did you mean 'standalone_outpath'");
  });

  test('readConfig: a named file that does not exist → IO error naming key and line', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'caffe-lrp-cfg-'));
    try {
      fs.writeFileSync(path.join(dir, 'net.prototxt'), 'x');
      fs.writeFileSync(path.join(dir, 'cfg.txt'), 'param_file\nnet.prototxt\nmodel_file\nmissing.caffemodel\n');
      let e: CaffeLrpError | undefined;
      try {
        readConfig(path.join(dir, 'cfg.txt'), { cwd: dir });
      } catch (x) {
        e = x as CaffeLrpError;
      }
      expect(e?.code).toBe('IO');
      expect(e?.line).toBe(3);
      expect(e?.message).toContain("'model_file'");
      expect(() => readConfig(path.join(dir, 'nope.txt'))).toThrow(/cannot read the config file/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
