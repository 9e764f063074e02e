import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { CaffeLrpError } from '../../lib/errors';
import { decodeCaffemodel, loadNetSpec, loadNetSpecSync, readCaffemodel, writeCaffemodel } from '../../lib/caffe';
import { NetSpec } from '../../lib/caffe/netspec-types';
import { DecodedBlob } from '../../lib/caffe/proto-objects';

const TEXT = `name: "n"
input: "data"
input_shape { dim: 1 dim: 3 }
layer { name: "ip" type: "InnerProduct" bottom: "data" top: "ip" inner_product_param { num_output: 2 } }
`;

describe('loadNetSpec', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'caffe-lrp-index-'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  const weights = (): Buffer => {
    const spec = loadNetSpecSync({ prototxt: Buffer.from(TEXT) });
    spec.layers[0].blobs = [
      { shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6]) },
      { shape: [2], data: Float32Array.from([7, 8]) },
    ];
    return writeCaffemodel(spec);
  };

  test('paths and buffers give the same spec; source names reported', async () => {
    const p = path.join(dir, 'n.prototxt');
    const m = path.join(dir, 'n.caffemodel');
    fs.writeFileSync(p, TEXT);
    fs.writeFileSync(m, weights());
    const a = await loadNetSpec({ prototxt: p, caffemodel: m });
    const b = loadNetSpecSync({ prototxt: Buffer.from(TEXT), caffemodel: weights() });
    expect(a.source).toBe(p);
    expect(a.weightsSource).toBe(m);
    expect(b.source).toBe('<prototxt>');
    expect(b.weightsSource).toBe('<caffemodel>');
    const strip = (s: NetSpec) => ({ ...s, source: undefined, weightsSource: undefined });
    expect(strip(a)).toEqual(strip(b));
    expect([...a.layers[0].blobs[1].data]).toEqual([7, 8]);
  });

  test('missing files: IO errors naming the path (async and sync)', async () => {
    await expect(loadNetSpec({ prototxt: path.join(dir, 'none.prototxt') })).rejects.toMatchObject({ code: 'IO', file: path.join(dir, 'none.prototxt') });
    expect(() => loadNetSpecSync({ prototxt: Buffer.from(TEXT), caffemodel: path.join(dir, 'none.caffemodel') })).toThrow(
      expect.objectContaining({ code: 'IO', file: path.join(dir, 'none.caffemodel') }),
    );
    await expect(readCaffemodel(path.join(dir, 'none.caffemodel'))).rejects.toBeInstanceOf(CaffeLrpError);
  });

  test('syntax errors and corrupt weights name the given source names', async () => {
    await expect(loadNetSpec({ prototxt: Buffer.from('layer { name: "x" '), prototxtName: 'mine.prototxt' })).rejects.toMatchObject({ code: 'PARSE', file: 'mine.prototxt' });
    await expect(
      loadNetSpec({ prototxt: Buffer.from(TEXT), caffemodel: weights().subarray(0, 30), caffemodelName: 'cut.caffemodel' }),
    ).rejects.toMatchObject({ code: 'DECODE', file: 'cut.caffemodel' });
  });
});

describe('large caffemodels', () => {
  test('a 64 MB blob decodes without turning floats into JS numbers', () => {
    const n = 16 * 1024 * 1024;
    const data = new Float32Array(n);
    for (let i = 0; i < n; i += 4099) data[i] = i;
    const spec: NetSpec = {
      name: 'big',
      inputs: [{ name: 'x', shape: [1, 4096] }],
      layers: [{ name: 'fc', type: 'InnerProduct', bottoms: ['x'], tops: ['y'], params: { numOutput: 4096, biasTerm: false, axis: 1, transpose: false }, blobs: [{ shape: [4096, 4096], data }] }],
    };
    const buf = writeCaffemodel(spec);
    expect(buf.length).toBeGreaterThan(n * 4);
    global.gc?.();
    const heapBefore = process.memoryUsage().heapUsed;
    const t0 = Date.now();
    const net = decodeCaffemodel(buf, 'big.caffemodel');
    const elapsed = Date.now() - t0;
    const heapGrowth = process.memoryUsage().heapUsed - heapBefore;
    const blob = net.layer![0].blobs![0] as DecodedBlob;
    expect(blob.shape).toEqual([4096, 4096]);
    expect(blob.data[4099 * 3]).toBe(4099 * 3);
    expect(Buffer.from(blob.data.buffer).equals(Buffer.from(data.buffer))).toBe(true);
    // 16M JS numbers would need well over 128 MB of heap; typed arrays live outside it.
    expect(heapGrowth).toBeLessThan(32 * 1024 * 1024);
    // A hang bound, not a speed limit: decoding 64 MB takes about 0.1 s; 5 s (50x) trips only
    // on a decoder that copies per value or reads byte by byte in JavaScript.
    expect(elapsed).toBeLessThan(5000);
  });
});
