/**
 * lrp-toolbox-demo --train: usage and argument errors, and a short real run of the LeNet-like
 * net on Fashion-MNIST (when Debian's dataset-fashion-mnist is installed): trains, reports
 * test accuracy, writes model.txt that re-reads to the same predictions, explains an image.
 * The full long-rect training (the README's figure) is `npm run demo:toolbox-train`.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawnSync } from 'child_process';
import { runToolboxDemo } from '../../demonstrator/toolbox-demo';
import { DATA_DIR } from '../../demonstrator/demo-model/fashion-mnist';
import { readToolboxModelSync } from '../../lib/toolbox';
import { ROOT } from '../helpers/shared-data';

function capture() {
  const out: string[] = [], err: string[] = [];
  return { out, err, io: { stdout: { write: (s: string) => out.push(s) }, stderr: { write: (s: string) => err.push(s) } } };
}

describe('lrp-toolbox-demo --train', () => {
  it('--train --help prints the training usage', async () => {
    const c = capture();
    expect(await runToolboxDemo(['--train', '--help'], c.io)).toBe(0);
    expect(c.out.join('')).toMatch(/usage: lrp-toolbox-demo --train/);
  });

  it.each([
    [['--train', '--iters', '0'], /--iters needs an integer >= 1/],
    [['train', '--arch', 'vgg'], /--arch: 'long-rect' or 'lenet'/],
    [['--train', '--decay', 'fast'], /--decay: none, linear or sublinear/],
    [['--train', '--lrate', 'x'], /--lrate needs a positive number/],
    [['--train', '--model', 'a.txt'], /unknown argument '--model' for --train/],
  ])('%j is a usage error', async (argv, message) => {
    const c = capture();
    expect(await runToolboxDemo(argv as string[], c.io)).toBe(1);
    expect(c.err.join('')).toMatch(message as RegExp);
  });

  // As a child process with one engine thread (the bin shim, like users run it): on a busy
  // 2-core machine OpenMP teams of this test process would make the short run many times slower.
  const haveData = fs.existsSync(path.join(DATA_DIR, 'train-images-idx3-ubyte.gz'));
  const built = fs.existsSync(path.join(ROOT, 'dist', 'demonstrator', 'toolbox-train.js'));
  (haveData && built ? it : it.skip)(`trains the LeNet-like net briefly, writes, re-reads and explains${haveData ? '' : ' [needs dataset-fashion-mnist]'}${built ? '' : ' [needs dist/: node native/setup.js]'}`, () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'caffe-lrp-train-demo-'));
    try {
      const r = spawnSync(process.execPath, [path.join(ROOT, 'demonstrator', 'bin', 'lrp-toolbox-demo.js'), '--train', '--arch', 'lenet', '--iters', '40',
        '--status', '20', '--validation', '200', '--test-count', '300', '--count', '1', '--threads', '1', '--quiet', '--out', dir], { cwd: dir, encoding: 'utf8' });
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      const text = r.stdout;
      expect(text).toMatch(/test accuracy: \d+\.\d\d % \(\d+\/300\)/);
      expect(text).toMatch(/re-read: identical predictions on all 300 test images/);
      expect(text).toMatch(/digit 0: label 9 predicted \d/);
      const model = readToolboxModelSync(path.join(dir, 'model.txt'));
      expect(model.layers.map((l) => l.type)).toEqual(['Convolution', 'Rect', 'MaxPool', 'Convolution', 'Rect', 'MaxPool', 'Flatten', 'Linear', 'Rect', 'Linear', 'SoftMax']);
      expect(fs.readdirSync(dir).some((f) => /^digit0_class\d\.png$/.test(f))).toBe(true);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 120000);
});
