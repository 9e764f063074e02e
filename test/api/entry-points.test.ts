/**
 * The package's entry points: CommonJS (dist/lib/index.js) and ES module
 * (lib/esm/index.mjs) expose the same API object. Runs in child processes because jest's
 * sandbox does not load ES modules; needs the compiled dist/ (made by `npm test`'s setup).
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

const root = path.resolve(__dirname, '..', '..');
const built = fs.existsSync(path.join(root, 'dist', 'lib', 'index.js'));
const maybe = built ? test : test.skip;
if (!built) console.warn('skipping entry-point tests: dist/ is not built (run npm run setup)');

maybe('require() and import give the same Net class and rule table', () => {
  const esm = pathToUrl(path.join(root, 'lib', 'esm', 'index.mjs'));
  const script = `
    import * as esm from '${esm}';
    import { createRequire } from 'module';
    const cjs = createRequire(import.meta.url)('${path.join(root, 'dist', 'lib', 'index.js')}');
    console.log(JSON.stringify({ same: esm.Net === cjs.Net, rules: Object.keys(esm.RULE_NAMES).length, types: esm.FORMULA_TYPES.length, hasDefault: esm.default === cjs }));`;
  const out = JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' }));
  expect(out).toEqual({ same: true, rules: 14, types: 14, hasDefault: true });
});

maybe('the ES module exports every name the CommonJS entry has', () => {
  const esm = pathToUrl(path.join(root, 'lib', 'esm', 'index.mjs'));
  const script = `
    import * as esm from '${esm}';
    import { createRequire } from 'module';
    const cjs = createRequire(import.meta.url)('${path.join(root, 'dist', 'lib', 'index.js')}');
    console.log(JSON.stringify(Object.keys(cjs).filter((k) => k !== '__esModule' && !(k in esm))));`;
  expect(JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' }))).toEqual([]);
});

maybe('package.json points its entry points at files that exist', () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
  for (const file of [pkg.main, pkg.types, pkg.exports['.'].import, pkg.exports['.'].require, pkg.exports['.'].types])
    expect(fs.existsSync(path.join(root, file))).toBe(true);
});

function pathToUrl(p: string): string {
  return 'file://' + p.split(path.sep).map(encodeURIComponent).join('/');
}
