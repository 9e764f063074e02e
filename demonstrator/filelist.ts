/**
 * The demonstrators' image lists and output names (behaviour spec §5.1, §5.4, §5.9; contract §2).
 *
 * A list line is `<image path> [<class>]`: the path relative to the prefix argument, then an
 * integer: −2 = the top-5 classes together, any other negative = top-1, ≥ 0 = that class.
 * As the original: tokens after the second are ignored, and the image path is the string `prefix + "/" + entry`. Our additions: blank
 * lines and `#` comment lines are skipped, a missing class means top-1 (the original
 * aborted), a class field that is not an integer (`abc`, `1.5`) is an error for that image
 * only, reported with its list line like an out-of-range class (the original aborted the run),
 * and a double-quoted path may contain spaces.
 */
import * as fs from 'fs';
import * as path from 'path';
import { CaffeLrpError } from '../lib/errors';

/** What to explain: the top k classes, one class, or nothing (a class field that is not an integer: that image's error). */
export type ClassRequest = { kind: 'top'; k: number } | { kind: 'class'; index: number } | { kind: 'invalid'; reason: string };

export interface FileListEntry {
  /** 1-based line in the list file. */
  line: number;
  /** The path as written in the list. */
  entry: string;
  /** prefix + "/" + entry, the file that is read. */
  imagePath: string;
  classes: ClassRequest;
  /** The class field as written (undefined when absent), for messages. */
  classField?: string;
}

/** Parses list text. `prefix` is the third command-line argument. */
export function parseFileList(text: string, prefix: string, file = '<filelist>'): FileListEntry[] {
  const out: FileListEntry[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i].replace(/\r$/, '');
    const t = raw.trim();
    // (the original also skipped every line of at most 2 characters, silently dropping an image named 'ab')
    if (t === '' || t.startsWith('#')) continue;
    const line = i + 1;
    const { entry, rest } = splitPath(t, file, line);
    const field = rest.split(/\s+/).filter((s) => s !== '')[0];
    out.push({ line, entry, imagePath: joinPrefix(prefix, entry), classes: classRequest(field), classField: field });
  }
  return out;
}

export function readFileList(file: string, prefix: string): FileListEntry[] {
  let text: string;
  try {
    if (!fs.statSync(file).isFile()) throw new Error('not a regular file');
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new CaffeLrpError('IO', `cannot read the image list: ${(e as Error).message}`, { file });
  }
  return parseFileList(text, prefix, file);
}

/** The original's joining: plain string concatenation with one '/' (so "./" + "a.png" gives ".//a.png"). */
export function joinPrefix(prefix: string, entry: string): string {
  return `${prefix}/${entry}`;
}

function splitPath(t: string, file: string, line: number): { entry: string; rest: string } {
  if (t.startsWith('"')) {
    const end = t.indexOf('"', 1);
    if (end <= 1) throw new CaffeLrpError('PARSE', end < 0 ? 'a quoted image path is never closed' : 'empty image path', { file, line });
    return { entry: t.slice(1, end), rest: t.slice(end + 1) };
  }
  // [\s\S]: a binary line can hold a lone CR or U+2028, which '.' does not match
  const m = /^(\S+)([\s\S]*)$/.exec(t) as RegExpExecArray;
  return { entry: m[1], rest: m[2] };
}

function classRequest(field: string | undefined): ClassRequest {
  if (field === undefined) return { kind: 'top', k: 1 };
  if (!/^[+-]?\d+$/.test(field)) {
    return { kind: 'invalid', reason: `the class field '${field}' is not an integer (use a class index, -1 for the top class or -2 for the top five)` };
  }
  const v = Number(field);
  if (v === -2) return { kind: 'top', k: 5 };
  if (v < 0) return { kind: 'top', k: 1 };
  if (!Number.isSafeInteger(v)) return { kind: 'invalid', reason: `the class index '${field}' is out of range` };
  return { kind: 'class', index: v };
}

/**
 * Where an image's outputs go (§5.9): with a root stub, `outPath + "/" + imagePath` from the
 * FIRST occurrence of the stub on (stub and extension kept), as the original. An image path
 * without the stub is an error for that image only (contract §2; the original exited).
 * Without a stub (our default when the config has none): `outPath + "/" + entry`, with any
 * leading '/' or '../' removed so results never land outside outPath.
 * Output files are this base name plus a suffix (`outputFiles`).
 */
export function outputBase(e: Pick<FileListEntry, 'imagePath' | 'entry'>, outPath: string, rootPath?: string): string {
  if (rootPath !== undefined && rootPath !== '') {
    const at = e.imagePath.indexOf(rootPath);
    if (at < 0) {
      throw new CaffeLrpError('IO', `the image path does not contain standalone_rootpath '${rootPath}', so no output name can be made for it`, { file: e.imagePath });
    }
    // '..' after the stub must not lead out of the output folder
    const rel = path.posix.normalize(e.imagePath.slice(at));
    if (rel === '..' || rel.startsWith('../')) {
      throw new CaffeLrpError('IO', `the output name '${e.imagePath.slice(at)}' (from standalone_rootpath on) would leave standalone_outpath`, { file: e.imagePath });
    }
    return `${outPath}/${rel}`;
  }
  const parts = path.normalize(e.entry).split(/[\\/]+/);
  while (parts.length > 1 && (parts[0] === '' || parts[0] === '..' || parts[0] === '.')) parts.shift();
  return `${outPath}/${parts.join('/')}`;
}

export interface OutputFiles {
  rawhm: string;
  scores: string;
  heatmap: string;
  asInputted: string;
}

/** File names per image (§5.11; contract §2: `_toptenscores.txt`, or `_top10scores.txt` under compat). */
export function outputFiles(base: string, compat = false): OutputFiles {
  return {
    rawhm: `${base}_rawhm.txt`,
    scores: `${base}${compat ? '_top10scores.txt' : '_toptenscores.txt'}`,
    heatmap: `${base}_heatmap.png`,
    asInputted: `${base}_as_inputted_into_the_dnn.png`,
  };
}
