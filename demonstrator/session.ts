/**
 * Start-up of a demonstrator run (behaviour spec §5.5, contract §2): the net, the mean and
 * the relevance options, checked once against each other before any image is touched, so
 * that everything that would fail for every image is a start-up error (exit status 1)
 * naming the config key and line, not a stream of per-image failures.
 */
import { CaffeLrpError, type CaffeLrpErrorCode } from '../lib/errors';
import { checkAllocation } from '../lib/memory-budget';
import { MAX_BASE_IMG_SIZE, resizedImageBytes } from '../lib/image/settings';
import { Net } from '../lib/net';
import type { NativeLayerInfo } from '../lib/native';
import { resolveOptions, type RelPropOptions } from '../lib/relevance/options';
import { resolveStartLayer, rulesFor, usesGradient } from '../lib/relevance/policy';
import type { ConfigKey, DemoConfig } from './config';
import { type InputMean, loadInputMean, meanLookup } from '../lib/image/mean';

export interface Session {
  config: DemoConfig;
  net: Net;
  mean?: InputMean;
  /** Net input height = width. */
  size: number;
  channels: 1 | 3;
  /** Long side after resizing (config baseimgsize, default the input size). */
  baseImgSize: number;
  /** Images per forward pass. */
  batchSize: number;
  /** Scores per image that count as classes (config numclasses, default the net's output size). */
  numClasses: number;
  relOptions: RelPropOptions;
}

export interface SessionOptions {
  config: DemoConfig;
  /** Parallel demo: the prototxt's batch by default; sequential: 1. Config `batchsize` wins. */
  parallel: boolean;
  /** Number of images in the list: a batch larger than that is shrunk (same numbers, less work). */
  images: number;
}

/** Loads and checks everything a run needs; CaffeLrpError (exit status 1) when that fails. */
export async function openSession(opts: SessionOptions): Promise<Session> {
  const { config } = opts;
  const net = await Net.load({ prototxt: config.paramFile, caffemodel: config.modelFile, labels: config.synsetFile });
  try {
    const batch = config.batchSize ?? (opts.parallel ? undefined : 1);
    if (batch !== undefined) {
      try {
        await net.reshape(batch);
      } catch (e) {
        // e.g. batchsize 1e9: the key and its line, not the prototxt and reshape()
        if (e instanceof CaffeLrpError && config.batchSize !== undefined) throw keyError(config, 'batchsize', e.message.replace(/^.*?reshape to batch \d+: (reshape\(batch\): )?/, ''), e.code);
        throw e;
      }
    }
    return await check(net, opts);
  } catch (e) {
    await net.dispose();
    throw e;
  }
}

async function check(net: Net, opts: SessionOptions): Promise<Session> {
  const { config } = opts;
  const shape = net.inputShape;
  const where = { file: config.paramFile };
  if (shape.length !== 4) throw new CaffeLrpError('SHAPE', `the net input has shape ${shape.join('x')}; the demonstrators need N x C x H x W`, where);
  const [, c, h, w] = shape;
  if (h !== w) throw new CaffeLrpError('SHAPE', `the net input is ${h}x${w}; the demonstrators need a square input (height = width)`, where);
  if (c !== 1 && c !== 3) throw new CaffeLrpError('UNSUPPORTED', `the net input has ${c} channels; the demonstrators handle 3 (colour) or 1 (grey)`, where);
  const base = config.baseImgSize ?? h;
  if (base < h) throw keyError(config, 'baseimgsize', `${base} is smaller than the net input size ${h}; it must be >= ${h}`);
  if (base > MAX_BASE_IMG_SIZE) throw keyError(config, 'baseimgsize', `${base} is larger than the ${MAX_BASE_IMG_SIZE} pixels an image side may have`);
  try {
    checkAllocation(resizedImageBytes(base), `resizing images to ${base} pixels`);
  } catch (e) {
    throw keyError(config, 'baseimgsize', (e as Error).message, 'MEMORY');
  }

  let mean: InputMean | undefined;
  if (config.meanFile !== undefined) {
    mean = loadInputMean(config.meanFile, config.meanMode);
    meanLookup(mean, c, h, config.compat); // throws when the mean does not fit the input
  }

  const netClasses = net.numClasses;
  if (config.numClasses !== undefined && config.numClasses > netClasses) {
    throw keyError(config, 'numclasses', `${config.numClasses} is more than the ${netClasses} values per image of the net's output '${net.scoresBlob}'`);
  }
  const numClasses = config.numClasses ?? netClasses;

  const relOptions: RelPropOptions = config.zennit ? {
    composite: config.zennit.composite as RelPropOptions['composite'],
    low: config.zennit.low,
    high: config.zennit.high,
    gamma: config.zennit.gamma,
    epsilon: config.zennit.epsilon,
    stabilizer: config.zennit.stabilizer,
    canonize: config.zennit.canonize,
    lastlayerindex: config.lastLayerIndex,
    firstlayerindex: config.firstLayerIndex,
    numclasses: config.numClasses,
  } : {
    relpropformulatype: config.relpropFormulaType,
    epsstab: config.epsstab,
    alphabeta_beta: config.alphabetaBeta,
    lastlayerindex: config.lastLayerIndex,
    firstlayerindex: config.firstLayerIndex,
    numclasses: config.numClasses,
    auxiliaryvariable_maxlayerindexforflatdistinconv: config.auxLayerIndex,
    codeexectype: config.codeExecType,
    lrn_backward_type: config.lrnBackwardType,
    maxpoolingtoavgpoolinginbackwardpass: config.maxPoolToAvgPool,
    biastreatmenttype: config.biasTreatmentType,
    compat: config.compat,
  };
  dryCheck(net, relOptions, config);

  let batchSize = net.batchSize;
  if (opts.images > 0 && batchSize > opts.images) {
    await net.reshape(opts.images);
    batchSize = opts.images;
  }
  return { config, net, mean, size: h, channels: c, baseImgSize: base, batchSize, numClasses, relOptions };
}

/** The option checks a relevance pass would make, done once up front. */
function dryCheck(net: Net, relOptions: RelPropOptions, config: DemoConfig): void {
  try {
    const o = resolveOptions(relOptions);
    const layers: NativeLayerInfo[] = net.layers.map((l) => ({ ...l, topShapes: l.outputShapes }));
    const start = resolveStartLayer(layers, o.lastlayerindex);
    if (o.firstlayerindex > start) {
      throw new CaffeLrpError('OPTION', `option 'firstlayerindex': ${o.firstlayerindex} is above the start layer ${start} ('${layers[start].name}')`);
    }
    if (!usesGradient(o.formulaType)) rulesFor(layers, o);
  } catch (e) {
    if (!(e instanceof CaffeLrpError)) throw e;
    const m = /option '([a-z_]+)'/.exec(e.message);
    const key = m?.[1] as ConfigKey | undefined;
    if (key !== undefined && config.lines[key] !== undefined) throw keyError(config, key, e.message.replace(/^option '[a-z_]+': /, ''));
    throw new CaffeLrpError(e.code, e.message, { file: config.file });
  }
}

function keyError(config: DemoConfig, key: ConfigKey, why: string, code: CaffeLrpErrorCode = 'OPTION'): CaffeLrpError {
  const line = config.lines[key];
  const at = line === undefined ? `'${key}' (default)` : `'${key}' (line ${line})`;
  return new CaffeLrpError(code, `${at}: ${why}`, { file: config.file, line: line === undefined ? undefined : line + 1 });
}
