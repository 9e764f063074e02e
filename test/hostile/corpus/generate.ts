/**
 * The hostile-input corpus (issue 14): writes every case's files into `dir` and returns the
 * cases, deterministically (fixed seeds), for test/hostile/corpus.test.ts to run in child
 * processes. Families: caffemodel, prototxt, mean, labels, image, toolbox, onnx, nonregular,
 * api, cli. A case names an operation of worker.js and its arguments; file arguments start
 * with '@' (relative to `dir`).
 */
import { prng } from '../../helpers/random';
import { pngWithHeader } from '../../helpers/png-craft';
import * as fs from 'fs';
import * as path from 'path';
import { execFileSync } from 'child_process';
import { demoModel } from '../../../lib/demo-model';
import { encodeModel } from '../../helpers/onnx-builder';
import { lenField, stringField, varintField, floatBytes, tag, varint, bytes } from '../../helpers/caffe-fixtures';
// eslint-disable-next-line @typescript-eslint/no-var-requires
const { BAD_NAMES } = require('./api-scenarios.js') as { BAD_NAMES: string[] };

export interface CorpusCase {
  id: string;
  family: string;
  op: 'load' | 'mean' | 'labels' | 'toolbox' | 'image' | 'api' | 'cli';
  /** Reaches the native engine (selected by CAFFE_LRP_CORPUS=native, for the sanitizer run). */
  native: boolean;
  /** Set when a demonstrator fix in progress elsewhere is expected to make this case pass. */
  expectedFailure?: string;
  [k: string]: unknown;
}

export function generateCorpus(dir: string): CorpusCase[] {
  fs.mkdirSync(dir, { recursive: true });
  const cases: CorpusCase[] = [];
  const write = (name: string, data: string | Buffer): string => {
    fs.writeFileSync(path.join(dir, name), data);
    return '@' + name;
  };
  const add = (c: Omit<CorpusCase, 'id'> & { id?: string }) => cases.push({ id: c.id ?? `${c.family}-${cases.filter((x) => x.family === c.family).length}`, ...c } as CorpusCase);
  const demo = demoModel;
  const model = fs.readFileSync(demo.caffemodel);
  const prototxt = fs.readFileSync(demo.prototxt, 'utf8');
  const image = fs.readFileSync(demo.images[0]);

  // ---- caffemodel: seeded truncations and byte mutations of the demo model, and crafted messages
  const rc = prng(1401);
  for (let i = 0; i < 30; i++) {
    const cut = Math.floor(rc() * model.length);
    add({ family: 'caffemodel', op: 'load', native: true, note: `truncated at ${cut}`, load: { demo: true, caffemodel: write(`cm-trunc-${i}.caffemodel`, model.subarray(0, cut)) } });
  }
  for (let i = 0; i < 30; i++) {
    const m = Buffer.from(model);
    const n = 1 + Math.floor(rc() * 16);
    // the first 4 KB hold the structure (names, shapes, lengths); the rest is mostly float data
    const inHead = i % 2 === 0;
    for (let k = 0; k < n; k++) m[Math.floor(rc() * (inHead ? 4096 : m.length))] = Math.floor(rc() * 256);
    add({ family: 'caffemodel', op: 'load', native: true, note: `${n} random bytes ${inHead ? 'in the header' : 'anywhere'}`, load: { demo: true, caffemodel: write(`cm-mut-${i}.caffemodel`, m) } });
  }
  const craftedModels: [string, Buffer][] = [
    ['empty', Buffer.alloc(0)],
    ['one byte', Buffer.from([0x0a])],
    ['huge length', bytes(tag(100, 2), varint(2 ** 31 - 1))],
    ['varint layer field', bytes(varintField(100, 7), varintField(100, 2 ** 40))],
    ['fixed64 layer field', bytes(tag(100, 1), [1, 2, 3, 4, 5, 6, 7, 8])],
    ['group wire type', bytes(tag(100, 3), tag(100, 4))],
    ['10-byte varint overflow', bytes(tag(1, 0), [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01])],
    ['deep nesting', Buffer.from(Array.from({ length: 2000 }, () => [...tag(100, 2), 0x7f]).flat())],
    ['layer with NaN weights', bytes(lenField(100, [...stringField(1, 'conv1'), ...stringField(2, 'Convolution'), ...lenField(7, [...lenField(7, [...varintField(1, 32), ...varintField(1, 1), ...varintField(1, 5), ...varintField(1, 5)]), ...lenField(5, floatBytes(Array.from({ length: 800 }, () => NaN)))])]))],
    ['blob shape 2^40 with no data', bytes(lenField(100, [...stringField(1, 'conv1'), ...stringField(2, 'Convolution'), ...lenField(7, lenField(7, [...varintField(1, 2 ** 20), ...varintField(1, 2 ** 20)]))]))],
    ['negative dim', bytes(lenField(100, [...stringField(1, 'conv1'), ...stringField(2, 'Convolution'), ...lenField(7, lenField(7, [...tag(1, 0), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]))]))],
    ['prototxt given as caffemodel', Buffer.from(prototxt)],
    ['png given as caffemodel', image],
    ['random 64 KB', Buffer.from(Array.from({ length: 65536 }, () => Math.floor(rc() * 256)))],
    ['the model twice', Buffer.concat([model, model])],
  ];
  for (const [note, data] of craftedModels) add({ family: 'caffemodel', op: 'load', native: true, note, load: { demo: true, caffemodel: write(`cm-crafted-${cases.length}.caffemodel`, data) } });

  // ---- prototxt: seeded line edits of the demo prototxt, and crafted texts
  const rp = prng(1402);
  const lines = prototxt.split('\n');
  const hostileNumbers = ['0', '-1', '-5', '2147483647', '4294967296', '1e9', 'nan', 'inf', '-inf', '1e999', '0.5', '99999999999999999999'];
  for (let i = 0; i < 40; i++) {
    const l = lines.slice();
    const at = Math.floor(rp() * l.length);
    const kind = i % 4;
    if (kind === 0) l.splice(at, 1);
    else if (kind === 1) l[at] = l[at].replace(/-?\d+(\.\d+)?(e-?\d+)?/, hostileNumbers[Math.floor(rp() * hostileNumbers.length)]);
    else if (kind === 2) l.splice(at, 0, l[Math.floor(rp() * l.length)]);
    else l.length = at;
    add({ family: 'prototxt', op: 'load', native: true, note: ['line deleted', 'number replaced', 'line duplicated', 'truncated'][kind] + ` at line ${at + 1}`, load: { demo: true, prototxt: write(`pt-mut-${i}.prototxt`, l.join('\n')) } });
  }
  const replaced = (from: RegExp, to: string) => prototxt.replace(from, to);
  const craftedPrototxts: [string, string | Buffer][] = [
    ['empty', ''],
    ['only a comment', '# nothing\n'],
    ['inputs but no layers', 'input: "data"\ninput_shape { dim: 1 dim: 1 dim: 28 dim: 28 }\n'],
    ['unterminated string', 'name: "abc\n'],
    ['unbalanced braces', 'layer { name: "a" type: "ReLU" bottom: "data" top: "data"\n'],
    ['10000 nested braces', 'layer ' + '{ a '.repeat(10000)],
    ['unknown layer type', replaced(/type: "ReLU"/, 'type: "NoSuchLayer"')],
    ['huge input dims', replaced(/dim: 28\n  dim: 28/, 'dim: 20000\n  dim: 20000')],
    ['batch 10^6', replaced(/dim: 1\n/, 'dim: 1000000\n')],
    ['zero dim', replaced(/dim: 28\n/, 'dim: 0\n')],
    ['negative dim', replaced(/dim: 28\n/, 'dim: -28\n')],
    ['kernel larger than input', replaced(/kernel_size: 5/, 'kernel_size: 500')],
    ['stride 0', replaced(/kernel_size: 5/, 'kernel_size: 5\n    stride: 0')],
    ['group not dividing', replaced(/kernel_size: 5/, 'kernel_size: 5\n    group: 3')],
    ['LRN alpha nan', replaced(/alpha: [^\n]+/, 'alpha: nan')],
    ['LRN beta negative', replaced(/beta: [^\n]+/, 'beta: -0.75')],
    ['LRN local_size even', replaced(/local_size: [^\n]+/, 'local_size: 4')],
    ['bottom never produced', replaced(/bottom: "conv1"/, 'bottom: "ghost"')],
    ['cycle', replaced(/bottom: "data"/, 'bottom: "prob"')],
    ['binary bytes', model.subarray(0, 4000)],
    ['UTF-16LE', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(prototxt, 'utf16le')])],
    ['UTF-8 BOM', '\ufeff' + prototxt],
    ['NUL bytes', prototxt.replace(/layer/, 'lay\0er')],
    ['100 KB name', `name: "${'x'.repeat(100000)}"\n` + prototxt],
    ['unknown field', replaced(/num_output: 32/, 'num_output: 32\n    no_such_field: 1')],
    ['field of wrong type', replaced(/num_output: 32/, 'num_output: "thirty-two"')],
    ['num_output 0', replaced(/num_output: 32/, 'num_output: 0')],
    ['num_output 2^31', replaced(/num_output: 32/, 'num_output: 2147483648')],
    ['pad 1e6', replaced(/pad: 2/, 'pad: 1000000')],
    ['duplicate input names', 'input: "data"\ninput: "data"\n' + prototxt.replace(/^input: "data"\n/m, '')],
  ];
  for (const [note, data] of craftedPrototxts) add({ family: 'prototxt', op: 'load', native: true, note, load: { demo: true, prototxt: write(`pt-crafted-${cases.length}.prototxt`, data) } });

  // ---- means: binaryproto (BlobProto) and the original's text format
  const blobProto = (shape: number[], data: number[]) => bytes(lenField(7, shape.flatMap((d) => varintField(1, d))), lenField(5, floatBytes(data)));
  const meanCases: [string, Buffer | string, string?][] = [
    ['binaryproto of the wrong size', blobProto([1, 1, 5, 5], Array(25).fill(1))],
    ['binaryproto with NaN', blobProto([1, 1, 28, 28], Array.from({ length: 784 }, (_, i) => (i === 7 ? NaN : 1)))],
    ['binaryproto with Inf', blobProto([1, 1, 28, 28], Array.from({ length: 784 }, (_, i) => (i === 9 ? Infinity : 1)))],
    ['binaryproto shape without data', blobProto([1, 1, 28, 28], [])],
    ['binaryproto shape 2^30 x 4', blobProto([4, 1, 2 ** 15, 2 ** 15], [])],
    ['binaryproto truncated', blobProto([1, 1, 28, 28], Array(784).fill(1)).subarray(0, 1000)],
    ['binaryproto empty', Buffer.alloc(0)],
    ['binaryproto random', Buffer.from(Array.from({ length: 300 }, (_, i) => (i * 97 + 13) % 256))],
    ['text mean read as binaryproto', '1 28 28\n' + Array(784).fill('0.5').join(' ') + '\n', 'binaryproto'],
    ['text mean with nan', '1 28 28\n' + Array.from({ length: 784 }, (_, i) => (i === 3 ? 'nan' : '0.5')).join(' ') + '\n', 'text'],
    ['text mean with 1e999', '1 28 28\n' + Array.from({ length: 784 }, (_, i) => (i === 3 ? '1e999' : '0.5')).join(' ') + '\n', 'text'],
    ['text mean too few values', '1 28 28\n0.5 0.5\n', 'text'],
    ['text mean too many values', '1 2 2\n' + Array(50).fill('1').join(' ') + '\n', 'text'],
    ['text mean huge header', '3 100000 100000\n1 2 3\n', 'text'],
    ['text mean negative header', '-1 28 28\n1\n', 'text'],
    ['text mean words', 'hello world\n', 'text'],
    ['text mean empty', '', 'text'],
    ['binaryproto read as text', blobProto([1, 1, 2, 2], [1, 2, 3, 4]), 'text'],
  ];
  for (const [note, data, format] of meanCases) {
    const f = write(`mean-${cases.length}.${typeof data === 'string' ? 'txt' : 'binaryproto'}`, data);
    add({ family: 'mean', op: 'mean', native: false, note, file: f.slice(1), format });
    add({ family: 'mean', op: 'load', native: true, note: `${note}, through Net.load`, load: { demo: true, mean: f, ...(format ? { meanFormat: format } : {}) } });
  }

  // ---- labels
  const labelCases: [string, string | Buffer][] = [
    ['empty', ''],
    ['binary', model.subarray(0, 5000)],
    ['1 MB line', 'x'.repeat(1 << 20)],
    ['BOM', '\ufeffa\nb\n'],
    ['UTF-16', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('a\nb\n', 'utf16le')])],
    ['NUL bytes', 'a\0b\nc\n'],
    ['only blank lines', '\n\n\n\r\n'],
    ['100000 labels', Array.from({ length: 100000 }, (_, i) => `n${i} class ${i}`).join('\n')],
  ];
  for (const [note, data] of labelCases) {
    const f = write(`labels-${cases.length}.txt`, data);
    add({ family: 'labels', op: 'labels', native: false, note, file: f.slice(1) });
    add({ family: 'labels', op: 'load', native: true, note: `${note}, through Net.load`, load: { demo: true, labels: f } });
  }

  // ---- images, explained with the demo net
  const ri = prng(1403);
  const imageCases: [string, Buffer | string][] = [
    ['zero bytes', Buffer.alloc(0)],
    ['PNG signature only', image.subarray(0, 8)],
    ['PNG 16000x16000 header', pngWithHeader(16000, 16000)],
    ['PNG 65535x65535 RGBA 16-bit header', pngWithHeader(65535, 65535, 6, 16)],
    ['PNG 1x2^31-1 header', pngWithHeader(1, 2 ** 31 - 1)],
    ['PNG 0x0 header', pngWithHeader(0, 0)],
    ['PNG with an empty IDAT', pngWithHeader(28, 28)],
    ['SVG', '<svg xmlns="http://www.w3.org/2000/svg" width="28" height="28"><rect width="28" height="28"/></svg>'],
    ['huge SVG', '<svg xmlns="http://www.w3.org/2000/svg" width="100000" height="100000"><rect width="10" height="10"/></svg>'],
    ['SVG with an external entity', '<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY x SYSTEM "file:///etc/passwd">]><svg xmlns="http://www.w3.org/2000/svg" width="28" height="28"><text>&x;</text></svg>'],
    ['text named .png', 'hello\n'],
    ['GIF header only', Buffer.from('GIF89a\x10\x00\x10\x00\x00\x00\x00', 'latin1')],
    ['JPEG SOI only', Buffer.from([0xff, 0xd8, 0xff])],
    ['BMP header claiming 30000x30000', Buffer.concat([Buffer.from('BM', 'latin1'), Buffer.from([0x36, 0, 0, 0, 0, 0, 0, 0, 0x36, 0, 0, 0, 40, 0, 0, 0, 0x30, 0x75, 0, 0, 0x30, 0x75, 0, 0, 1, 0, 24, 0])])],
    ['caffemodel named .png', model.subarray(0, 20000)],
  ];
  for (let i = 0; i < 10; i++) imageCases.push([`demo PNG truncated (${i})`, image.subarray(0, Math.floor(ri() * image.length))]);
  for (let i = 0; i < 10; i++) {
    const m = Buffer.from(image);
    for (let k = 0; k < 4; k++) m[8 + Math.floor(ri() * (m.length - 8))] = Math.floor(ri() * 256);
    imageCases.push([`demo PNG with 4 random bytes (${i})`, m]);
  }
  for (const [note, data] of imageCases) add({ family: 'image', op: 'image', native: true, note, file: write(`img-${cases.length}.png`, data).slice(1) });

  // ---- toolbox text models
  const lin = (m: number, n: number, w = '0.1', b = '0') => `Linear ${m} ${n}\n${Array(m * n).fill(w).join(' ')}\n${Array(n).fill(b).join(' ')}\n`;
  const toolboxCases: [string, string][] = [
    ['valid two-layer model', lin(4, 3) + 'Rect\n' + lin(3, 2) + 'SoftMax\n'],
    ['empty', ''],
    ['weight nan', lin(4, 3, 'nan')],
    ['weight 1e999', lin(4, 3, '1e999')],
    ['weight 3e38', lin(4, 3, '3e38') + lin(3, 2, '3e38')],
    ['bias inf', lin(4, 3, '0.1', 'inf')],
    ['too few weights', 'Linear 4 3\n0.1 0.2\n0 0 0\n'],
    ['missing bias line', 'Linear 2 2\n1 2 3 4\n'],
    ['dims 0', 'Linear 0 0\n\n\n'],
    ['dims 2^31', 'Linear 2147483647 2147483647\n1\n1\n'],
    ['negative dims', 'Linear -4 3\n1\n1\n'],
    ['unknown layer', 'Dropout 0.5\n'],
    ['conv with stride 0', 'Convolution 2 2 1 1 0 0\n1 1 1 1\n0\n'],
    ['conv huge', 'Convolution 100000 100000 3 64 1 1\n1\n0\n'],
    ['pool 0', 'MaxPool 0 0 0 0\n'],
    ['words as weights', 'Linear 2 2\na b c d\ne f\n'],
    ['binary', model.subarray(0, 2000).toString('latin1')],
    ['mismatched layers', lin(4, 3) + lin(5, 2)],
  ];
  for (const [note, text] of toolboxCases) add({ family: 'toolbox', op: 'toolbox', native: true, note, file: write(`tb-${cases.length}.txt`, text).slice(1) });

  // ---- ONNX: structural cases (test/onnx/fuzz.test.ts mutates bytes; these are well-formed but wrong)
  const fcW = { name: 'W', dims: [3, 4], data: Array(12).fill(0.1) };
  const graph = (over: Record<string, unknown>) => encodeModel({
    inputs: [{ name: 'x', dims: [1, 4] }],
    outputs: ['y'],
    initializers: [fcW],
    nodes: [{ op: 'Gemm', inputs: ['x', 'W'], outputs: ['y'], attrs: { transB: 1 } }],
    ...over,
  } as never);
  const onnxCases: [string, () => Buffer][] = [
    ['valid Gemm', () => graph({})],
    ['no nodes', () => graph({ nodes: [] })],
    ['unknown op', () => graph({ nodes: [{ op: 'NoSuchOp', inputs: ['x'], outputs: ['y'] }] })],
    ['node reads a missing tensor', () => graph({ nodes: [{ op: 'Relu', inputs: ['ghost'], outputs: ['y'] }] })],
    ['cycle', () => graph({ nodes: [{ op: 'Relu', inputs: ['y'], outputs: ['z'] }, { op: 'Relu', inputs: ['z'], outputs: ['y'] }] })],
    ['initializer NaN', () => graph({ initializers: [{ ...fcW, data: Array(12).fill(NaN) }] })],
    ['initializer wrong size', () => graph({ initializers: [{ ...fcW, data: [1, 2] }] })],
    ['input dim 0', () => graph({ inputs: [{ name: 'x', dims: [1, 0] }] })],
    ['input dim 2^40', () => graph({ inputs: [{ name: 'x', dims: [1, 2 ** 40] }] })],
    ['output never produced', () => graph({ outputs: ['nope'] })],
    ['no inputs', () => graph({ inputs: [] })],
    ['Conv without weights', () => graph({ nodes: [{ op: 'Conv', inputs: ['x'], outputs: ['y'] }] })],
    ['Gemm with wrong shapes', () => graph({ initializers: [{ name: 'W', dims: [3, 5], data: Array(15).fill(0.1) }] })],
    ['two outputs from one node', () => graph({ nodes: [{ op: 'Relu', inputs: ['x'], outputs: ['y', 'y2'] }] })],
  ];
  for (const [note, make] of onnxCases) {
    let data: Buffer;
    try {
      data = make();
    } catch (e) {
      data = Buffer.from(`builder refused: ${(e as Error).message}`);
    }
    add({ family: 'onnx', op: 'load', native: true, note, load: { onnx: write(`onnx-${cases.length}.onnx`, data) } });
  }

  // ---- files that are not regular files
  const fifo = path.join(dir, 'fifo');
  let haveFifo = true;
  try {
    execFileSync('mkfifo', [fifo]);
  } catch {
    haveFifo = false;
  }
  fs.mkdirSync(path.join(dir, 'a-folder'), { recursive: true });
  try {
    fs.symlinkSync('loop-b', path.join(dir, 'loop-a'));
    fs.symlinkSync('loop-a', path.join(dir, 'loop-b'));
    fs.symlinkSync('nowhere', path.join(dir, 'dangling'));
  } catch {
    // already there
  }
  const specials = [...(haveFifo ? [fifo] : []), '/dev/zero', '/dev/urandom', '/dev/null', path.join(dir, 'a-folder'), path.join(dir, 'loop-a'), path.join(dir, 'dangling'), '/proc/self/mem'];
  for (const p of specials) {
    const rel = p.startsWith(dir) ? '@' + path.relative(dir, p) : p;
    add({ family: 'nonregular', op: 'load', native: false, note: `${p} as prototxt`, load: { demo: true, prototxt: rel } });
    add({ family: 'nonregular', op: 'load', native: false, note: `${p} as caffemodel`, load: { demo: true, caffemodel: rel } });
    add({ family: 'nonregular', op: 'load', native: false, note: `${p} as mean`, load: { demo: true, mean: rel } });
    add({ family: 'nonregular', op: 'load', native: false, note: `${p} as labels`, load: { demo: true, labels: rel } });
    add({ family: 'nonregular', op: 'load', native: false, note: `${p} as onnx`, load: { onnx: rel } });
    add({ family: 'nonregular', op: 'image', native: false, note: `${p} as image`, file: rel.startsWith('@') ? rel.slice(1) : path.relative(dir, p) });
    add({ family: 'nonregular', op: 'toolbox', native: false, note: `${p} as toolbox model`, file: rel.startsWith('@') ? rel.slice(1) : path.relative(dir, p) });
  }

  // ---- API misuse: every scenario with a seeded selection of bad values
  const scenarios = ['forward', 'forwardItem', 'relevanceClasses', 'relevanceClassItem', 'rule', 'epsstab', 'beta', 'lastlayer', 'flatdist', 'targets', 'blob', 'reshape', 'loadPrototxt', 'loadCaffemodel', 'loadOptions', 'loadBatch', 'newNet', 'setMemoryBudget', 'toolboxText', 'renderHeatmap', 'preprocess', 'disposedThen', 'disposeDuringForward'];
  for (const s of scenarios) {
    const picks = s === 'disposedThen' ? BAD_NAMES.slice(0, 6) : s === 'disposeDuringForward' ? BAD_NAMES.slice(0, 3) : BAD_NAMES;
    for (const arg of picks) add({ family: 'api', op: 'api', native: true, note: `${s}(${arg})`, scenario: s, arg });
  }

  // ---- the demonstrator: configs and file lists
  const rootDir = path.dirname(path.dirname(demo.prototxt));
  const config = (over: Record<string, string | null>) => {
    const keys: Record<string, string | null> = {
      param_file: demo.prototxt, model_file: demo.caffemodel, synsetfile: demo.labels, lastlayerindex: '-1', firstlayerindex: '0', numclasses: '10',
      baseimgsize: '28', standalone_outpath: 'out', standalone_rootpath: path.join(rootDir, 'demo-images'), relpropformulatype: '0', epsstab: '1',
      alphabeta_beta: '1', auxiliaryvariable_maxlayerindexforflatdistinconv: '-1', lrn_backward_type: '0', ...over,
    };
    return Object.entries(keys).filter(([, v]) => v !== null).map(([k, v]) => `${k}\n${v}\n`).join('\n');
  };
  const imgRoot = path.join(rootDir, 'demo-images');
  const goodList = 't10k-00019-t-shirt-top.png -1\nt10k-00002-trouser.png -1\n';
  const cliCases: [string, string | Buffer, string | Buffer, string?][] = [
    ['good run', config({}), goodList],
    ['baseimgsize 2147483647', config({ baseimgsize: '2147483647' }), goodList],
    ['baseimgsize 30000', config({ baseimgsize: '30000' }), goodList],
    ['baseimgsize 100000', config({ baseimgsize: '100000' }), goodList],
    ['baseimgsize -1', config({ baseimgsize: '-1' }), goodList],
    ['batchsize 1e9', config({ batchsize: '1e9' }), goodList],
    ['epsstab -1', config({ epsstab: '-1' }), goodList],
    ['epsstab nan', config({ epsstab: 'nan' }), goodList],
    ['alphabeta_beta 1e30', config({ relpropformulatype: '11', alphabeta_beta: '1e30' }), goodList],
    ['flatdist 999', config({ auxiliaryvariable_maxlayerindexforflatdistinconv: '999' }), goodList],
    ['lastlayerindex 999', config({ lastlayerindex: '999' }), goodList],
    ['numclasses 0', config({ numclasses: '0' }), goodList],
    ['numclasses 1e9', config({ numclasses: '1000000000' }), goodList],
    ['relpropformulatype 12345', config({ relpropformulatype: '12345' }), goodList],
    ['param_file and model_file swapped', config({ param_file: demo.caffemodel, model_file: demo.prototxt }), goodList],
    ['missing param_file', config({ param_file: null }), goodList],
    ['missing model file', config({ model_file: path.join(rootDir, 'nope.caffemodel') }), goodList],
    ['value line missing at the end', config({}) + 'epsstab\n', goodList],
    ['unknown key', config({ no_such_key: '1' }), goodList],
    ['binary config', model.subarray(0, 3000), goodList],
    ['empty config', '', goodList],
    ['empty file list', config({}), ''],
    ['file list of missing images', config({}), 'nope1.png -1\nnope2.png 3\n'],
    ['file list with a bad class', config({}), 't10k-00019-t-shirt-top.png 99\nt10k-00002-trouser.png abc\n'],
    ['file list with an absolute path outside the root', config({}), '/etc/passwd -1\n'],
    ['file list naming a folder', config({}), '. -1\n'],
    ['binary file list', config({}), model.subarray(0, 3000)],
    ['file list with 1 MB line', config({}), 'x'.repeat(1 << 20) + '\n'],
    ['corrupt image in the list', config({ standalone_rootpath: dir }), 'cli-corrupt.png -1\n'],
    ['NaN mean text file', config({ mean_file: path.join(dir, 'mean-nan.txt'), use_mean_file_asbinaryprotoblob: '0' }), goodList],
    ['output folder under /proc', config({ standalone_outpath: '/proc/1/nope' }), goodList],
    ['config with a UTF-8 BOM', '\ufeff' + config({}), goodList],
    ['config in UTF-16', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(config({}), 'utf16le')]), goodList],
    ['file-list entry with .. after the root', config({}), '../demo-images/t10k-00019-t-shirt-top.png -1\n'],
  ];
  fs.writeFileSync(path.join(dir, 'cli-corrupt.png'), image.subarray(0, 100));
  fs.writeFileSync(path.join(dir, 'mean-nan.txt'), '1 28 28\n' + Array.from({ length: 784 }, (_, i) => (i === 3 ? 'nan' : '0.5')).join(' ') + '\n');
  const mustSucceed = new Set(['image named with two characters', 'stale temp file of a killed run', 'good run', 'config with a UTF-8 BOM', 'config in UTF-16', 'unknown key']);
  cliCases.push(
    ['image named with two characters', config({ standalone_rootpath: null }), 'ab -1\n'],
    ['stale temp file of a killed run', config({}), goodList],
  );
  fs.copyFileSync(demo.images[0], path.join(dir, 'ab'));
  const checks: Record<string, Record<string, string>> = {
    'batchsize 1e9': { stderrMatch: 'batchsize' },
  };
  const lateExpected: Record<string, string> = {};
  cliCases.forEach(([note, cfg, list, expectedFailureGiven], i) => {
    const expectedFailure = expectedFailureGiven ?? lateExpected[note];
    if (note === 'image named with two characters') checks[note] = { mustExist: `cli-out-${i}/ab_rawhm.txt` };
    if (note === 'stale temp file of a killed run') {
      // where the run writes this image's outputs: the output folder + the image path from the root stub on
      const stale = `cli-out-${i}${imgRoot}/.t10k-00019-t-shirt-top.png_rawhm.txt.999999.1.tmp`;
      fs.mkdirSync(path.dirname(path.join(dir, stale)), { recursive: true });
      fs.writeFileSync(path.join(dir, stale), '1\n28 28\n');
      checks[note] = { mustNotExist: stale };
    }
    const outDir = `cli-out-${i}`;
    const extra = { ...(mustSucceed.has(note) ? { expect: 'ok' } : {}), ...(note.includes('..') ? { mustNotExist: 'demo-images' } : {}) };
    const cfgText = Buffer.isBuffer(cfg) ? cfg : Buffer.from(cfg.replace(/^out$/m, path.join(dir, outDir)));
    add({ family: 'cli', op: 'cli', native: true, note, expectedFailure, outDir, ...extra, ...checks[note], args: ['--quiet', write(`cli-${i}.config`, cfgText), write(`cli-${i}.list`, list), ['corrupt image in the list', 'image named with two characters'].includes(note) ? dir + '/' : imgRoot + '/'] });
  });
  if (haveFifo) add({ family: 'cli', op: 'cli', native: false, note: 'FIFO as the config', args: ['--quiet', '@fifo', write('cli-fifo.list', goodList), imgRoot + '/'] });
  add({ family: 'cli', op: 'cli', native: false, note: '/dev/zero as the file list', args: ['--quiet', write('cli-devzero.config', config({ standalone_outpath: path.join(dir, 'cli-out-dz') })), '/dev/zero', imgRoot + '/'], outDir: 'cli-out-dz' });
  add({ family: 'cli', op: 'cli', native: false, note: 'toolbox demo --scaling 100000', bin: 'lrp-toolbox-demo.js', args: ['--scaling', '100000'] });
  add({ family: 'cli', op: 'cli', native: false, note: 'unknown flag', args: ['--no-such-flag'] });
  return cases;
}
