/**
 * The demonstrators with an ONNX model: `param_file model.onnx` and no `model_file`.
 * lrp-parallel-demo on the shared ONNX ResNet-18 writes the original's four files per image.
 * (The demonstrators' preprocessing stays Caffe's — BGR, 0..255, mean subtraction — so for
 * this RGB, normalised-input model the files show the pipeline working, not a meaningful map.)
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { parseConfig } from '../../demonstrator/config';
import { run } from '../demonstrator/cli-helpers';
import { describeShared, sharedPath } from '../helpers/shared-data';

describe('demonstrator config with an ONNX param_file', () => {
  it('model_file is optional when param_file is an .onnx file, still required otherwise', () => {
    const { config } = parseConfig('param_file\n/m/resnet18.onnx\nrelpropformulatype\n0\n', { file: 'c.txt', cwd: '/w' });
    expect(config.paramFile).toBe('/m/resnet18.onnx');
    expect(config.modelFile).toBeUndefined();
    expect(() => parseConfig('param_file\n/m/deploy.prototxt\n', { file: 'c.txt', cwd: '/w' })).toThrow(/required key 'model_file' is missing/);
  });
});

describeShared('lrp-parallel-demo on the ONNX ResNet-18', ['models/onnx/resnet18/model.onnx', 'images/cat1.jpg', 'images/espresso1.jpg'], () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'onnx-demo-'));
    fs.mkdirSync(path.join(dir, 'in'));
    for (const f of ['cat1.jpg', 'espresso1.jpg']) fs.copyFileSync(sharedPath('images', f), path.join(dir, 'in', f));
    fs.writeFileSync(path.join(dir, 'files.txt'), 'cat1.jpg -1\nespresso1.jpg 3\n');
    fs.writeFileSync(path.join(dir, 'config.txt'), [
      'param_file', sharedPath('models/onnx/resnet18/model.onnx'),
      'relpropformulatype', '0', 'epsstab', '0.1', 'batchsize', '2',
      'standalone_outpath', path.join(dir, 'out'), 'standalone_rootpath', path.join(dir, 'in'), '',
    ].join('\n'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('writes the four output files per image', async () => {
    const r = await run(['--quiet', 'config.txt', 'files.txt', path.join(dir, 'in')], dir, 'lrp-parallel-demo');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    // Outputs go to <standalone_outpath>/<the image path from the root stub on> + suffix.
    const written = (fs.readdirSync(path.join(dir, 'out'), { recursive: true }) as string[]).map((f) => path.join(dir, 'out', f));
    const find = (img: string, suffix: string) => written.find((f) => path.basename(f) === `${img}.jpg${suffix}`);
    for (const img of ['cat1', 'espresso1'])
      for (const suffix of ['_heatmap.png', '_rawhm.txt', '_toptenscores.txt', '_as_inputted_into_the_dnn.png']) {
        const f = find(img, suffix);
        expect(f).toBeDefined();
        expect(fs.statSync(f!).size).toBeGreaterThan(0);
      }
    const scores = fs.readFileSync(find('espresso1', '_toptenscores.txt')!, 'utf8');
    expect(scores.trim().split('\n').length).toBeGreaterThanOrEqual(10);
    const raw = fs.readFileSync(find('cat1', '_rawhm.txt')!, 'utf8').trim().split('\n');
    expect(raw.length).toBeGreaterThan(224);
  }, 300_000);
});
