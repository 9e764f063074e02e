/**
 * Reading an input file, with every failure reported as a CaffeLrpError('IO') that names the
 * file: "cannot read[ <what>]: <reason>". Only regular files are read: a FIFO, a socket, a
 * device (/dev/zero, /dev/urandom) or a directory is refused before any byte is read — the
 * file is opened non-blocking, so even a FIFO with no writer cannot hang the open — and the
 * size is checked against the memory budget before the buffer is allocated.
 */
import * as fs from 'fs';
import { constants as bufferConstants } from 'buffer';
import { CaffeLrpError } from '../errors';
import { checkAllocation } from '../memory-budget';

const OPEN_FLAGS = fs.constants.O_RDONLY | fs.constants.O_NONBLOCK;

const REASONS: Record<string, string> = {
  ENOENT: 'no such file',
  ENOTDIR: 'a part of the path is not a folder',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  ELOOP: 'the path is a loop of symbolic links',
  EISDIR: 'it is a folder, not a file',
  ENAMETOOLONG: 'the path is too long',
  EMFILE: 'too many open files in this process',
  EIO: 'an input/output error of the device',
};

function ioError(file: string, what: string | undefined, reason: string): CaffeLrpError {
  return new CaffeLrpError('IO', `cannot read${what ? ` ${what}` : ''}: ${reason}`, { file });
}

function reasonOf(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  return (code && REASONS[code]) ?? (e as Error).message;
}

function kindOf(st: fs.Stats): string | undefined {
  if (st.isFile()) return undefined;
  if (st.isDirectory()) return 'it is a folder, not a file';
  if (st.isFIFO()) return 'it is a named pipe (FIFO), not a regular file';
  if (st.isSocket()) return 'it is a socket, not a regular file';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'it is a device, not a regular file';
  return 'it is not a regular file';
}

function checkStats(file: string, what: string | undefined, st: fs.Stats): number {
  const kind = kindOf(st);
  if (kind) throw ioError(file, what, kind);
  if (st.size > bufferConstants.MAX_LENGTH) {
    throw ioError(file, what, `it has ${st.size} bytes, more than the ${bufferConstants.MAX_LENGTH} a Node.js buffer can hold`);
  }
  checkAllocation(st.size, `reading ${what ?? 'the file'}`, { file });
  return st.size;
}

/** Throws the IO error a read of `file` would throw, without reading it (for existence checks). */
export function checkInputFileSync(file: string, what?: string): void {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch (e) {
    throw ioError(file, what, reasonOf(e));
  }
  checkStats(file, what, st);
}

export function readInputFileSync(file: string, what?: string): Buffer {
  let fd: number;
  try {
    fd = fs.openSync(file, OPEN_FLAGS);
  } catch (e) {
    throw ioError(file, what, reasonOf(e));
  }
  try {
    const size = checkStats(file, what, fs.fstatSync(fd));
    const buf = Buffer.allocUnsafe(size);
    let filled = 0;
    while (filled < size) {
      const n = fs.readSync(fd, buf, filled, size - filled, filled);
      if (n === 0) break; // the file shrank while we read it: return what is there
      filled += n;
    }
    return filled === size ? buf : buf.subarray(0, filled);
  } catch (e) {
    if (e instanceof CaffeLrpError) throw e;
    throw ioError(file, what, reasonOf(e));
  } finally {
    fs.closeSync(fd);
  }
}

export async function readInputFile(file: string, what?: string): Promise<Buffer> {
  let handle: fs.promises.FileHandle;
  try {
    handle = await fs.promises.open(file, OPEN_FLAGS);
  } catch (e) {
    throw ioError(file, what, reasonOf(e));
  }
  try {
    const size = checkStats(file, what, await handle.stat());
    const buf = Buffer.allocUnsafe(size);
    let filled = 0;
    while (filled < size) {
      const { bytesRead } = await handle.read(buf, filled, size - filled, filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    return filled === size ? buf : buf.subarray(0, filled);
  } catch (e) {
    if (e instanceof CaffeLrpError) throw e;
    throw ioError(file, what, reasonOf(e));
  } finally {
    await handle.close();
  }
}

/** The bytes of an in-memory source; anything but bytes is an OPTION error naming `file`. */
function bytesOf(src: unknown, file: string): Buffer {
  if (Buffer.isBuffer(src)) return src;
  if (src instanceof Uint8Array) return Buffer.from(src.buffer, src.byteOffset, src.byteLength);
  const kind = src === null ? 'null' : Array.isArray(src) ? 'an array' : typeof src;
  throw new CaffeLrpError('OPTION', `${file}: expected a file path (string) or the file's bytes (Buffer or Uint8Array), got ${kind}`);
}

/** A source given as a path (read as readInputFile does) or as the file's bytes. */
export async function readFileSource(src: unknown, file: string, what?: string): Promise<Buffer> {
  return typeof src === 'string' ? readInputFile(src, what) : bytesOf(src, file);
}

export function readFileSourceSync(src: unknown, file: string, what?: string): Buffer {
  return typeof src === 'string' ? readInputFileSync(src, what) : bytesOf(src, file);
}
