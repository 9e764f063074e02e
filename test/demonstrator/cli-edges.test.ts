/**
 * Demonstrator edges of issue 13, on the bundled model: a class field that is not an
 * integer is one image's error (the run goes on, exit 2); TERM=dumb or NO_COLOR means no
 * escape codes even on a terminal; a misspelt flag gets a "did you mean"; quoted paths with
 * spaces work in the file list.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { main } from '../../demonstrator/cli';
import { demoModel } from '../../lib/demo-model';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

function setup(list: string): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'caffe-lrp-edges-'));
  dirs.push(d);
  const config = { param_file: demoModel.prototxt, model_file: demoModel.caffemodel, synsetfile: demoModel.labels, lastlayerindex: -1, baseimgsize: 28, standalone_outpath: 'out', lrn_backward_type: 0 };
  fs.writeFileSync(path.join(d, 'config.txt'), Object.entries(config).map(([k, v]) => `${k}\n${v}\n`).join(''));
  fs.writeFileSync(path.join(d, 'list.txt'), list);
  return d;
}

async function run(argv: string[], cwd: string, stderrTTY = false, env: Record<string, string | undefined> = {}) {
  let out = '';
  let err = '';
  const stdout = { write: (s: string) => ((out += s), true) };
  const stderr = { isTTY: stderrTTY, columns: 100, write: (s: string) => ((err += s), true) };
  const code = await main(argv, { cwd, stdout, stderr, env });
  return { code, stdout: out, stderr: err };
}

const [img0, img1, img2] = demoModel.images.map((f) => path.basename(f));
const PREFIX = path.dirname(demoModel.images[0]);

test('a class field that is not an integer fails that image only, naming the list line; the others are written', async () => {
  const d = setup(`${img0} -1\n${img1} abc\n${img2} 1.5\n${demoModel.images.length > 3 ? path.basename(demoModel.images[3]) : img0} 2\n`);
  const r = await run(['config.txt', 'list.txt', PREFIX], d);
  expect(r.code).toBe(2);
  expect(r.stderr).toMatch(new RegExp(`${img1} \\(list\\.txt line 2\\): the class field 'abc' is not an integer`));
  expect(r.stderr).toMatch(new RegExp(`${img2} \\(list\\.txt line 3\\): the class field '1\\.5' is not an integer`));
  expect(r.stderr).toMatch(/4 images in .*: 2 written, 2 failed/);
  expect(fs.existsSync(path.join(d, 'out', `${img0}_rawhm.txt`))).toBe(true);
  expect(fs.existsSync(path.join(d, 'out', `${img1}_rawhm.txt`))).toBe(false);
  expect(fs.readFileSync(path.join(d, 'out', `${path.basename(demoModel.images[3])}_toptenscores.txt`), 'utf8').split('\n')).toHaveLength(11);
});

test.each([
  ['TERM=dumb', { TERM: 'dumb' }, false],
  ['NO_COLOR=1', { TERM: 'xterm-256color', NO_COLOR: '1' }, false],
  ['an ordinary terminal (control)', { TERM: 'xterm-256color' }, true],
  ['NO_COLOR empty (means unset)', { TERM: 'xterm-256color', NO_COLOR: '' }, true],
])('escape codes on a terminal with %s: %s', async (_, env, escapes) => {
  const d = setup(`${img0} -1\n${img1} -1\n`);
  const r = await run(['config.txt', 'list.txt', PREFIX], d, true, env);
  expect(r.code).toBe(0);
  expect(r.stderr.includes('\x1b')).toBe(escapes);
  expect(r.stderr).toMatch(/2 images in .*2 written, 0 failed\n$/);
});

test.each([
  [['--quite'], /unknown option '--quite'; did you mean '--quiet'\?/],
  [['--thread', '2'], /unknown option '--thread'; did you mean '--threads'\?/],
  [['--minimal'], /unknown option '--minimal'; did you mean '--minimal-output'\?/],
  [['--verison'], /did you mean '--version'\?/],
  [['--zzzz'], /unknown option '--zzzz'\n/],
  [['-x'], /unknown option '-x'\n/],
])('misspelt flag %j: usage error with a suggestion when one is close', async (flags, message) => {
  const d = setup('');
  const r = await run([...flags, 'config.txt', 'list.txt', '.'], d);
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(message);
  expect(r.stderr).toMatch(/usage: lrp-demo /);
});

test('flags still parse: --threads=N, -q, -- before positionals', async () => {
  const d = setup(`${img0} -1\n`);
  const r = await run(['-q', '--threads=1', '--', 'config.txt', 'list.txt', PREFIX], d);
  expect(r).toEqual({ code: 0, stdout: '', stderr: '' });
});

test('quoted image paths with spaces (README: "The demonstrators")', async () => {
  const d = setup('"my images/a boot.png" -1\n');
  fs.mkdirSync(path.join(d, 'my images'));
  fs.copyFileSync(demoModel.images[0], path.join(d, 'my images', 'a boot.png'));
  const r = await run(['config.txt', 'list.txt', '.'], d);
  expect(r.code).toBe(0);
  expect(fs.existsSync(path.join(d, 'out', 'my images', 'a boot.png_heatmap.png'))).toBe(true);
});
