/**
 * The memory budget: the smallest of physical memory, cgroup limits and RLIMIT_AS, or the
 * user's setting; the engine refuses blobs over it before allocating, naming both sizes.
 */
import * as path from 'path';
import { spawnSync } from 'child_process';
import { memoryBudget, parseByteSize, setMemoryBudget } from '../../lib/memory-budget';
import { Net } from '../../lib/net';
import { ROOT } from '../helpers/shared-data';
import type { NetSpec } from '../../lib/caffe/netspec-types';

afterEach(() => setMemoryBudget(undefined));

/**
 * Input, two ReLUs: three blobs of batch x 3 x h x w. Values: 12 bytes per value of one blob;
 * diffs: the input's and the output's share a buffer (their backward spans do not overlap),
 * the middle blob has its own: 8 bytes. 20 bytes per value.
 */
function convNet(h: number, w: number, batch = 1): NetSpec {
  return {
    name: 'big',
    inputs: [{ name: 'x', shape: [batch, 3, h, w] }],
    layers: [
      { name: 'relu1', type: 'ReLU', bottoms: ['x'], tops: ['y'], params: { negativeSlope: 0 }, blobs: [] },
      { name: 'relu2', type: 'ReLU', bottoms: ['y'], tops: ['z'], params: { negativeSlope: 0 }, blobs: [] },
    ],
  };
}

test('sizes parse as bytes, K/M/G/T (binary) with optional iB/B, and nothing else', () => {
  expect(parseByteSize('1073741824')).toBe(2 ** 30);
  expect(parseByteSize('512M')).toBe(512 * 2 ** 20);
  expect(parseByteSize('1.5GiB')).toBe(1.5 * 2 ** 30);
  expect(parseByteSize('2g')).toBe(2 * 2 ** 30);
  expect(parseByteSize('4kb')).toBe(4096);
  for (const bad of ['', 'lots', '-1G', '1X', '0', 'NaN']) expect(parseByteSize(bad)).toBeUndefined();
});

test('the detected budget is at most 80 % of physical memory and names its source', () => {
  const b = memoryBudget();
  expect(b.bytes).toBeLessThanOrEqual(0.8 * require('os').totalmem());
  expect(b.bytes).toBeGreaterThan(0);
  expect(b.source).toMatch(/physical memory|cgroup|RLIMIT_AS/);
});

test('a 1x3x20000x20000 input is refused before allocating, with the bytes it needs and the limit', () => {
  // 1.2e9 values per blob, 20 bytes per value: 24.0 GB
  expect(() => new Net(convNet(20000, 20000))).toThrow(
    expect.objectContaining({ code: 'MEMORY', message: expect.stringMatching(/needs 22\.35 GiB .* more than the [\d.]+ GiB allowed \(.+\)/) }),
  );
});

test('the setting bounds the engine: a net that fits the machine is refused under a 64 MB budget, and a batch of 10^6 too', async () => {
  setMemoryBudget('64M');
  expect(() => new Net(convNet(1000, 1000, 4))).toThrow(expect.objectContaining({ code: 'MEMORY', message: expect.stringMatching(/allowed \(the memoryLimit setting\)/) }));
  setMemoryBudget('1G');
  const net = new Net(convNet(8, 8));
  // 10^6 x 192 values x 20 bytes = 3.84e9 bytes
  await expect(net.reshape(1e6)).rejects.toMatchObject({ code: 'MEMORY', message: expect.stringMatching(/needs 3\.58 GiB for its blobs at batch size 1000000, more than the 1\.00 GiB allowed/) });
  // the failed reshape leaves the net usable
  expect(net.inputShape).toEqual([1, 3, 8, 8]);
  expect((await net.forward(new Float32Array(3 * 8 * 8).fill(-1))).length).toBe(1);
  await net.dispose();
});

test('CAFFE_LRP_MEMORY_LIMIT sets the budget; a bad value is an OPTION error naming it', () => {
  const saved = process.env.CAFFE_LRP_MEMORY_LIMIT;
  try {
    process.env.CAFFE_LRP_MEMORY_LIMIT = '1G';
    expect(memoryBudget()).toEqual({ bytes: 2 ** 30, source: 'CAFFE_LRP_MEMORY_LIMIT' });
    process.env.CAFFE_LRP_MEMORY_LIMIT = 'plenty';
    expect(() => memoryBudget()).toThrow(expect.objectContaining({ code: 'OPTION', message: expect.stringMatching(/CAFFE_LRP_MEMORY_LIMIT.*'plenty'/) }));
  } finally {
    if (saved === undefined) delete process.env.CAFFE_LRP_MEMORY_LIMIT;
    else process.env.CAFFE_LRP_MEMORY_LIMIT = saved;
  }
});

test('RLIMIT_AS (ulimit -v) lowers the detected budget when it is the smallest bound', () => {
  const script = `const { memoryBudget } = require(${JSON.stringify(path.join(ROOT, 'dist', 'lib', 'memory-budget.js'))}); console.log(JSON.stringify(memoryBudget()));`;
  // 12 GiB of address space: below 80 % of a 24 GB machine, enough for node to start
  const r = spawnSync('sh', ['-c', `ulimit -v ${12 * 1024 * 1024} && exec "${process.execPath}" -e '${script}'`], { encoding: 'utf8' });
  expect(r.stderr).toBe('');
  const b = JSON.parse(r.stdout) as { bytes: number; source: string };
  if (0.8 * require('os').totalmem() > 12 * 2 ** 30) expect(b).toEqual({ bytes: 12 * 2 ** 30, source: 'RLIMIT_AS (ulimit -v)' });
  else expect(b.bytes).toBeLessThanOrEqual(12 * 2 ** 30);
});
