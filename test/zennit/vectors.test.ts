/**
 * Zennit's rules and composites against ../shared/vectors/onnx (relevance computed by
 * Zennit 0.5.1 in float64 on the PyTorch models, independently of caffe-lrp): every case
 * matches per image within relative L2 <= max(1e-4, 3 x that image's float32-vs-float64
 * spread); where the case has relevance_exactbn.npy (BatchNorm merged exactly, as the ONNX
 * exporter already folded it into the convolutions) that file is the reference. The
 * residual Adds (lowered to Eltwise SUM) get Norm from the composites' base map.
 */
import * as fs from 'fs';
import { Net, type RelPropOptions } from '../../lib';
import { npyToFloat32, readNpy } from '../../lib/io/npy';
import { describeShared, sharedPath } from '../helpers/shared-data';

const VEC = 'vectors/onnx';

interface Meta {
  model: string;
  targets: number[];
  composite: { name: string; params: Record<string, unknown>; extra_layer_map: unknown[] };
  relevance_f32_vs_f64_rel_l2: number[];
}

/** The options that give a case's composite (its meta.json: name and parameters). */
export function optionsFor(meta: Meta): RelPropOptions {
  const p = meta.composite.params;
  const num = (k: string) => (typeof p[k] === 'number' ? (p[k] as number) : undefined);
  switch (meta.composite.name) {
    case 'Epsilon': return { rule: 'zennit:Epsilon', epsilon: num('epsilon') ?? 0.25 };
    case 'AlphaBeta1-0': return { rule: 'zennit:AlphaBeta', alpha: 1 };
    case 'WSquare': return { rule: 'zennit:WSquare' };
    case 'EpsilonGammaBox': {
      const low = p.low as number[] | number, high = p.high as number[] | number;
      return { composite: 'EpsilonGammaBox', low, high, gamma: num('gamma'), epsilon: num('epsilon'), stabilizer: num('stabilizer') };
    }
    default: return { composite: meta.composite.name as RelPropOptions['composite'], epsilon: num('epsilon'), stabilizer: num('stabilizer') };
  }
}

function relL2(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0, n = 0;
  for (let i = 0; i < a.length; i++) { d += (a[i] - b[i]) ** 2; n += b[i] ** 2; }
  return Math.sqrt(d / n);
}

const CASES = fs.existsSync(sharedPath(VEC)) ? fs.readdirSync(sharedPath(VEC)).filter((c) => fs.existsSync(sharedPath(VEC, c, 'relevance.npy'))) : [];

describeShared('Zennit rules and composites against Zennit 0.5.1 (float64 references)', [VEC, 'models/onnx'], () => {
  for (const name of CASES) {
    it(name, async () => {
      const dir = sharedPath(VEC, name);
      const meta = JSON.parse(fs.readFileSync(`${dir}/meta.json`, 'utf8')) as Meta;
      const net = await Net.load({ onnx: sharedPath('vectors', meta.model) });
      const input = readNpy(`${dir}/input.npy`);
      const refFile = fs.existsSync(`${dir}/relevance_exactbn.npy`) ? 'relevance_exactbn.npy' : 'relevance.npy';
      const ref = npyToFloat32(readNpy(`${dir}/${refFile}`));
      const per = input.shape.slice(1).reduce((a, b) => a * b, 1);
      const images = npyToFloat32(input);
      const out = await net.explain(images, { ...optionsFor(meta), targets: meta.targets.map((t) => [t]) });
      out.heatmaps.forEach((h, i) => {
        const err = relL2(h.data, ref.subarray(i * per, (i + 1) * per));
        const tol = Math.max(1e-4, 3 * meta.relevance_f32_vs_f64_rel_l2[i]);
        if (err > tol) throw new Error(`${name} image ${i}: relative L2 ${err.toExponential(3)} > ${tol.toExponential(3)}`);
      });
      net.dispose();
    }, 120000);
  }
});
