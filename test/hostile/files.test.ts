/**
 * Files that are not regular files, or too large for the memory budget, are refused with a
 * clear IO/MEMORY error before anything is read: a FIFO with no writer must not hang the
 * open, /dev/zero must not be read until memory runs out.
 */
import { thrownCaffeLrpError } from '../helpers/expect-error';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawnSync } from 'child_process';
import { readInputFile, readInputFileSync } from '../../lib/io/read-file';
import { setMemoryBudget } from '../../lib/memory-budget';
import { Net } from '../../lib/net';
import { CaffeLrpError } from '../../lib/errors';
import { demoModel } from '../../lib/demo-model';

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'caffe-lrp-files-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
afterEach(() => setMemoryBudget(undefined));

function fifo(name: string): string {
  const p = path.join(tmp, name);
  const r = spawnSync('mkfifo', [p]);
  if (r.status !== 0) throw new Error(`mkfifo failed: ${r.stderr}`);
  return p;
}


describe('reading input files', () => {
  test('a FIFO with no writer is refused at once (sync and async), naming the file', async () => {
    const p = fifo('model.prototxt');
    const e = thrownCaffeLrpError(() => readInputFileSync(p, 'the prototxt'));
    expect(e).toMatchObject({ code: 'IO', file: p });
    expect(e.message).toMatch(/cannot read the prototxt: it is a named pipe \(FIFO\), not a regular file/);
    await expect(readInputFile(p)).rejects.toMatchObject({ code: 'IO', message: expect.stringMatching(/named pipe/) });
  });

  test('devices, folders, symlink loops and missing files get their own reasons', async () => {
    expect(thrownCaffeLrpError(() => readInputFileSync('/dev/zero')).message).toMatch(/it is a device, not a regular file/);
    await expect(readInputFile('/dev/urandom')).rejects.toMatchObject({ code: 'IO', message: expect.stringMatching(/device/) });
    expect(thrownCaffeLrpError(() => readInputFileSync(tmp)).message).toMatch(/it is a folder, not a file/);
    const a = path.join(tmp, 'loop-a');
    const b = path.join(tmp, 'loop-b');
    fs.symlinkSync(b, a);
    fs.symlinkSync(a, b);
    expect(thrownCaffeLrpError(() => readInputFileSync(a)).message).toMatch(/loop of symbolic links/);
    await expect(readInputFile(a)).rejects.toMatchObject({ message: expect.stringMatching(/loop of symbolic links/) });
    expect(thrownCaffeLrpError(() => readInputFileSync(path.join(tmp, 'none.txt'))).message).toMatch(/no such file/);
  });

  test('a regular file is read whole, sync and async', async () => {
    const p = path.join(tmp, 'data.bin');
    const data = Buffer.from(Array.from({ length: 70000 }, (_, i) => (i * 7) & 255));
    fs.writeFileSync(p, data);
    expect(readInputFileSync(p).equals(data)).toBe(true);
    expect((await readInputFile(p)).equals(data)).toBe(true);
  });

  test('a file larger than the memory budget is refused before it is read, with both sizes', async () => {
    const p = path.join(tmp, 'big.bin');
    fs.writeFileSync(p, Buffer.alloc(5000));
    setMemoryBudget('4K');
    const e = thrownCaffeLrpError(() => readInputFileSync(p, 'the caffemodel'));
    expect(e).toMatchObject({ code: 'MEMORY', file: p });
    expect(e.message).toMatch(/reading the caffemodel needs 5000 bytes, more than the 4096 bytes allowed \(the memoryLimit setting\)/);
    await expect(readInputFile(p)).rejects.toMatchObject({ code: 'MEMORY' });
  });

  test('Net.load rejects a FIFO given as prototxt, caffemodel, labels or mean', async () => {
    const { prototxt, caffemodel } = demoModel;
    const pipe = fifo('pipe');
    await expect(Net.load({ prototxt: pipe, caffemodel })).rejects.toMatchObject({ code: 'IO', file: pipe });
    await expect(Net.load({ prototxt, caffemodel: pipe })).rejects.toMatchObject({ code: 'IO', file: pipe });
    await expect(Net.load({ prototxt, caffemodel, labels: pipe })).rejects.toMatchObject({ code: 'IO', file: pipe });
    await expect(Net.load({ prototxt, caffemodel, mean: pipe })).rejects.toMatchObject({ code: 'IO', file: pipe });
  });
});
