/**
 * The toolbox's trained LeNet-5 (its text format) in the engine: the accuracy stated in
 * models/lrp-toolbox-mnist/SOURCE.md on the first 1000 MNIST test digits, and the
 * lrp-toolbox-demo command end to end.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import sharp from 'sharp';
import { readNpy } from '../../lib/io/npy';
import { loadToolboxNet, nhwcToNchw } from '../../lib/toolbox';
import { padImages, scaleDigits } from '../../lib/toolbox/data';
import { runToolboxDemo } from '../../demonstrator/toolbox-demo';
import { MODELS, VECTORS, describeIfExists, relativeL2 } from '../helpers/vectors';

const DIR = path.join(MODELS, 'lrp-toolbox-mnist');

describeIfExists(DIR, 'LeNet-5 of the LRP Toolbox', () => {
  test('classifies the first 1000 test digits with the accuracy of SOURCE.md', async () => {
    const stated = /Verified here.*?([\d.]+) % on the first 1000 test digits/.exec(fs.readFileSync(path.join(DIR, 'SOURCE.md'), 'utf8'));
    expect(stated).not.toBeNull();
    const digits = readNpy(path.join(DIR, 'test_images_first1000_uint8.npy'));
    const labels = readNpy(path.join(DIR, 'test_labels_first1000_uint8.npy')).data;
    const n = digits.shape[0];
    const { data, shape } = padImages(scaleDigits(digits.data), [n, 28, 28, 1], 2, -1);
    const net = await loadToolboxNet(path.join(DIR, 'LeNet-5.txt'), { inputShape: [32, 32, 1], batchSize: n });
    try {
      const scores = await net.forward(nhwcToNchw(data, shape));
      let correct = 0;
      scores.forEach((s, i) => {
        const row = Array.from(s);
        if (row.indexOf(Math.max(...row)) === labels[i]) ++correct;
      });
      expect((100 * correct) / n).toBeCloseTo(Number(stated![1]), 6);
    } finally {
      await net.dispose();
    }
  });

  describe('lrp-toolbox-demo', () => {
    let tmp: string;
    beforeAll(() => { tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'caffe-lrp-tbdemo-')); });
    afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
    const sink = () => { const s = { text: '', write: (t: string) => { s.text += t; return true; } }; return s; };

    test('digits and heatmaps side by side; relevance as the toolbox computes it', async () => {
      const stdout = sink(), stderr = sink();
      const status = await runToolboxDemo([
        '--model', path.join(DIR, 'LeNet-5.txt'), '--images', path.join(DIR, 'test_images_first1000_uint8.npy'),
        '--labels', path.join(DIR, 'test_labels_first1000_uint8.npy'), '--count', '3', '--rule', 'epsilon', '--epsilon', '0.01',
        '--out', tmp, '--save-relevance', '--colormap', 'seismic',
      ], { stdout, stderr });
      expect(stderr.text).toBe('');
      expect(status).toBe(0);
      expect(stdout.text).toMatch(/^digit 0: label 7 predicted 7 \(score 23\.54\d*\), explained class 7, relevance sum 27\.08\d* -> .*digit0_class7\.png$/m);
      const png = await sharp(path.join(tmp, 'digit0_class7.png')).metadata();
      expect([png.width, png.height]).toEqual([2 * 96 + 2, 96]);
      const vectors = path.join(VECTORS, 'toolbox-python', 'lenet5_epsilon_0p01', 'relevance.npy');
      if (fs.existsSync(vectors)) {
        const mine = readNpy(path.join(tmp, 'relevance.npy'));
        const ref = readNpy(vectors);
        expect(mine.shape).toEqual([3, 32, 32, 1]);
        expect(relativeL2(mine.data, ref.data.subarray(0, mine.data.length))).toBeLessThan(1e-4);
      }
    });

    test('a chosen class, per-layer rules, and errors', async () => {
      const stdout = sink(), stderr = sink();
      const status = await runToolboxDemo([
        '--model', path.join(DIR, 'LeNet-5.txt'), '--images', path.join(DIR, 'test_images_first1000_uint8.npy'),
        '--indices', '4', '--class', '9', '--layer-rules', '{"@first":"flat","Convolution":{"rule":"alphabeta","alpha":1}}', '--out', tmp, '--no-outline',
      ], { stdout, stderr });
      expect(status).toBe(0);
      expect(stdout.text).toMatch(/^digit 4: predicted 4 .* explained class 9, .*digit4_class9\.png$/m);
      const bad = async (args: string[], message: RegExp) => {
        const err = sink();
        expect(await runToolboxDemo(args, { stdout: sink(), stderr: err })).toBe(1);
        expect(err.text).toMatch(message);
      };
      await bad([], /--model and --images are required/);
      await bad(['--model', 'x', '--images', 'y', '--count', 'many'], /--count needs an integer >= 1, got 'many'/);
      await bad(['--model', 'x', '--images', 'y', '--scaling', '100000'], /--scaling needs an integer >= 1 and <= 64, got '100000'/);
      await bad(['--model', path.join(DIR, 'LeNet-5.txt'), '--images', path.join(DIR, 'test_labels.npy')], /expected digits of 28x28 = 784 values per row/);
      await bad(['--model', path.join(DIR, 'LeNet-5.txt'), '--images', path.join(DIR, 'test_images_first1000_uint8.npy'), '--indices', '1000'], /digit index 1000 is out of range/);
      await bad(['--model', path.join(DIR, 'LeNet-5.txt'), '--images', path.join(DIR, 'test_images_first1000_uint8.npy'), '--rule', 'gradient', '--out', tmp], /unknown rule "gradient"/);
      const help = sink();
      expect(await runToolboxDemo(['--help'], { stdout: help })).toBe(0);
      expect(help.text).toMatch(/^usage: lrp-toolbox-demo/);
    });
  });
});
