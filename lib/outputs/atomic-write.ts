/**
 * Atomic output files: written to a temporary name in the target directory and renamed into
 * place, so a reader never sees a half-written file; missing directories are created.
 */
import * as fs from 'fs';
import { promises as fsp } from 'fs';
import * as path from 'path';
import { CaffeLrpError } from '../errors';

let tmpCounter = 0;

/** `.<name>.<pid>.<n>.tmp`: the temporary names writeFileAtomic makes (and cleans up after a killed run). */
const TEMP_NAME = /^\..+\.(\d+)\.\d+\.tmp$/;

function processAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'; // alive, someone else's
  }
}

const swept = new Set<string>();

/**
 * Removes the temporary files a killed run (kill -9, power loss) left in `dir`: only names of
 * our own pattern whose writing process no longer exists, so concurrent writers (other
 * processes of a queue run) keep theirs. Done once per directory and process.
 */
export async function removeStaleTempFiles(dir: string): Promise<string[]> {
  const key = path.resolve(dir);
  if (swept.has(key)) return [];
  swept.add(key);
  let names: string[];
  try {
    names = await fsp.readdir(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const m = TEMP_NAME.exec(name);
    if (!m || processAlive(Number(m[1]))) continue;
    const file = path.join(dir, name);
    try {
      if ((await fsp.lstat(file)).isFile()) {
        await fsp.rm(file, { force: true });
        removed.push(file);
      }
    } catch {
      // gone already, or not ours to remove
    }
  }
  return removed;
}

/**
 * Creates `dir` and its missing parents one level at a time, after checking that the nearest
 * existing ancestor is a real, writable folder. (Node's recursive mkdir loops forever under
 * /proc, where mkdir fails with ENOENT for a parent that exists.)
 */
export async function ensureDirectory(dir: string, forFile?: string): Promise<void> {
  const target = path.resolve(dir);
  const where = { file: forFile ?? target };
  const missing: string[] = [];
  let p = target;
  for (;;) {
    let st: fs.Stats | undefined;
    try {
      st = await fsp.stat(p);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      // ENOTDIR: a file stands in the path; walking up finds it and says so
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw new CaffeLrpError('IO', `cannot use the output folder '${p}': ${(e as Error).message}`, where);
    }
    if (st) {
      if (!st.isDirectory()) throw new CaffeLrpError('IO', `cannot create the output folder: '${p}' exists and is not a folder`, where);
      break;
    }
    missing.push(p);
    const parent = path.dirname(p);
    if (parent === p) break;
    p = parent;
  }
  for (const d of missing.reverse()) {
    try {
      await fsp.mkdir(d);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST' && (await fsp.stat(d).then((s) => s.isDirectory(), () => false))) continue;
      throw new CaffeLrpError('IO', `cannot create the output folder '${d}': ${(e as Error).message}`, where);
    }
  }
}

/**
 * Writes to `<dir>/.<name>.<pid>.<n>.tmp` and renames onto `file` (atomic on one file system);
 * creates the directory first, and removes stale temporary files of killed runs there. On
 * failure the temporary file is removed and an IO error naming the file is thrown.
 */
export async function writeFileAtomic(file: string, content: string | Uint8Array): Promise<void> {
  const dir = path.dirname(file);
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${++tmpCounter}.tmp`);
  await ensureDirectory(dir, file);
  await removeStaleTempFiles(dir);
  try {
    await fsp.writeFile(tmp, content);
    await fsp.rename(tmp, file);
  } catch (e) {
    await fsp.rm(tmp, { force: true }).catch(() => undefined);
    throw new CaffeLrpError('IO', `cannot write the output file: ${(e as Error).message}`, { file });
  }
}
