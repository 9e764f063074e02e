/**
 * Toolbox model <-> NetSpec (the engine's network description).
 *
 * toolboxToNetSpec maps each toolbox module to one engine layer, converting layouts
 * explicitly (lib/toolbox/layout.ts): Convolution filters (h, w, d, n) -> Caffe (n, d, h, w)
 * with no padding; Linear (m, n) -> InnerProduct (n, m) with the input order changed from the
 * toolbox's (H, W, D) to the engine's (C, H, W) wherever the Linear sees a flattened volume;
 * MaxPool -> Pooling MAX (floor-mode size, no padding); SumPool -> the engine's SumPool
 * layer (sum of the window times 1/sqrt(h*w)); Rect -> ReLU, Tanh -> TanH, SoftMax ->
 * Softmax over the channels (the toolbox's last axis), Flatten -> Flatten. A Flatten whose
 * order still matters at the end of the net (no Linear after it reorders its inputs) gets a
 * Permute to channels-last in front of it, so the outputs keep the toolbox's order. Engine
 * layers are named after the module and its index in the file: conv0, rect1, sumpool2, ...,
 * linear7, flatten8, softmax9 (plus flatten8_nhwc for such a Permute).
 *
 * netSpecToToolbox is the inverse for sequential nets made of those layer kinds (also nets
 * loaded from Caffe files: an InnerProduct on a 4-D blob gets a Flatten in front of it).
 * Weights are float32 in the engine; a NetSpec made by toolboxToNetSpec remembers the
 * file's float64 values, so text -> NetSpec -> text is lossless.
 */
import { showValue } from '../relevance/show-value';
import { CaffeLrpError } from '../errors';
import type { BlobData, LayerSpec, NetSpec } from '../caffe/netspec-types';
import { convWeightsToEngine, convWeightsToToolbox, linearWeightsToEngine, linearWeightsToToolbox } from './layout';
import type { ToolboxLayer, ToolboxModel, ToolboxValues } from './model';

export interface ToolboxNetSpecOptions {
  /**
   * One sample in the toolbox's layout: [H, W, D] for image models (the engine input is
   * then N x D x H x W), [D] for vector models (engine input N x D x 1 x 1). The text format
   * does not store it; default [m] when the first layer is Linear m n, required otherwise.
   */
  inputShape?: number[];
  /** Batch size of the engine input (default 1; Net.forward grows it as needed). */
  batchSize?: number;
  /** Net name (default: the model's file name). */
  name?: string;
}

/** Float64 (or float32) values of the file, in toolbox layout, for an engine weight array. */
const originals = new WeakMap<Float32Array, ToolboxValues>();

const NAME_PREFIX: Record<ToolboxLayer['type'], string> = {
  Linear: 'linear', Convolution: 'conv', MaxPool: 'maxpool', SumPool: 'sumpool',
  Rect: 'rect', Tanh: 'tanh', SoftMax: 'softmax', Flatten: 'flatten',
};

function toFloat32(v: ToolboxValues): Float32Array {
  return v instanceof Float32Array ? v.slice() : Float32Array.from(v);
}

/** Builds the engine description of a toolbox model. */
export function toolboxToNetSpec(model: ToolboxModel, options: ToolboxNetSpecOptions = {}): NetSpec {
  const file = model.source;
  const layersIn = model.layers;
  if (!Array.isArray(layersIn) || layersIn.length === 0) throw new CaffeLrpError('SHAPE', 'the toolbox model has no layers', { file });
  const batch = options.batchSize ?? 1;
  if (!Number.isInteger(batch) || batch < 1) throw new CaffeLrpError('OPTION', `option 'batchSize': must be a positive integer, got ${showValue(batch)}`);
  const fail = (layer: ToolboxLayer, message: string) => new CaffeLrpError('SHAPE', message, { file, line: layer.line });

  let sample = options.inputShape;
  if (sample === undefined) {
    const first = layersIn[0];
    if (first.type !== 'Linear')
      throw new CaffeLrpError('OPTION', `option 'inputShape': the model starts with ${first.type}; give the input size [H, W, D] (the text format does not store it)`, { file });
    sample = [first.m];
  }
  if (!Array.isArray(sample) || (sample.length !== 1 && sample.length !== 3) || sample.some((d) => !Number.isInteger(d) || d < 1))
    throw new CaffeLrpError('OPTION', `option 'inputShape': must be [H, W, D] or [D] with positive integers, got ${JSON.stringify(sample)}`, { file });
  let shape: number[] = sample.length === 3 ? [batch, sample[2], sample[0], sample[1]] : [batch, sample[0], 1, 1];
  const inputShape = shape.slice();

  const layers: LayerSpec[] = [];
  let bottom = 'data';
  // A Flatten of a C x H x W volume whose (C, H, W) order differs from the toolbox's (H, W, C).
  let pending: { chw: [number, number, number]; at: number } | undefined;
  let isInput = true;

  layersIn.forEach((layer, index) => {
    const name = `${NAME_PREFIX[layer.type] ?? 'layer'}${index}`;
    const push = (type: string, params: Record<string, unknown>, top: number[], blobs: BlobData[] = []) => {
      layers.push({ name, type, bottoms: [bottom], tops: [name], params, blobs, topShapes: [top] });
      bottom = name;
      shape = top;
    };
    const need4d = () => {
      if (shape.length !== 4) throw fail(layer, `${layer.type} (module ${index}) needs an N x H x W x D input, but the layer before it gives a flat vector of ${shape[1]} values`);
    };
    const per = shape.slice(1).reduce((a, b) => a * b, 1);
    switch (layer.type) {
      case 'Convolution': {
        need4d();
        const [, c, h, w] = shape;
        if (c !== layer.d) throw fail(layer, `Convolution ${layer.h}x${layer.w}x${layer.d}x${layer.n} (module ${index}) expects input depth ${layer.d}, but its input has ${c} channels`);
        if (h < layer.h || w < layer.w) throw fail(layer, `Convolution filter ${layer.h}x${layer.w} (module ${index}) is larger than its ${h}x${w} input`);
        const out = [shape[0], layer.n, Math.floor((h - layer.h) / layer.stride[0]) + 1, Math.floor((w - layer.w) / layer.stride[1]) + 1];
        const weights = toFloat32(convWeightsToEngine(layer.weights, layer.h, layer.w, layer.d, layer.n));
        const bias = toFloat32(layer.bias);
        originals.set(weights, layer.weights);
        originals.set(bias, layer.bias);
        push('Convolution', {
          numOutput: layer.n, biasTerm: true, kernel: [layer.h, layer.w], stride: [...layer.stride], pad: [0, 0], dilation: [1, 1], group: 1, axis: 1,
        }, out, [{ shape: [layer.n, layer.d, layer.h, layer.w], data: weights }, { shape: [layer.n], data: bias }]);
        break;
      }
      case 'Linear': {
        if (per !== layer.m) throw fail(layer, `Linear ${layer.m} ${layer.n} (module ${index}) expects ${layer.m} inputs, but its input has ${per} values per sample`);
        let chw: [number, number, number] = [layer.m, 1, 1];
        if (shape.length === 4) {
          const [, c, h, w] = shape;
          if (!isInput && h * w > 1)
            throw fail(layer, `Linear (module ${index}) follows a ${h}x${w}x${c} volume without a Flatten (the toolbox would multiply per position)`);
          chw = [c, h, w];
        } else if (pending) {
          chw = pending.chw;
        }
        pending = undefined;
        const weights = toFloat32(linearWeightsToEngine(layer.weights, layer.m, layer.n, chw));
        const bias = toFloat32(layer.bias);
        originals.set(weights, layer.weights);
        originals.set(bias, layer.bias);
        push('InnerProduct', { numOutput: layer.n, biasTerm: true, axis: 1, transpose: false }, [shape[0], layer.n],
          [{ shape: [layer.n, layer.m], data: weights }, { shape: [layer.n], data: bias }]);
        break;
      }
      case 'MaxPool':
      case 'SumPool': {
        need4d();
        const [n, c, h, w] = shape;
        const [ph, pw] = layer.pool;
        if (h < ph || w < pw) throw fail(layer, `${layer.type} ${ph}x${pw} (module ${index}) is larger than its ${h}x${w} input`);
        const out = [n, c, Math.floor((h - ph) / layer.stride[0]) + 1, Math.floor((w - pw) / layer.stride[1]) + 1];
        if (layer.type === 'MaxPool')
          push('Pooling', { pool: 'MAX', kernel: [ph, pw], stride: [...layer.stride], pad: [0, 0], globalPooling: false, roundMode: 'FLOOR' }, out);
        else push('SumPool', { kernel: [ph, pw], stride: [...layer.stride], scale: 1 / Math.sqrt(ph * pw) }, out);
        break;
      }
      case 'Rect': push('ReLU', { negativeSlope: 0 }, shape.slice()); break;
      case 'Tanh': push('TanH', {}, shape.slice()); break;
      case 'SoftMax': push('Softmax', { axis: 1 }, shape.slice()); break;
      case 'Flatten': {
        if (shape.length === 4) {
          const [, c, h, w] = shape;
          if (c > 1 && h * w > 1) pending = { chw: [c, h, w], at: layers.length };
        }
        push('Flatten', { axis: 1, endAxis: -1 }, [shape[0], per]);
        break;
      }
      default:
        throw new CaffeLrpError('UNSUPPORTED', `unknown toolbox layer type ${JSON.stringify((layer as { type: unknown }).type)} (module ${index})`, { file });
    }
    isInput = false;
  });

  if (pending) {
    // No Linear reorders the flattened values: flatten channels-last, like the toolbox.
    const flatten = layers[pending.at];
    const [c, h, w] = pending.chw;
    const permute: LayerSpec = {
      name: `${flatten.name}_nhwc`, type: 'Permute', bottoms: flatten.bottoms.slice(), tops: [`${flatten.name}_nhwc`],
      params: { order: [0, 2, 3, 1] }, blobs: [], topShapes: [[batch, h, w, c]],
    };
    flatten.bottoms = [permute.tops[0]];
    layers.splice(pending.at, 0, permute);
  }
  const source = model.source;
  const name = options.name ?? (source ? source.replace(/^.*[\\/]/, '').replace(/\.[^.]*$/, '') : 'toolbox-model');
  return { name, inputs: [{ name: 'data', shape: inputShape }], layers, source, weightsLoaded: true, weightsSource: source };
}

// ---------------------------------------------------------------------------------------

function sameAsFloat32(original: ToolboxValues, values: Float32Array): boolean {
  if (original.length !== values.length) return false;
  for (let i = 0; i < values.length; ++i) {
    const a = Math.fround(original[i]);
    if (a !== values[i] && !(Number.isNaN(a) && Number.isNaN(values[i]))) return false;
  }
  return true;
}

/** The file's values when the engine weights still hold them, else the float32 values. */
function exported(engine: Float32Array, converted: Float32Array): ToolboxValues {
  const original = originals.get(engine);
  return original && sameAsFloat32(original, converted) ? original : converted;
}

function param<T>(layer: LayerSpec, key: string, fallback: T): T {
  const v = layer.params?.[key];
  return v === undefined ? fallback : (v as T);
}

function same(a: unknown, b: number[]): boolean {
  return Array.isArray(a) && a.length === b.length && a.every((v, i) => v === b[i]);
}

/**
 * The toolbox model of a sequential NetSpec. Supported: Convolution (no padding, dilation
 * or groups), InnerProduct, Pooling MAX (no padding), SumPool, ReLU (slope 0), TanH,
 * Softmax, Flatten, a channels-last Permute before a Flatten, and Dropout (skipped).
 */
export function netSpecToToolbox(spec: NetSpec): ToolboxModel {
  const file = spec.source;
  if (spec.inputs.length !== 1) throw new CaffeLrpError('UNSUPPORTED', `the toolbox format describes nets with one input; this one has ${spec.inputs.length}`, { file });
  const input = spec.inputs[0];
  let shape = input.shape.slice();
  if (shape.length !== 4 && shape.length !== 2)
    throw new CaffeLrpError('UNSUPPORTED', `input '${input.name}' must be N x C x H x W or N x D, got ${shape.join('x')}`, { file });
  let current = input.name;
  let isInput = true;
  // Order of a flat blob: 'chw' when it came from flattening a channels-first volume.
  let chwOrder: [number, number, number] | undefined;
  let permuted = false;
  const out: ToolboxLayer[] = [];
  spec.layers.forEach((layer, index) => {
    const where = { file, layer: layer.name };
    const unsupported = (why: string) => new CaffeLrpError('UNSUPPORTED', `${layer.type} layer #${index}: ${why}`, where);
    if (layer.bottoms.length !== 1 || layer.bottoms[0] !== current || layer.tops.length !== 1)
      throw unsupported(`the toolbox format describes a chain of single-input layers; this layer reads ${JSON.stringify(layer.bottoms)} and writes ${JSON.stringify(layer.tops)} after blob '${current}'`);
    const next = layer.tops[0];
    const per = shape.slice(1).reduce((a, b) => a * b, 1);
    if (permuted && layer.type !== 'Flatten') throw unsupported('only a Flatten may follow a channels-last Permute');
    switch (layer.type) {
      case 'Convolution': {
        if (shape.length !== 4) throw unsupported('needs a 4-D input');
        if (param(layer, 'group', 1) !== 1 || !same(param(layer, 'pad', [0, 0]), [0, 0]) || !same(param(layer, 'dilation', [1, 1]), [1, 1]) || param(layer, 'axis', 1) !== 1)
          throw unsupported('the toolbox convolution has no padding, dilation or groups');
        const [nf, d, h, w] = layer.blobs[0]?.shape ?? [];
        const stride = param<number[]>(layer, 'stride', [1, 1]);
        if (d !== shape[1]) throw unsupported(`weights for ${d} input channels, input has ${shape[1]}`);
        const weights = exported(layer.blobs[0].data, convWeightsToToolbox(layer.blobs[0].data, nf, d, h, w));
        const biasData = param(layer, 'biasTerm', true) ? layer.blobs[1].data : new Float32Array(nf);
        const bias = exported(biasData, biasData.slice());
        out.push({ type: 'Convolution', h, w, d, n: nf, stride: [stride[0], stride[1]], weights, bias });
        shape = [shape[0], nf, Math.floor((shape[2] - h) / stride[0]) + 1, Math.floor((shape[3] - w) / stride[1]) + 1];
        break;
      }
      case 'InnerProduct': {
        if (param(layer, 'axis', 1) !== 1) throw unsupported('only axis 1 is supported');
        const n = param<number>(layer, 'numOutput', 0);
        const m = per;
        let chw: [number, number, number] = [m, 1, 1];
        if (shape.length === 4) {
          const [, c, h, w] = shape;
          if (!isInput && h * w > 1) out.push({ type: 'Flatten' });
          chw = [c, h, w];
        } else if (chwOrder) {
          chw = chwOrder;
        }
        let engine = layer.blobs[0].data;
        if (param(layer, 'transpose', false)) {
          const t = new Float32Array(engine.length);
          for (let k = 0; k < m; ++k) for (let j = 0; j < n; ++j) t[j * m + k] = engine[k * n + j];
          engine = t;
        }
        if (engine.length !== m * n) throw unsupported(`weights hold ${engine.length} values for ${m} inputs x ${n} outputs`);
        const weights = exported(layer.blobs[0].data, linearWeightsToToolbox(engine, n, m, chw));
        const biasData = param(layer, 'biasTerm', true) ? layer.blobs[1].data : new Float32Array(n);
        const bias = exported(biasData, biasData.slice());
        out.push({ type: 'Linear', m, n, weights, bias });
        shape = [shape[0], n];
        chwOrder = undefined;
        break;
      }
      case 'Pooling':
      case 'SumPool': {
        if (shape.length !== 4) throw unsupported('needs a 4-D input');
        const [n, c, h, w] = shape;
        const global = param(layer, 'globalPooling', false);
        const kernel = global ? [h, w] : param<number[]>(layer, 'kernel', [1, 1]);
        const stride = global ? [1, 1] : param<number[]>(layer, 'stride', [1, 1]);
        if (layer.type === 'Pooling') {
          if (param(layer, 'pool', 'MAX') !== 'MAX')
            throw unsupported(`${String(param(layer, 'pool', ''))} pooling has no toolbox counterpart (MaxPool, and SumPool which scales by 1/sqrt(h*w))`);
          if (!same(param(layer, 'pad', [0, 0]), [0, 0])) throw unsupported('the toolbox pools have no padding');
          if (param(layer, 'roundMode', 'CEIL') === 'CEIL' &&
              ((h - kernel[0]) % stride[0] !== 0 || (w - kernel[1]) % stride[1] !== 0))
            throw unsupported('ceil-mode output size differs from the toolbox floor-mode size for this input');
        } else {
          const scale = param<number>(layer, 'scale', 1 / Math.sqrt(kernel[0] * kernel[1]));
          if (Math.fround(scale) !== Math.fround(1 / Math.sqrt(kernel[0] * kernel[1])))
            throw unsupported(`scale ${scale} differs from the toolbox's 1/sqrt(${kernel[0]}*${kernel[1]})`);
        }
        out.push({ type: layer.type === 'Pooling' ? 'MaxPool' : 'SumPool', pool: [kernel[0], kernel[1]], stride: [stride[0], stride[1]] });
        shape = [n, c, Math.floor((h - kernel[0]) / stride[0]) + 1, Math.floor((w - kernel[1]) / stride[1]) + 1];
        break;
      }
      case 'ReLU':
        if (param(layer, 'negativeSlope', 0) !== 0) throw unsupported('leaky ReLU has no toolbox counterpart');
        out.push({ type: 'Rect' });
        break;
      case 'TanH': out.push({ type: 'Tanh' }); break;
      case 'Softmax': {
        const axis = param(layer, 'axis', 1);
        if (!(axis === 1 || (axis === -1 && shape.length === 2))) throw unsupported('the toolbox SoftMax normalises over the channels (axis 1)');
        out.push({ type: 'SoftMax' });
        break;
      }
      case 'Permute':
        if (!same(param(layer, 'order', []), [0, 2, 3, 1]) || shape.length !== 4) throw unsupported('only the channels-last order [0, 2, 3, 1] before a Flatten is supported');
        permuted = true;
        break;
      case 'Flatten': {
        if (param(layer, 'axis', 1) !== 1 || param(layer, 'endAxis', -1) !== -1) throw unsupported('only axis 1 to the end is supported');
        if (shape.length === 4) {
          const [, c, h, w] = shape;
          chwOrder = permuted || c === 1 || h * w === 1 ? undefined : [c, h, w];
          shape = [shape[0], per];
        }
        permuted = false;
        out.push({ type: 'Flatten' });
        break;
      }
      case 'Dropout':
        break;
      default:
        throw unsupported('no toolbox counterpart');
    }
    current = next;
    isInput = false;
  });
  if (permuted) throw new CaffeLrpError('UNSUPPORTED', 'the net ends with a Permute (the toolbox format has none)', { file });
  return { layers: out, source: file };
}
