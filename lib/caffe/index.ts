/**
 * The Caffe model front-end: reads .prototxt/.caffemodel/.binaryproto/label files (paths
 * or in-memory buffers) and builds the NetSpec the engine runs; writes specs back as
 * Caffe files. Every problem with an input is a CaffeLrpError naming the file.
 */
import * as fs from 'fs';
import * as path from 'path';
import { CaffeLrpError } from '../errors';
import { NetSpec } from './netspec-types';
import { NetParameterObject } from './proto-objects';
import { caffeType } from './schema';
import { parseTextFormat } from './textformat';
import { decodeCaffemodel } from './caffemodel';
import { buildNetSpec } from './netspec';
import { MeanFormat, MeanImage, parseMean } from './mean';
import { parseLabels } from './labels';
import { PrototxtOptions, writeCaffemodel, writePrototxt } from './writer';
import { readInputFile, readInputFileSync } from '../io/read-file';

export * from './netspec-types';
export { CaffeLrpError } from '../errors';
export { buildNetSpec, BuildOptions, WeightsInput } from './netspec';
export { decodeCaffemodel, decodeBlobProtoFile } from './caffemodel';
export { upgradeLayers, upgradeV1Layer, V1_TYPE_NAMES } from './upgrade';
export { MeanImage, MeanFormat, parseMean, parseBinaryprotoMean, parseTextMean } from './mean';
export { parseLabels } from './labels';
export { PrototxtOptions, writeCaffemodel, writePrototxt, netParameterObject } from './writer';
export { convOutSize, poolOutSize } from './shapes';
export { NetParameterObject, DecodedBlob } from './proto-objects';

/** A file path, or the file's contents. */
export type FileSource = string | Buffer;

export interface LoadNetSpecOptions {
  /** Network definition (.prototxt): a path, or its text as a Buffer. */
  prototxt: FileSource;
  /** Trained weights (.caffemodel): a path or its bytes. Without it the spec has no blobs. */
  caffemodel?: FileSource;
  /** Input shape replacing a train_test prototxt's data layer (or overriding a deploy net's single input). */
  inputShape?: number[];
  phase?: 'TEST' | 'TRAIN';
  level?: number;
  stages?: string[];
  /** Names used in error messages for buffer sources (default '<prototxt>' / '<caffemodel>'). */
  prototxtName?: string;
  caffemodelName?: string;
}

const nameOf = (src: FileSource, given: string | undefined, dflt: string): string =>
  typeof src === 'string' ? src : given ?? dflt;

async function readSource(src: FileSource, file: string): Promise<Buffer> {
  return typeof src === 'string' ? readInputFile(file, 'file') : src;
}

function readSourceSync(src: FileSource, file: string): Buffer {
  return typeof src === 'string' ? readInputFileSync(file, 'file') : src;
}

/** Parses prototxt text into a NetParameter object (snake_case fields, source lines attached). */
export function parsePrototxt(text: string | Buffer, file = '<prototxt>'): NetParameterObject {
  const s = typeof text === 'string' ? text : text.toString('utf8');
  return parseTextFormat(s, caffeType('NetParameter'), file) as NetParameterObject;
}

function build(opts: LoadNetSpecOptions, def: Buffer, model: Buffer | undefined): NetSpec {
  const file = nameOf(opts.prototxt, opts.prototxtName, '<prototxt>');
  const net = parsePrototxt(def, file);
  const weights = model
    ? (() => {
        const wfile = nameOf(opts.caffemodel!, opts.caffemodelName, '<caffemodel>');
        // A buffer we read ourselves may become the weights' storage; a caller's is copied from.
        return { net: decodeCaffemodel(model, wfile, { reuseBuffer: typeof opts.caffemodel === 'string' }), file: wfile };
      })()
    : undefined;
  return buildNetSpec(net, weights, {
    file,
    inputShape: opts.inputShape,
    phase: opts.phase,
    level: opts.level,
    stages: opts.stages,
  });
}

/** Reads a prototxt (+ caffemodel) and builds the deploy NetSpec. File reads are async. */
export async function loadNetSpec(opts: LoadNetSpecOptions): Promise<NetSpec> {
  const def = await readSource(opts.prototxt, nameOf(opts.prototxt, opts.prototxtName, '<prototxt>'));
  const model =
    opts.caffemodel === undefined
      ? undefined
      : await readSource(opts.caffemodel, nameOf(opts.caffemodel, opts.caffemodelName, '<caffemodel>'));
  return build(opts, def, model);
}

export function loadNetSpecSync(opts: LoadNetSpecOptions): NetSpec {
  const def = readSourceSync(opts.prototxt, nameOf(opts.prototxt, opts.prototxtName, '<prototxt>'));
  const model =
    opts.caffemodel === undefined
      ? undefined
      : readSourceSync(opts.caffemodel, nameOf(opts.caffemodel, opts.caffemodelName, '<caffemodel>'));
  return build(opts, def, model);
}

/** Reads and decodes a .caffemodel (all layers, blobs as Float32Array). */
export async function readCaffemodel(src: FileSource, name?: string): Promise<NetParameterObject> {
  const file = nameOf(src, name, '<caffemodel>');
  return decodeCaffemodel(await readSource(src, file), file);
}

/** Reads a mean file (binaryproto or the original's text format; detected when not given). */
export async function loadMean(src: FileSource, opts: { format?: MeanFormat; name?: string } = {}): Promise<MeanImage> {
  const file = nameOf(src, opts.name, '<mean>');
  return parseMean(await readSource(src, file), file, opts.format);
}

/** Reads a class-name file (synset_words.txt style or plain names). */
export async function loadLabels(src: FileSource, name?: string): Promise<string[]> {
  const file = nameOf(src, name, '<labels>');
  return parseLabels((await readSource(src, file)).toString('utf8'));
}

/** Writes a file via a temporary name and a rename, so no half-written file is left behind. */
async function writeAtomically(file: string, data: string | Buffer): Promise<void> {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  try {
    await fs.promises.writeFile(tmp, data);
    await fs.promises.rename(tmp, file);
  } catch (e) {
    await fs.promises.rm(tmp, { force: true }).catch(() => undefined);
    throw new CaffeLrpError('IO', `cannot write file: ${(e as Error).message}`, { file });
  }
}

export async function saveCaffemodel(spec: NetSpec, file: string): Promise<void> {
  await writeAtomically(file, writeCaffemodel(spec));
}

export async function savePrototxt(spec: NetSpec, file: string, opts: PrototxtOptions = {}): Promise<void> {
  await writeAtomically(file, writePrototxt(spec, opts));
}
