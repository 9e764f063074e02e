/** `caffe-lrp serve`'s flags, and the model sources it can serve (bundled, files, a demonstrator config). */
import * as path from 'path';
import { demoModel } from '../../lib/index';
import { parseServeArgs, parseSize, UsageError } from '../../demonstrator/serve/cli';
import { loadServedModel } from '../../demonstrator/serve/model';
import { buildServer } from '../../demonstrator/serve/server';
import { ROOT } from '../helpers/shared-data';
import { bundledImage, bundledModel, disposeModel, form } from './helpers';

describe('parseServeArgs', () => {
  test('nothing given: the bundled model on 127.0.0.1:8080 with the default limits', () => {
    expect(parseServeArgs([])).toEqual({ help: false, host: '127.0.0.1', port: 8080, options: {} });
  });

  test('every flag', () => {
    const a = parseServeArgs(['--model', 'a.prototxt,b.caffemodel', '--model', 'labels.txt', '--host', '0.0.0.0', '--port', '0', '--max-upload', '5MB',
      '--max-pixels', '1000000', '--queue', '0', '--timeout', '2000', '--cors', 'http://localhost:3000']);
    expect(a).toEqual({
      help: false, host: '0.0.0.0', port: 0,
      options: {
        model: { kind: 'files', prototxt: 'a.prototxt', caffemodel: 'b.caffemodel', labels: 'labels.txt' },
        maxUploadBytes: 5 * 1024 * 1024, maxPixels: 1_000_000, queue: 0, timeoutMs: 2000, cors: 'http://localhost:3000',
      },
    });
    expect(parseServeArgs(['--config', 'c.txt']).options.model).toEqual({ kind: 'config', file: 'c.txt' });
    expect(parseServeArgs(['-h']).help).toBe(true);
  });

  test('sizes', () => {
    expect(parseSize('--max-upload', '1048576')).toBe(1048576);
    expect(parseSize('--max-upload', '512k')).toBe(512 * 1024);
    expect(parseSize('--max-upload', '1.5MiB')).toBe(1.5 * 1024 * 1024);
    expect(() => parseSize('--max-upload', 'lots')).toThrow(UsageError);
  });

  test.each([
    [['--port', '70000'], /--port/], [['--port', 'x'], /--port/], [['--queue', '-1'], /--queue/], [['--max-upload', '0'], /--max-upload/],
    [['--model', 'only.prototxt'], /--model needs/], [['--config', 'c', '--model', 'a,b'], /not both/], [['--cors', '*'], /--cors/],
    [['--frobnicate'], /frobnicate/], [['stray'], /stray/],
  ])('refuses %j', (argv, message) => {
    expect(() => parseServeArgs(argv as string[])).toThrow(message as RegExp);
  });
});

describe('model sources', () => {
  test("--model files and the demo's --config load the same net: the same answers for the same rule", async () => {
    const files = await loadServedModel({ kind: 'files', prototxt: demoModel.prototxt, caffemodel: demoModel.caffemodel, labels: demoModel.labels });
    // the demo's config (paths relative to the package root, as `npm run demo` runs it)
    const cwd = process.cwd();
    process.chdir(ROOT);
    let config;
    try {
      config = await loadServedModel({ kind: 'config', file: path.join('demonstrator', 'demo-config.txt') });
    } finally {
      process.chdir(cwd);
    }
    try {
      expect(config.defaults).toMatchObject({ relpropformulatype: 100, epsstab: 1, alphabeta_beta: 1, lastlayerindex: -1, numclasses: 10, lrn_backward_type: 0 });
      const answers = [];
      for (const served of [files, config]) {
        const app = await buildServer({ served, pageDir: '/nonexistent' });
        const res = await app.inject({ method: 'POST', url: '/api/explain', body: form(bundledImage(0), { rule: 'epsilon', epsstab: '0.5', target: '2' }) });
        await app.close();
        expect(res.statusCode).toBe(200);
        const { timings: _t, options: _o, ...rest } = res.json();
        answers.push(rest);
      }
      expect(answers[0]).toEqual(answers[1]);
    } finally {
      await files.net.dispose();
      await config.net.dispose();
    }
  });

  test('buildServer refuses bad limits', async () => {
    const served = await bundledModel();
    await expect(buildServer({ served, queue: -1 })).rejects.toThrow(/option 'queue' must be an integer >= 0/);
    await expect(buildServer({ served, maxUploadBytes: 0.5 })).rejects.toThrow(/option 'maxUploadBytes'/);
    await disposeModel();
  });

  test('ONNX is refused with a clear error', async () => {
    await expect(loadServedModel({ kind: 'files', prototxt: 'model.onnx', caffemodel: 'x' })).rejects.toThrow(/ONNX models are not supported/);
  });
});
