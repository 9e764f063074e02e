/**
 * Images are bounded by the memory budget before they are decoded or resized, and absurd
 * resize targets are refused at once (2^31 - 1 used to hang, 30000 to exhaust memory).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawnSync } from 'child_process';
import { Net } from '../../lib/net';
import { demoModel } from '../../lib/demo-model';
import { setMemoryBudget } from '../../lib/memory-budget';
import { preprocessImage } from '../../lib/image/preprocess';
import { greyPng } from '../helpers/png-craft';

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'caffe-lrp-images-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
afterEach(() => setMemoryBudget(undefined));

test('a 16000x16000 PNG of 250 KB is refused before decoding when its pixels exceed the budget', async () => {
  const file = path.join(tmp, 'huge.png');
  fs.writeFileSync(file, greyPng(16000, 16000));
  expect(fs.statSync(file).size).toBeLessThan(300_000);
  setMemoryBudget('1G');
  await expect(preprocessImage(file, { size: 28, channels: 1 })).rejects.toMatchObject({
    code: 'MEMORY', file, message: expect.stringMatching(/decoding this 16000x16000 image needs 3\.81 GiB, more than the 1\.00 GiB allowed/),
  });
});

test('baseImgSize: 2^31 - 1 is refused at once, 30000 when it exceeds the budget', async () => {
  const base = { prototxt: demoModel.prototxt, caffemodel: demoModel.caffemodel };
  await expect(Net.load({ ...base, preprocess: { baseImgSize: 2147483647 } })).rejects.toMatchObject({ code: 'OPTION', message: expect.stringMatching(/baseImgSize' \(2147483647\) is larger than/) });
  setMemoryBudget('1G');
  await expect(Net.load({ ...base, preprocess: { baseImgSize: 30000 } })).rejects.toMatchObject({ code: 'MEMORY', message: expect.stringMatching(/resizing images to baseImgSize 30000 needs/) });
  setMemoryBudget(undefined);
  const net = await Net.load({ ...base, preprocess: { baseImgSize: 56 } });
  const r = await net.explainImage(demoModel.images[0], {});
  expect(r.heatmap.data.every(Number.isFinite)).toBe(true);
  await net.dispose();
});

test('an image path that is a FIFO is an IO error, not a hang', async () => {
  const p = path.join(tmp, 'img.png');
  expect(spawnSync('mkfifo', [p]).status).toBe(0);
  await expect(preprocessImage(p, { size: 28, channels: 1 })).rejects.toMatchObject({ code: 'IO', message: expect.stringMatching(/named pipe/) });
});
