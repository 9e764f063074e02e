/**
 * The ONNX models of ../shared/models/onnx against the reference vectors of
 * ../shared/vectors/onnx (PyTorch's and onnxruntime's logits, computed without caffe-lrp):
 * within 1e-4 relative (max abs error / max abs value) at batch 1 and batch 4; the three
 * opset variants of the Fashion-MNIST CNN give identical logits and heatmaps; formula types
 * 0, 2, 11, 100 run on every model, keep the input's channel order, and the layers whose
 * rule is an identity (ReLU, Clip, pooling's winner-take-all, Flatten, Split, Concat, ...)
 * pass relevance on exactly.
 */
import * as path from 'path';
import { Net } from '../../lib/net';
import { npyToFloat32, readNpy } from '../../lib/io/npy';
import { describeShared, sharedPath } from '../helpers/shared-data';
import { relErr } from '../helpers/onnx-builder';

const VEC = 'vectors/onnx';

interface ModelCase { name: string; file: string; vector: string }
const MODELS: ModelCase[] = [
  { name: 'fmnist-cnn (opset 13)', file: 'fmnist-cnn/model.onnx', vector: 'fmnist-cnn-epsilon' },
  { name: 'fmnist-cnn (opset 11)', file: 'fmnist-cnn/model-opset11.onnx', vector: 'fmnist-cnn-epsilon-opset11' },
  { name: 'fmnist-cnn (opset 17)', file: 'fmnist-cnn/model-opset17.onnx', vector: 'fmnist-cnn-epsilon-opset17' },
  { name: 'resnet18', file: 'resnet18/model.onnx', vector: 'resnet18-epsilon' },
  { name: 'mobilenet_v2', file: 'mobilenet_v2/model.onnx', vector: 'mobilenet_v2-epsilon' },
  { name: 'squeezenet1_1', file: 'squeezenet1_1/model.onnx', vector: 'squeezenet1_1-epsilon' },
];

const model = (f: string) => sharedPath('models', 'onnx', f);
const vec = (v: string, f: string) => npyToFloat32(readNpy(sharedPath(VEC, v, f)));

function images(v: string): Float32Array[] {
  const npy = readNpy(sharedPath(VEC, v, 'input.npy'));
  const data = npyToFloat32(npy);
  const per = npy.shape.slice(1).reduce((a, b) => a * b, 1);
  return Array.from({ length: npy.shape[0] }, (_, i) => data.slice(i * per, (i + 1) * per));
}

const flat = (xs: Float32Array[]) => {
  const out = new Float32Array(xs.reduce((a, x) => a + x.length, 0));
  xs.reduce((o, x) => { out.set(x, o); return o + x.length; }, 0);
  return out;
};

const IDENTITY_RULE_TYPES = new Set(['ReLU', 'Clip', 'Flatten', 'Split', 'Concat', 'Dropout', 'Reshape']);

describeShared('ONNX models against the reference logits', ['models/onnx', VEC], () => {
  for (const m of MODELS) {
    describe(m.name, () => {
      let net: Net;
      beforeAll(async () => { net = await Net.load({ onnx: model(m.file) }); });
      afterAll(async () => { await net.dispose(); });

      it('logits equal PyTorch and onnxruntime at batch 1 (image by image) and batch 4', async () => {
        const imgs = images(m.vector);
        const torch = vec(m.vector, 'logits.npy');
        const ort = vec(m.vector, 'logits_ort.npy');
        const k = torch.length / imgs.length;
        // batch 1
        await net.reshape(1);
        for (let i = 0; i < imgs.length; i++) {
          const [s] = await net.forward(imgs[i]);
          expect(relErr(s, torch.subarray(i * k, (i + 1) * k))).toBeLessThanOrEqual(1e-4);
          expect(relErr(s, ort.subarray(i * k, (i + 1) * k))).toBeLessThanOrEqual(1e-4);
        }
        // batch 4: the vector's images repeated to fill four slots
        const four = Array.from({ length: 4 }, (_, i) => imgs[i % imgs.length]);
        const scores = await net.forward(four);
        expect(net.batchSize).toBe(4);
        const want = flat(four.map((_, i) => torch.subarray((i % imgs.length) * k, ((i % imgs.length) + 1) * k)));
        expect(relErr(flat(scores), want)).toBeLessThanOrEqual(1e-4);
      }, 120_000);

      it('formula types 0, 2, 11, 100 run; heatmaps keep the input channel order; identity-rule layers conserve', async () => {
        const imgs = images(m.vector).slice(0, 2);
        await net.reshape(imgs.length);
        for (const type of [0, 2, 11, 100]) {
          const opts = { relpropformulatype: type, epsstab: 0.01, alphabeta_beta: 1, conservation: type !== 11 };
          const { heatmaps, conservation, scores } = await net.explain(imgs, { ...opts, targets: 'top1' });
          expect(heatmaps).toHaveLength(imgs.length);
          for (const hm of heatmaps) {
            expect(hm.channelOrder).toBe('input');
            expect([hm.channels, hm.height, hm.width]).toEqual(net.inputShape.slice(1));
            expect(hm.data.every(Number.isFinite)).toBe(true);
            expect(hm.data.some((v) => v !== 0)).toBe(true);
          }
          expect(scores[0].length).toBe(net.numClasses);
          if (type === 11) continue;
          let checked = 0;
          for (const row of conservation!) {
            if (!IDENTITY_RULE_TYPES.has(row.type)) continue;
            row.in.forEach((rin, i) => {
              expect(Math.abs(row.out[i] - rin)).toBeLessThanOrEqual(1e-4 * Math.max(1e-6, Math.abs(rin)) + 1e-6);
            });
            checked++;
          }
          expect(checked).toBeGreaterThan(0);
        }
      }, 300_000);
    });
  }

  it('the three opset variants of the Fashion-MNIST CNN give exactly equal logits and heatmaps', async () => {
    const imgs = images('fmnist-cnn-epsilon');
    const results = [];
    for (const f of ['model.onnx', 'model-opset11.onnx', 'model-opset17.onnx']) {
      const net = await Net.load({ onnx: model(path.join('fmnist-cnn', f)) });
      results.push(await net.explain(imgs, { relpropformulatype: 100, epsstab: 1, alphabeta_beta: 1, targets: 'top1' }));
      await net.dispose();
    }
    for (const r of results.slice(1)) {
      expect(r.scores.map((s) => Array.from(s))).toEqual(results[0].scores.map((s) => Array.from(s)));
      expect(r.heatmaps.map((h) => Array.from(h.data))).toEqual(results[0].heatmaps.map((h) => Array.from(h.data)));
    }
  }, 120_000);

  it('net.layers names each ONNX node and its op type; lastlayerindex -1 starts at the logits when there is no Softmax', async () => {
    const net = await Net.load({ onnx: model('resnet18/model.onnx') });
    try {
      const layers = net.layers;
      expect(layers[0]).toMatchObject({ name: '/conv1/Conv', type: 'Convolution', onnx: { node: '/conv1/Conv', op: 'Conv' } });
      const adds = layers.filter((l) => l.onnx?.op === 'Add');
      expect(adds.length).toBe(8);
      expect(adds.every((l) => l.type === 'Eltwise')).toBe(true);
      const last = layers[layers.length - 1];
      expect(last).toMatchObject({ type: 'InnerProduct', onnx: { op: 'Gemm' } });
      expect(net.numClasses).toBe(1000);
      const x = images('resnet18-epsilon')[0];
      const [scores] = await net.forward(x);
      const top = scores.indexOf(Math.max(...scores));
      // -1 (default) and the explicit index of the Gemm give the same map.
      const a = await net.backwardRelevance([top], { relpropformulatype: 0, epsstab: 0.1 });
      const b = await net.backwardRelevance([top], { relpropformulatype: 0, epsstab: 0.1, lastlayerindex: last.index });
      expect(Array.from(a.data)).toEqual(Array.from(b.data));
    } finally {
      await net.dispose();
    }
  }, 120_000);
});
