/**
 * A case for the queue and shard tests: N images made from the bundled demo images (each copy
 * varied in brightness/contrast and flipped, so every image has its own outputs), a list with
 * optional bad entries, and a config for the bundled Fashion-MNIST model writing to `out`.
 */
import { spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import sharp from 'sharp';

/** The package root, from test/queue (ts-jest) or dist/test/queue (the compiled bench). */
export const ROOT = fs.existsSync(path.resolve(__dirname, '../../package.json')) ? path.resolve(__dirname, '../..') : path.resolve(__dirname, '../../..');
const DEMO = path.join(ROOT, 'demonstrator');

export interface Case {
  dir: string;
  list: string;
  images: string[];
  /** Config text with `out` as standalone_outpath. */
  config(out: string): string;
  writeConfig(out: string, name: string): string;
}

export async function makeCase(n: number, opts: { batch: number; bad?: number[] }): Promise<Case> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'caffe-lrp-queue-'));
  const src = fs.readdirSync(path.join(DEMO, 'demo-images')).filter((f) => f.endsWith('.png')).sort();
  fs.mkdirSync(path.join(dir, 'img'));
  const images: string[] = [];
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    const name = `img/${String(i).padStart(4, '0')}.png`;
    if (opts.bad?.includes(i)) {
      fs.writeFileSync(path.join(dir, name), 'not a png at all\n');
    } else {
      let s = sharp(path.join(DEMO, 'demo-images', src[i % src.length])).linear(1 - (i % 5) * 0.1, (i % 7) * 5);
      if (Math.floor(i / src.length) % 2 === 1) s = s.flop();
      await s.png().toFile(path.join(dir, name));
    }
    images.push(name);
    lines.push(`${name} ${i % 3 === 0 ? -2 : -1}`);
  }
  const list = path.join(dir, 'list.txt');
  fs.writeFileSync(list, `${lines.join('\n')}\n`);
  const config = (out: string) =>
    [
      ['param_file', path.join(DEMO, 'demo-model/deploy.prototxt')],
      ['model_file', path.join(DEMO, 'demo-model/fashion-mnist.caffemodel')],
      ['synsetfile', path.join(DEMO, 'demo-model/labels.txt')],
      ['numclasses', '10'],
      ['baseimgsize', '28'],
      ['standalone_outpath', out],
      ['relpropformulatype', '100'],
      ['epsstab', '1'],
      ['alphabeta_beta', '1'],
      ['batchsize', String(opts.batch)],
      ['heatmap_colormap', 'blue-black-yellow'],
    ]
      .map(([k, v]) => `${k}\n${v}\n`)
      .join('\n');
  const writeConfig = (out: string, name: string) => {
    const f = path.join(dir, name);
    fs.writeFileSync(f, config(out));
    return f;
  };
  return { dir, list, images, config, writeConfig };
}

/** Every file under `dir` (relative path → content), skipping manifests. */
export function tree(dir: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  const walk = (d: string) => {
    if (!fs.existsSync(d)) return;
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (!/^lrp-manifest-.*\.jsonl$/.test(e.name)) out.set(path.relative(dir, p), fs.readFileSync(p));
    }
  };
  walk(dir);
  return out;
}

/** A bin of the built package (dist/) as a child process. */
export function bin(name: string): string {
  return path.join(ROOT, 'demonstrator/bin', `${name}.js`);
}

export function runBin(name: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [bin(name), ...args], { cwd, env: { ...process.env, ...env }, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

export function runBinAsync(name: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, [bin(name), ...args], { cwd, env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (d) => (stdout += d));
    c.stderr.on('data', (d) => (stderr += d));
    c.on('exit', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

/** A worker process under test: its stderr so far and its exit code. */
export interface Worker {
  child: ChildProcess;
  log: string;
  exited: Promise<number | null>;
}

/** Spawn options of a worker under test: the case folder, short lock and stalled-job times, stderr piped. */
export function workerSpawnOptions(cwd: string): SpawnOptions {
  return { cwd, env: { ...process.env, LRP_QUEUE_LOCK_MS: '2000', LRP_QUEUE_STALLED_MS: '1000' }, stdio: ['ignore', 'ignore', 'pipe'] };
}

/** Collects a spawned worker's stderr (calling onLog after each piece) and its exit code. */
export function watchWorker(child: ChildProcess, onLog?: (w: Worker) => void): Worker {
  const w: Worker = { child, log: '', exited: new Promise((r) => child.once('exit', (code) => r(code))) };
  child.stderr?.on('data', (d) => {
    w.log += d;
    onLog?.(w);
  });
  return w;
}
