/**
 * The Node API: a loaded Caffe net that runs forward passes and explains its decisions.
 * All heavy work runs off the event loop, on the engine's one compute thread (native/
 * engine_thread.h); calls on one Net are queued so that the forward/backward pairs of
 * concurrent callers never interleave, and calls of different Nets take turns. Results are
 * fresh arrays owned by the caller.
 */
import { memoryBudget } from './memory-budget';
import { allFinite, checkBuiltNet, checkInputArray, checkNetSpecObject, nonFiniteForwardError } from './net-checks';
import { CaffeLrpError, type CaffeLrpErrorCode } from './errors';
import { loadNative, type NativeBackwardOptions, type NativeLayerInfo, type NativeNetInstance } from './native';
import type { NetSpec } from './caffe/netspec-types';
import { loadLabels, loadMean, loadNetSpec, readSource, type FileSource } from './caffe';
import type { MeanImage, MeanFormat } from './caffe/mean';
import { channelNorm, toHeatmaps, type Heatmap } from './heatmap';
import { resolveOptions, type RelPropOptions, type ResolvedOptions } from './relevance/options';
import { resolveStartLayer, rulesFor, usesGradient } from './relevance/policy';
import { showValue } from './relevance/show-value';
import { rankClasses as rankLikeOriginal } from './outputs/ranking';
import { readInputFile } from './io/read-file';
import { parseInputMean, type InputMean } from './image/mean';
import { preprocessImage, type ImageSource, type PreprocessOptions } from './image/preprocess';
import { checkPreprocessSettings, preprocessFor, type PreprocessSettings } from './image/settings';
import { isOnnxContent, loadOnnxNetSpec } from './onnx';
import type { OnnxNetSpec, OnnxOrigin } from './onnx/lower';
import { canonize, changesNet, mergeNotes, planCanonize, type CanonizePlan } from './canonize';

export interface LayerInfo {
  index: number;
  name: string;
  type: string;
  bottoms: string[];
  tops: string[];
  /** Shape of each top blob at the current batch size. */
  outputShapes: number[][];
  /** For nets read from ONNX: the node this layer computes (name, op type, node index). */
  onnx?: OnnxOrigin;
  /**
   * Canonization (semantics 'zennit' unless `canonize: false`): the batch norm layers whose
   * per-channel maps are folded into this layer's weights and bias, e.g. ['bn1', 'scale1'].
   */
  merged?: string[];
  /** Canonization: the layer this batch norm is folded into; in the canonized net it is an identity. */
  mergedInto?: string;
}

export interface LayerConservation {
  index: number;
  name: string;
  type: string;
  /** Per image: total relevance entering the layer (its tops) and leaving it (its bottoms). */
  in: number[];
  out: number[];
}

/** What to explain for one image: a class index, the top-1 class, or the top-5 (one composite map). */
export type Target = number | number[] | 'top1' | 'top5';

export interface ExplainOptions extends RelPropOptions {
  /** One target for every image, or one per image. Default 'top1'. */
  targets?: Target | Target[];
}

export interface Explanation {
  scores: Float32Array[];
  heatmaps: Heatmap[];
  /** Classes that were seeded, per image. */
  classes: number[][];
  conservation?: LayerConservation[];
}

export interface RelevanceResult {
  heatmaps: Heatmap[];
  conservation?: LayerConservation[];
}

/** Net-ready input: one Float32Array of N x C x H x W values, or one C x H x W array per image. */
export type NetInput = Float32Array | Float32Array[];
type Input = NetInput;

/** The image the net saw (after resizing and crop/pad, before mean subtraction): 8-bit RGB, height x width x 3. */
export interface AsInputtedImage {
  data: Uint8Array;
  width: number;
  height: number;
  channels: 3;
}

export interface PreprocessedImage {
  /** The net's input for this image: C x H x W, BGR for colour nets, mean subtracted, 0..255 scale. */
  input: Float32Array;
  asInputted: AsInputtedImage;
}

/** One image's explanation from explainImage. */
export interface ImageExplanation extends PreprocessedImage {
  /** The scores blob's values for this image. */
  scores: Float32Array;
  /** The classes that were explained (seeded). */
  classes: number[];
  /** Their names from the labels file (the class index as text when the net has no labels). */
  labels: string[];
  heatmap: Heatmap;
}

export interface LoadOptions {
  /** Network definition: a path, or the file's contents. (An ONNX file given here is read as `onnx`.) */
  prototxt?: FileSource;
  /** Trained weights: a path, or the file's bytes. */
  caffemodel?: FileSource;
  /** An ONNX model (path or bytes) instead of prototxt + caffemodel. */
  onnx?: FileSource;
  /** Mean image (binaryproto or the original's text format), kept as net.mean for preprocessing. */
  mean?: FileSource;
  meanFormat?: MeanFormat;
  /** Class names, one per line (synset_words.txt style accepted), kept as net.labels. */
  labels?: FileSource;
  /** Batch size to use instead of the prototxt's. */
  batchSize?: number;
  /** Input shape replacing the data layer of a train_test prototxt, e.g. [1, 3, 32, 32]. */
  inputShape?: number[];
  /** Output blob whose values are the scores (default: Caffe's first output, by name). */
  scoresBlob?: string;
  /**
   * How images become the net's input in preprocess() / explainImage() (the demonstrator's
   * config keys; same defaults): `{ baseImgSize, meanMode, compat, resampler }`.
   */
  preprocess?: PreprocessSettings;
}

/** The engine marks refusals over the memory budget (and failed allocations) with code 'MEMORY'. */
function engineErrorCode(e: unknown, fallback: CaffeLrpErrorCode): CaffeLrpErrorCode {
  return (e as { code?: unknown }).code === 'MEMORY' ? 'MEMORY' : fallback;
}

/** Specs built by Net.load, whose weight arrays only the engine will hold. */
const specsToBorrow = new WeakSet<NetSpec>();

export class Net {
  private native: NativeNetInstance | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private activeImages = 0;
  private forwardDone = false;
  private lastScores: Float32Array[] = [];
  /** The engine's layer list at the current batch size (reset by reshape). */
  private layerCache: NativeLayerInfo[] | undefined;
  /** Name of the blob whose values are the scores (Caffe's first net output). */
  readonly scoresBlob: string;
  /** Canonization (lib/canonize): what it changes (from the structure), and the canonized twin, built on first use. */
  private readonly canonPlan: CanonizePlan;
  private readonly blobShapes: number[][][];
  private readonly allowNonFinite: boolean;
  private twin: Net | undefined;
  /** The last forward input (copied; kept only when a twin exists or may be built) and which engine has run it. */
  private lastImages: Float32Array[] | undefined;
  private inputVersion = 0;
  private rawSeen = 0;
  private twinSeen = 0;
  /** The engine (this net or its twin) that ran the last forward pass: blob() reads it. */
  private lastEngine: Net = this;

  /** Mean image given to Net.load: subtracted by preprocess()/explainImage() (not by forward(): its inputs are net-ready blobs). */
  mean?: MeanImage;
  /** How preprocess() reads the mean (with its mode and name). */
  private inputMean?: InputMean;
  private preprocessSettings: PreprocessSettings = {};
  /** Class names given to Net.load (`labels`), index = class; empty when none were given. */
  labels: string[] = [];

  /**
   * Loads a Caffe model: prototxt + caffemodel (paths or contents), optional mean and
   * labels. Resolves to a Net ready for forward() and relevance calls.
   */
  static async load(options: LoadOptions): Promise<Net> {
    if (!options || typeof options !== 'object') throw new CaffeLrpError('OPTION', 'Net.load(options): options must be an object');
    const onnx = options.onnx ?? (await onnxGivenAsPrototxt(options));
    if (onnx !== undefined) return Net.loadOnnx(onnx, options);
    if (options.prototxt === undefined || options.caffemodel === undefined)
      throw new CaffeLrpError('OPTION', "Net.load: 'prototxt' and 'caffemodel' (or 'onnx') are required");
    const preprocess = checkPreprocessSettings(options.preprocess);
    const spec = await loadNetSpec({ prototxt: options.prototxt, caffemodel: options.caffemodel, inputShape: options.inputShape });
    // Nobody else holds these weight arrays: the engine may read them in place.
    specsToBorrow.add(spec);
    const net = new Net(spec, { scoresBlob: options.scoresBlob });
    try {
      await net.finishLoad(options, preprocess, spec.source);
    } catch (e) {
      await net.dispose(); // a load error leaves no native memory behind
      throw e;
    }
    return net;
  }

  /** Net.load's steps after the engine has the net: batch size, mean, labels, preprocessing checks. */
  private async finishLoad(options: LoadOptions, preprocess: PreprocessSettings, source: string | undefined): Promise<void> {
    if (options.batchSize !== undefined) await this.reshape(options.batchSize);
    this.preprocessSettings = preprocess;
    if (options.mean !== undefined) {
      const file = typeof options.mean === 'string' ? options.mean : '<mean>';
      if (preprocess.meanMode === undefined && options.meanFormat !== undefined) {
        this.mean = await loadMean(options.mean, { format: options.meanFormat });
        this.inputMean = { image: this.mean, mode: options.meanFormat === 'text' ? 0 : 1, file };
      } else {
        const buf = typeof options.mean === 'string' ? await readInputFile(options.mean, 'the mean file') : await readSource(options.mean, file);
        this.inputMean = parseInputMean(buf, file, preprocess.meanMode);
        this.mean = this.inputMean.image;
      }
    }
    if (options.labels !== undefined) this.labels = await loadLabels(options.labels);
    // Preprocessing that cannot work with this net is a load error: when it was asked for, or
    // when a mean was given for a net that takes square 1- or 3-channel images.
    const [, c, h, w] = this.inputShape;
    const takesImages = this.inputShape.length === 4 && h === w && (c === 1 || c === 3);
    if (options.preprocess !== undefined || (this.inputMean !== undefined && takesImages)) preprocessFor(this.inputShape, preprocess, this.inputMean, source);
  }

  private static async loadOnnx(src: FileSource, options: LoadOptions): Promise<Net> {
    if (options.caffemodel !== undefined && options.onnx !== undefined)
      throw new CaffeLrpError('OPTION', "Net.load: give either 'onnx' or 'prototxt' + 'caffemodel', not both");
    if (options.inputShape !== undefined)
      throw new CaffeLrpError('OPTION', "Net.load: 'inputShape' applies to Caffe prototxts; an ONNX model's input shape comes from its graph");
    const preprocess = checkPreprocessSettings(options.preprocess);
    const spec = await loadOnnxNetSpec(src);
    specsToBorrow.add(spec);
    const net = new Net(spec, { scoresBlob: options.scoresBlob ?? spec.outputs[0] });
    try {
      await net.finishLoad(options, preprocess, spec.source);
    } catch (e) {
      await net.dispose();
      throw e;
    }
    return net;
  }

  /**
   * The net's structure (layers, params, inputs). The learned blobs are left out here: the
   * engine holds the weights.
   */
  readonly spec: NetSpec;

  /**
   * Builds a net from a NetSpec. The weights are copied into native memory, so the caller's
   * arrays may change or be collected afterwards. (Net.load's own arrays, which nobody else
   * holds, are read in place instead: no second copy of a large model.)
   */
  constructor(spec: NetSpec, options: { scoresBlob?: string; allowNonFiniteWeights?: boolean } = {}) {
    checkNetSpecObject(spec);
    const { NativeNet } = loadNative();
    this.spec = { ...spec, layers: spec.layers.map((l) => ({ ...l, blobs: [] })) };
    this.canonPlan = planCanonize(spec);
    this.blobShapes = spec.layers.map((l) => (l.blobs ?? []).map((b) => b.shape));
    this.allowNonFinite = options.allowNonFiniteWeights === true;
    try {
      const budget = memoryBudget();
      this.native = new NativeNet(spec, { borrowWeights: specsToBorrow.delete(spec), memoryBudget: budget.bytes, memoryBudgetSource: budget.source });
    } catch (e) {
      throw new CaffeLrpError(engineErrorCode(e, 'SHAPE'), (e as Error).message, { file: spec.source });
    }
    checkBuiltNet(this.native, spec, options.allowNonFiniteWeights === true);
    // Caffe lists a net's outputs by blob name (it keeps them in a sorted set).
    const outputs = this.native.outputs().map((o) => o.name).sort();
    if (options.scoresBlob !== undefined && !outputs.includes(options.scoresBlob))
      throw new CaffeLrpError('OPTION', `option 'scoresBlob': '${options.scoresBlob}' is not an output of the net (outputs: ${outputs.join(', ')})`);
    this.scoresBlob = options.scoresBlob ?? outputs[0];
  }

  private get live(): NativeNetInstance {
    if (!this.native) throw new CaffeLrpError('STATE', 'this net has been disposed');
    return this.native;
  }

  /** The layers in Caffe's internal order (after automatic Split insertion): the indices lastlayerindex etc. refer to. */
  get layers(): LayerInfo[] {
    const notes = mergeNotes(this.spec, this.canonPlan);
    return this.nativeLayers().map((l) => {
      const origin = (this.spec.layers[l.index] as { onnx?: OnnxOrigin } | undefined)?.onnx;
      const info: LayerInfo = { index: l.index, name: l.name, type: l.type, bottoms: l.bottoms, tops: l.tops, outputShapes: l.topShapes };
      if (origin) info.onnx = { ...origin };
      const note = notes.get(l.index);
      if (note?.merged) info.merged = [...note.merged];
      if (note?.mergedInto) info.mergedInto = note.mergedInto;
      return info;
    });
  }

  /**
   * The net a relevance pass with these options runs on: the canonized twin under semantics
   * 'zennit' (unless `canonize: false`) when canonizing changes the net, else this net. The
   * twin is built once, from this net's structure and the engine's weights, and disposed
   * with this net; its layers are this net's, index for index.
   */
  private engineFor(o: ResolvedOptions): Net {
    if (o.semantics !== 'zennit' || !o.zennit?.canonize || !changesNet(this.canonPlan)) return this;
    if (!this.twin) {
      const live = this.live;
      const withWeights: NetSpec = {
        ...this.spec,
        layers: this.spec.layers.map((l, i) => ({ ...l, blobs: live.learnedBlobs(i).map((data, j) => ({ shape: this.blobShapes[i][j], data })) })),
      };
      const canon = canonize(withWeights, this.canonPlan);
      specsToBorrow.add(canon); // fresh arrays nobody else holds
      const twin = new Net(canon, { scoresBlob: this.scoresBlob, allowNonFiniteWeights: this.allowNonFinite });
      try {
        if (twin.batchSize !== this.batchSize) twin.reshapeNow(this.batchSize);
      } catch (e) {
        twin.native?.dispose();
        throw e;
      }
      this.twin = twin;
    }
    return this.twin;
  }

  /** Runs the forward pass on `engine` (this net or its twin) and remembers the input for the other. */
  private async forwardOn(engine: Net, input: Input): Promise<Float32Array[]> {
    let scores: Float32Array[];
    try {
      scores = await engine.forwardNow(input);
    } catch (e) {
      // A pass that started and failed leaves no usable input on either engine (a relevance
      // call must not explain an older one); a refused input (checked before) leaves all as is.
      if (!engine.forwardDone) {
        this.inputVersion++;
        this.lastImages = undefined;
      }
      throw e;
    }
    this.inputVersion++;
    if (engine === this) this.rawSeen = this.inputVersion;
    else this.twinSeen = this.inputVersion;
    this.lastEngine = engine;
    this.activeImages = engine.activeImages;
    if (changesNet(this.canonPlan)) this.lastImages = Array.isArray(input) ? input.map((a) => a.slice()) : [input.slice()];
    return scores;
  }

  /** Brings `engine` up to the last forward input when the other engine ran it. */
  private async syncEngine(engine: Net): Promise<void> {
    const seen = engine === this ? this.rawSeen : this.twinSeen;
    if (seen === this.inputVersion) return;
    if (!this.lastImages) {
      engine.forwardDone = false; // the last forward pass failed: no input to explain
      return;
    }
    await engine.forwardNow(this.lastImages.length === 1 ? this.lastImages[0] : this.lastImages);
    if (engine === this) this.rawSeen = this.inputVersion;
    else this.twinSeen = this.inputVersion;
  }

  private nativeLayers(): NativeLayerInfo[] {
    const live = this.live; // a disposed net throws, even with a cached list
    if (!this.layerCache) this.layerCache = live.layers();
    return this.layerCache;
  }

  /** Shape of the (first) input blob, N x C x H x W. */
  get inputShape(): number[] {
    return this.live.inputs()[0].shape;
  }

  get batchSize(): number {
    return this.inputShape[0];
  }

  /** Values per image of the scores blob (the number of classes for a classifier). */
  get numClasses(): number {
    const out = this.live.outputs().find((o) => o.name === this.scoresBlob);
    if (!out) throw new CaffeLrpError('STATE', 'the net has no output blob');
    return out.shape.slice(1).reduce((a, b) => a * b, 1);
  }

  /** Serialises calls on this net. */
  private enqueue<T>(task: () => Promise<T>): Promise<T> {
    const run = this.queue.then(task, task);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Changes the batch size (no weights are reloaded). */
  reshape(batch: number): Promise<void> {
    return this.enqueue(async () => this.reshapeNow(batch));
  }

  private reshapeNow(batch: number): void {
    if (!Number.isInteger(batch) || batch < 1) throw new CaffeLrpError('OPTION', `batch size must be a positive integer, got ${showValue(batch)}`);
    const fixed = (this.spec as Partial<OnnxNetSpec>).fixedBatch;
    if (fixed !== undefined && batch !== this.batchSize)
      throw new CaffeLrpError('SHAPE', `this ONNX model only runs at batch size ${this.batchSize}, not ${batch}: ${fixed}`, { file: this.spec.source });
    try {
      this.live.reshape(batch);
    } catch (e) {
      throw new CaffeLrpError(engineErrorCode(e, 'SHAPE'), `reshape to batch ${batch}: ${(e as Error).message}`, { file: this.spec.source });
    }
    this.layerCache = undefined;
    this.forwardDone = false;
    if (this.twin) this.twin.reshapeNow(batch);
  }

  /**
   * Runs the net on N images: one Float32Array of N x C x H x W values, or one C x H x W
   * array per image. A batch larger than the net's grows it; a smaller one leaves the
   * remaining slots zero. Resolves to the scores of each image.
   */
  forward(input: Input): Promise<Float32Array[]> {
    return this.enqueue(() => this.forwardOn(this, input));
  }

  private async forwardNow(input: Input): Promise<Float32Array[]> {
    const [n, ...dims] = this.inputShape;
    const perImage = dims.reduce((a, b) => a * b, 1);
    const images = Array.isArray(input) ? input : splitBatch(checkInputArray(input, 'forward: the input'), perImage);
    if (images.length === 0) throw new CaffeLrpError('OPTION', 'forward: no input images');
    for (let i = 0; i < images.length; i++) {
      // an index loop: forEach would skip the holes of `new Array(3)`
      const img = checkInputArray(images[i], `forward: image ${i}`);
      if (img.length !== perImage)
        throw new CaffeLrpError('SHAPE', `forward: image ${i} has ${img.length} values, the net expects ${dims.join('x')} = ${perImage}`);
    }
    if (this.live.inputs().length !== 1) throw new CaffeLrpError('UNSUPPORTED', 'forward: nets with several inputs are not supported by this call');
    if (images.length > n) this.reshapeNow(images.length);
    const batch = Math.max(n, images.length);
    const blob = new Float32Array(batch * perImage); // unused slots stay zero, never stale
    images.forEach((img, i) => blob.set(img, i * perImage));
    this.forwardDone = false;
    let outputs;
    try {
      outputs = await this.live.forward([blob]); // also rejects NaN/Inf inputs, off the main thread
    } catch (e) {
      throw new CaffeLrpError('OPTION', `forward: ${(e as Error).message}`);
    }
    const scores = outputs.find((o) => o.name === this.scoresBlob) ?? outputs[0];
    if (!allFinite(scores.data)) throw nonFiniteForwardError(this.live, this.nativeLayers(), this.spec.source);
    const per = scores.data.length / batch;
    this.activeImages = images.length;
    this.lastScores = images.map((_, i) => scores.data.slice(i * per, (i + 1) * per));
    this.forwardDone = true;
    return this.lastScores.map((s) => s.slice());
  }

  /** Forward values of a blob after the last forward pass (e.g. the class logits). */
  blob(name: string): { shape: number[]; data: Float32Array } {
    if (typeof name !== 'string') throw new CaffeLrpError('OPTION', `blob(name): name must be a string, got ${typeof name}`);
    const live = this.live; // a disposed net throws
    let b;
    try {
      b = (this.lastEngine === this ? live : this.lastEngine.live).blobData(name);
    } catch (e) {
      const names = [...new Set(this.nativeLayers().flatMap((l) => l.tops))];
      throw new CaffeLrpError('OPTION', `blob('${name}'): ${(e as Error).message} (blobs: ${names.slice(0, 20).join(', ')}${names.length > 20 ? ', ...' : ''})`);
    }
    return { shape: b.shape, data: b.data };
  }

  /**
   * Relevance of one image (image 0 of the last forward pass) for the classes in
   * `classinds` (several classes: one composite map), like the original's
   * Backward_Relevance. Formula types 11/99 use the gradient walk as the original's tools do.
   */
  backwardRelevance(classinds: number[], options: RelPropOptions = {}): Promise<Heatmap> {
    return this.enqueue(async () => (await this.relevanceNow([classinds], options, 1)).heatmaps[0]);
  }

  /** One class list per image of the last forward pass, like Backward_Relevance_multi. */
  backwardRelevanceMulti(classindsPerImage: number[][], options: RelPropOptions = {}): Promise<Heatmap[]> {
    return this.enqueue(async () => (await this.relevanceNow(classindsPerImage, options, this.activeImages)).heatmaps);
  }

  /** As backwardRelevanceMulti, with the per-layer conservation report when options.conservation is set. */
  relevance(classindsPerImage: number[][], options: RelPropOptions = {}): Promise<RelevanceResult> {
    return this.enqueue(() => this.relevanceNow(classindsPerImage, options, this.activeImages));
  }

  /** Forward and relevance as one atomic step: scores, chosen classes and heatmaps per image. */
  explain(input: Input, options: ExplainOptions = {}): Promise<Explanation> {
    return this.enqueue(async () => {
      const { targets, ...relOptions } = options ?? {};
      // Bad options fail before the forward pass; numclasses bounds the classes 'top1'/'top5' choose from, as in the demonstrators.
      const resolved = resolveOptions(relOptions);
      const { numclasses } = resolved;
      const scores = await this.forwardOn(this.engineFor(resolved), input);
      const classes = scores.map((s, i) =>
        chooseClasses(numclasses === undefined ? s : s.subarray(0, numclasses), Array.isArray(targets) && !isClassList(targets) ? targets[i] : (targets as Target | undefined), i));
      const result = await this.relevanceNow(classes, relOptions, scores.length);
      return { scores, classes, ...result };
    });
  }

  /**
   * One image as the demonstrators feed it to the net: decoded (a path, the file's bytes, or
   * raw pixels), resized with ImageMagick's geometry to the `preprocess.baseImgSize` long side,
   * centre-cropped or edge-padded to the input size, minus the mean, BGR for colour nets.
   */
  async preprocess(image: ImageSource): Promise<PreprocessedImage> {
    return preprocessWith(image, this.preprocessOptions());
  }

  private preprocessOptions(): PreprocessOptions {
    return preprocessFor(this.inputShape, this.preprocessSettings, this.inputMean, this.spec.source);
  }

  /**
   * Image in, explanation out: preprocess() then explain() with the same options and defaults
   * (`targets` default 'top1'; without a rule the demonstrators' DEFAULT_RULE). Several images
   * run through the engine in batches of the net's batch size (Net.load's `batchSize`), as
   * lrp-parallel-demo does; the next batch is decoded while the engine computes.
   */
  explainImage(image: ImageSource, options?: ExplainOptions): Promise<ImageExplanation>;
  explainImage(images: ImageSource[], options?: ExplainOptions): Promise<ImageExplanation[]>;
  async explainImage(images: ImageSource | ImageSource[], options: ExplainOptions = {}): Promise<ImageExplanation | ImageExplanation[]> {
    const single = !Array.isArray(images);
    const list = single ? [images] : images;
    if (list.length === 0) throw new CaffeLrpError('OPTION', 'explainImage: no images');
    const { targets, ...relOptions } = options ?? {};
    const perImage = Array.isArray(targets) && !isClassList(targets);
    if (perImage && (targets as Target[]).length !== list.length)
      throw new CaffeLrpError('OPTION', `explainImage: option 'targets' has ${(targets as Target[]).length} entries for ${list.length} image(s)`);
    resolveOptions(relOptions); // bad options fail before any image is decoded
    const B = this.batchSize;
    const pre = this.preprocessOptions();
    const prepare = (from: number) => Promise.all(list.slice(from, from + B).map((im) => preprocessWith(im, pre)));
    const out: ImageExplanation[] = [];
    let next: Promise<PreprocessedImage[]> | undefined = prepare(0);
    for (let from = 0; from < list.length; from += B) {
      const batch: PreprocessedImage[] = await (next as Promise<PreprocessedImage[]>);
      next = from + B < list.length ? prepare(from + B) : undefined;
      next?.catch(() => undefined); // awaited in the next round; no unhandled rejection if this one fails
      const chunkTargets = perImage ? (targets as Target[]).slice(from, from + B) : targets;
      const r = await this.explainRanked(batch.map((p) => p.input), relOptions, chunkTargets);
      batch.forEach((p, i) => {
        out.push({
          scores: r.scores[i], classes: r.classes[i], labels: r.classes[i].map((c) => this.labels[c] ?? String(c)),
          heatmap: r.heatmaps[i], input: p.input, asInputted: p.asInputted,
        });
      });
    }
    return single ? out[0] : out;
  }

  /**
   * explain() with 'top1'/'top5' chosen as the demonstrators rank classes (equal scores: the
   * higher class index first, as the original's score files show), so that explainImage
   * picks the classes lrp-demo picks even when a saturated softmax gives several classes
   * the same score.
   */
  private explainRanked(inputs: Float32Array[], relOptions: RelPropOptions, targets: Target | Target[] | undefined): Promise<Explanation> {
    return this.enqueue(async () => {
      const resolved = resolveOptions(relOptions);
      const { numclasses } = resolved;
      const scores = await this.forwardOn(this.engineFor(resolved), inputs);
      const classes = scores.map((s, i) => {
        const t = Array.isArray(targets) && !isClassList(targets) ? targets[i] : (targets as Target | undefined);
        const pick = t ?? 'top1';
        if (pick !== 'top1' && pick !== 'top5') return chooseClasses(s, pick, i);
        const ranked = rankLikeOriginal(numclasses === undefined ? s : s.subarray(0, numclasses));
        return ranked.slice(0, pick === 'top1' ? 1 : Math.min(5, ranked.length));
      });
      const result = await this.relevanceNow(classes, relOptions, scores.length);
      return { scores, classes, ...result };
    });
  }

  /**
   * Relevance from arbitrary seeds (has_init_relevance generalised): per image of the last
   * forward pass, a vector over the start layer's outputs per image (e.g. a class
   * distribution), written into the start layer's top before the walk.
   */
  backwardRelevanceSeeded(seeds: ArrayLike<number>[], options: RelPropOptions = {}): Promise<Heatmap[]> {
    return this.enqueue(async () => {
      if (!Array.isArray(seeds)) throw new CaffeLrpError('OPTION', 'seeds must be an array with one vector per image');
      const o = resolveOptions(options);
      const layers = this.nativeLayers();
      const start = layers[this.startLayer(layers, o)];
      const perImage = start.topShapes[0].slice(1).reduce((a, b) => a * b, 1);
      const classes: number[][] = [];
      const values: number[][] = [];
      seeds.forEach((seed, i) => {
        if (!seed || seed.length !== perImage)
          throw new CaffeLrpError('OPTION', `seed ${i} must have ${perImage} values (the outputs of layer '${start.name}' per image), got ${seed ? seed.length : seed}`);
        const idx: number[] = [];
        const val: number[] = [];
        for (let k = 0; k < perImage; ++k) {
          if (!Number.isFinite(seed[k])) throw new CaffeLrpError('OPTION', `seed ${i} has a non-finite value at index ${k}`);
          if (seed[k] !== 0) { idx.push(k); val.push(seed[k]); }
        }
        classes.push(idx);
        values.push(val);
      });
      return (await this.relevanceNow(classes, options, this.activeImages, values)).heatmaps;
    });
  }

  private async relevanceNow(classes: number[][], options: RelPropOptions, expectedImages: number, seedValues?: number[][]): Promise<RelevanceResult> {
    const o = resolveOptions(options);
    const engine = this.engineFor(o);
    await this.syncEngine(engine);
    if (engine !== this) return engine.relevanceNow(classes, options, expectedImages, seedValues);
    if (!this.forwardDone) throw new CaffeLrpError('STATE', 'no forward pass: call forward() (or use explain()) before a relevance pass');
    if (!Array.isArray(classes) || classes.length !== expectedImages)
      throw new CaffeLrpError('OPTION', `expected one class list for each of the ${expectedImages} image(s) of the last forward pass, got ${Array.isArray(classes) ? classes.length : typeof classes}`);
    const layers = this.nativeLayers();
    const start = this.startLayer(layers, o);
    if (o.firstlayerindex > start)
      throw new CaffeLrpError('OPTION', `option 'firstlayerindex': ${o.firstlayerindex} is above the start layer ${start} ('${layers[start].name}')`);
    classes.forEach((list, i) => checkClasses(list, i, o, layers[start]));
    const request: NativeBackwardOptions = {
      start,
      end: o.firstlayerindex,
      gradient: usesGradient(o.formulaType),
      conservation: o.conservation,
      rules: usesGradient(o.formulaType) ? undefined : rulesFor(layers, o, this.spec),
      classes,
      values: seedValues ?? (o.initRelevance === undefined ? undefined : classes.map((l) => l.map(() => o.initRelevance as number))),
    };
    const result = await this.backwardChecked(request);
    if (!allFinite(result.data)) throw await this.nonFiniteRelevanceError(request, layers);
    const inputNames = new Set(this.live.inputs().map((i) => i.name));
    // Caffe image inputs are BGR (heatmaps come out RGB); toolbox and ONNX inputs keep their order.
    const atInput = inputNames.has(layers[o.firstlayerindex].bottoms[0]);
    const isNetInput = o.semantics === 'caffe' && atInput && !this.fromOnnx;
    let heatmaps = toHeatmaps(result.shape, result.data, classes.length, isNetInput, this.fromOnnx && atInput);
    if (o.formulaType === 99) heatmaps = heatmaps.map(channelNorm);
    const conservation = result.conservation?.map((row) => ({
      index: row.index, name: layers[row.index].name, type: layers[row.index].type,
      in: row.in.slice(0, classes.length), out: row.out.slice(0, classes.length),
    }));
    return conservation ? { heatmaps, conservation } : { heatmaps };
  }

  /** Was this net read from an ONNX model? */
  private get fromOnnx(): boolean {
    return (this.spec as Partial<OnnxNetSpec>).outputs !== undefined;
  }

  /**
   * The start layer of a walk. ONNX graphs often end at the logits (no Softmax): there
   * lastlayerindex -1 means the layer that computes the scores output.
   */
  private startLayer(layers: NativeLayerInfo[], o: ResolvedOptions): number {
    if (this.fromOnnx && o.lastlayerindex === -1 && o.semantics !== 'toolbox' && !layers.some((l) => l.type === 'Softmax')) {
      const i = layers.findIndex((l) => l.tops.includes(this.scoresBlob));
      if (i >= 0) return i;
    }
    return resolveStartLayer(layers, o.lastlayerindex, o.semantics);
  }

  /** The native walk, with its errors (e.g. a layer that has no rule for the options) as CaffeLrpError. */
  private async backwardChecked(request: Parameters<NativeNetInstance['backward']>[0]): ReturnType<NativeNetInstance['backward']> {
    try {
      return await this.live.backward(request);
    } catch (e) {
      if (e instanceof CaffeLrpError) throw e;
      throw new CaffeLrpError('UNSUPPORTED', (e as Error).message, { file: this.spec.source });
    }
  }

  /** Finds the layer where a non-finite relevance appeared: the first (from the top) whose output sums are not finite. */
  private async nonFiniteRelevanceError(request: NativeBackwardOptions, layers: NativeLayerInfo[]): Promise<CaffeLrpError> {
    const { start, end } = request;
    let where = '';
    try {
      // the same walk once more, with the per-layer report (only on this error path)
      const report = await this.live.backward({ ...request, conservation: true });
      const bad = report.conservation?.find((row) => !row.out.every(Number.isFinite));
      if (bad) where = ` at layer ${bad.index} '${layers[bad.index].name}' (${layers[bad.index].type})`;
    } catch {
      // the report is a diagnosis only
    }
    return new CaffeLrpError(
      'NONFINITE',
      `the relevance became NaN or Inf${where}, walking from layer ${start} '${layers[start].name}' down to layer ${end}; ` +
        `check the rule's parameters (epsilon 0 divides by zero sums) and the net's weights`,
      { file: this.spec.source, layer: where ? undefined : layers[start].name },
    );
  }

  /** Names of layers whose weights contain NaN or Inf (built with allowNonFiniteWeights). */
  nonFiniteWeights(): string[] {
    return this.live.nonFiniteWeights();
  }

  /** Frees the native memory now (the garbage collector would too, later). Waits for running calls. */
  async dispose(): Promise<void> {
    await this.queue;
    if (this.native) this.native.dispose();
    this.native = undefined;
    if (this.twin) await this.twin.dispose();
    this.twin = undefined;
    this.lastImages = undefined;
  }

  get disposed(): boolean {
    return this.native === undefined;
  }
}

async function preprocessWith(image: ImageSource, opts: PreprocessOptions): Promise<PreprocessedImage> {
  const p = await preprocessImage(image, opts);
  return { input: p.blob, asInputted: { data: p.asInputted, width: p.width, height: p.height, channels: 3 } };
}

/** A .onnx path or ONNX bytes given as `prototxt` (with no caffemodel) is read as `onnx`. */
async function onnxGivenAsPrototxt(options: LoadOptions): Promise<FileSource | undefined> {
  const p = options.prototxt;
  if (p === undefined || options.caffemodel !== undefined) return undefined;
  if (typeof p === 'string') {
    if (p.toLowerCase().endsWith('.onnx')) return p;
    return undefined;
  }
  return p instanceof Uint8Array && isOnnxContent(p) ? p : undefined;
}

function splitBatch(input: Float32Array, perImage: number): Float32Array[] {
  if (!(input instanceof Float32Array)) throw new CaffeLrpError('OPTION', 'forward: input must be a Float32Array or an array of Float32Array');
  if (input.length === 0 || input.length % perImage !== 0)
    throw new CaffeLrpError('SHAPE', `forward: ${input.length} values are not a whole number of images of ${perImage} values`);
  const out: Float32Array[] = [];
  for (let i = 0; i < input.length; i += perImage) out.push(input.subarray(i, i + perImage));
  return out;
}

function isClassList(t: unknown): boolean {
  return Array.isArray(t) && t.every((v) => typeof v === 'number');
}

/** Class indices sorted by descending score (ties keep the lower index first). */
export function rankClasses(scores: Float32Array): number[] {
  return Array.from(scores.keys()).sort((a, b) => scores[b] - scores[a] || a - b);
}

function chooseClasses(scores: Float32Array, target: Target | undefined, image: number): number[] {
  const t = target ?? 'top1';
  if (t === 'top1') return rankClasses(scores).slice(0, 1);
  if (t === 'top5') return rankClasses(scores).slice(0, Math.min(5, scores.length));
  if (typeof t === 'number') return [t];
  if (isClassList(t)) return t as number[];
  throw new CaffeLrpError('OPTION', `target for image ${image} must be a class index, a list of indices, 'top1' or 'top5', got ${showValue(t)}`);
}

function checkClasses(list: number[], image: number, o: ResolvedOptions, start: NativeLayerInfo): void {
  if (!Array.isArray(list)) throw new CaffeLrpError('OPTION', `classes for image ${image} must be an array of class indices`);
  const perImage = start.topShapes[0].slice(1).reduce((a, b) => a * b, 1);
  // numclasses bounds class indices where the start layer's outputs are the classes
  // (lastlayerindex -1/-2); an explicit start layer is bounded by its own size.
  const automatic = o.lastlayerindex < 0;
  const limit = automatic && o.numclasses !== undefined ? Math.min(o.numclasses, perImage) : perImage;
  for (const c of list)
    if (!Number.isInteger(c) || c < 0 || c >= limit)
      throw new CaffeLrpError('OPTION', `class index ${showValue(c)} for image ${image} is out of range: layer '${start.name}' has ${limit} outputs per image`);
}
