/**
 * Demonstrator configs and option values checked against their real domains, with messages
 * naming the config key and line: UTF-8 BOM and UTF-16 configs, batchsize and baseimgsize
 * too large for memory, epsstab < 0, huge alphabeta_beta, an aux index past the net, LRN
 * parameters that make the layer NaN.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { decodeConfigText, readConfig } from '../../demonstrator/config';
import { openSession } from '../../demonstrator/session';
import { demoModel } from '../../lib/demo-model';
import { Net } from '../../lib/net';
import { loadNetSpecSync } from '../../lib/caffe';
import { setMemoryBudget } from '../../lib/memory-budget';

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'caffe-lrp-democfg-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
afterEach(() => setMemoryBudget(undefined));

const TEXT = `param_file\n${demoModel.prototxt}\nmodel_file\n${demoModel.caffemodel}\nbaseimgsize\n28\n`;

function configFile(name: string, content: string | Buffer): string {
  const p = path.join(tmp, name);
  fs.writeFileSync(p, content);
  return p;
}

test('configs with a UTF-8 byte-order mark, or in UTF-16 LE/BE (with or without a mark), read like plain UTF-8', () => {
  const plain = readConfig(configFile('plain.txt', TEXT)).config;
  const variants = [
    Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(TEXT)]),
    Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(TEXT, 'utf16le')]),
    Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from(TEXT, 'utf16le').swap16()]),
    Buffer.from(TEXT, 'utf16le'),
  ];
  variants.forEach((buf, i) => {
    expect(decodeConfigText(buf)).toBe(TEXT);
    const c = readConfig(configFile(`v${i}.txt`, buf)).config;
    expect([c.paramFile, c.modelFile, c.baseImgSize]).toEqual([plain.paramFile, plain.modelFile, 28]);
  });
});

test('batchsize 1e9 and baseimgsize beyond the budget name the config key and its line', async () => {
  const big = readConfig(configFile('batch.txt', `${TEXT}batchsize\n1000000000\n`)).config;
  // past the engine's largest batch
  await expect(openSession({ config: big, parallel: true, images: 1 })).rejects.toMatchObject({
    code: 'SHAPE', line: 8, message: expect.stringMatching(/^.*'batchsize' \(line 7\): batch must be an integer in \[1, 1000000\]$/),
  });
  const many = readConfig(configFile('batch2.txt', `${TEXT}batchsize\n50000\n`)).config;
  setMemoryBudget('1G');
  await expect(openSession({ config: many, parallel: true, images: 1 })).rejects.toMatchObject({
    code: 'MEMORY', line: 8, message: expect.stringMatching(/'batchsize' \(line 7\): the net needs [\d.]+ GiB for its blobs at batch size 50000/),
  });
  setMemoryBudget('1G');
  const wide = readConfig(configFile('base.txt', TEXT.replace('baseimgsize\n28', 'baseimgsize\n100000'))).config;
  await expect(openSession({ config: wide, parallel: false, images: 1 })).rejects.toMatchObject({ code: 'OPTION', message: expect.stringMatching(/'baseimgsize' \(line 5\): 100000 is larger than/) });
  const large = readConfig(configFile('base2.txt', TEXT.replace('baseimgsize\n28', 'baseimgsize\n30000'))).config;
  await expect(openSession({ config: large, parallel: false, images: 1 })).rejects.toMatchObject({ code: 'MEMORY', message: expect.stringMatching(/'baseimgsize' \(line 5\): resizing images to 30000 pixels needs/) });
});

test('relevance options outside their domains are errors naming the option', async () => {
  const net = await Net.load({ prototxt: demoModel.prototxt, caffemodel: demoModel.caffemodel });
  const x = new Float32Array(28 * 28).fill(100);
  await expect(net.explain(x, { rule: 'epsilon', epsstab: -1 })).rejects.toMatchObject({ code: 'OPTION', message: expect.stringMatching(/'epsstab'.*must be >= 0/) });
  await expect(net.explain(x, { rule: 'alphabeta', alphabeta_beta: 1e30 })).rejects.toMatchObject({ code: 'OPTION', message: expect.stringMatching(/'alphabeta_beta'.*at most 1000000/) });
  await expect(net.explain(x, { relpropformulatype: 56, auxiliaryvariable_maxlayerindexforflatdistinconv: 999 })).rejects.toMatchObject({ code: 'OPTION', message: expect.stringMatching(/999 is past the net's last layer/) });
  await net.dispose();
});

test.each([['alpha: nan', /LRN alpha must be a finite number >= 0, got NaN/], ['alpha: -1', /LRN alpha .* got -1/], ['k: 0', /LRN k must be .* > 0/], ['beta: inf', /LRN beta must be a finite/]])(
  'LRN %s is refused when the prototxt is read',
  (param, message) => {
    const proto = `input: "x"\ninput_shape { dim: 1 dim: 3 dim: 4 dim: 4 }\nlayer { name: "n" type: "LRN" bottom: "x" top: "y" lrn_param { local_size: 3 ${param} } }\n`;
    expect(() => loadNetSpecSync({ prototxt: Buffer.from(proto) })).toThrow(expect.objectContaining({ code: 'SCHEMA', layer: 'n', message: expect.stringMatching(message) }));
  },
);
