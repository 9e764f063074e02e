/**
 * For the API-vs-CLI identity tests: runs a demonstrator in-process on a config and file
 * list, reads its `_rawhm.txt` / `_toptenscores.txt`, and checks explainImage's numbers
 * against them within the files' rounding (6 significant digits, C++ %g).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { main, type CommandName } from '../../demonstrator/cli';
import type { ImageExplanation } from '../../lib/net';

export interface CliRun {
  /** Output files of an image: <out>/<entry> + suffix. */
  base(entry: string): string;
  stderr: string;
}

/** Writes `config` (a key → value map, written in the original's key/value-line format) and the list, and runs `command`. */
export async function runDemonstrator(command: CommandName, config: Record<string, string | number>, list: string[], prefix: string): Promise<CliRun> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'caffe-lrp-api-cli-'));
  const out = path.join(dir, 'output');
  const text = Object.entries({ ...config, standalone_outpath: out }).map(([k, v]) => `${k}\n${v}\n`).join('\n');
  fs.writeFileSync(path.join(dir, 'config.txt'), text);
  fs.writeFileSync(path.join(dir, 'list.txt'), list.join('\n') + '\n');
  let stderr = '';
  const sink = { write: (s: string) => ((stderr += s), true) };
  const code = await main([path.join(dir, 'config.txt'), path.join(dir, 'list.txt'), prefix], { command, cwd: dir, stdout: sink, stderr: sink });
  if (code !== 0) throw new Error(`${command} exited with ${code}: ${stderr}`);
  return { base: (entry) => path.join(out, entry), stderr };
}

export function readRawhmFile(file: string): { channels: number; height: number; width: number; values: number[] } {
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  const channels = Number(lines[0]);
  const [height, width] = lines[1].split(' ').map(Number);
  const values = lines.slice(2).join(' ').split(' ').filter((t) => t !== '').map(Number);
  return { channels, height, width, values };
}

export function readScoresFile(file: string): [number, number][] {
  return fs.readFileSync(file, 'utf8').trim().split('\n').map((l) => {
    const [c, v] = l.split(' ');
    return [Number(c), Number(v)];
  });
}

/** True when `x` prints as `printed` with 6 significant digits: |x − printed| ≤ half a unit of its 6th digit. */
export function withinPrintedRounding(x: number, printed: number): boolean {
  if (printed === 0) return x === 0; // %g prints any non-zero value with its digits
  const e = Math.floor(Math.log10(Math.abs(printed)));
  const half = 0.5 * 10 ** (e - 5);
  return Math.abs(x - printed) <= half * (1 + 1e-9);
}

/** explainImage's heatmap and scores for one image equal the demonstrator's files for it. */
export function expectSameAsFiles(r: ImageExplanation, base: string): void {
  const raw = readRawhmFile(`${base}_rawhm.txt`);
  expect([raw.channels, raw.height, raw.width]).toEqual([r.heatmap.channels, r.heatmap.height, r.heatmap.width]);
  expect(raw.values.length).toBe(r.heatmap.data.length);
  const bad: string[] = [];
  raw.values.forEach((v, i) => {
    if (!withinPrintedRounding(r.heatmap.data[i], v) && bad.length < 5) bad.push(`rawhm[${i}]: api ${r.heatmap.data[i]} vs file ${v}`);
  });
  expect(bad).toEqual([]);
  // Not a trivial map: the comparison above means something.
  expect(raw.values.some((v) => v !== 0)).toBe(true);
  const scores = readScoresFile(`${base}_toptenscores.txt`);
  expect(scores.length).toBe(Math.min(10, r.scores.length));
  for (const [c, v] of scores) expect(withinPrintedRounding(r.scores[c], v)).toBe(true);
}

/** A file-list class field as explainImage's target: -2 the top five, other negatives the top class, else that class. */
export function targetOf(field: number): number | 'top1' | 'top5' {
  return field === -2 ? 'top5' : field < 0 ? 'top1' : field;
}
