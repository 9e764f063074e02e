/**
 * Atomic output files: written to a temporary name in the target directory and renamed into
 * place, so a reader never sees a half-written file; missing directories are created.
 */
import { promises as fsp } from 'fs';
import * as path from 'path';
import { CaffeLrpError } from '../errors';

let tmpCounter = 0;

/**
 * Writes to `<dir>/.<name>.<pid>.<n>.tmp` and renames onto `file` (atomic on one file system);
 * creates the directory first. On failure the temporary file is removed and an IO error
 * naming the file is thrown.
 */
export async function writeFileAtomic(file: string, content: string | Uint8Array): Promise<void> {
  const dir = path.dirname(file);
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${++tmpCounter}.tmp`);
  try {
    await fsp.mkdir(dir, { recursive: true });
    await fsp.writeFile(tmp, content);
    await fsp.rename(tmp, file);
  } catch (e) {
    await fsp.rm(tmp, { force: true }).catch(() => undefined);
    throw new CaffeLrpError('IO', `cannot write the output file: ${(e as Error).message}`, { file });
  }
}
