/**
 * Output folders: a run cleans up the temporary files a killed run left (only its own name
 * pattern, only of dead processes), and a folder that cannot be made (under /proc, below a
 * file) is an IO error at once instead of an endless mkdir loop.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawnSync } from 'child_process';
import { ensureDirectory, removeStaleTempFiles, writeFileAtomic } from '../../lib/outputs/atomic-write';

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'caffe-lrp-outdir-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** A pid that surely belongs to no running process: a child that has exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'console.log(process.pid)'], { encoding: 'utf8' });
  return Number(r.stdout.trim());
}

test("a killed run's temporary files are removed by the next run's first write there; live writers' and other files stay", async () => {
  const dir = path.join(tmp, 'out');
  fs.mkdirSync(dir);
  const dead = deadPid();
  const stale = path.join(dir, `.img001.jpg_rawhm.txt.${dead}.8.tmp`);
  const live = path.join(dir, `.img002.jpg_rawhm.txt.${process.ppid}.3.tmp`); // our parent is alive
  const userFile = path.join(dir, '.notes.tmp');
  const result = path.join(dir, 'img001.jpg_rawhm.txt');
  for (const f of [stale, live, userFile]) fs.writeFileSync(f, 'x');
  await writeFileAtomic(result, '1 2 3 ');
  expect(fs.existsSync(stale)).toBe(false);
  expect(fs.existsSync(live)).toBe(true);
  expect(fs.existsSync(userFile)).toBe(true);
  expect(fs.readFileSync(result, 'utf8')).toBe('1 2 3 ');
  // once per folder and process
  fs.writeFileSync(stale, 'x');
  expect(await removeStaleTempFiles(dir)).toEqual([]);
});

test('an output folder under /proc, or below a file, is an IO error at once', async () => {
  await expect(ensureDirectory('/proc/1/nope/deeper')).rejects.toMatchObject({ code: 'IO', message: expect.stringMatching(/cannot create the output folder '\/proc\/1\/nope'/) });
  const file = path.join(tmp, 'plain');
  fs.writeFileSync(file, '');
  await expect(writeFileAtomic(path.join(file, 'sub', 'x.txt'), 'y')).rejects.toMatchObject({ code: 'IO', message: expect.stringMatching(/exists and is not a folder/) });
  await ensureDirectory(path.join(tmp, 'a', 'b', 'c'));
  expect(fs.statSync(path.join(tmp, 'a', 'b', 'c')).isDirectory()).toBe(true);
});
