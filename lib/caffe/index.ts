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
import { readFileSource, readFileSourceSync } from '../io/read-file';

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
/** A path, or the file's bytes (a Buffer or any Uint8Array). */
export type FileSource = string | Buffer | Uint8Array;

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

/** A path's contents, or the bytes given (any other value is an OPTION error naming `file`). */
export function readSource(src: FileSource, file: string): Promise<Buffer> {
  return readFileSource(src, file, 'file');
}

function readSourceSync(src: FileSource, file: string): Buffer {
  return readFileSourceSync(src, file, 'file');
}

/**
 * A prototxt is text: NUL bytes or many control characters in its first 4 KB mean a binary
 * file (typically the caffemodel given where the prototxt belongs).
 */
function checkLooksLikeText(buf: Uint8Array, file: string): void {
  const n = Math.min(buf.length, 4096);
  let control = 0;
  for (let i = 0; i < n; i++) {
    const b = buf[i];
    if (b === 0) control += n; // one NUL settles it
    else if (b < 32 && b !== 9 && b !== 10 && b !== 13 && b !== 12) control++;
  }
  if (control > n / 20) {
    throw new CaffeLrpError(
      'PARSE',
      'this file looks binary, not like prototxt text (a .caffemodel?): are the prototxt and the caffemodel ' +
        '(param_file and model_file in a config) swapped?',
      { file },
    );
  }
}

/** Parses prototxt text into a NetParameter object (snake_case fields, source lines attached). */
export function parsePrototxt(text: string | Uint8Array, file = '<prototxt>'): NetParameterObject {
  if (typeof text !== 'string') checkLooksLikeText(text, file);
  const s = typeof text === 'string' ? text : Buffer.from(text.buffer, text.byteOffset, text.byteLength).toString('utf8');
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
