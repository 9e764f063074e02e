/**
 * `lrp-parallel-demo --shard i/n`: shards 0/3, 1/3, 2/3 together write exactly the files of one
 * unsharded run (same names, same bytes), each image by exactly one shard; the environment form
 * (LRP_SHARD_INDEX / JOB_COMPLETION_INDEX with LRP_SHARD_COUNT) is the same; bad shards are usage errors.
 * The manifests of the shards, joined, are the single run's manifest.
 */
import * as fs from 'fs';
import * as path from 'path';
import { main } from '../../demonstrator/cli';
import { capture } from '../demonstrator/cli-helpers';
import { makeCase, tree, type Case } from './fixture';

let c: Case;
beforeAll(async () => {
  c = await makeCase(30, { batch: 4, bad: [9] });
});
afterAll(() => fs.rmSync(c.dir, { recursive: true, force: true }));

async function run(args: string[], env: Record<string, string | undefined> = {}) {
  const stdout = capture();
  const stderr = capture();
  const code = await main([...args], { command: 'lrp-parallel-demo', cwd: c.dir, stdout, stderr, env });
  return { code, stderr: stderr.text };
}

function manifestLines(file: string, out: string): string[] {
  return fs.readFileSync(file, 'utf8').trim().split('\n').map((l) => l.split(out).join('<out>'));
}

it('three shards write exactly the single run, each image once', async () => {
  const single = path.join(c.dir, 'single');
  const cfg1 = c.writeConfig(single, 'single.cfg');
  const r1 = await run(['-q', '--manifest', 'single.jsonl', cfg1, c.list, '.']);
  expect(r1.code).toBe(2); // the bad image
  const want = tree(single);
  expect(want.size).toBe(29 * 4);

  const sharded = path.join(c.dir, 'sharded');
  const cfg3 = c.writeConfig(sharded, 'sharded.cfg');
  const seen = new Map<string, number>();
  const manifests: string[] = [];
  for (let i = 0; i < 3; i++) {
    const before = new Set(tree(sharded).keys());
    // shard 1 through the Kubernetes variable, the others through the flag
    const r = i === 1 ? await run(['-q', '--manifest', `s${i}.jsonl`, cfg3, c.list, '.'], { JOB_COMPLETION_INDEX: '1', LRP_SHARD_COUNT: '3' }) : await run(['-q', '--shard', `${i}/3`, '--manifest', `s${i}.jsonl`, cfg3, c.list, '.']);
    expect(r.code).toBe(i === 2 ? 2 : 0); // the bad image 9 is in batch 2 (images 8..11): shard 2
    for (const k of tree(sharded).keys()) if (!before.has(k)) seen.set(k, i);
    manifests.push(...manifestLines(path.join(c.dir, `s${i}.jsonl`), sharded));
  }
  const got = tree(sharded);
  expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
  for (const [k, v] of want) expect(got.get(k)?.equals(v)).toBe(true);
  // batch b (images 4b..4b+3) belongs to shard b mod 3
  for (const [k, shard] of seen) {
    const img = Number(/(\d{4})/.exec(k)?.[1]);
    expect(shard).toBe(Math.floor(img / 4) % 3);
  }
  manifests.sort((a, b) => JSON.parse(a).line - JSON.parse(b).line);
  expect(manifests).toEqual(manifestLines(path.join(c.dir, 'single.jsonl'), single));
});

it('refuses a bad shard', async () => {
  const cfg = c.writeConfig(path.join(c.dir, 'x'), 'x.cfg');
  for (const s of ['3/3', '1', 'a/b', '0/0']) {
    const r = await run(['--shard', s, cfg, c.list, '.']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/--shard must be i\/n/);
  }
  const r = await run([cfg, c.list, '.'], { LRP_SHARD_COUNT: '2' });
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(/LRP_SHARD_COUNT is set/);
});
