/**
 * The README's Node API examples run as written: they are extracted from README.md and run as
 * ES modules from the package folder, with `caffe-lrp` resolving to this package; and they
 * compile with `tsc --strict` against the package's type declarations.
 */
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const root = path.resolve(__dirname, '..', '..');
const built = fs.existsSync(path.join(root, 'dist', 'lib', 'index.js'));

function readmeExamples(): string[] {
  const text = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
  const marker = 'is run by test/api/readme.test.ts';
  const out: string[] = [];
  let at = text.indexOf(marker);
  while (at >= 0) {
    const start = text.indexOf('```js\n', at);
    const end = text.indexOf('```', start + 6);
    out.push(text.slice(start + 6, end));
    at = text.indexOf(marker, end);
  }
  return out;
}

/** What each example prints, in README order. */
const EXPECTED = [
  /^T-shirt\/top: p = (0\.9\d\d|1\.000)\nrelevance -?\d+\.\d\d over 28x28 pixels\n4 images, top-5 composite maps; first image: T-shirt\/top, [^\n]+\n$/,
  /^200 T-shirt\/top: PNG 28x28\n400 rejected\n$/,
];

/** A package folder where `caffe-lrp`, `sharp` and Node's types resolve to this checkout's. */
function consumerFolder(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'caffe-lrp-readme-'));
  fs.mkdirSync(path.join(dir, 'node_modules', '@types'), { recursive: true });
  fs.symlinkSync(root, path.join(dir, 'node_modules', 'caffe-lrp'));
  fs.symlinkSync(path.join(root, 'node_modules', 'sharp'), path.join(dir, 'node_modules', 'sharp'));
  fs.symlinkSync(path.join(root, 'node_modules', '@types', 'node'), path.join(dir, 'node_modules', '@types', 'node'));
  return dir;
}

(built ? test : test.skip)('the README examples run and print what they say', () => {
  const examples = readmeExamples();
  expect(examples.length).toBe(EXPECTED.length);
  const dir = consumerFolder();
  try {
    examples.forEach((code, i) => {
      const file = path.join(dir, `example-${i}.mjs`);
      fs.writeFileSync(file, code);
      const out = execFileSync(process.execPath, [file], { cwd: root, encoding: 'utf8' });
      expect(out).toMatch(EXPECTED[i]);
    });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}, 60000);

(built ? test : test.skip)('the README examples compile with tsc --strict against the package types', () => {
  const examples = readmeExamples();
  const dir = consumerFolder();
  try {
    const files = examples.map((code, i) => {
      fs.writeFileSync(path.join(dir, `example-${i}.mts`), code);
      return `example-${i}.mts`;
    });
    // A deliberately wrong file proves the compiler really checks (and that the package's types resolve).
    fs.writeFileSync(path.join(dir, 'wrong.mts'), "import { Net } from 'caffe-lrp';\nconst n: number = Net.load;\nexport { n };\n");
    const config = (list: string[]) => JSON.stringify({
      compilerOptions: { strict: true, noEmit: true, module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', types: ['node'], skipLibCheck: true },
      files: list,
    });
    const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    fs.writeFileSync(path.join(dir, 'tsconfig.json'), config(files));
    const ok = spawnSync(process.execPath, [tsc, '-p', dir], { encoding: 'utf8' });
    expect(ok.stdout + ok.stderr).toBe('');
    expect(ok.status).toBe(0);
    fs.writeFileSync(path.join(dir, 'tsconfig.json'), config(['wrong.mts']));
    const bad = spawnSync(process.execPath, [tsc, '-p', dir], { encoding: 'utf8' });
    expect(bad.status).not.toBe(0);
    expect(bad.stdout).toMatch(/wrong\.mts\(2,7\): error TS2322/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}, 120000);
