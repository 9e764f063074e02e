/**
 * lrp-queue end to end on a real redis-server (127.0.0.1, temporary folder, append-only file):
 * 200 images (one of them not an image) submitted in chunks, three worker processes.
 *  - one worker is kill -9ed mid-run: BullMQ's stalled-job check hands its chunk to the others;
 *    every output file is byte-identical to a single lrp-parallel-demo run, the manifest equals
 *    that run's --manifest (each image once), the bad image alone fails;
 *  - Redis itself is stopped and restarted mid-run: the run still completes, identically;
 *  - status / retry-failed / clean on the finished run.
 */
import { spawn, type ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { main } from '../../demonstrator/cli';
import { runStatus } from '../../demonstrator/queue/admin';
import { capture } from '../demonstrator/cli-helpers';
import { bin, makeCase, runBin, tree, watchWorker, workerSpawnOptions, type Case, type Worker } from './fixture';
import { describeIfRedis, startRedis, type RedisServer } from './redis-server';

jest.setTimeout(150_000);
const N = 200;
const BAD = 37;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describeIfRedis('lrp-queue on a real redis-server', (redisBin) => {
  let c: Case;
  let redis: RedisServer;
  let want: Map<string, Buffer>;
  let wantManifest: string[];
  const workers: ChildProcess[] = [];

  const manifestLines = (file: string, out: string) => fs.readFileSync(file, 'utf8').trim().split('\n').map((l) => l.split(out).join('<out>'));

  beforeAll(async () => {
    c = await makeCase(N, { batch: 8, bad: [BAD] });
    redis = await startRedis(redisBin);
    const single = path.join(c.dir, 'single');
    const code = await main(['-q', '--manifest', 'single.jsonl', c.writeConfig(single, 'single.cfg'), c.list, '.'], { command: 'lrp-parallel-demo', cwd: c.dir, stdout: capture(), stderr: capture() });
    expect(code).toBe(2);
    want = tree(single);
    expect(want.size).toBe((N - 1) * 4);
    wantManifest = manifestLines(path.join(c.dir, 'single.jsonl'), single);
    expect(wantManifest).toHaveLength(N);
  });

  afterAll(async () => {
    for (const w of workers) if (w.exitCode === null && w.signalCode === null) w.kill('SIGKILL');
    await redis?.dispose();
    if (c) fs.rmSync(c.dir, { recursive: true, force: true });
  });

  function startWorker(queue: string): Worker {
    const child = spawn(process.execPath, [bin('lrp-queue'), 'worker', '--redis', redis.url, '--queue', queue], workerSpawnOptions(c.dir));
    workers.push(child);
    return watchWorker(child);
  }

  let current: Worker[] = [];
  async function until(what: string, cond: () => Promise<boolean> | boolean, ms = 60_000): Promise<void> {
    const end = Date.now() + ms;
    while (!(await cond())) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}; worker logs:\n${current.map((w) => w.log.slice(0, 1500)).join('\n---\n')}`);
      await sleep(200);
    }
  }

  /** Submits the list, runs three workers, lets `during` disturb the run, waits for completion. */
  async function queueRun(queue: string, during: (ws: Worker[], run: string) => Promise<void>) {
    const out = path.join(c.dir, queue);
    const s = runBin('lrp-queue', ['submit', '--redis', redis.url, '--queue', queue, c.writeConfig(out, `${queue}.cfg`), c.list, '.'], c.dir);
    expect(s.stderr).toMatch(/submitted 200 images in 25 jobs of up to 8/);
    expect(s.code).toBe(0);
    const run = s.stdout.trim().split('\n').pop() as string;
    expect(run).toMatch(/^[a-z0-9]+-[0-9a-f]{8}$/);
    const ws = [startWorker(queue), startWorker(queue), startWorker(queue)];
    current = ws;
    await during(ws, run);
    await until('the run to complete', async () => (await runStatus(redis.url, queue, run)).complete);
    for (const w of ws) if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGTERM');
    const codes = await Promise.all(ws.map((w) => w.exited));
    return { out, run, ws, codes };
  }

  function expectSameAsSingleRun(out: string, run: string) {
    const got = tree(out);
    const finals = [...got.keys()].filter((k) => !k.endsWith('.tmp'));
    expect(finals.sort()).toEqual([...want.keys()].sort());
    for (const [k, v] of want) expect(got.get(k)?.equals(v)).toBe(true);
    const manifest = manifestLines(path.join(out, `lrp-manifest-${run}.jsonl`), out);
    expect(manifest).toEqual(wantManifest);
    expect(new Set(manifest.map((l) => JSON.parse(l).image)).size).toBe(N);
    const bad = manifest.map((l) => JSON.parse(l)).filter((r) => r.status === 'failed');
    expect(bad.map((r) => r.image)).toEqual([`./img/00${BAD}.png`]);
    return got;
  }

  it('loses nothing when a worker is kill -9ed mid-run', async () => {
    let victim: Worker | undefined;
    const { out, run, codes } = await queueRun('kill', async (ws, run) => {
      await until('a first finished chunk', () => ws.some((w) => /chunk \S+ done/.test(w.log)));
      victim = ws.find((w) => /chunk \S+ done/.test(w.log)) as Worker;
      expect((await runStatus(redis.url, 'kill', run)).complete).toBe(false); // really mid-run
      victim.child.kill('SIGKILL');
      await victim.exited;
    });
    const got = expectSameAsSingleRun(out, run);
    // Only the killed worker can have left a temporary file (killed between write and rename).
    const pid = (victim as Worker).child.pid;
    for (const k of got.keys()) if (k.endsWith('.tmp')) expect(k).toMatch(new RegExp(`\\.${pid}\\.\\d+\\.tmp$`));
    // the others stopped cleanly on SIGTERM
    expect(codes.filter((x) => x === 0)).toHaveLength(2);

    const st = runBin('lrp-queue', ['status', '--redis', redis.url, '--queue', 'kill', run], c.dir);
    expect(st.code).toBe(0);
    expect(st.stdout).toMatch(new RegExp(`200/200 images, 199 done, 1 failed, .*complete`));
    expect(st.stdout).toMatch(new RegExp(`failed: ./img/00${BAD}.png \\(line ${BAD + 1}\\): .+`));

    // retry-failed re-queues exactly the bad image; the run is then incomplete until a worker takes it
    const rf = runBin('lrp-queue', ['retry-failed', '--redis', redis.url, '--queue', 'kill', run], c.dir);
    expect(rf.stdout).toBe('re-queued 1 images\n');
    expect(runBin('lrp-queue', ['status', '--redis', redis.url, '--queue', 'kill', run], c.dir).code).toBe(3);
    const cl = runBin('lrp-queue', ['clean', '--redis', redis.url, '--queue', 'kill', run], c.dir);
    expect(cl.stdout).toBe('removed 26 jobs\n');
    const gone = runBin('lrp-queue', ['status', '--redis', redis.url, '--queue', 'kill', run], c.dir);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toMatch(/no run '.*' in queue 'kill'/);
  });

  it('completes when Redis restarts mid-run (append-only file on)', async () => {
    const { out, run } = await queueRun('restart', async (ws) => {
      await until('a first finished chunk', () => ws.some((w) => /chunk \S+ done/.test(w.log)));
      await redis.stop();
      await sleep(1500);
      await redis.start();
    });
    expectSameAsSingleRun(out, run);
  });
});
