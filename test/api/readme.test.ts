/**
 * The README's Node API example runs as written: it is extracted from README.md and run as
 * an ES module from the package folder, with `caffe-lrp` resolving to this package.
 */
import { execFileSync } from 'child_process';
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

(built ? test : test.skip)('the README example runs and prints the class and relevance', () => {
  const examples = readmeExamples();
  expect(examples.length).toBeGreaterThanOrEqual(1);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'caffe-lrp-readme-'));
  try {
    // A package folder where `caffe-lrp` and `sharp` resolve to this checkout's.
    fs.mkdirSync(path.join(dir, 'node_modules'));
    fs.symlinkSync(root, path.join(dir, 'node_modules', 'caffe-lrp'));
    fs.symlinkSync(path.join(root, 'node_modules', 'sharp'), path.join(dir, 'node_modules', 'sharp'));
    examples.forEach((code, i) => {
      const file = path.join(dir, `example-${i}.mjs`);
      fs.writeFileSync(file, code);
      const out = execFileSync(process.execPath, [file], { cwd: root, encoding: 'utf8' });
      expect(out).toMatch(/^Ankle boot: p = (0\.9\d\d|1\.000)\nrelevance -?\d+\.\d\d over 28x28 pixels\ncomposite relevance -?\d+\.\d\d\n$/);
    });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
