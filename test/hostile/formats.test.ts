/**
 * Malformed or mixed-up files get messages that name the real cause: a caffemodel given as
 * prototxt, a text mean read as binaryproto, a varint where a layer belongs, non-finite
 * numbers in means and toolbox models, sources that are neither paths nor bytes.
 */
import { thrownCaffeLrpError } from '../helpers/expect-error';
import * as fs from 'fs';
import { loadNetSpecSync } from '../../lib/caffe';
import { parseBinaryprotoMean, parseMean } from '../../lib/caffe/mean';
import { parseToolboxModel } from '../../lib/toolbox/model';
import { writeCaffemodel } from '../../lib/caffe/writer';
import { demoModel } from '../../lib/demo-model';
import { Net } from '../../lib/net';
import { CaffeLrpError } from '../../lib/errors';
import { blobLegacy, floatBytes, lenField, varint } from '../helpers/caffe-fixtures';
import type { NetSpec } from '../../lib/caffe/netspec-types';


const PROTO = Buffer.from('input: "x"\ninput_shape { dim: 1 dim: 4 }\nlayer { name: "fc" type: "InnerProduct" bottom: "x" top: "y" inner_product_param { num_output: 2 } }\n');

test('a caffemodel given as prototxt says the two files look swapped', () => {
  const e = thrownCaffeLrpError(() => loadNetSpecSync({ prototxt: fs.readFileSync(demoModel.caffemodel), prototxtName: 'deploy.prototxt' }));
  expect(e).toMatchObject({ code: 'PARSE', file: 'deploy.prototxt' });
  expect(e.message).toMatch(/looks binary.*swapped/);
});

test('sources: any Uint8Array is bytes; a number or an object is an OPTION error naming the argument', async () => {
  const spec = loadNetSpecSync({ prototxt: new Uint8Array(fs.readFileSync(demoModel.prototxt)), caffemodel: new Uint8Array(fs.readFileSync(demoModel.caffemodel)) });
  expect(spec.layers.length).toBeGreaterThan(3);
  expect(thrownCaffeLrpError(() => loadNetSpecSync({ prototxt: 5 as unknown as string }))).toMatchObject({ code: 'OPTION', message: expect.stringMatching(/expected a file path .* got number/) });
  await expect(Net.load({ prototxt: 5 as unknown as string, caffemodel: 6 as unknown as string })).rejects.toMatchObject({ code: 'OPTION' });
  await expect(Net.load({ prototxt: demoModel.prototxt, caffemodel: {} as unknown as string })).rejects.toMatchObject({ code: 'OPTION', message: expect.stringMatching(/got object/) });
});

test("a varint where a caffemodel's layer belongs: DECODE naming the field, not the decoder's internals", () => {
  for (const model of [Buffer.from([...varint((100 << 3) | 0), 5]), Buffer.from([...varint((100 << 3) | 0), ...varint(2 ** 40)])]) {
    const e = thrownCaffeLrpError(() => loadNetSpecSync({ prototxt: PROTO, caffemodel: model }));
    expect(e.code).toBe('DECODE');
    expect(e.message).toMatch(/field 100 \('layer'\) at byte offset 0 has wire type 0/);
    expect(e.message).not.toMatch(/index out of range/);
  }
  // a truncated header field: our words for protobufjs's "index out of range"
  const truncated = Buffer.from([...varint((1 << 3) | 2), 50, 0x61]);
  expect(thrownCaffeLrpError(() => loadNetSpecSync({ prototxt: PROTO, caffemodel: truncated })).message).toMatch(/runs past the end of the (enclosing )?data/);
});

describe('means', () => {
  test('a text mean read as binaryproto says it looks like a text mean', () => {
    const text = Buffer.from('3 2 2\n1 2 3 4 5 6 7 8 9 10 11 12\n');
    const e = thrownCaffeLrpError(() => parseBinaryprotoMean(text, 'mean.txt'));
    expect(e).toMatchObject({ code: 'DECODE', file: 'mean.txt' });
    expect(e.message).toMatch(/looks like a text mean .*use_mean_file_asbinaryprotoblob 0/);
    expect(parseMean(text, 'mean.txt').channels).toBe(3);
  });

  test('NaN or Inf in a mean is an error naming where (binaryproto and text)', () => {
    const blob = Buffer.from(blobLegacy([1, 1, 2, 2], [1, 2, NaN, 4]));
    expect(thrownCaffeLrpError(() => parseBinaryprotoMean(blob, 'm.binaryproto'))).toMatchObject({ code: 'NONFINITE', message: expect.stringMatching(/NaN at channel 0, row 1, column 0/) });
    expect(thrownCaffeLrpError(() => parseMean(Buffer.from('1 1 2\n1 1e39\n'), 'm.txt', 'text'))).toMatchObject({ code: 'NONFINITE', line: 2 });
    expect(thrownCaffeLrpError(() => parseMean(Buffer.from('1 1 2\n1 Infinity\n'), 'm.txt', 'text')).code).toMatch(/NONFINITE|PARSE/);
    void floatBytes;
    void lenField;
  });
});

test('toolbox text models: nan, inf and values beyond float32 are refused with line and column', () => {
  for (const bad of ['nan', 'inf', '1e999', '-1e39']) {
    const text = `Linear 2 1\n1.0 ${bad}\n0.5\n`;
    const e = thrownCaffeLrpError(() => parseToolboxModel(text, 'model.txt'));
    expect(e).toMatchObject({ code: 'PARSE', file: 'model.txt', line: 2 });
    expect(e.message).toMatch(/not a finite float32 number/);
  }
  expect(parseToolboxModel('Linear 2 1\n1.0 2.0\n0.5\n', 'model.txt').layers).toHaveLength(1);
});

test('the two-input form of Scale is reported as unsupported by the engine', () => {
  const spec: NetSpec = {
    name: 's',
    inputs: [{ name: 'x', shape: [1, 3, 2, 2] }],
    layers: [
      { name: 'split', type: 'Split', bottoms: ['x'], tops: ['a', 'b'], params: {}, blobs: [] },
      { name: 'mul', type: 'Scale', bottoms: ['a', 'b'], tops: ['y'], params: { axis: 0, numAxes: -1, biasTerm: false }, blobs: [] },
    ],
  };
  expect(thrownCaffeLrpError(() => new Net(spec)).message).toMatch(/two-input form of Scale .* is not supported/);
  void writeCaffemodel;
});
