/**
 * Loads the compiled engine and describes its interface. Everything here is internal: the
 * public API is lib/net.ts. Where the engine comes from, first found wins:
 *   1. $CAFFE_LRP_NATIVE, a path to a caffe_lrp .node file (benchmarks, sanitizer builds);
 *   2. build-cmake/Release/ (a clone's development build: native/setup.js, cmake-js);
 *   3. node-gyp-build: build/Release/ (a source build by `npm install` / `npm rebuild`),
 *      then prebuilds/<platform>-<arch>/ (the prebuilt shipped in the npm package);
 *   4. build-cmake/Debug/.
 */
import * as fs from 'fs';
import * as path from 'path';
import type { NetSpec } from './caffe/netspec-types';
import { CaffeLrpError } from './errors';
import { packageRoot } from './package-root';
import { applyBlasCoreType } from './blas-coretype';

// node-gyp-build has no type declarations; this is the one function we use.
// eslint-disable-next-line @typescript-eslint/no-var-requires
const nodeGypBuild = require('node-gyp-build') as { resolve(dir: string): string };

export interface NativeLayerInfo {
  index: number;
  name: string;
  type: string;
  bottoms: string[];
  tops: string[];
  topShapes: number[][];
}

/** One layer's rule as the engine applies it (native/engine/relevance/layer_rule.h). */
export interface NativeRule {
  linear?: 'epsilon' | 'alphabeta' | 'flat' | 'wsquare' | 'transpose' | 'zennit';
  /** linear 'zennit': which of Zennit's rules (native/engine/relevance/zennit_rules.cc). */
  zennit?: 'epsilon' | 'alphabeta' | 'gamma' | 'zbox' | 'flat' | 'wsquare';
  /** Zennit's stabiliser of every rule but Epsilon (default 1e-6). */
  zennitStabilizer?: number;
  gamma?: number;
  /** ZBox bounds: one value or one per input channel. */
  low?: number[];
  high?: number[];
  epsilon?: number;
  /** Alpha-beta: weight of the subtracted negative part; alpha = 1 + beta unless `alpha` is given. */
  beta?: number;
  /** Alpha-beta: weight of the positive part. When given, beta may be negative (toolbox: beta = alpha - 1). */
  alpha?: number;
  biasTreatment?: number;
  /**
   * Pooling: 'wta' (MAX: first maximum; AVE/SUM: proportional), 'proportional' (x/sum, Caffe's
   * AVE rule), 'wta-ties' (MAX: split among all maxima), 'flat', and for AVE/SUM 'epsilon' and
   * 'alphabeta' on the window sum.
   */
  pool?: 'wta' | 'proportional' | 'wta-ties' | 'flat' | 'epsilon' | 'alphabeta';
  lrn?: 'identity' | 'taylor';
  /** Propagate the plain gradient through this layer instead of a rule (Zennit: layers without a rule). */
  gradient?: boolean;
  relu?: 'identity' | 'rectify' | 'guided';
  /** 'caffe' (default): the Caffe plugin's stabilisers; 'toolbox': sign(0) = +1 and 1e-16 in alpha-beta. */
  stabilizer?: 'caffe' | 'toolbox';
  compatGroupBias?: boolean;
  /** Reproduce the toolbox's SumPool alpha-beta defect (beta term times R twice). */
  compatSumPoolBeta?: boolean;
  flatOverDepth?: boolean;
}

export interface NativeBackwardOptions {
  start: number;
  end: number;
  gradient?: boolean;
  conservation?: boolean;
  rules?: NativeRule[];
  classes: number[][];
  values?: (number[] | undefined)[];
}

export interface NativeBackwardResult {
  shape: number[];
  data: Float32Array;
  conservation?: { index: number; in: number[]; out: number[] }[];
}

export interface NativeBlob { name: string; shape: number[]; data: Float32Array }

export interface NativeNetInstance {
  layers(): NativeLayerInfo[];
  inputs(): { name: string; shape: number[] }[];
  outputs(): { name: string; shape: number[] }[];
  reshape(batch: number): void;
  forward(inputs: Float32Array[]): Promise<NativeBlob[]>;
  backward(options: NativeBackwardOptions): Promise<NativeBackwardResult>;
  /** `diff`: the blob's own after a training pass; relevance walks share diff memory between blobs whose lifetimes do not overlap. */
  blobData(name: string): { shape: number[]; data: Float32Array; diff: Float32Array };
  /**
   * The engine's byte accounting of blob memory at the current batch size: forward values,
   * diff buffers (shared by lifetime; allocated at the first backward pass; one per blob
   * once a training pass ran), what one diff per blob would take, and the scratch slots' bytes.
   */
  memory(): { dataBytes: number; diffBytes: number; unsharedDiffBytes: number; diffBuffers: number; diffsAllocated: boolean; dedicatedDiffs: boolean; workspaceBytes: number[] };
  nonFiniteWeights(): string[];
  dispose(): void;
  /**
   * Training (native/training_wrap.cc): the LRP Toolbox's backward pass seeded at `start`'s
   * top, down to `end`; then, per listed layer, `factors[k][j]` x gradient of blob j added to
   * the engine's own weights (resolves undefined), or without `factors` the gradients.
   */
  trainBackward(options: { start: number; end: number; seed: Float32Array; layers: number[]; factors?: number[][] }): Promise<Float32Array[][] | undefined>;
  /** Copies of a layer's learned blobs (weights, bias). */
  learnedBlobs(layer: number): Float32Array[];
}

export interface NativeModule {
  /** memoryBudget (bytes) and its source bound the blobs (see lib/memory-budget.ts). */
  NativeNet: new (spec: NetSpec, options?: { borrowWeights?: boolean; memoryBudget?: number; memoryBudgetSource?: string }) => NativeNetInstance;
  supportedLayerTypes: string;
  sgemmGflops(size?: number, repeats?: number): number;
  /** Memory read bandwidth on all threads (GB/s), best of `repeats` passes over `megabytes` MB (benchmarks). */
  readBandwidthGBps(megabytes?: number, repeats?: number): number;
  /** The OpenBLAS in use: its kernel family (e.g. 'SkylakeX', 'Haswell'), thread count and threading model. */
  blasInfo(): { coreName: string; threads: number; threading: 'sequential' | 'pthreads' | 'openmp'; skinnyKernels: 'avx512' | 'avx2' | 'none' };
  /** The `_rawhm.txt` text of a C x H x W map, formatted by the C library's %g off the main thread. */
  formatRawhm(data: Float32Array, channels: number, height: number, width: number): Promise<Buffer>;
  /**
   * Process-wide glibc malloc settings for applications (the demonstrators call it; the library
   * never does): fixed 4 MiB mmap threshold, at most two arenas. False where not applied.
   * Absent from addons built before it.
   */
  tuneAllocator?(): boolean;
}

let cached: NativeModule | undefined;

const FIX = "reinstall it or build it from source with 'npm rebuild caffe-lrp' (the source build needs g++, make, python3 and libopenblas-dev)";

function nativeError(what: string): CaffeLrpError {
  return new CaffeLrpError('NATIVE', `caffe-lrp: ${what}; ${FIX}`);
}

function requireAddon(file: string): NativeModule {
  // OpenBLAS picks its kernels when it is loaded, i.e. with the engine: say which first.
  applyBlasCoreType();
  try {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    return require(file) as NativeModule;
  } catch (e) {
    // The loader's own words (dlopen: missing library, wrong ELF class, undefined symbol).
    throw nativeError(`the native engine ${file} failed to load: ${(e as Error).message}`);
  }
}

/** The engine module; a missing or unloadable engine is a CaffeLrpError with code 'NATIVE'. */
export function loadNative(): NativeModule {
  if (cached) return cached;
  const override = process.env.CAFFE_LRP_NATIVE;
  if (override) {
    if (!fs.existsSync(override)) throw nativeError(`CAFFE_LRP_NATIVE names ${override}, which does not exist`);
    return (cached = requireAddon(path.resolve(override)));
  }
  const root = packageRoot();
  const development = path.join(root, 'build-cmake', 'Release', 'caffe_lrp.node');
  if (fs.existsSync(development)) return (cached = requireAddon(development));
  let file: string;
  try {
    file = nodeGypBuild.resolve(root);
  } catch (e) {
    const debug = path.join(root, 'build-cmake', 'Debug', 'caffe_lrp.node');
    if (fs.existsSync(debug)) return (cached = requireAddon(debug));
    throw nativeError(`no native engine found in ${root}: ${(e as Error).message}`);
  }
  return (cached = requireAddon(file));
}
