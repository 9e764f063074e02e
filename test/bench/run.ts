/**
 * `npm run bench`: speed of the engine on a CaffeNet-architecture net (227x227, batch 1
 * and 10): forward, and forward + relevance for formula types 0, 2, 11, 100. Prints
 * ms/image, GFLOP/s of the forward part, and ratios to the sgemm rate this machine reaches
 * through the same OpenBLAS in the same run. Figures, not assertions. Per layer:
 * `npm run bench:layers`; instruction counts: `npm run bench:callgrind` (test/bench/layers.ts).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawnSync } from 'child_process';
import { saveCaffemodel, savePrototxt } from '../../lib/caffe';
import { Net } from '../../lib/net';
import { loadNative } from '../../lib/native';
import { coreTypeSource } from '../../lib/blas-coretype';
import { benchInput, caffenetForwardFlops, caffenetSpec } from './caffenet-spec';
import { onnxRows } from './onnx-rows';
import type { StageTimes } from './demo-stages';
import { benchServe } from './serve';
import { benchQueue, queueBenchText } from './queue';

/** Median and best of `repeats` timed calls after a warm-up, in ms. */
async function timeIt(repeats: number, fn: () => Promise<unknown>): Promise<{ median: number; best: number }> {
  await fn(); // warm-up: allocations, thread pool start
  const times: number[] = [];
  for (let i = 0; i < repeats; ++i) {
    const t0 = process.hrtime.bigint();
    await fn();
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  times.sort((a, b) => a - b);
  // The median is what a run of many calls sees; the best is the code's speed when the
  // shared machine's other tenants leave the caches and memory bus alone.
  return { median: times[Math.floor(times.length / 2)], best: times[0] };
}

/**
 * The sgemm rate that is the ratios' basis: the best of several probes (each the best of 5
 * products), taken before and after the rows they divide. On a shared host one probe can land
 * in a busy second and read half the machine's rate, which would make every ratio look better
 * than it is; the best probe is what the machine can do.
 */
class SgemmBasis {
  private readonly probes: number[] = [];
  constructor(private readonly native: ReturnType<typeof loadNative>) {}
  probe(times: number): void {
    for (let i = 0; i < times; i++) this.probes.push(this.native.sgemmGflops(2048, 5));
  }
  get best(): number {
    return Math.max(...this.probes);
  }
  describe(): string {
    const sorted = [...this.probes].sort((a, b) => a - b);
    return `best ${this.best.toFixed(1)} GFLOP/s of ${sorted.length} probes (median ${sorted[Math.floor(sorted.length / 2)].toFixed(1)}, lowest ${sorted[0].toFixed(1)})`;
  }
}

/** The targets (#15) for the sgemm-time ratio of the CaffeNet rows, by label and batch. */
const TARGETS: Record<string, number> = {
  'forward 10': 1.3,
  'forward + epsilon (0) 10': 2.6,
  'forward + alphabeta (2) 10': 5.0,
  'forward + gradient (11) 10': 2.4,
  'forward 1': 2.0,
  'forward + epsilon (0) 1': 4.0,
};

interface Row {
  label: string;
  batch: number;
  median: number;
  best: number;
}

async function main(): Promise<void> {
  const native = loadNative();
  const basis = new SgemmBasis(native);
  basis.probe(3);
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  console.log(`machine: ${cpu}, ${os.cpus().length} cores, node ${process.version}, OPENBLAS_NUM_THREADS=${process.env.OPENBLAS_NUM_THREADS ?? '(default)'}`);
  const blas = native.blasInfo();
  console.log(`OpenBLAS: ${blas.coreName} kernels, ${blas.threads} threads (${blas.threading}), OPENBLAS_CORETYPE=${process.env.OPENBLAS_CORETYPE ?? '(unset)'} (set by: ${coreTypeSource()}); fully connected layers: ${blas.skinnyKernels} kernels`);
  const bandwidth = Math.max(native.readBandwidthGBps(256, 5), native.readBandwidthGBps(256, 5));
  const flops = caffenetForwardFlops();
  if (process.env.CAFFE_LRP_BENCH_ONLY_END_TO_END !== undefined) {
    console.log(`sgemm rate (2048^3, same OpenBLAS): ${basis.describe()}; memory read bandwidth (all threads): ${bandwidth.toFixed(1)} GB/s`);
    return demoRow(); // a quick check of that row alone
  }
  const rows: [string, (net: Net, x: Float32Array, b: number) => Promise<unknown>][] = [
    ['forward', (net, x) => net.forward(x)],
    ['forward + epsilon (0)', (net, x, b) => net.explain(x, { relpropformulatype: 0, epsstab: 1, lastlayerindex: -2, targets: Array(b).fill('top1') })],
    ['forward + alphabeta (2)', (net, x, b) => net.explain(x, { relpropformulatype: 2, alphabeta_beta: 1, lastlayerindex: -2, targets: Array(b).fill('top1') })],
    ['forward + gradient (11)', (net, x, b) => net.explain(x, { relpropformulatype: 11, lastlayerindex: -2, targets: Array(b).fill('top1') })],
    ['forward + layer_dep (100)', (net, x, b) => net.explain(x, { relpropformulatype: 100, epsstab: 1, alphabeta_beta: 1, lastlayerindex: -2, lrn_backward_type: 1, targets: Array(b).fill('top1') })],
  ];
  const measured: Row[] = [];
  for (const batch of [1, 10]) {
    const net = new Net(caffenetSpec(batch));
    const x = benchInput(batch);
    for (const [label, fn] of rows) {
      const t = await timeIt(batch === 1 ? 10 : 7, () => fn(net, x, batch));
      measured.push({ label, batch, median: t.median / batch, best: t.best / batch });
    }
    await net.dispose();
  }
  basis.probe(3);
  const sgemm = basis.best;
  console.log(`sgemm rate (2048^3, same OpenBLAS), probed before and after the rows: ${basis.describe()}; memory read bandwidth (all threads): ${bandwidth.toFixed(1)} GB/s`);
  const sgemmMsPerImage = (flops / (sgemm * 1e9)) * 1e3;
  console.log(`CaffeNet forward: ${(flops / 1e9).toFixed(2)} GFLOP/image; at the sgemm rate that is ${sgemmMsPerImage.toFixed(2)} ms/image`);
  console.log('');
  console.log('row                         batch   ms/image (median / best)   GFLOP/s(fwd)   sgemm-time ratio   (target, issue #15)');
  for (const { label, batch, median: ms, best } of measured) {
    const gflops = label === 'forward' ? ((flops / (ms / 1e3)) / 1e9).toFixed(1) : '';
    const times = `${ms.toFixed(2)} / ${best.toFixed(2)}`;
    const target = TARGETS[`${label} ${batch}`];
    const ratio = ms / sgemmMsPerImage;
    const verdict = target === undefined ? '' : `   (<= ${target.toFixed(1)}: ${ratio <= target ? 'met' : 'not met'})`;
    console.log(`${label.padEnd(28)}${String(batch).padStart(5)}${times.padStart(27)}${gflops.padStart(15)}${ratio.toFixed(2).padStart(19)}${verdict}`);
  }
  if (process.env.CAFFE_LRP_BENCH_ONLY_CAFFENET !== undefined) return; // the CaffeNet rows alone, for repeated runs
  console.log('\nGFLOP/s and sgemm-time ratio from the median; ratio = measured time / time the forward FLOPs take at the sgemm rate (1.0 = forward at sgemm speed).');
  // CAFFE_LRP_BENCH_ONNX_REPEATS: a smaller repeat count for a quick check of the ONNX rows.
  const onnxRepeats = Number(process.env.CAFFE_LRP_BENCH_ONNX_REPEATS ?? 0);
  await onnxRows(sgemm, timeIt, (batch) => onnxRepeats > 0 ? onnxRepeats : batch === 1 ? 10 : 7);
  if (process.env.CAFFE_LRP_BENCH_ONLY_ONNX === undefined) {
    await demoRow();
    // the heatmap service on the bundled model: p50/p99 latency and requests/s, 16 concurrent
    const n = Number(process.env.CAFFE_LRP_SERVE_BENCH_REQUESTS ?? 200);
    await benchServe(Number.isInteger(n) && n > 0 ? n : 200);
    // lrp-queue with 1, 2, 3 workers against lrp-parallel-demo (needs redis-server)
    console.log(queueBenchText(await benchQueue()));
  }
}

/**
 * End to end: lrp-parallel-demo over 100 photos (the 10 photos of ../shared/images, ten
 * times each) with the CaffeNet-architecture net at batch 10, epsilon rule, all four outputs.
 */
async function demoRow(): Promise<void> {
  const shared = path.resolve(__dirname, '..', '..', '..', '..', 'shared');
  const sharedRoot = fs.existsSync(shared) ? shared : path.resolve(__dirname, '..', '..', '..', 'shared');
  const images = path.join(sharedRoot, 'images');
  const mean = path.join(sharedRoot, 'vectors', 'preprocess', 'mean_bgr_104_117_123_256.binaryproto');
  if (!fs.existsSync(images) || !fs.existsSync(mean)) {
    console.log(`\nend-to-end row skipped: ${images} or ${mean} is not available`);
    return;
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'caffe-lrp-bench-'));
  try {
    const spec = caffenetSpec(10);
    await savePrototxt(spec, path.join(dir, 'deploy.prototxt'));
    await saveCaffemodel(spec, path.join(dir, 'weights.caffemodel'));
    const photos = fs.readdirSync(images).filter((f) => /\.(jpe?g|png)$/i.test(f)).sort();
    const list = Array.from({ length: 100 }, (_, i) => `images/${photos[i % photos.length]} -1`).join('\n') + '\n';
    fs.writeFileSync(path.join(dir, 'list.txt'), list);
    fs.symlinkSync(images, path.join(dir, 'images'));
    const config = [
      'param_file', path.join(dir, 'deploy.prototxt'), 'model_file', path.join(dir, 'weights.caffemodel'),
      'mean_file', mean, 'use_mean_file_asbinaryprotoblob', '1', 'lastlayerindex', '-2', 'firstlayerindex', '0',
      'numclasses', '1000', 'baseimgsize', '256', 'standalone_outpath', path.join(dir, 'out'), 'standalone_rootpath', 'images',
      'relpropformulatype', '0', 'epsstab', '1', 'alphabeta_beta', '1', 'auxiliaryvariable_maxlayerindexforflatdistinconv', '-1',
    ].join('\n');
    fs.writeFileSync(path.join(dir, 'config.txt'), config + '\n');
    fs.writeFileSync(path.join(dir, 'empty.txt'), '');
    // In child processes, so that the peak resident set is one demonstrator run's own.
    const demo = (list: 'list' | 'empty') => {
      const child = spawnSync(process.execPath, [path.join(__dirname, 'demo-child.js'), dir, list], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
      if (child.status !== 0) throw new Error(`end-to-end child failed (exit ${child.status})`);
      return JSON.parse(child.stdout) as { code: number; seconds: number; maxRssMB: number };
    };
    const startup = demo('empty').seconds;
    const r = { ...demo('list'), startup };
    const written = fs.readdirSync(path.join(dir, 'out', 'images')).length;
    const weightsMB = (fs.statSync(path.join(dir, 'weights.caffemodel')).size / 1e6);
    console.log(`\nend to end: lrp-parallel-demo, 100 photos -> 227x227, CaffeNet architecture, batch 10, epsilon, all four outputs`);
    console.log(`  exit ${r.code}, ${written} files, ${r.seconds.toFixed(2)} s: ${(100 / r.seconds).toFixed(1)} images/s including start-up,` +
      ` ${(100 / (r.seconds - r.startup)).toFixed(1)} images/s after the ${r.startup.toFixed(2)} s start-up (loading the ${weightsMB.toFixed(0)} MB model)`);
    console.log(`  peak RSS: ${r.maxRssMB.toFixed(0)} MB (weights ${weightsMB.toFixed(0)} MB; weights + 300 MB = ${(weightsMB + 300).toFixed(0)} MB)`);
    // The same work stage by stage, in a child of its own (after the row, so that its peak RSS is not the row's).
    const st = spawnSync(process.execPath, [path.join(__dirname, 'demo-stages.js'), dir, mean], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    if (st.status !== 0) throw new Error(`stage child failed (exit ${st.status})`);
    const stages = (JSON.parse(st.stdout) as StageTimes).stages;
    console.log(`  the same work one stage at a time (ten images at a time), wall / CPU of all threads, ms per image:`);
    let cpuSum = 0;
    for (const [name, [wall, cpu]] of Object.entries(stages)) {
      const perRun = name.includes('per run');
      if (!perRun) cpuSum += cpu;
      console.log(`    ${name.padEnd(32)}${wall.toFixed(1).padStart(8)} /${cpu.toFixed(1).padStart(7)}${perRun ? ' ms' : ''}`);
    }
    const cores = os.cpus().length;
    console.log(`    CPU per image, all stages: ${cpuSum.toFixed(1)} ms; on ${cores} cores at best ${(cpuSum / cores).toFixed(1)} ms = ${(1000 / (cpuSum / cores)).toFixed(1)} images/s after start-up`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
