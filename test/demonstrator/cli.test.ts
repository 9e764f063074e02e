/**
 * The demonstrator command line: arguments, start-up errors (exit 1), per-image failures
 * (exit 2, one line each, the rest go on), minimal output and 1-channel nets.
 */
import * as fs from 'fs';
import * as path from 'path';
import sharp from 'sharp';
import { savePrototxt, saveCaffemodel } from '../../lib/caffe';
import type { NetSpec } from '../../lib/caffe/netspec-types';
import { COMMANDS, main, type CommandName } from '../../demonstrator/cli';
import { smallNet, rand } from '../helpers/small-nets';
import { copyCase, dropKey, listFiles, MINI, readRawhm, run, setKey, tempDir } from './cli-helpers';
import { VECTORS, describeIfShared, testIfShared } from './shared';

const CASE = 'e2e-lrp_demo-f100-mc';
const withShared = describeIfShared(path.join(VECTORS, CASE), 'demonstrator command-line tests that run a net');
const PKG = JSON.parse(fs.readFileSync(path.resolve(__dirname, '../../package.json'), 'utf8')) as { version: string; bin: Record<string, string> };

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});
function caseCopy(edit?: (c: string) => string): string {
  const d = copyCase(CASE, edit);
  dirs.push(d);
  return d;
}
function scratch(): string {
  const d = tempDir('cli');
  dirs.push(d);
  return d;
}

/** A 3x10x10 mean in the original's text format. */
function smallMean(): string {
  const file = path.join(scratch(), 'small-mean.txt');
  fs.writeFileSync(file, `3 10 10\n${Array(300).fill('100').join(' ')}\n`);
  return file;
}

/** A start-up error: exit 1, exactly one line on stderr, no stack trace. */
function expectOneLineError(r: { code: number; stderr: string; stdout: string }, ...parts: (string | RegExp)[]): void {
  expect(r.code).toBe(1);
  const lines = r.stderr.trimEnd().split('\n');
  expect(lines).toHaveLength(1);
  expect(r.stderr).not.toMatch(/^\s+at /m);
  for (const p of parts) expect(lines[0]).toMatch(p);
  expect(r.stdout).toBe('');
}

describe('arguments', () => {
  test.each([[[]], [['a']], [['a', 'b']], [['a', 'b', 'c', 'd']]])('wrong argument count %j: usage, exit 1', async (argv) => {
    const r = await run(argv as string[], scratch());
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(`expected 3 arguments <config> <filelist> <prefix>, got ${(argv as string[]).length}`);
    expect(r.stderr).toMatch(/^usage: lrp-demo .*<config> <filelist> <prefix>$/m);
    expect(r.stdout).toBe('');
  });

  test('unknown option and bad --threads: usage, exit 1', async () => {
    const d = scratch();
    for (const argv of [['--fast', 'a', 'b', 'c'], ['--threads', 'x', 'a', 'b', 'c'], ['--threads=0', 'a', 'b', 'c'], ['a', 'b', 'c', '--threads']]) {
      const r = await run(argv, d);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/usage: /);
    }
  });

  test('--help and --version print to stdout and exit 0', async () => {
    const d = scratch();
    const h = await run(['--help'], d, 'lrp_parallel_demo_minimaloutput');
    expect(h.code).toBe(0);
    expect(h.stdout).toMatch(/^usage: lrp_parallel_demo_minimaloutput /);
    expect(h.stdout).toMatch(/--minimal-output/);
    expect(h.stdout).toMatch(/Exit status: 0 .* 1 .* 2 /);
    expect(h.stderr).toBe('');
    const v = await run(['-V'], d);
    expect(v).toEqual({ code: 0, stdout: `${PKG.version}\n`, stderr: '' });
  });

  test('all six command names exist', () => {
    expect(Object.keys(COMMANDS).sort()).toEqual(
      ['lrp-demo', 'lrp-parallel-demo', 'lrp_demo', 'lrp_demo_minimaloutput', 'lrp_parallel_demo', 'lrp_parallel_demo_minimaloutput'].sort(),
    );
    for (const name of Object.keys(COMMANDS)) {
      const shim = path.resolve(__dirname, '../../demonstrator/bin', `${name}.js`);
      const text = fs.readFileSync(shim, 'utf8');
      expect(text.startsWith('#!/usr/bin/env node\n')).toBe(true);
      expect(text).toContain(`require('./launch')('${name}')`);
      expect(fs.statSync(shim).mode & 0o111).not.toBe(0);
      expect(PKG.bin[name]).toBe(`demonstrator/bin/${name}.js`);
    }
  });
});

describe('start-up errors exit 1 with one clear line', () => {
  test('missing config file', async () => {
    const r = await run(['nope.txt', 'list.txt', '.'], scratch());
    expectOneLineError(r, /nope\.txt/, /cannot read the config file/);
  });

  withShared('with the mini-caffenet case', () => {
    test.each([
      { what: 'malformed value', edit: (c: string) => setKey(c, 'epsstab', 'abc'), expect: [/'epsstab' \(line \d+\)/, /must be a number, got 'abc'/, /config\.txt:\d+:/] },
      { what: 'unsupported formula type', edit: (c: string) => setKey(c, 'relpropformulatype', '6'), expect: [/relpropformulatype/, /not supported/] },
      { what: 'missing param_file key', edit: (c: string) => dropKey(c, 'param_file'), expect: [/required key 'param_file' is missing/] },
      { what: 'param_file that does not exist', edit: (c: string) => setKey(c, 'param_file', 'missing.prototxt'), expect: [/'param_file' names .*missing\.prototxt/] },
      { what: 'a net that cannot load', edit: (c: string) => setKey(c, 'model_file', path.join(MINI, 'synsets_10.txt')), expect: [/synsets_10\.txt/] },
      { what: 'numclasses above the net', edit: (c: string) => setKey(c, 'numclasses', '20'), expect: [/'numclasses' \(line \d+\): 20 is more than the 10/] },
      { what: 'lastlayerindex outside the net', edit: (c: string) => setKey(c, 'lastlayerindex', '99'), expect: [/'lastlayerindex' \(line \d+\)/, /outside the net's layers/] },
      { what: 'baseimgsize below the input', edit: (c: string) => setKey(c, 'baseimgsize', '50'), expect: [/'baseimgsize' \(line \d+\): 50 is smaller than the net input size 67/] },
      { what: 'mean smaller than the input', edit: (c: string) => setKey(setKey(c, 'mean_file', smallMean()), 'use_mean_file_asbinaryprotoblob', '0'), expect: [/small-mean\.txt: the mean is 10x10, smaller than the 67x67 net input/] },
    ])('$what', async ({ edit, expect: parts }) => {
      const d = caseCopy(edit);
      const r = await run(['config.txt', 'testfilelist.txt', '.'], d);
      expectOneLineError(r, ...parts);
      expect(fs.existsSync(path.join(d, 'output'))).toBe(false);
    });

    test('unreadable file list', async () => {
      const d = caseCopy();
      const r = await run(['config.txt', 'missing-list.txt', '.'], d);
      expectOneLineError(r, /missing-list\.txt/, /cannot read the image list/);
      const r2 = await run(['config.txt', 'images', '.'], d);
      expectOneLineError(r2, /cannot read the image list/);
    });

    test('config warnings go to stderr, --quiet silences them', async () => {
      const d = caseCopy((c) => `${c}\nepsstabb\n`);
      fs.writeFileSync(path.join(d, 'one.txt'), 'images/cat1_67.png -1\n');
      const r = await run(['config.txt', 'one.txt', '.'], d);
      expect(r.code).toBe(0);
      expect(r.stderr).toMatch(/warning: .*'epsstabb' is not a config key; did you mean 'epsstab'/);
      const q = await run(['-q', 'config.txt', 'one.txt', '.'], d);
      expect(q).toEqual({ code: 0, stdout: '', stderr: '' });
    });
  });
});

withShared('per-image failures', () => {
  async function badList(dir: string): Promise<void> {
    const images = path.join(dir, 'images');
    const jpg = await sharp(path.join(images, 'cat1_67.png')).jpeg().toBuffer();
    // Scrambled entropy data: libjpeg reports it over two lines, we print one.
    const corrupt = Buffer.from(jpg.map((b, i) => (i > 100 && i < jpg.length - 10 ? (b * 7 + 13) & 255 : b)));
    fs.writeFileSync(path.join(images, 'corrupt.jpg'), corrupt);
    fs.writeFileSync(path.join(images, 'notes.txt'), 'not an image\n');
    fs.mkdirSync(path.join(images, 'subdir'));
    fs.mkdirSync(path.join(dir, 'other'));
    fs.copyFileSync(path.join(images, 'volcano2_67.png'), path.join(dir, 'other', 'volcano2_67.png'));
    fs.writeFileSync(
      path.join(dir, 'list.txt'),
      [
        'images/cat1_67.png -1', // 1 ok
        'images/corrupt.jpg -1', // 2 corrupt JPEG
        '# a comment', // 3
        'images/missing.png -2', // 4 missing
        'images/notes.txt', // 5 a text file
        'images/scooter10_67.png 12', // 6 class out of range (10 classes)
        'other/volcano2_67.png 7', // 7 no 'images' root stub in the path
        'images/subdir 1', // 8 a directory
        'images/volcano2_67.png 7', // 9 ok
      ].join('\n') + '\n',
    );
  }

  test.each<CommandName>(['lrp-demo', 'lrp-parallel-demo'])('%s: good images are written, each failure is one line, exit 2', async (command) => {
    const d = caseCopy((c) => (command === 'lrp-parallel-demo' ? setKey(c, 'batchsize', '4') : c));
    await badList(d);
    const r = await run(['config.txt', 'list.txt', '.'], d, command);
    expect(r.code).toBe(2);
    const lines = r.stderr.trimEnd().split('\n');
    const failures = lines.filter((l) => / \(list\.txt line \d+\): /.test(l));
    expect(failures).toHaveLength(6);
    const byLine = (n: number) => failures.filter((l) => l.includes(`(list.txt line ${n}):`));
    // libvips words a corrupt JPEG's error by which step meets it first (header read or decode)
    expect(byLine(2)[0]).toMatch(/^[a-z-]+: \.\/images\/corrupt\.jpg \(list\.txt line 2\): cannot decode the image: (.*VipsJpeg.*; |Input buffer has corrupt header)/);
    expect(byLine(4)[0]).toMatch(/\.\/images\/missing\.png .*: no such file$/);
    expect(byLine(5)[0]).toMatch(/\.\/images\/notes\.txt .*: cannot decode the image: .*unsupported image format/);
    expect(byLine(6)[0]).toMatch(/scooter10_67\.png .*class index 12 is out of range: the net has 10 classes/);
    expect(byLine(7)[0]).toMatch(/other\/volcano2_67\.png .*does not contain standalone_rootpath 'images'/);
    expect(byLine(8)[0]).toMatch(/images\/subdir .*not a regular file/);
    for (const n of [2, 4, 5, 6, 7, 8]) expect(byLine(n)).toHaveLength(1);
    expect(r.stderr).not.toMatch(/^\s+at /m);
    expect(lines[lines.length - 1]).toMatch(/8 images in .*: 2 written, 6 failed$/);
    const files = listFiles(path.join(d, 'output'));
    expect(files).toEqual(
      ['cat1_67.png', 'volcano2_67.png'].flatMap((i) =>
        ['_as_inputted_into_the_dnn.png', '_heatmap.png', '_rawhm.txt', '_toptenscores.txt'].map((s) => `images/${i}${s}`),
      ).sort(),
    );
    expect(fs.readdirSync(path.join(d, 'output', 'images')).filter((f) => f.startsWith('.'))).toEqual([]);
  });
});

withShared('minimal output', () => {
  test.each([
    { command: 'lrp_demo_minimaloutput' as CommandName, flags: [] as string[] },
    { command: 'lrp_parallel_demo_minimaloutput' as CommandName, flags: [] as string[] },
    { command: 'lrp-demo' as CommandName, flags: ['--minimal-output'] },
    { command: 'lrp-parallel-demo' as CommandName, flags: ['--minimal-output'] },
  ])('$command $flags writes only _rawhm.txt and the scores', async ({ command, flags }) => {
    const d = caseCopy((c) => (command.includes('parallel') ? setKey(c, 'batchsize', '2') : c));
    const r = await run([...flags, 'config.txt', 'testfilelist.txt', '.'], d, command);
    expect(r.code).toBe(0);
    expect(listFiles(path.join(d, 'output'))).toEqual(
      ['cat1_67.png', 'scooter10_67.png', 'volcano2_67.png'].flatMap((i) => [`images/${i}_rawhm.txt`, `images/${i}_toptenscores.txt`]),
    );
  });
});

withShared('progress and empty lists', () => {
  test('on a terminal a progress bar is drawn and removed; the summary follows', async () => {
    const d = caseCopy();
    const out = { text: '', write: (x: string) => ((out.text += x), true) };
    const err = { text: '', isTTY: true, columns: 100, write: (x: string) => ((err.text += x), true) };
    const code = await main(['config.txt', 'testfilelist.txt', '.'], { cwd: d, stdout: out, stderr: err, env: {} });
    expect(code).toBe(0);
    expect(err.text).toMatch(/\r\x1b\[K\[#+\] 3\/3 images/);
    expect(err.text).toMatch(/\r\x1b\[Klrp-demo: 3 images in .*3 written, 0 failed\n$/);
    expect(out.text).toBe('');
  });

  test('a list without images is fine: exit 0, nothing written', async () => {
    const d = caseCopy();
    fs.writeFileSync(path.join(d, 'empty.txt'), '# nothing yet\n\n');
    const r = await run(['config.txt', 'empty.txt', '.'], d, 'lrp-parallel-demo');
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/0 images in .*0 written, 0 failed/);
    expect(fs.existsSync(path.join(d, 'output'))).toBe(false);
  });
});

describe('1-channel net', () => {
  testIfShared(path.join(VECTORS, CASE, 'images'), 'the 1-channel demonstrator test (needs a test image)')('grey input: rawhm with one channel, PNGs written', async () => {
    const d = scratch();
    const spec: NetSpec = smallNet(1, true, 11);
    spec.inputs[0].shape = [1, 1, 10, 10];
    spec.layers[0].blobs[0] = { shape: [6, 1, 3, 3], data: rand(54, 11) };
    spec.weightsLoaded = true;
    await savePrototxt(spec, path.join(d, 'grey.prototxt'));
    await saveCaffemodel(spec, path.join(d, 'grey.caffemodel'));
    fs.mkdirSync(path.join(d, 'pics'));
    fs.copyFileSync(path.join(VECTORS, CASE, 'images', 'cat1_67.png'), path.join(d, 'pics', 'cat.png'));
    fs.writeFileSync(path.join(d, 'cfg.txt'), 'param_file\ngrey.prototxt\nmodel_file\ngrey.caffemodel\nrelpropformulatype\n0\nstandalone_outpath\nout\n');
    fs.writeFileSync(path.join(d, 'list.txt'), 'pics/cat.png -2\n');
    const r = await run(['cfg.txt', 'list.txt', '.'], d, 'lrp-parallel-demo');
    expect(r.stderr).toMatch(/1 written, 0 failed/);
    expect(r.code).toBe(0);
    expect(listFiles(path.join(d, 'out'))).toEqual(
      ['_as_inputted_into_the_dnn.png', '_heatmap.png', '_rawhm.txt', '_toptenscores.txt'].map((s) => `pics/cat.png${s}`),
    );
    const hm = readRawhm(path.join(d, 'out', 'pics', 'cat.png_rawhm.txt'));
    expect(hm.lines.slice(0, 2)).toEqual(['1', '10 10']);
    expect(hm.values).toHaveLength(100);
    expect(hm.values.some((v) => v !== 0)).toBe(true);
    expect(fs.readFileSync(path.join(d, 'out', 'pics', 'cat.png_toptenscores.txt'), 'utf8').trimEnd().split('\n')).toHaveLength(5);
  });
});
