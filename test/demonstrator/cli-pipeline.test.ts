/**
 * The demonstrator pipeline's scheduling, with a fake net and mocked image and file I/O:
 * the next batch is preprocessed while the current one computes, batches are cut in list
 * order with a partial last batch, and a failed image leaves its batch without stopping it.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { FileListEntry } from '../../demonstrator/filelist';

const events: string[] = [];

jest.mock('../../lib/image/preprocess', () => ({
  preprocessImage: jest.fn(async (file: string) => {
    const name = path.basename(file);
    events.push(`pre-start ${name}`);
    await new Promise((r) => setTimeout(r, 5));
    if (name.startsWith('bad')) throw new Error(`cannot decode ${name}`);
    events.push(`pre-end ${name}`);
    const blob = new Float32Array(3 * 2 * 2).fill(Number(name.replace(/\D/g, '')));
    return { blob, asInputted: new Float32Array(12), width: 2, height: 2, channels: 3, resized: { width: 2, height: 2, filter: 'none' } };
  }),
}));

jest.mock('../../lib/outputs/text-files', () => ({
  writeRawhm: jest.fn(async (file: string) => void events.push(`write ${path.basename(file)}`)),
  writeTopScores: jest.fn(async () => undefined),
}));
jest.mock('../../lib/outputs/png-files', () => ({
  writeHeatmapPng: jest.fn(async () => undefined),
  writeAsInputtedPng: jest.fn(async () => undefined),
}));

// Imported after the mocks.
import { runPipeline } from '../../demonstrator/pipeline';
import type { Session } from '../../demonstrator/session';

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'caffe-lrp-pipeline-'));
  for (const n of ['img1', 'img2', 'img3', 'bad4', 'img5']) fs.writeFileSync(path.join(dir, n), 'x');
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function fakeSession(batchSize: number) {
  const forwards: number[][] = [];
  let batchNo = 0;
  const net = {
    async forward(blobs: Float32Array[]) {
      const b = ++batchNo;
      forwards.push(blobs.map((x) => x[0]));
      events.push(`forward-start ${b}`);
      await new Promise((r) => setTimeout(r, 40));
      events.push(`forward-end ${b}`);
      return blobs.map((x) => Float32Array.from({ length: 10 }, (_, i) => (i === x[0] ? 1 : 0)));
    },
    async backwardRelevanceMulti(classes: number[][]) {
      return classes.map((c) => ({ channels: 3, height: 2, width: 2, data: new Float32Array(12).fill(c[0]), channelOrder: 'RGB' }));
    },
  };
  const session = {
    config: { outPath: path.join(dir, 'out'), rootPath: undefined, compat: false, heatmapColormap: 'blue-black-yellow' },
    net,
    size: 2,
    channels: 3,
    baseImgSize: 2,
    batchSize,
    numClasses: 10,
    relOptions: {},
  } as unknown as Session;
  return { session, forwards };
}

function entries(): FileListEntry[] {
  return ['img1', 'img2', 'img3', 'bad4', 'img5'].map((n, i) => ({ line: i + 1, entry: n, imagePath: `./${n}`, classes: { kind: 'top', k: 1 } }));
}

test('batch i+1 is preprocessed while batch i computes; partial last batch; failures reported', async () => {
  events.length = 0;
  const { session, forwards } = fakeSession(2);
  const done: [string, string | undefined][] = [];
  const r = await runPipeline(session, entries(), {
    minimal: true,
    cwd: dir,
    onImageDone: (e, err) => done.push([e.entry, err === undefined ? undefined : (err as Error).message]),
  });
  expect(r).toEqual({ total: 5, failed: 1 });
  // Batches in list order: [1,2], [3] (bad4 dropped), [5] — only real images are forwarded.
  expect(forwards).toEqual([[1, 2], [3], [5]]);
  const at = (e: string) => events.indexOf(e);
  expect(at('pre-start img3')).toBeLessThan(at('forward-end 1'));
  expect(at('pre-end img3')).toBeLessThan(at('forward-end 1'));
  expect(at('pre-start img5')).toBeLessThan(at('forward-end 2'));
  expect(done).toEqual([
    ['img1', undefined],
    ['img2', undefined],
    ['img3', undefined],
    ['bad4', 'cannot decode bad4'],
    ['img5', undefined],
  ]);
  expect(events.filter((e) => e.startsWith('write'))).toEqual(['write img1_rawhm.txt', 'write img2_rawhm.txt', 'write img3_rawhm.txt', 'write img5_rawhm.txt']);
});

test('a batch whose images all fail is skipped without a forward pass', async () => {
  events.length = 0;
  const { session, forwards } = fakeSession(1);
  const list = entries().filter((e) => e.entry === 'bad4');
  const r = await runPipeline(session, list, { minimal: false, cwd: dir, onImageDone: () => undefined });
  expect(r).toEqual({ total: 1, failed: 1 });
  expect(forwards).toEqual([]);
});
