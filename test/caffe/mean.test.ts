import * as fs from 'fs';
import { CaffeLrpError } from '../../lib/errors';
import { loadMean, parseBinaryprotoMean, parseMean, parseTextMean } from '../../lib/caffe';
import { MODELS, blobLegacy, blobWithShape, doubleBytes, lenField, varint } from '../helpers/caffe-fixtures';
import { itShared } from '../helpers/shared-data';

function fails(fn: () => unknown, code: string, ...parts: RegExp[]): CaffeLrpError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(CaffeLrpError);
    expect((e as CaffeLrpError).code).toBe(code);
    for (const p of parts) expect((e as Error).message).toMatch(p);
    return e as CaffeLrpError;
  }
  throw new Error('expected an error');
}

describe('binaryproto means', () => {
  const values = Array.from({ length: 2 * 2 * 3 }, (_, i) => i + 0.5);

  test('legacy dims 1xCxHxW, row-major data kept in blob order', () => {
    const m = parseBinaryprotoMean(Buffer.from(blobLegacy([1, 2, 2, 3], values)), 'm.binaryproto');
    expect([m.channels, m.height, m.width]).toEqual([2, 2, 3]);
    expect([...m.data]).toEqual(values);
  });

  test('shape with 3 or 4 dims, and double_data', () => {
    expect(parseBinaryprotoMean(Buffer.from(blobWithShape([2, 2, 3], values))).channels).toBe(2);
    expect(parseBinaryprotoMean(Buffer.from(blobWithShape([1, 2, 2, 3], values))).width).toBe(3);
    const dbl = Buffer.from([...lenField(7, lenField(1, [...varint(1), ...varint(1), ...varint(1), ...varint(2)])), ...lenField(8, doubleBytes([104.5, 117.25]))]);
    expect([...parseBinaryprotoMean(dbl).data]).toEqual([104.5, 117.25]);
  });

  test('errors name the file', () => {
    fails(() => parseBinaryprotoMean(Buffer.from(blobLegacy([2, 1, 1, 1], [1, 2])), 'two.binaryproto'), 'SHAPE', /^two\.binaryproto: a mean blob must hold one image, got 2/);
    fails(() => parseBinaryprotoMean(Buffer.from(blobWithShape([6], [1, 2, 3, 4, 5, 6])), 'flat.binaryproto'), 'SHAPE', /^flat\.binaryproto: a mean blob must be 3-D/);
    fails(() => parseBinaryprotoMean(Buffer.from(blobLegacy([1, 3, 2, 2], [1, 2])), 'short.binaryproto'), 'SHAPE', /^short\.binaryproto.*2 values but its shape \[1, 3, 2, 2\] needs 12/);
    fails(() => parseBinaryprotoMean(Buffer.from([0x2a, 0x10, 1]), 'cut.binaryproto'), 'DECODE', /^cut\.binaryproto.*byte offset/);
    fails(() => parseBinaryprotoMean(Buffer.from(blobLegacy([1, 0, 2, 2], [])), 'empty.binaryproto'), 'SHAPE', /empty/);
  });

  itShared('the shared CIFAR-10 and ImageNet means', 'models', async () => {
    const cifar = await loadMean(`${MODELS}/cifar10-aux/cifar10_mean.binaryproto`);
    expect([cifar.channels, cifar.height, cifar.width]).toEqual([3, 32, 32]);
    const planeMeans = (m: typeof cifar) =>
      Array.from({ length: m.channels }, (_, c) => m.data.subarray(c * m.height * m.width, (c + 1) * m.height * m.width).reduce((a, b) => a + b, 0) / (m.height * m.width));
    expect(planeMeans(cifar).map((v) => Number(v.toFixed(2)))).toEqual([125.31, 122.95, 113.87]);
    const imagenet = await loadMean(`${MODELS}/imagenet-aux/imagenet_mean.binaryproto`, { format: 'binaryproto' });
    expect([imagenet.channels, imagenet.height, imagenet.width]).toEqual([3, 256, 256]);
    expect(planeMeans(imagenet).map((v) => Number(v.toFixed(2)))).toEqual([103.89, 116.55, 122.58]);
  });
});

describe('the original text mean format (behaviour spec §5.6)', () => {
  // 2 channels, H = 2 rows, W = 3 columns; per channel the values run column by column.
  // Channel 0 as an image:   Channel 1:
  //   1 2 3                    10 20 30
  //   4 5 6                    40 50 60
  const text = `2 2 3
1 4
2 5
3 6
10 40 20 50 30 60
`;

  test('column-major per channel becomes row-major CHW', () => {
    const m = parseTextMean(text, 'mean.txt');
    expect([m.channels, m.height, m.width]).toEqual([2, 2, 3]);
    expect([...m.data]).toEqual([1, 2, 3, 4, 5, 6, 10, 20, 30, 40, 50, 60]);
  });

  test('any whitespace, signs and exponents', () => {
    const m = parseTextMean('1\t1 2\r\n-1.5e1\n+2.25\n', 'mean.txt');
    expect([...m.data]).toEqual([-15, 2.25]);
  });

  test('format detection: text by content, binary otherwise', () => {
    expect([...parseMean(Buffer.from(text), 'mean.txt').data]).toEqual([1, 2, 3, 4, 5, 6, 10, 20, 30, 40, 50, 60]);
    expect(parseMean(Buffer.from(blobLegacy([1, 1, 1, 2], [7, 8])), 'm.binaryproto').width).toBe(2);
    expect(parseMean(Buffer.from('1 1 1 5'), 'forced', 'text').data[0]).toBe(5);
  });

  test('errors name file, line and column', () => {
    const e = fails(() => parseTextMean('1 2 2\n1 2\n3 x\n', 'bad.txt'), 'PARSE', /^bad\.txt:3:3: expected a number, found 'x'/);
    expect([e.file, e.line, e.column]).toEqual(['bad.txt', 3, 3]);
    fails(() => parseTextMean('1 2 2\n1 2 3\n', 'few.txt'), 'PARSE', /^few\.txt:2:5: a 1x2x2 text mean needs 4 values after the header, found 3/);
    fails(() => parseTextMean('1 1 1\n1 2\n', 'many.txt'), 'PARSE', /^many\.txt:2:3: .*needs 1 values after the header, found 2/);
    fails(() => parseTextMean('3 0 2\n', 'dims.txt'), 'PARSE', /^dims\.txt:1:3: expected a positive integer dimension, found '0'/);
    fails(() => parseTextMean('3 2.5 2\n', 'dims.txt'), 'PARSE', /positive integer dimension, found '2.5'/);
    fails(() => parseTextMean('3 2\n', 'hdr.txt'), 'PARSE', /^hdr\.txt:1: a text mean starts with three positive integers/);
    fails(() => parseTextMean('', 'empty.txt'), 'PARSE', /^empty\.txt: a text mean starts with/);
  });

  test('loadMean reads files and reports IO errors with the path', async () => {
    await expect(loadMean('/nonexistent/mean.txt')).rejects.toMatchObject({ code: 'IO', file: '/nonexistent/mean.txt' });
    const m = await loadMean(Buffer.from(text), { name: 'buf' });
    expect(m.width).toBe(3);
    expect(fs.existsSync('/nonexistent/mean.txt')).toBe(false);
  });
});
