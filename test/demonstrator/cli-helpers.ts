/** Helpers for the demonstrator command-line tests: temporary case folders and in-process runs. */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { main, type CommandName } from '../../demonstrator/cli';
import { VECTORS } from './shared';

export const MODELS = path.join(VECTORS, 'models');
export const MINI = path.join(MODELS, 'mini-caffenet');

export interface Captured {
  write(s: string): boolean;
  text: string;
  isTTY?: boolean;
}

export function capture(): Captured {
  const c: Captured = {
    text: '',
    write(s: string) {
      c.text += s;
      return true;
    },
  };
  return c;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a demonstrator in-process with `cwd` as its working folder. */
export async function run(argv: string[], cwd: string, command: CommandName = 'lrp-demo'): Promise<RunResult> {
  const stdout = capture();
  const stderr = capture();
  const code = await main(argv, { command, cwd, stdout, stderr });
  return { code, stdout: stdout.text, stderr: stderr.text };
}

export function tempDir(tag: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `caffe-lrp-${tag}-`));
}

/** Sets `key`'s value line (the line after the key line), or appends the key. */
export function setKey(configText: string, key: string, value: string): string {
  const lines = configText.split('\n');
  const at = lines.findIndex((l) => l.trim() === key);
  if (at < 0) return `${configText.replace(/\n*$/, '\n')}\n${key}\n${value}\n`;
  lines[at + 1] = value;
  return lines.join('\n');
}

/** Removes `key` and its value line. */
export function dropKey(configText: string, key: string): string {
  const lines = configText.split('\n');
  const at = lines.findIndex((l) => l.trim() === key);
  if (at >= 0) lines.splice(at, 2);
  return lines.join('\n');
}

/**
 * A writable copy of an e2e case in a new temporary folder: images/, testfilelist.txt and
 * config.txt with the model paths made absolute (outputs go to <folder>/output). `edit`
 * may change the config text.
 */
export function copyCase(name: string, edit: (config: string) => string = (c) => c): string {
  const src = path.join(VECTORS, name);
  const dir = tempDir(name);
  fs.cpSync(path.join(src, 'images'), path.join(dir, 'images'), { recursive: true });
  fs.copyFileSync(path.join(src, 'testfilelist.txt'), path.join(dir, 'testfilelist.txt'));
  const config = fs.readFileSync(path.join(src, 'config.txt'), 'utf8').replace(/^\.\.\/models\//gm, `${MODELS}/`);
  fs.writeFileSync(path.join(dir, 'config.txt'), edit(config));
  return dir;
}

export function expectedDir(name: string): string {
  return path.join(VECTORS, name, 'expected_output', 'images');
}

export interface Rawhm {
  lines: string[];
  values: number[];
}

export function readRawhm(file: string): Rawhm {
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  const values: number[] = [];
  for (const l of lines.slice(2)) for (const t of l.split(' ')) if (t !== '') values.push(Number(t));
  return { lines, values };
}

/** ||a − b|| / ||b|| */
export function relL2(a: number[], b: number[]): number {
  if (a.length !== b.length) return Infinity;
  let d = 0;
  let n = 0;
  for (let i = 0; i < a.length; i++) {
    d += (a[i] - b[i]) ** 2;
    n += b[i] ** 2;
  }
  return n === 0 ? Math.sqrt(d) : Math.sqrt(d / n);
}

/** Scores file lines as [class, score]. */
export function readScores(file: string): [number, number][] {
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => {
      const [c, s] = l.split(' ');
      return [Number(c), Number(s)];
    });
}

/** Files under `dir`, relative, sorted. */
export function listFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  const out: string[] = [];
  const visit = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) visit(p);
      else out.push(path.relative(dir, p));
    }
  };
  visit(dir);
  return out.sort();
}
