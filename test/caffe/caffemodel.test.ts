import * as fs from 'fs';
import { CaffeLrpError } from '../../lib/errors';
import { decodeBlobProtoFile, decodeCaffemodel } from '../../lib/caffe/caffemodel';
import { DecodedBlob, LayerObject } from '../../lib/caffe/proto-objects';
import {
  MODELS,
  blobLegacy,
  blobWithShape,
  bytes,
  doubleBytes,
  floatBytes,
  lenField,
  negativeVarint,
  stringField,
  tag,
  v1Layer,
  v2Layer,
  varint,
  varintField,
} from '../helpers/caffe-fixtures';
import { describeShared } from '../helpers/shared-data';

const blobsOf = (l: LayerObject | undefined): DecodedBlob[] => (l?.blobs ?? []) as DecodedBlob[];

function expectError(fn: () => unknown, code: string, ...parts: (string | RegExp)[]): CaffeLrpError {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(CaffeLrpError);
  const e = err as CaffeLrpError;
  expect(e.code).toBe(code);
  for (const p of parts) expect(e.message).toMatch(p);
  return e;
}

describe('decodeCaffemodel: V2 layers', () => {
  const buf = bytes(
    stringField(1, 'tiny'),
    v2Layer('conv1', 'Convolution', ['data'], ['conv1'], [blobWithShape([2, 1, 1, 2], [1, 2, 3, 4]), blobWithShape([2], [0.5, -0.5])]),
    v2Layer('relu1', 'ReLU', ['conv1'], ['conv1']),
  );

  test('reads name, layer fields and blobs', () => {
    const net = decodeCaffemodel(buf, 'tiny.caffemodel');
    expect(net.name).toBe('tiny');
    expect(net.layer!.map((l) => [l.name, l.type, l.bottom, l.top])).toEqual([
      ['conv1', 'Convolution', ['data'], ['conv1']],
      ['relu1', 'ReLU', ['conv1'], ['conv1']],
    ]);
    const [w, b] = blobsOf(net.layer![0]);
    expect(w.shape).toEqual([2, 1, 1, 2]);
    expect(w.legacy).toBe(false);
    expect(w.data).toBeInstanceOf(Float32Array);
    expect([...w.data]).toEqual([1, 2, 3, 4]);
    expect([...b.data]).toEqual([0.5, -0.5]);
    expect(net.layer![1].blobs).toBeUndefined();
  });

  test('copies float data from unaligned offsets bit-exactly', () => {
    // Values that are not representable as short decimals, starting at an odd byte offset.
    const values = [Math.fround(Math.PI), -Math.fround(1 / 3), 1e-38, 3.4e38];
    for (let pad = 0; pad < 4; pad++) {
      const name = 'x'.repeat(pad + 1);
      const net = decodeCaffemodel(bytes(v2Layer(name, 'Bias', ['a'], ['b'], [blobWithShape([4], values)])), 'f');
      const data = blobsOf(net.layer![0])[0].data;
      expect(Buffer.from(data.buffer).equals(Buffer.from(floatBytes(values)))).toBe(true);
    }
  });

  test('reuseBuffer: large blobs become aligned views into the buffer with the same values, at every offset', () => {
    const big = Array.from({ length: 5000 }, (_, i) => Math.fround(Math.sin(i) * 10 ** ((i % 9) - 4)));
    const small = [1.5, -2.25];
    for (let pad = 0; pad < 4; pad++) {
      const file = bytes(
        v2Layer('x'.repeat(pad + 1), 'InnerProduct', ['a'], ['b'], [blobWithShape([5000], big), blobWithShape([2], small)]),
        v2Layer('y'.repeat(4 - pad), 'InnerProduct', ['b'], ['c'], [blobWithShape([1, 5000], big)]),
      );
      const copied = decodeCaffemodel(Uint8Array.from(file), 'f');
      const buf = Uint8Array.from(file);
      const reused = decodeCaffemodel(buf, 'f', { reuseBuffer: true });
      for (const l of [0, 1]) {
        const a = blobsOf(copied.layer![l]);
        const b = blobsOf(reused.layer![l]);
        expect(b.map((x) => x.shape)).toEqual(a.map((x) => x.shape));
        b.forEach((x, i) => expect(Buffer.from(x.data.buffer, x.data.byteOffset, x.data.byteLength).equals(Buffer.from(a[i].data.buffer, a[i].data.byteOffset, a[i].data.byteLength))).toBe(true));
      }
      // the 5000-value blobs live in the buffer; the 2-value one is a copy
      expect(blobsOf(reused.layer![0])[0].data.buffer).toBe(buf.buffer);
      expect(blobsOf(reused.layer![1])[0].data.buffer).toBe(buf.buffer);
      expect(blobsOf(reused.layer![0])[1].data.buffer).not.toBe(buf.buffer);
      // without the option the caller's buffer is never touched
      const untouched = Uint8Array.from(file);
      decodeCaffemodel(untouched, 'f');
      expect(Buffer.from(untouched).equals(Buffer.from(file))).toBe(true);
    }
  });

  test('accepts non-packed float data and non-packed dims', () => {
    const blob = [
      ...lenField(7, [...varintField(1, 1), ...varintField(1, 3)]),
      ...[1.5, 2.5, 3.5].flatMap((v) => [...tag(5, 5), ...floatBytes([v])]),
    ];
    const net = decodeCaffemodel(bytes(v2Layer('l', 'Scale', ['a'], ['b'], [blob])), 'f');
    const b = blobsOf(net.layer![0])[0];
    expect(b.shape).toEqual([1, 3]);
    expect([...b.data]).toEqual([1.5, 2.5, 3.5]);
  });

  test('double_data (packed and non-packed) becomes float32 and wins over data', () => {
    const packed = [...lenField(7, lenField(1, varint(2))), ...lenField(8, doubleBytes([0.1, 1e300]))];
    const loose = [...lenField(7, lenField(1, varint(2))), ...[0.25, -2].flatMap((v) => [...tag(8, 1), ...doubleBytes([v])])];
    const both = [...lenField(7, lenField(1, varint(1))), ...lenField(5, floatBytes([9])), ...lenField(8, doubleBytes([7]))];
    const net = decodeCaffemodel(bytes(v2Layer('l', 'X', [], ['t'], [packed, loose, both])), 'f');
    const [a, b, c] = blobsOf(net.layer![0]);
    expect([...a.data]).toEqual([Math.fround(0.1), Infinity]);
    expect([...b.data]).toEqual([0.25, -2]);
    expect([...c.data]).toEqual([7]);
  });

  test('legacy dims are kept as stored and flagged', () => {
    const net = decodeCaffemodel(bytes(v2Layer('ip', 'InnerProduct', ['a'], ['b'], [blobLegacy([1, 1, 2, 3], [1, 2, 3, 4, 5, 6])])), 'f');
    const b = blobsOf(net.layer![0])[0];
    expect(b.shape).toEqual([1, 1, 2, 3]);
    expect(b.legacy).toBe(true);
  });

  test('legacy dims win over a shape when both are present (as in Caffe)', () => {
    const blob = [...varintField(1, 1), ...varintField(2, 1), ...varintField(3, 1), ...varintField(4, 2), ...lenField(7, lenField(1, varint(2))), ...lenField(5, floatBytes([1, 2]))];
    const b = blobsOf(decodeCaffemodel(bytes(v2Layer('l', 'X', [], ['t'], [blob])), 'f').layer![0])[0];
    expect(b.shape).toEqual([1, 1, 1, 2]);
    expect(b.legacy).toBe(true);
  });

  test('an empty BlobShape is the 0-axis scalar shape (count 1)', () => {
    const blob = [...lenField(7, []), ...lenField(5, floatBytes([0.25]))];
    const b = blobsOf(decodeCaffemodel(bytes(v2Layer('p', 'PReLU', ['a'], ['a'], [blob])), 'f').layer![0])[0];
    expect(b.shape).toEqual([]);
    expect([...b.data]).toEqual([0.25]);
  });

  test('fields unknown to the schema are skipped', () => {
    const unknown = [...varintField(999, 5), ...lenField(998, [1, 2, 3]), ...tag(997, 5), 0, 0, 0, 0, ...tag(996, 1), 0, 0, 0, 0, 0, 0, 0, 0];
    const net = decodeCaffemodel(bytes(unknown, v2Layer('l', 'ReLU', ['a'], ['b'], [], unknown)), 'f');
    expect(net.layer![0].name).toBe('l');
  });
});

describe('decodeCaffemodel: V1 layers', () => {
  test('reads V1 layers with enum types and legacy blobs', () => {
    const buf = bytes(
      stringField(1, 'old'),
      v1Layer('ip1', 14, ['data'], ['ip1'], [blobLegacy([1, 1, 2, 2], [1, 2, 3, 4]), blobLegacy([1, 1, 1, 2], [5, 6])]),
      v1Layer('loss', 21, ['ip1', 'label'], ['loss']),
    );
    const net = decodeCaffemodel(buf, 'old.caffemodel');
    expect(net.layer).toBeUndefined();
    expect(net.layers!.map((l) => [l.name, l.type])).toEqual([
      ['ip1', 'INNER_PRODUCT'],
      ['loss', 'SOFTMAX_LOSS'],
    ]);
    expect(blobsOf(net.layers![0] as LayerObject).map((b) => b.shape)).toEqual([
      [1, 1, 2, 2],
      [1, 1, 1, 2],
    ]);
  });

  test('V0 layers (pre-2014) are rejected as UNSUPPORTED', () => {
    const buf = bytes(lenField(2, lenField(1, stringField(1, 'conv1'))));
    expectError(() => decodeCaffemodel(buf, 'v0.caffemodel'), 'UNSUPPORTED', /v0\.caffemodel/, /V0 format/);
  });
});

describe('decodeCaffemodel: errors', () => {
  const good = bytes(v2Layer('conv1', 'Convolution', ['data'], ['conv1'], [blobWithShape([2, 2], [1, 2, 3, 4])]));

  test('truncation names the file and a byte offset, never a RangeError', () => {
    for (let n = 1; n < good.length; n++) {
      let err: unknown;
      try {
        decodeCaffemodel(good.subarray(0, n), 'cut.caffemodel');
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(CaffeLrpError);
      expect((err as CaffeLrpError).code).toBe('DECODE');
      expect((err as Error).message).toMatch(/^cut\.caffemodel.*byte offset \d+/);
    }
  });

  test('errors inside a layer name the layer', () => {
    const truncatedBlob = bytes(lenField(100, [...stringField(1, 'fc7'), ...lenField(7, [...tag(5, 2), ...varint(40), 1, 2, 3])]));
    const e = expectError(() => decodeCaffemodel(truncatedBlob, 'm.caffemodel'), 'DECODE', /layer 'fc7'/, /byte offset/);
    expect(e.layer).toBe('fc7');
    expect(e.file).toBe('m.caffemodel');
  });

  test('a blob whose count differs from its shape names layer and blob index', () => {
    const buf = bytes(v2Layer('conv1', 'Convolution', ['data'], ['conv1'], [blobWithShape([2], [1, 2]), blobWithShape([2, 3], [1, 2, 3])]));
    expectError(() => decodeCaffemodel(buf, 'm.caffemodel'), 'SHAPE', /layer 'conv1'/, /blob 1 has 3 values but its shape \[2, 3\] needs 6/);
  });

  test('a blob with a shape but no data is an error (Caffe would silently keep its fillers)', () => {
    const buf = bytes(v2Layer('ip', 'InnerProduct', ['a'], ['b'], [lenField(7, lenField(1, varint(3)))]));
    expectError(() => decodeCaffemodel(buf, 'm'), 'SHAPE', /blob 0 has 0 values/);
  });

  test('packed data whose length is not a multiple of 4', () => {
    const buf = bytes(v2Layer('l', 'X', [], ['t'], [[...lenField(5, [1, 2, 3, 4, 5])]]));
    expectError(() => decodeCaffemodel(buf, 'm'), 'DECODE', /not a multiple of 4/);
  });

  test('negative or huge dims and legacy dims', () => {
    const neg = [...lenField(7, [...tag(1, 0), ...negativeVarint(-1)])];
    expectError(() => decodeCaffemodel(bytes(v2Layer('l', 'X', [], ['t'], [neg])), 'm'), 'DECODE', /shape dimension out of range \(negative\)/);
    const negLegacy = [...tag(1, 0), ...negativeVarint(-3)];
    expectError(() => decodeCaffemodel(bytes(v2Layer('l', 'X', [], ['t'], [negLegacy])), 'm'), 'DECODE', /legacy dimension out of range/);
  });

  test('a length running past the end, bad wire types, bad field numbers, overlong varints', () => {
    expectError(() => decodeCaffemodel(Buffer.from([...tag(100, 2), ...varint(1000), 1]), 'm'), 'DECODE', /runs past the end/);
    expectError(() => decodeCaffemodel(Buffer.from([...tag(5, 3)]), 'm'), 'DECODE', /unsupported wire type 3/);
    expectError(() => decodeCaffemodel(Buffer.from([0x00]), 'm'), 'DECODE', /invalid field number 0/);
    expectError(() => decodeCaffemodel(Buffer.from(Array(11).fill(0xff)), 'm'), 'DECODE', /malformed varint/);
    expectError(() => decodeCaffemodel(bytes(v2Layer('l', 'X', [], ['t'], [[...tag(5, 0), 1]])), 'm'), 'DECODE', /unexpected wire type 0/);
  });

  test('non-blob fields that protobufjs cannot decode become DECODE errors', () => {
    // inner_product_param.weight_filler claims 5 bytes but has 1: only protobufjs looks inside.
    const bad = bytes(lenField(100, [...stringField(1, 'bad'), ...lenField(117, [...tag(3, 2), ...varint(5), 1])]));
    expectError(() => decodeCaffemodel(bad, 'm'), 'DECODE', /layer 'bad'/, /cannot decode the fields of layer 0/);
  });

  test('an empty buffer is an empty net', () => {
    expect(decodeCaffemodel(Buffer.alloc(0), 'm')).toEqual({});
  });
});

describe('decodeBlobProtoFile', () => {
  test('decodes a top-level BlobProto', () => {
    const b = decodeBlobProtoFile(Buffer.from(blobLegacy([1, 1, 1, 3], [1, 2, 3])), 'mean.binaryproto');
    expect(b.shape).toEqual([1, 1, 1, 3]);
    expect([...b.data]).toEqual([1, 2, 3]);
  });
  test('errors name the file', () => {
    expectError(() => decodeBlobProtoFile(Buffer.from([...tag(5, 2), 8, 1]), 'mean.binaryproto'), 'DECODE', /^mean\.binaryproto/);
  });
});

describeShared('shared caffemodels decode', 'models', () => {
  const files = [
    'lenet-mnist/lenet_iter_10000.caffemodel',
    'lenet-mnist-v1/lenet_iter_10000.caffemodel',
    'cifar10-quick-v1/cifar10_quick_iter_5000.caffemodel',
    'cifar10-full-v1/cifar10_full_iter_70000.caffemodel',
    'resnet20-cifar10/ResNet_20.caffemodel',
    'mtcnn/det1.caffemodel',
    'mtcnn/det4.caffemodel',
    'ultraface-rfb320/RFB-320.caffemodel',
  ];
  test.each(files)('%s', (f) => {
    const net = decodeCaffemodel(fs.readFileSync(`${MODELS}/${f}`), f);
    const layers = (net.layer ?? net.layers ?? []) as LayerObject[];
    expect(layers.length).toBeGreaterThan(0);
    for (const l of layers) for (const b of blobsOf(l)) expect(b.data).toBeInstanceOf(Float32Array);
  });

  test('lenet V2 blob facts', () => {
    const net = decodeCaffemodel(fs.readFileSync(`${MODELS}/lenet-mnist/lenet_iter_10000.caffemodel`), 'lenet');
    expect(net.layer!.map((l) => l.type)).toEqual(['Data', 'Convolution', 'Pooling', 'Convolution', 'Pooling', 'InnerProduct', 'ReLU', 'InnerProduct', 'SoftmaxWithLoss']);
    const ip1 = net.layer!.find((l) => l.name === 'ip1')!;
    expect(blobsOf(ip1).map((b) => [b.shape, b.legacy])).toEqual([
      [[500, 800], false],
      [[500], false],
    ]);
  });

  test('lenet V1 blob facts: legacy dims', () => {
    const net = decodeCaffemodel(fs.readFileSync(`${MODELS}/lenet-mnist-v1/lenet_iter_10000.caffemodel`), 'lenet-v1');
    const ip1 = net.layers!.find((l) => l.name === 'ip1')!;
    expect(ip1.type).toBe('INNER_PRODUCT');
    expect(blobsOf(ip1 as LayerObject).map((b) => [b.shape, b.legacy])).toEqual([
      [[1, 1, 500, 800], true],
      [[1, 1, 1, 500], true],
    ]);
  });
});
