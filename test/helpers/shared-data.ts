/**
 * The one way tests find the read-only reference material: `../shared` beside the project
 * root, or $CAFFE_LRP_SHARED. A test that needs it is declared with describeShared/itShared,
 * which turn into visibly skipped tests (reason printed) when the data is absent — never an
 * early `return` that would count as passed. test/shared-data.test.ts fails under CI when
 * any data set listed in SHARED_DATA_SETS is missing, so CI cannot go green on vanished data.
 */
import * as fs from 'fs';
import * as path from 'path';

/** The project root (found from test/helpers or dist/test/helpers). */
export const ROOT = (() => {
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, 'package.json')) && path.dirname(dir) !== dir) dir = path.dirname(dir);
  return dir;
})();

export const SHARED = process.env.CAFFE_LRP_SHARED ?? path.resolve(ROOT, '..', 'shared');

/** A path inside the shared folder. */
export function sharedPath(...parts: string[]): string {
  return path.join(SHARED, ...parts);
}

/** The data sets the suite uses (relative to the shared folder); CI requires all of them. */
export const SHARED_DATA_SETS = ['vectors', 'models', 'images', 'spec'];

/** True when every given shared path (relative to the shared folder, or absolute) exists. */
export function haveShared(...rels: string[]): boolean {
  return rels.every((rel) => fs.existsSync(path.isAbsolute(rel) ? rel : sharedPath(rel)));
}

function missing(rels: string[]): string[] {
  return rels.filter((rel) => !haveShared(rel)).map((rel) => (path.isAbsolute(rel) ? rel : sharedPath(rel)));
}

const reported = new Set<string>();
function reportSkip(name: string, absent: string[]): void {
  const key = `${name}\u0000${absent.join('\u0000')}`;
  if (reported.has(key)) return;
  reported.add(key);
  // eslint-disable-next-line no-console
  console.warn(`skipping '${name}': ${absent.join(', ')} not found (set CAFFE_LRP_SHARED to the shared/ folder)`);
}

/** describe() when the shared paths exist, else describe.skip() with the reason printed. */
export function describeShared(name: string, rels: string | string[], body: () => void): void {
  const absent = missing(Array.isArray(rels) ? rels : [rels]);
  if (absent.length === 0) {
    describe(name, body);
  } else {
    reportSkip(name, absent);
    describe.skip(`${name} [needs ${absent.join(', ')}]`, body);
  }
}

/** it() when the shared paths exist, else it.skip() with the reason printed. */
export function itShared(name: string, rels: string | string[], fn: () => unknown, timeout?: number): void {
  const absent = missing(Array.isArray(rels) ? rels : [rels]);
  if (absent.length === 0) {
    it(name, fn as jest.ProvidesCallback, timeout);
  } else {
    reportSkip(name, absent);
    it.skip(`${name} [needs ${absent.join(', ')}]`, fn as jest.ProvidesCallback, timeout);
  }
}

/**
 * `test` when the shared paths exist, else `test.skip` (reason printed), for the forms
 * itShared does not cover: `testIfShared('models', 'decoding').each(files)('%s', ...)`.
 */
export function testIfShared(rels: string | string[], what: string): jest.It {
  const absent = missing(Array.isArray(rels) ? rels : [rels]);
  if (absent.length === 0) return test;
  reportSkip(what, absent);
  return test.skip;
}

/** `describe` when the shared paths exist, else `describe.skip` (reason printed). */
export function describeIfShared(rels: string | string[], what: string): jest.Describe {
  const absent = missing(Array.isArray(rels) ? rels : [rels]);
  if (absent.length === 0) return describe;
  reportSkip(what, absent);
  return describe.skip;
}
