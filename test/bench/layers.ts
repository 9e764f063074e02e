/**
 * `npm run bench:layers`: where the time goes, layer by layer, on the CaffeNet-architecture
 * net at batch 10. A child process runs forward, forward + ε, forward + αβ and forward +
 * gradient with CAFFE_LRP_PROFILE set and reports every layer's wall time; each layer's
 * median is printed beside its ideal: the layer's products at the sgemm rate measured in
 * the same run (convolutions; ε and the gradient make one product per layer, αβ three), and
 * for the fully connected layers at small batches the time their weights take to stream at
 * the memory bandwidth measured in the same run (one pass; αβ two).
 *
 * `npm run bench:callgrind [-- <layer> [forward|epsilon|alphabeta|gradient]]`: instructions
 * instead of seconds, for one layer at a time (a net of that layer alone, batch 1, one
 * thread, under valgrind's callgrind, counting only inside the layer's own pass). The counts
 * are the same from run to run whatever else the machine does, so a change to a kernel can
 * be judged on a busy machine.
 */
import { spawnSync } from 'child_process';
import * as path from 'path';
import type { NetSpec } from '../../lib/caffe/netspec-types';

type Mode = 'forward' | 'epsilon' | 'alphabeta' | 'gradient';
const MODES: Mode[] = ['forward', 'epsilon', 'alphabeta', 'gradient'];
const BATCH = 10;
const REPEATS = 7;

function optionsFor(mode: Mode, batch: number): Record<string, unknown> {
  const targets = Array(batch).fill('top1');
  switch (mode) {
    case 'epsilon': return { relpropformulatype: 0, epsstab: 1, lastlayerindex: -2, targets };
    case 'alphabeta': return { relpropformulatype: 2, alphabeta_beta: 1, lastlayerindex: -2, targets };
    default: return { relpropformulatype: 11, lastlayerindex: -2, targets };
  }
}

/** Child: runs `mode` REPEATS times after a warm-up; the engine prints the layer times on stderr. */
async function child(mode: Mode): Promise<void> {
  const { Net } = await import('../../lib/net');
  const { benchInput, caffenetSpec } = await import('./caffenet-spec');
  const net = new Net(caffenetSpec(BATCH));
  const x = benchInput(BATCH);
  const run = () => (mode === 'forward' ? net.forward(x) : net.explain(x, optionsFor(mode, BATCH)));
  await run();
  process.stderr.write('--- timed calls ---\n');
  const totals: number[] = [];
  for (let i = 0; i < REPEATS; ++i) {
    const t0 = process.hrtime.bigint();
    await run();
    totals.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  process.stdout.write(JSON.stringify({ totals }));
  await net.dispose();
}

interface LayerCost { name: string; type: string; flops: number; weightBytes: number }

/** Products (2 x multiply-adds) and weight bytes per layer of one image, from the spec and the net's shapes. */
function layerCosts(spec: NetSpec, shapes: Map<string, number[]>): LayerCost[] {
  return spec.layers.map((l) => {
    const w = l.blobs?.[0];
    const top = shapes.get(l.name) ?? [];
    const wCount = w ? w.shape.reduce((a, b) => a * b, 1) : 0;
    if (l.type === 'Convolution' && w && top.length === 4) return { name: l.name, type: l.type, flops: 2 * wCount * top[2] * top[3], weightBytes: 4 * wCount };
    if (l.type === 'InnerProduct' && w) return { name: l.name, type: l.type, flops: 2 * wCount, weightBytes: 4 * wCount };
    return { name: l.name, type: l.type, flops: 0, weightBytes: 0 };
  });
}

function median(v: number[]): number {
  const s = [...v].sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)] : NaN;
}

/** Per-layer wall times of the timed calls: pass ('forward', 'relevance', 'gradient') + layer -> ms list. */
function parseProfile(stderr: string): Map<string, number[]> {
  const out = new Map<string, number[]>();
  const timed = stderr.split('--- timed calls ---\n')[1] ?? '';
  for (const line of timed.split('\n')) {
    const m = line.match(/^(\S+)\s+(\S+)\s+(\S+)\s+wall\s+([\d.]+) ms/);
    if (!m) continue;
    const key = `${m[1]} ${m[2]}`;
    const list = out.get(key) ?? [];
    list.push(Number(m[4]));
    out.set(key, list);
  }
  return out;
}

async function layersTable(): Promise<void> {
  const { loadNative } = await import('../../lib/native');
  const { Net } = await import('../../lib/net');
  const { caffenetSpec } = await import('./caffenet-spec');
  const native = loadNative();
  // The machine is shared: the rates are probed before and after the timed runs, and the
  // better of the two is the ideal's basis (a busy moment lowers a probe, never raises it).
  const probe = () => ({ sgemm: native.sgemmGflops(2048, 5), bandwidth: native.readBandwidthGBps(256, 5) });
  const before = probe();
  const blas = native.blasInfo();
  const spec = caffenetSpec(BATCH);
  const shapeNet = new Net(spec);
  const shapes = new Map(shapeNet.layers.map((l) => [l.name, l.outputShapes[0]] as [string, number[]]));
  await shapeNet.dispose();
  const costs = layerCosts(spec, shapes);
  const measured = new Map<Mode, { layers: Map<string, number[]>; totals: number[] }>();
  for (const mode of MODES) {
    const r = spawnSync(process.execPath, [__filename, '--child', mode], {
      env: { ...process.env, CAFFE_LRP_PROFILE: '1' }, encoding: 'utf8', maxBuffer: 1 << 26,
    });
    if (r.status !== 0) throw new Error(`child ${mode} failed: ${r.stderr.slice(-2000)}`);
    measured.set(mode, { layers: parseProfile(r.stderr), totals: (JSON.parse(r.stdout) as { totals: number[] }).totals });
  }
  const after = probe();
  const sgemm = Math.max(before.sgemm, after.sgemm), bandwidth = Math.max(before.bandwidth, after.bandwidth);
  console.log(`OpenBLAS ${blas.coreName} kernels, ${blas.threads} threads; fully connected kernels: ${blas.skinnyKernels}`);
  console.log(`sgemm rate ${before.sgemm.toFixed(1)} / ${after.sgemm.toFixed(1)} GFLOP/s, memory read bandwidth ${before.bandwidth.toFixed(1)} / ` +
    `${after.bandwidth.toFixed(1)} GB/s (before / after the timed runs; the better one is the ideal's basis)\n`);
  // ideal ms per batch for one product (or one pass over the weights) of a layer
  const ideal = (c: LayerCost, products: number, weightPasses: number): number => {
    const compute = (products * c.flops * BATCH) / (sgemm * 1e9) * 1e3;
    const stream = c.type === 'InnerProduct' && BATCH <= 16 ? (weightPasses * c.weightBytes) / (bandwidth * 1e9) * 1e3 : 0;
    return Math.max(compute, stream);
  };
  const cell = (ms: number | undefined, best: number): string =>
    ms === undefined ? ''.padStart(22) : `${ms.toFixed(2).padStart(8)}${best > 0 ? ` (${(ms / best).toFixed(1)}x)`.padStart(9) : ''.padStart(9)}     `;
  console.log(`batch ${BATCH}, ms per batch: median of ${REPEATS} calls (ratio to the ideal)`);
  console.log(`${'layer'.padEnd(8)}${'forward'.padStart(22)}${'ε relevance'.padStart(22)}${'αβ relevance'.padStart(22)}${'gradient'.padStart(22)}   ideal fwd`);
  const sums: Record<string, number> = {};
  const add = (k: string, v: number | undefined) => { if (v !== undefined) sums[k] = (sums[k] ?? 0) + v; };
  for (const c of costs) {
    const get = (mode: Mode, pass: string) => { const v = measured.get(mode)?.layers.get(`${pass} ${c.name}`); return v ? median(v) : undefined; };
    const fwd = get('forward', 'forward'), eps = get('epsilon', 'relevance'), ab = get('alphabeta', 'relevance'), grad = get('gradient', 'gradient');
    add('fwd', fwd); add('eps', eps); add('ab', ab); add('grad', grad);
    const i1 = ideal(c, 1, 1), i3 = ideal(c, 3, 2);
    console.log(`${c.name.padEnd(8)}${cell(fwd, i1)}${cell(eps, i1)}${cell(ab, i3)}${cell(grad, i1)}${c.flops ? i1.toFixed(2).padStart(9) : ''}`);
  }
  console.log(`${'sum'.padEnd(8)}${cell(sums.fwd, 0)}${cell(sums.eps, 0)}${cell(sums.ab, 0)}${cell(sums.grad, 0)}`);
  const whole = (mode: Mode) => median(measured.get(mode)?.totals ?? []);
  console.log(`whole calls (forward + backward, incl. the API): forward ${whole('forward').toFixed(1)}, ε ${whole('epsilon').toFixed(1)}, ` +
    `αβ ${whole('alphabeta').toFixed(1)}, gradient ${whole('gradient').toFixed(1)} ms per batch`);
  const fwdIdeal = costs.reduce((s, c) => s + ideal(c, 1, 1), 0);
  console.log(`ideal forward (products at the sgemm rate, fc weights at the bandwidth): ${fwdIdeal.toFixed(1)} ms per batch`);
}

/** One layer alone (its input shape from the full net), for callgrind. */
async function singleLayerSpec(name: string): Promise<NetSpec> {
  const { Net } = await import('../../lib/net');
  const { caffenetSpec } = await import('./caffenet-spec');
  const spec = caffenetSpec(1);
  const layer = spec.layers.find((l) => l.name === name);
  if (!layer) throw new Error(`no layer '${name}' (layers: ${spec.layers.map((l) => l.name).join(', ')})`);
  const net = new Net(spec);
  const producer = net.layers.find((l) => l.tops.includes(layer.bottoms[0]));
  const shape = producer ? producer.outputShapes[producer.tops.indexOf(layer.bottoms[0])] : spec.inputs[0].shape;
  await net.dispose();
  return { name: `${name} alone`, inputs: [{ name: layer.bottoms[0], shape }], layers: [{ ...layer }] };
}

async function callgrindChild(name: string, mode: Mode): Promise<void> {
  const { Net } = await import('../../lib/net');
  const spec = await singleLayerSpec(name);
  const net = new Net(spec);
  const n = spec.inputs[0].shape.reduce((a, b) => a * b, 1);
  const x = new Float32Array(n);
  for (let i = 0; i < n; ++i) x[i] = Math.abs(Math.sin(i * 12.9898)) * (spec.layers[0].name === 'conv1' ? 100 : 1) - (spec.layers[0].name === 'conv1' ? 50 : 0);
  if (mode === 'forward') await net.forward(x);
  else await net.explain(x, { ...optionsFor(mode, 1), lastlayerindex: 0, targets: [[0]] });
  await net.dispose();
}

function callgrind(args: string[]): void {
  const layers = args[0] ? [args[0]] : ['conv1', 'conv2', 'fc6'];
  const modes: Mode[] = args[1] ? [args[1] as Mode] : ['forward', 'epsilon', 'alphabeta'];
  for (const m of modes) if (!MODES.includes(m)) throw new Error(`mode '${m}': one of ${MODES.join(', ')}`);
  console.log('instructions (callgrind Ir) inside each layer\'s own pass, batch 1, one thread, OPENBLAS_CORETYPE=Haswell');
  console.log('(valgrind hides AVX-512, so the AVX2 paths run)');
  for (const layer of layers)
    for (const mode of modes) {
      const pass = mode === 'forward' ? 'Forward' : mode === 'gradient' ? 'BackwardGradient' : 'BackwardRelevance';
      const r = spawnSync('valgrind', ['--tool=callgrind', '--callgrind-out-file=/dev/null', `--toggle-collect=caffe_lrp::*Layer::${pass}(*`,
        process.execPath, __filename, '--callgrind-child', layer, mode], {
        env: { ...process.env, OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1', OPENBLAS_CORETYPE: 'Haswell' }, encoding: 'utf8', maxBuffer: 1 << 26,
      });
      if (r.error) throw new Error(`valgrind could not start: ${r.error.message} (install it: apt-get install valgrind)`);
      const m = r.stderr.match(/Collected\s*:\s*(\d+)/) ?? r.stderr.match(/I\s+refs:\s*([\d,]+)/);
      if (r.status !== 0 || !m) throw new Error(`callgrind ${layer} ${mode} failed: ${r.stderr.slice(-2000)}`);
      console.log(`${layer.padEnd(8)}${mode.padEnd(11)}${Number(m[1].replace(/,/g, '')).toLocaleString('en-US').padStart(18)} instructions`);
    }
}

const argv = process.argv.slice(2);
const job = argv[0] === '--child' ? child(argv[1] as Mode)
  : argv[0] === '--callgrind-child' ? callgrindChild(argv[1], argv[2] as Mode)
  : argv[0] === '--callgrind' ? Promise.resolve(callgrind(argv.slice(1)))
  : layersTable();
job.catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
