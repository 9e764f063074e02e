/**
 * lrp-toolbox-demo: the LRP Toolbox's MNIST demo flow (its lrp_demo.py / lrp_cnn_demo.py)
 * on this engine. A model in the toolbox's text format, digits from .npy (or a plain-text
 * matrix), heatmaps for the predicted class or a chosen one, each digit and its heatmap
 * rendered side by side into one PNG.
 *
 *   lrp-toolbox-demo --model LeNet-5.txt --images test_images_first1000_uint8.npy \
 *       [--labels labels.npy] [--indices 0,1,2 | --count 5] [--class predicted|N]
 *       [--rule simple|epsilon|alphabeta|flat|ww] [--epsilon E] [--alpha A]
 *       [--layer-rules JSON] [--compat] [--colormap jet] [--scaling 3] [--no-outline]
 *       [--pad N] [--out DIR] [--save-relevance]
 *
 * Digits: rows of 784 values (28 x 28). Pixel values (uint8 data, or any value above 1) are
 * scaled x / 127.5 - 1 as the toolbox does; data already in [-1, 1] is used as given. Models whose first layer is a Convolution get
 * the digits padded by --pad pixels of -1 (default 2: LeNet-5 reads 32 x 32). Exit status 0
 * on success, 1 on a usage or input error.
 */
import * as fs from 'fs';
import * as path from 'path';
import { CaffeLrpError } from '../lib/errors';
import { readNpy, writeNpy } from '../lib/io/npy';
import { readTextMatrix } from '../lib/io/text-matrix';
import { Net } from '../lib/net';
import type { RelPropOptions } from '../lib/relevance/options';
import { nchwToNhwc, nhwcToNchw, readToolboxModel, toolboxToNetSpec } from '../lib/toolbox';
import { padImages, scaleDigits } from '../lib/toolbox/data';
import { COLORMAP_NAMES, digitToRgb, heatmapToRgb, saveImages, type ColormapName } from '../lib/toolbox/render';
import { runToolboxTrainDemo } from './toolbox-train';

interface Out { write(s: string): unknown }

export interface ToolboxDemoOptions {
  cwd?: string;
  stdout?: Out;
  stderr?: Out;
}

const USAGE = `usage: lrp-toolbox-demo --model <model.txt> --images <digits.npy|.txt> [options]

  --model FILE         network in the LRP Toolbox's text format (e.g. LeNet-5.txt)
  --images FILE        digits: .npy or a text matrix, one 28x28 digit (784 values) per row
  --labels FILE        true labels (.npy or text), printed next to the predictions
  --indices I,J,...    which digits (default: the first --count)
  --count N            number of digits from the start (default 5)
  --class C            'predicted' (default) or a class index to explain for every digit
  --rule R             simple (default), epsilon, alphabeta, flat, ww
  --epsilon E          epsilon of the epsilon rule (default 1)
  --alpha A            alpha of the alpha-beta rule, beta = 1 - alpha (default 1)
  --layer-rules JSON   per-layer rules, e.g. '{"conv0":"flat","@last":{"rule":"epsilon","epsilon":0.01}}'
  --compat             reproduce the toolbox's SumPool alpha-beta defect
  --colormap NAME      ${COLORMAP_NAMES.join(', ')} (default jet)
  --scaling N          pixel replication of the images (default 3)
  --no-outline         do not draw the digit's outline on the heatmap
  --pad N              padding of the digits with -1 for convolutional models (default 2)
  --out DIR            output folder (default .): <DIR>/digit<i>_class<c>.png
  --save-relevance     also write <DIR>/relevance.npy (N x H x W x 1, the toolbox's layout)
  --help               this text
  --train ...          train a net on Fashion-MNIST instead (see --train --help)`;

class UsageError extends Error {}

interface Args {
  model?: string; images?: string; labels?: string; indices?: number[]; count: number; target: 'predicted' | number;
  rule: string; epsilon?: number; alpha?: number; layerRules?: RelPropOptions['layerRules']; compat: boolean;
  colormap: ColormapName; scaling: number; outline: boolean; pad: number; out: string; saveRelevance: boolean; help: boolean;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { count: 5, target: 'predicted', rule: 'simple', compat: false, colormap: 'jet', scaling: 3, outline: true, pad: 2, out: '.', saveRelevance: false, help: false };
  const int = (flag: string, v: string | undefined, min: number, max = Number.MAX_SAFE_INTEGER): number => {
    if (v === undefined || !/^\d+$/.test(v) || Number(v) < min || Number(v) > max)
      throw new UsageError(`${flag} needs an integer >= ${min}${max < Number.MAX_SAFE_INTEGER ? ` and <= ${max}` : ''}, got ${v === undefined ? 'nothing' : `'${v}'`}`);
    return Number(v);
  };
  const num = (flag: string, v: string | undefined): number => {
    const x = Number(v);
    if (v === undefined || v.trim() === '' || !Number.isFinite(x)) throw new UsageError(`${flag} needs a number, got ${v === undefined ? 'nothing' : `'${v}'`}`);
    return x;
  };
  for (let i = 0; i < argv.length; ++i) {
    const flag = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) throw new UsageError(`${flag} needs a value`);
      return argv[++i];
    };
    switch (flag) {
      case '--model': a.model = value(); break;
      case '--images': a.images = value(); break;
      case '--labels': a.labels = value(); break;
      case '--indices': a.indices = value().split(',').map((s) => int('--indices', s.trim(), 0)); break;
      case '--count': a.count = int(flag, value(), 1); break;
      case '--class': { const v = value(); a.target = v === 'predicted' ? 'predicted' : int(flag, v, 0); break; }
      case '--rule': a.rule = value(); break;
      case '--epsilon': a.epsilon = num(flag, value()); break;
      case '--alpha': a.alpha = num(flag, value()); break;
      case '--layer-rules': {
        const v = value();
        try { a.layerRules = JSON.parse(v); } catch (e) { throw new UsageError(`--layer-rules: not valid JSON: ${(e as Error).message}`); }
        break;
      }
      case '--compat': a.compat = true; break;
      case '--colormap': {
        const v = value();
        if (!(COLORMAP_NAMES as readonly string[]).includes(v)) throw new UsageError(`--colormap: unknown map '${v}' (known: ${COLORMAP_NAMES.join(', ')})`);
        a.colormap = v as ColormapName;
        break;
      }
      // a 32x32 digit at scaling 64 is already 2048 pixels a side per panel
      case '--scaling': a.scaling = int(flag, value(), 1, 64); break;
      case '--no-outline': a.outline = false; break;
      case '--pad': a.pad = int(flag, value(), 0); break;
      case '--out': a.out = value(); break;
      case '--save-relevance': a.saveRelevance = true; break;
      case '--help': case '-h': a.help = true; break;
      default: throw new UsageError(`unknown argument '${flag}'`);
    }
  }
  if (!a.help && (!a.model || !a.images)) throw new UsageError('--model and --images are required');
  return a;
}

async function readMatrix(file: string): Promise<{ shape: number[]; data: ArrayLike<number>; uint8: boolean }> {
  if (file.toLowerCase().endsWith('.npy')) {
    const n = readNpy(file);
    return { shape: n.shape, data: n.data, uint8: n.data instanceof Uint8Array };
  }
  const m = await readTextMatrix(file);
  return { shape: m.shape, data: m.data, uint8: false };
}

/** Runs the demo; resolves to the exit status. */
export async function runToolboxDemo(argv: string[], options: ToolboxDemoOptions = {}): Promise<number> {
  const stdout = options.stdout ?? process.stdout;
  const stderr = options.stderr ?? process.stderr;
  const cwd = options.cwd ?? process.cwd();
  // Training mode (demonstrator/toolbox-train.ts): `--train` or a leading `train`.
  if (argv[0] === 'train' || argv.includes('--train'))
    return runToolboxTrainDemo(argv[0] === 'train' ? argv.slice(1) : argv, { cwd, stdout, stderr, explain: (a) => runToolboxDemo(a, options) });
  let args: Args;
  try {
    args = parseArgs(argv);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    stderr.write(`lrp-toolbox-demo: ${e.message}\n${USAGE}\n`);
    return 1;
  }
  if (args.help) {
    stdout.write(`${USAGE}\n`);
    return 0;
  }
  const at = (p: string) => path.resolve(cwd, p);
  try {
    const model = await readToolboxModel(at(args.model as string));
    const images = await readMatrix(at(args.images as string));
    const rows = images.shape[0];
    const per = images.shape.slice(1).reduce((x, y) => x * y, 1);
    if (per !== 784) throw new CaffeLrpError('SHAPE', `expected digits of 28x28 = 784 values per row, the file has ${images.shape.join('x')}`, { file: args.images });
    const indices = args.indices ?? Array.from({ length: Math.min(args.count, rows) }, (_, i) => i);
    for (const i of indices) if (i >= rows) throw new CaffeLrpError('OPTION', `digit index ${i} is out of range: the file holds ${rows} digits`, { file: args.images });
    const labels = args.labels ? Array.from((await readMatrix(at(args.labels))).data) : undefined;

    // The toolbox's preprocessing: uint8 -> [-1, 1]; conv models read padded 32 x 32 digits.
    const n = indices.length;
    const raw = new Float32Array(n * 784);
    indices.forEach((idx, k) => {
      for (let p = 0; p < 784; ++p) raw[k * 784 + p] = Number(images.data[idx * 784 + p]);
    });
    const scaled = images.uint8 || raw.some((v) => v > 1) ? scaleDigits(raw) : raw;
    const conv = model.layers[0].type === 'Convolution';
    const { data: nhwc, shape } = conv ? padImages(scaled, [n, 28, 28, 1], args.pad, -1) : { data: scaled, shape: [n, 28, 28, 1] };
    const [, H, W] = shape;
    const spec = toolboxToNetSpec(model, { inputShape: [H, W, 1], batchSize: n });
    const net = new Net(spec);
    try {
      const relOptions: RelPropOptions = { semantics: 'toolbox', rule: args.rule, compat: args.compat };
      if (args.epsilon !== undefined) relOptions.epsstab = args.epsilon;
      if (args.alpha !== undefined) relOptions.alpha = args.alpha;
      if (args.layerRules !== undefined) relOptions.layerRules = args.layerRules;
      const targets = args.target === 'predicted' ? 'top1' : args.target;
      const result = await net.explain(nhwcToNchw(nhwc, shape), { ...relOptions, targets });
      fs.mkdirSync(at(args.out), { recursive: true });
      // The scores: the output below a final SoftMax (the toolbox's demos drop it).
      const last = net.layers.length - 1;
      const scores = net.blob(net.layers[net.layers[last].type === 'Softmax' ? last - 1 : last].tops[0]).data;
      const classes = scores.length / n;
      const all = new Float32Array(n * H * W);
      for (let k = 0; k < n; ++k) {
        const hm = result.heatmaps[k];
        all.set(hm.data, k * H * W);
        const digit = { width: W, height: H, data: nhwc.subarray(k * H * W, (k + 1) * H * W) };
        const cls = result.classes[k][0];
        const file = path.join(at(args.out), `digit${indices[k]}_class${cls}.png`);
        await saveImages([
          digitToRgb(digit, { scaling: args.scaling }),
          heatmapToRgb(hm, { scaling: args.scaling, colormap: args.colormap, outline: args.outline ? digit : undefined }),
        ], file);
        const row = Array.from(scores.subarray(k * classes, (k + 1) * classes));
        const predicted = row.indexOf(Math.max(...row));
        const sum = hm.data.reduce((x, y) => x + y, 0);
        const label = labels ? ` label ${labels[indices[k]]}` : '';
        stdout.write(`digit ${indices[k]}:${label} predicted ${predicted} (score ${row[predicted].toPrecision(6)}), explained class ${cls}, relevance sum ${sum.toPrecision(6)} -> ${file}\n`);
      }
      if (args.saveRelevance) {
        const file = path.join(at(args.out), 'relevance.npy');
        await writeNpy(file, nchwToNhwc(all, [n, 1, H, W]), [n, H, W, 1]);
        stdout.write(`relevance (N x H x W x 1) -> ${file}\n`);
      }
    } finally {
      await net.dispose();
    }
    return 0;
  } catch (e) {
    if (!(e instanceof CaffeLrpError)) throw e;
    stderr.write(`lrp-toolbox-demo: ${e.message}\n`);
    return 1;
  }
}

/** Entry point of the bin shim. */
export async function main(argv = process.argv.slice(2)): Promise<void> {
  process.exitCode = await runToolboxDemo(argv);
}

/** Called by demonstrator/bin/launch.js, like the other commands. */
export function runCommand(_command: string): void {
  main().catch((e) => {
    process.stderr.write(`lrp-toolbox-demo: ${e && (e as Error).stack ? (e as Error).stack : e}\n`);
    process.exit(1);
  });
}
