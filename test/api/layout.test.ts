/**
 * The library stands on its own (issue 13): no file under lib/ imports from demonstrator/
 * (the command-line tools build on the library, never the other way round).
 */
import * as fs from 'fs';
import * as path from 'path';

const ROOT = path.resolve(__dirname, '..', '..');
const LIB = path.join(ROOT, 'lib');
/** The demonstrators' sources and their compiled form. */
const FORBIDDEN = [path.join(ROOT, 'demonstrator'), path.join(ROOT, 'dist', 'demonstrator')];

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return sources(p);
    return /\.(ts|mts|cts|js|mjs|cjs)$/.test(e.name) ? [p] : [];
  });
}

/** Every module specifier of a file: import/export … from '…', import('…'), require('…'). */
export function specifiers(text: string): string[] {
  const out: string[] = [];
  const patterns = [/\bfrom\s*['"]([^'"]+)['"]/g, /\bimport\s*['"]([^'"]+)['"]/g, /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g, /\brequire\s*\(\s*['"]([^'"]+)['"]\s*\)/g];
  for (const re of patterns) for (const m of text.matchAll(re)) out.push(m[1]);
  return out;
}

test('the specifier scanner finds every import form (so the check below can fail)', () => {
  const text = `import a from '../demonstrator/x';\nexport { b } from "../../demonstrator/y";\nconst c = require('../demonstrator/z');\nawait import('../demonstrator/w');\nimport '../demonstrator/v';`;
  expect(specifiers(text)).toEqual(expect.arrayContaining(['../demonstrator/x', '../../demonstrator/y', '../demonstrator/z', '../demonstrator/w', '../demonstrator/v']));
});

test('no lib/ file imports from demonstrator/', () => {
  const files = sources(LIB);
  expect(files.length).toBeGreaterThan(20);
  const offenders: string[] = [];
  for (const file of files) {
    for (const spec of specifiers(fs.readFileSync(file, 'utf8'))) {
      if (!spec.startsWith('.')) continue;
      const target = path.resolve(path.dirname(file), spec);
      if (FORBIDDEN.some((d) => target === d || target.startsWith(d + path.sep))) offenders.push(`${path.relative(LIB, file)} → ${spec}`);
    }
  }
  expect(offenders).toEqual([]);
});
