/**
 * The three-worker queue run across a real network stack: Redis alone in one network namespace,
 * two workers in a second, one in a third, joined by veth pairs (test/queue/netns.ts); the
 * list is submitted from a worker host. 200 images, one of them not an image; one worker is
 * kill -9ed mid-run. Every output file is byte-identical to one lrp-parallel-demo run, the
 * manifest equals that run's (each image once), only the bad image fails, `status` across the
 * network says complete. Skipped, with the reason printed, without root, `ip netns` or redis-server.
 */
import { type ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { main } from '../../demonstrator/cli';
import { capture } from '../demonstrator/cli-helpers';
import { bin, makeCase, tree, watchWorker, workerSpawnOptions, type Case, type Worker } from './fixture';
import { Hosts, netnsUnavailable } from './netns';
import { findRedisServer } from './redis-server';

jest.setTimeout(180_000);
const N = 200;
const BAD = 37;
const PORT = 6379; // alone in its namespace
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const why = netnsUnavailable() ?? findRedisServer().reason;
const redisBin = findRedisServer().bin;
if (why !== undefined) process.stderr.write(`skipping the lrp-queue network-namespace test: ${why}\n`);
(why === undefined ? describe : describe.skip)(`lrp-queue across network namespaces${why === undefined ? '' : ` (skipped: ${why})`}`, () => {
  let c: Case;
  let hosts: Hosts;
  let redisDir: string;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    c = await makeCase(N, { batch: 8, bad: [BAD] });
    hosts = new Hosts();
    hosts.setup();
    redisDir = fs.mkdtempSync(path.join(os.tmpdir(), 'caffe-lrp-redis-netns-'));
    const redis = hosts.spawnIn(hosts.redis, redisBin as string, [
      '--port', String(PORT), '--bind', '0.0.0.0', '--protected-mode', 'no', '--dir', redisDir,
      '--appendonly', 'yes', '--save', '', '--daemonize', 'no', '--logfile', path.join(redisDir, 'redis.log'),
    ], { stdio: 'ignore' });
    children.push(redis);
    hosts.waitForPort(hosts.a, hosts.redisFromA, PORT);
    hosts.waitForPort(hosts.b, hosts.redisFromB, PORT);
  });

  afterAll(async () => {
    for (const ch of children) {
      if (ch.exitCode !== null || ch.signalCode !== null) continue;
      const gone = new Promise((r) => ch.once('exit', r));
      ch.kill('SIGKILL');
      await gone;
    }
    hosts?.dispose();
    if (redisDir) fs.rmSync(redisDir, { recursive: true, force: true });
    if (c) fs.rmSync(c.dir, { recursive: true, force: true });
  });

  function startWorker(ns: string, redisHost: string): Worker {
    const child = hosts.spawnIn(ns, process.execPath, [bin('lrp-queue'), 'worker', '--redis', `redis://${redisHost}:${PORT}`, '--queue', 'netns'],
      workerSpawnOptions(c.dir));
    children.push(child);
    return watchWorker(child);
  }

  it('3 workers on two hosts, one kill -9ed: the single run, each image once', async () => {
    const single = path.join(c.dir, 'single');
    const code = await main(['-q', '--manifest', 'single.jsonl', c.writeConfig(single, 'single.cfg'), c.list, '.'], { command: 'lrp-parallel-demo', cwd: c.dir, stdout: capture(), stderr: capture() });
    expect(code).toBe(2);
    const want = tree(single);
    expect(want.size).toBe((N - 1) * 4);

    const out = path.join(c.dir, 'netns');
    const redisA = `redis://${hosts.redisFromA}:${PORT}`;
    const s = hosts.runIn(hosts.a, process.execPath, [bin('lrp-queue'), 'submit', '--redis', redisA, '--queue', 'netns', c.writeConfig(out, 'netns.cfg'), c.list, '.'], c.dir);
    expect(s.stderr).toMatch(/submitted 200 images in 25 jobs of up to 8/);
    expect(s.code).toBe(0);
    const run = s.stdout.trim().split('\n').pop() as string;
    const manifest = path.join(out, `lrp-manifest-${run}.jsonl`);

    const ws = [startWorker(hosts.a, hosts.redisFromA), startWorker(hosts.a, hosts.redisFromA), startWorker(hosts.b, hosts.redisFromB)];
    const logs = () => ws.map((w) => w.log.slice(0, 1500)).join('\n---\n');
    const until = async (what: string, cond: () => boolean, ms = 90_000) => {
      const end = Date.now() + ms;
      while (!cond()) {
        if (Date.now() > end) throw new Error(`timed out waiting for ${what}; worker logs:\n${logs()}`);
        await sleep(100);
      }
    };
    // kill -9 a worker of host A once it has finished a chunk, while the run is still going
    await until('a first finished chunk on host A', () => ws.slice(0, 2).some((w) => /chunk \S+ done/.test(w.log)));
    const victim = ws.slice(0, 2).find((w) => /chunk \S+ done/.test(w.log)) as Worker;
    expect(fs.existsSync(manifest)).toBe(false);
    victim.child.kill('SIGKILL');
    await victim.exited;
    // the manifest is written (on the shared folder) when every image has a result
    await until('the manifest', () => fs.existsSync(manifest));
    const st = hosts.runIn(hosts.b, process.execPath, [bin('lrp-queue'), 'status', '--redis', `redis://${hosts.redisFromB}:${PORT}`, '--queue', 'netns', run], c.dir);
    expect(st.stdout).toMatch(/200\/200 images, 199 done, 1 failed, .*complete/);
    expect(st.code).toBe(0);
    const alive = ws.filter((w) => w !== victim);
    for (const w of alive) w.child.kill('SIGTERM');
    expect(await Promise.all(alive.map((w) => w.exited))).toEqual([0, 0]);
    // the host-B worker really took part over its own link
    expect(ws[2].log).toMatch(/chunk \S+ done/);

    const got = tree(out);
    const pid = victim.child.pid;
    const finals = [...got.keys()].filter((k) => !k.endsWith('.tmp'));
    // only the killed worker can have left a temporary file (killed between write and rename)
    for (const k of got.keys()) if (k.endsWith('.tmp')) expect(k).toMatch(new RegExp(`\\.${pid}\\.\\d+\\.tmp$`));
    expect(finals.sort()).toEqual([...want.keys()].sort());
    for (const [k, v] of want) expect({ file: k, same: got.get(k)?.equals(v) }).toEqual({ file: k, same: true });
    const lines = (file: string, dir: string) => fs.readFileSync(file, 'utf8').trim().split('\n').map((l) => l.split(dir).join('<out>'));
    const m = lines(manifest, out);
    expect(m).toEqual(lines(path.join(c.dir, 'single.jsonl'), single));
    expect(new Set(m.map((l) => JSON.parse(l).image)).size).toBe(N);
    expect(m.map((l) => JSON.parse(l)).filter((r) => r.status === 'failed').map((r) => r.image)).toEqual([`./img/00${BAD}.png`]);
  });
});
