/**
 * lrp-queue worker options and shutdown on a real redis-server, each run checked against one
 * lrp-parallel-demo run of the same 60-image list (files byte for byte, manifest line for line):
 *  - `--concurrency 3`: three chunks at once in one process give the single run's heatmaps
 *    (each chunk has its own net; on a shared Net the forward/relevance pairs of concurrent
 *    chunks would interleave and mix up the heatmaps);
 *  - `--threads 1` reaches the engine (its OpenBLAS reports the thread count, and the files equal
 *    those of `lrp-parallel-demo --threads 1`), and `--processes 2` runs two workers that share
 *    the cores out;
 *  - two plain workers whose engine threads exceed the host's cores: the later one warns (the
 *    workers of one --processes command, sharing the cores out, do not);
 *  - a chunk whose model file is missing on the worker fails as a job (after --attempts):
 *    status lists it and is not complete; retry-failed, with the file back, completes the run;
 *  - SIGTERM to a worker in the middle of a chunk: it finishes that chunk, takes no other,
 *    leaves no temporary file and exits 0; a second worker does the rest; every chunk is done
 *    exactly once.
 */
import { spawn, type ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { main } from '../../demonstrator/cli';
import { runStatus } from '../../demonstrator/queue/admin';
import { capture } from '../demonstrator/cli-helpers';
import { bin, makeCase, ROOT, runBin, tree, watchWorker, workerSpawnOptions, type Case, type Worker } from './fixture';
import { describeIfRedis, startRedis, type RedisServer } from './redis-server';

jest.setTimeout(150_000);
const N = 60;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describeIfRedis('lrp-queue worker options and SIGTERM', (redisBin) => {
  let c: Case;
  let redis: RedisServer;
  let want: Map<string, Buffer>;
  let wantManifest: string[];
  const children: ChildProcess[] = [];

  const manifestLines = (file: string, out: string) => fs.readFileSync(file, 'utf8').trim().split('\n').map((l) => l.split(out).join('<out>'));

  beforeAll(async () => {
    c = await makeCase(N, { batch: 4 });
    redis = await startRedis(redisBin);
    const single = path.join(c.dir, 'single');
    const code = await main(['-q', '--manifest', 'single.jsonl', c.writeConfig(single, 'single.cfg'), c.list, '.'], { command: 'lrp-parallel-demo', cwd: c.dir, stdout: capture(), stderr: capture() });
    expect(code).toBe(0);
    want = tree(single);
    expect(want.size).toBe(N * 4);
    wantManifest = manifestLines(path.join(c.dir, 'single.jsonl'), single);
    expect(wantManifest).toHaveLength(N);
  });

  afterAll(async () => {
    for (const w of children) if (w.exitCode === null && w.signalCode === null) w.kill('SIGKILL');
    await redis?.dispose();
    if (c) fs.rmSync(c.dir, { recursive: true, force: true });
  });

  function startWorker(queue: string, args: string[] = [], onLog?: (w: Worker) => void): Worker {
    const child = spawn(process.execPath, [bin('lrp-queue'), 'worker', '--redis', redis.url, '--queue', queue, ...args], workerSpawnOptions(c.dir));
    children.push(child);
    return watchWorker(child, onLog);
  }

  async function until(what: string, cond: () => Promise<boolean> | boolean, logs: () => string, ms = 60_000): Promise<void> {
    const end = Date.now() + ms;
    while (!(await cond())) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}; worker logs:\n${logs().slice(0, 3000)}`);
      await sleep(100);
    }
  }

  function submit(queue: string): { out: string; run: string } {
    const out = path.join(c.dir, queue);
    const s = runBin('lrp-queue', ['submit', '--redis', redis.url, '--queue', queue, c.writeConfig(out, `${queue}.cfg`), c.list, '.'], c.dir);
    expect(s.stderr).toMatch(/submitted 60 images in 15 jobs of up to 4/);
    expect(s.code).toBe(0);
    return { out, run: s.stdout.trim().split('\n').pop() as string };
  }

  function expectSameAsSingleRun(out: string, run: string, ref = want): void {
    const got = tree(out);
    expect([...got.keys()].sort()).toEqual([...ref.keys()].sort()); // also: no temporary files
    for (const [k, v] of ref) expect({ file: k, same: got.get(k)?.equals(v) }).toEqual({ file: k, same: true });
    expect(manifestLines(path.join(out, `lrp-manifest-${run}.jsonl`), out)).toEqual(wantManifest);
  }

  const ids = (log: string, what: 'started' | 'done') => [...log.matchAll(new RegExp(`chunk (\\S+) ${what}`, 'g'))].map((m) => m[1]);

  it('--concurrency 3 in one process writes the single run, every chunk once', async () => {
    const { out, run } = submit('conc');
    const w = startWorker('conc', ['--concurrency', '3']);
    await until('the run to complete', async () => (await runStatus(redis.url, 'conc', run)).complete, () => w.log);
    w.child.kill('SIGTERM');
    expect(await w.exited).toBe(0);
    expect(w.log).toMatch(/ready: queue 'conc', 3 chunks at a time/);
    expectSameAsSingleRun(out, run);
    const done = ids(w.log, 'done');
    expect(done).toHaveLength(15);
    expect(new Set(done).size).toBe(15);
    // three chunks really ran at once: some chunk started before the one before it was done
    const events = [...w.log.matchAll(/chunk (\S+) (started|done)/g)].map((m) => m[2]);
    let inFlight = 0;
    let most = 0;
    for (const e of events) {
      inFlight += e === 'started' ? 1 : -1;
      most = Math.max(most, inFlight);
    }
    expect(most).toBeGreaterThan(1);
  });

  it('--threads sets the engine threads; --processes 2 shares the cores out', async () => {
    // Float sums in another order: another engine thread count changes the last digits, so the
    // reference is a single run with the workers' one thread.
    const single1 = path.join(c.dir, 'single1');
    const r = runBin('lrp-parallel-demo', ['-q', '--threads', '1', c.writeConfig(single1, 'single1.cfg'), c.list, '.'], c.dir);
    expect(r.code).toBe(0);
    const want1 = tree(single1);
    expect(want1.size).toBe(N * 4);
    const { out, run } = submit('threads');
    const one = startWorker('threads', ['--threads', '1']);
    const two = startWorker('threads', ['--processes', '2']);
    await until('the run to complete', async () => (await runStatus(redis.url, 'threads', run)).complete, () => one.log + two.log);
    await until('both --processes workers to be ready', () => (two.log.match(/ready: queue/g) ?? []).length === 2, () => two.log);
    one.child.kill('SIGTERM');
    two.child.kill('SIGTERM');
    expect(await one.exited).toBe(0);
    expect(await two.exited).toBe(0);
    // each of the two processes: half the cores (at least 1), when it got a chunk at all
    const share = Math.max(1, Math.floor(os.availableParallelism() / 2));
    if (share === 1) expectSameAsSingleRun(out, run, want1);
    expect(one.log).toMatch(/engine: 1 threads/);
    for (const m of two.log.matchAll(/engine: (\d+) threads/g)) expect(Number(m[1])).toBe(share);
    expect(two.log).toMatch(/SIGTERM: stopping 2 workers/);
    expect((two.log.match(/SIGTERM: finishing the chunks in hand/g) ?? []).length).toBe(2);
  });

  it('two plain workers on one host whose threads exceed the cores: the second warns', async () => {
    const cores = os.availableParallelism();
    const first = startWorker('over', ['--threads', String(cores)]);
    await until('the first worker to be ready', () => /ready: queue 'over'/.test(first.log), () => first.log);
    const second = startWorker('over', ['--threads', String(cores)]);
    await until('the second worker to be ready', () => /ready: queue 'over'/.test(second.log), () => second.log);
    await until('the warning', () => /warning: /.test(second.log), () => second.log, 10_000);
    expect(second.log).toContain(`warning: 2 workers of queue 'over' on this host run ${2 * cores} engine threads on ${cores} cores`);
    expect(second.log).toContain("'lrp-queue worker --processes 2'");
    // shared out, the cores are not exceeded: no warning
    const third = startWorker('fair', ['--processes', '2']);
    await until('both to be ready', () => (third.log.match(/ready: queue 'fair'/g) ?? []).length === 2, () => third.log);
    await sleep(1000);
    for (const w of [first, second, third]) w.child.kill('SIGTERM');
    expect(await Promise.all([first, second, third].map((w) => w.exited))).toEqual([0, 0, 0]);
    expect(first.log).not.toMatch(/warning/);
    if (cores >= 2) expect(third.log).not.toMatch(/warning/); // one core cannot be shared out
  });

  it('a chunk whose net cannot load fails as a job; status names it; retry-failed completes it once the file is back', async () => {
    const model = path.join(c.dir, 'model.caffemodel');
    fs.copyFileSync(path.join(ROOT, 'demonstrator/demo-model/fashion-mnist.caffemodel'), model);
    const out = path.join(c.dir, 'gone');
    const cfg = path.join(c.dir, 'gone.cfg');
    fs.writeFileSync(cfg, c.config(out).replace(/^model_file\n.*$/m, `model_file\n${model}`));
    const list = path.join(c.dir, 'eight.txt');
    fs.writeFileSync(list, fs.readFileSync(c.list, 'utf8').split('\n').slice(0, 8).join('\n') + '\n');
    const s = runBin('lrp-queue', ['submit', '--redis', redis.url, '--queue', 'gone', '--attempts', '1', cfg, list, '.'], c.dir);
    expect(s.code).toBe(0);
    const run = s.stdout.trim().split('\n').pop() as string;
    fs.renameSync(model, `${model}.away`); // after submit, before any worker: the workers' copy is missing
    const w = startWorker('gone');
    await until('both chunks to fail', () => (w.log.match(/failed \(attempt 1\)/g) ?? []).length === 2, () => w.log);
    const st = runBin('lrp-queue', ['status', '--redis', redis.url, '--queue', 'gone', run], c.dir);
    expect(st.code).toBe(3);
    expect(st.stdout).toMatch(/0\/8 images, 0 done, 0 failed/);
    expect(st.stdout.match(/^failed job .*$/gm)).toEqual([
      expect.stringMatching(new RegExp(`^failed job ${run}-0: .*model\\.caffemodel`)),
      expect.stringMatching(new RegExp(`^failed job ${run}-1: .*model\\.caffemodel`)),
    ]);
    fs.renameSync(`${model}.away`, model);
    const rf = runBin('lrp-queue', ['retry-failed', '--redis', redis.url, '--queue', 'gone', run], c.dir);
    expect(rf.stdout).toBe('re-queued 8 images\n');
    await until('the retried run to complete', async () => (await runStatus(redis.url, 'gone', run)).complete, () => w.log);
    w.child.kill('SIGTERM');
    expect(await w.exited).toBe(0);
    const done = runBin('lrp-queue', ['status', '--redis', redis.url, '--queue', 'gone', run], c.dir);
    expect(done.code).toBe(0);
    expect(done.stdout).toMatch(/8\/8 images, 8 done, 0 failed/);
    expect(done.stdout).not.toMatch(/failed job/);
    const got = tree(out);
    expect(got.size).toBe(8 * 4);
    for (const [k, v] of got) expect({ file: k, same: want.get(k)?.equals(v) }).toEqual({ file: k, same: true });
  });

  it('SIGTERM mid-chunk: the chunk is finished, no other taken, exit 0; nothing lost or done twice', async () => {
    const { out, run } = submit('term');
    let victim: string | undefined;
    // SIGTERM the moment the worker reports its third chunk started (its net is loaded by then)
    const first = startWorker('term', [], (w) => {
      const started = ids(w.log, 'started');
      if (victim === undefined && started.length >= 3) {
        victim = started[2];
        w.child.kill('SIGTERM');
      }
    });
    expect(await first.exited).toBe(0);
    expect(victim).toBeDefined();
    const log = first.log;
    expect(log).toMatch(/SIGTERM: finishing the chunks in hand, then stopping/);
    // the chunk in hand was finished after the signal, and every chunk it started is done
    expect(log.indexOf(`chunk ${victim} done`)).toBeGreaterThan(log.indexOf('SIGTERM:'));
    expect(ids(log, 'done').sort()).toEqual(ids(log, 'started').sort());
    // it stopped mid-run, and left no partial or temporary file behind
    const st = await runStatus(redis.url, 'term', run);
    expect(st.complete).toBe(false);
    expect(st.done).toBe(4 * ids(log, 'done').length);
    expect([...tree(out).keys()].filter((k) => k.endsWith('.tmp'))).toEqual([]);

    const second = startWorker('term');
    await until('the run to complete', async () => (await runStatus(redis.url, 'term', run)).complete, () => second.log);
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
    expectSameAsSingleRun(out, run);
    const all = [...ids(log, 'done'), ...ids(second.log, 'done')];
    expect(all).toHaveLength(15);
    expect(new Set(all).size).toBe(15);
  });
});
