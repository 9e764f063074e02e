/**
 * Bench rows for ONNX models (../shared/models/onnx): ResNet-18 and MobileNetV2 at 224x224,
 * batch 1 and 10 — forward, forward + ε (type 0), forward + αβ (type 2) — with the same
 * columns as the CaffeNet table (ms/image median / best, GFLOP/s of the forward pass, time
 * relative to the forward FLOPs at this run's sgemm rate). Skipped, saying so, without the
 * shared models.
 */
import * as fs from 'fs';
import * as path from 'path';
import { Net } from '../../lib/net';
import type { NetSpec } from '../../lib/caffe/netspec-types';

type Timer = (repeats: number, fn: () => Promise<unknown>) => Promise<{ median: number; best: number }>;

/** Multiply-add FLOPs (x2) of the convolutions and dense layers of one image. */
export function forwardFlops(spec: NetSpec): number {
  let flops = 0;
  for (const l of spec.layers) {
    const out = l.topShapes?.[0];
    if (!out || !l.blobs.length) continue;
    const w = l.blobs[0].shape;
    const perImageOut = out.slice(1).reduce((a, b) => a * b, 1);
    if (l.type === 'Convolution') flops += 2 * perImageOut * w.slice(1).reduce((a, b) => a * b, 1);
    else if (l.type === 'InnerProduct') flops += 2 * w[0] * w[1];
  }
  return flops;
}

function sharedRoot(): string | undefined {
  const candidates = [process.env.CAFFE_LRP_SHARED, path.resolve(__dirname, '..', '..', '..', '..', 'shared'), path.resolve(__dirname, '..', '..', '..', 'shared')];
  return candidates.find((c): c is string => c !== undefined && fs.existsSync(path.join(c, 'models', 'onnx')));
}

export async function onnxRows(sgemmGflops: number, timeIt: Timer, repeats: (batch: number) => number): Promise<void> {
  const root = sharedRoot();
  if (!root) {
    console.log('\nONNX rows skipped: ../shared/models/onnx is not available');
    return;
  }
  for (const [name, file] of [['ResNet-18', 'resnet18/model.onnx'], ['MobileNetV2', 'mobilenet_v2/model.onnx']]) {
    const net = await Net.load({ onnx: path.join(root, 'models', 'onnx', file) });
    // Net.spec has no weights (the engine holds them); the lowering's layer shapes and blob
    // shapes are what the FLOP count needs, so count on a fresh lowering.
    const { loadOnnxNetSpec } = await import('../../lib/onnx');
    const flops = forwardFlops(await loadOnnxNetSpec(path.join(root, 'models', 'onnx', file)));
    const sgemmMs = (flops / (sgemmGflops * 1e9)) * 1e3;
    console.log(`\n${name} (ONNX, 224x224): ${(flops / 1e9).toFixed(2)} GFLOP/image forward; at the sgemm rate ${sgemmMs.toFixed(2)} ms/image`);
    console.log('row                         batch   ms/image (median / best)   GFLOP/s(fwd)   sgemm-time ratio');
    const rows: [string, (x: Float32Array, b: number) => Promise<unknown>][] = [
      ['forward', (x) => net.forward(x)],
      ['forward + epsilon (0)', (x, b) => net.explain(x, { relpropformulatype: 0, epsstab: 1, targets: Array(b).fill('top1') })],
      ['forward + alphabeta (2)', (x, b) => net.explain(x, { relpropformulatype: 2, alphabeta_beta: 1, targets: Array(b).fill('top1') })],
    ];
    // Zennit's composites (semantics 'zennit'), on ResNet-18 at batch 10 only. The bounds are
    // the ImageNet-normalised [0, 1] pixel range, as in the vectors.
    const zennitRows: [string, (x: Float32Array, b: number) => Promise<unknown>][] = name !== 'ResNet-18' ? [] : [
      ['zennit EpsilonGammaBox', (x, b) => net.explain(x, { composite: 'EpsilonGammaBox', low: [-2.1179, -2.0357, -1.8044], high: [2.2489, 2.4286, 2.64], targets: Array(b).fill('top1') })],
      ['zennit EpsilonPlus', (x, b) => net.explain(x, { composite: 'EpsilonPlus', targets: Array(b).fill('top1') })],
    ];
    for (const batch of [1, 10]) {
      await net.reshape(batch);
      const x = Float32Array.from({ length: batch * 3 * 224 * 224 }, (_, i) => Math.sin(i * 0.001));
      for (const [label, fn] of batch === 10 ? [...rows, ...zennitRows] : rows) {
        const t = await timeIt(repeats(batch), () => fn(x, batch));
        const ms = t.median / batch;
        const gflops = label === 'forward' ? ((flops / (ms / 1e3)) / 1e9).toFixed(1) : '';
        console.log(`${label.padEnd(28)}${String(batch).padStart(5)}${`${ms.toFixed(2)} / ${(t.best / batch).toFixed(2)}`.padStart(27)}${gflops.padStart(15)}${(ms / sgemmMs).toFixed(2).padStart(19)}`);
      }
    }
    await net.dispose();
  }
}
