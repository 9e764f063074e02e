/**
 * `npm run bench:prebuilt`: the prebuilt engine (prebuilds/linux-x64, static OpenBLAS)
 * against the source build (build-cmake, system OpenBLAS) in the same run, alternating
 * child processes A B A B so that the shared machine's load falls on both alike. Each child
 * measures the sgemm rate of its own OpenBLAS and the CaffeNet-architecture net at batch 10
 * (forward, forward + epsilon; median of 7 calls) and prints the ratio to its sgemm time.
 */
import * as fs from 'fs';
import * as path from 'path';
import { spawnSync } from 'child_process';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const BUILDS: [string, string][] = [
  ['source build (build-cmake, system OpenBLAS)', path.join(ROOT, 'build-cmake', 'Release', 'caffe_lrp.node')],
  ['prebuilt (prebuilds/linux-x64, static OpenBLAS)', path.join(ROOT, 'prebuilds', 'linux-x64', 'caffe-lrp.glibc.node')],
];

async function child(): Promise<void> {
  const { loadNative } = await import('../../lib/native');
  const { Net } = await import('../../lib/net');
  const { benchInput, caffenetForwardFlops, caffenetSpec } = await import('./caffenet-spec');
  const native = loadNative();
  const gflops = native.sgemmGflops();
  const net = new Net(caffenetSpec(10));
  const x = benchInput(10);
  const median = async (fn: () => Promise<unknown>): Promise<number> => {
    await fn();
    const t: number[] = [];
    for (let i = 0; i < 7; i++) {
      const t0 = process.hrtime.bigint();
      await fn();
      t.push(Number(process.hrtime.bigint() - t0) / 1e6 / 10);
    }
    return t.sort((a, b) => a - b)[3];
  };
  const sgemmMs = (caffenetForwardFlops() / 1e9 / gflops) * 1e3;
  const fwd = await median(() => net.forward(x));
  const eps = await median(() => net.explain(x, { relpropformulatype: 0, epsstab: 1, lastlayerindex: -2, targets: Array(10).fill('top1') }));
  const blas = native.blasInfo();
  console.log(JSON.stringify({ gflops, fwd, eps, fwdRatio: fwd / sgemmMs, epsRatio: eps / sgemmMs, core: blas.coreName, simd: blas.skinnyKernels }));
  await net.dispose();
}

function main(): void {
  for (const [, file] of BUILDS) if (!fs.existsSync(file)) throw new Error(`${file} is missing: run npm run setup and npm run build:prebuilt first`);
  console.log('batch 10, ms/image (median of 7 calls) and ratio to the sgemm time of the forward FLOPs, same run, alternating');
  for (let round = 1; round <= 2; round++) {
    for (const [label, file] of BUILDS) {
      const r = spawnSync(process.execPath, [__filename, '--child'], { env: { ...process.env, CAFFE_LRP_NATIVE: file }, encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`${label}: ${r.stderr}`);
      const m = JSON.parse(r.stdout.trim().split('\n').pop()!);
      console.log(`round ${round} ${label.padEnd(48)} sgemm ${m.gflops.toFixed(0)} GFLOP/s (${m.core}, ${m.simd})  ` +
        `forward ${m.fwd.toFixed(1)} ms (${m.fwdRatio.toFixed(2)}x)  forward+eps ${m.eps.toFixed(1)} ms (${m.epsRatio.toFixed(2)}x)`);
    }
  }
}

if (process.argv.includes('--child')) {
  child().catch((e) => {
    console.error(e);
    process.exit(1);
  });
} else {
  main();
}
