/**
 * Reading an input file, with a failure (missing, unreadable, a directory) reported as a
 * CaffeLrpError('IO') that names the file: "cannot read[ <what>]: <reason>".
 */
import * as fs from 'fs';
import { CaffeLrpError } from '../errors';

function ioError(file: string, what: string | undefined, e: unknown): CaffeLrpError {
  return new CaffeLrpError('IO', `cannot read${what ? ` ${what}` : ''}: ${(e as Error).message}`, { file });
}

export function readInputFileSync(file: string, what?: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (e) {
    throw ioError(file, what, e);
  }
}

export async function readInputFile(file: string, what?: string): Promise<Buffer> {
  try {
    return await fs.promises.readFile(file);
  } catch (e) {
    throw ioError(file, what, e);
  }
}
