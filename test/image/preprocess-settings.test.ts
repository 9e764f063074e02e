/**
 * Net.load's `preprocess` option and net.preprocess's inputs: settings that cannot work
 * are load-time CaffeLrpErrors naming the option; bad images name what is wrong.
 */
import * as path from 'path';
import { demoModel } from '../../lib/demo-model';
import { Net } from '../../lib/net';
import { describeShared, sharedPath } from '../helpers/shared-data';
import { smallNet } from '../helpers/small-nets';
import type { NetSpec } from '../../lib/caffe/netspec-types';

const demo = { prototxt: demoModel.prototxt, caffemodel: demoModel.caffemodel };

test.each([
  ['an unknown key', { size: 28 }, /option 'preprocess.size' is unknown/],
  ['a fractional baseImgSize', { baseImgSize: 28.5 }, /'preprocess.baseImgSize' must be a positive integer, got 28.5/],
  ['a NaN baseImgSize, shown as NaN', { baseImgSize: NaN }, /got NaN/],
  ['a baseImgSize below the input size', { baseImgSize: 20 }, /'preprocess.baseImgSize' \(20\) must be >= the net input size 28/],
  ['meanMode 3', { meanMode: 3 }, /'preprocess.meanMode' must be 0 \(text\), 1 \(binaryproto\) or 2/],
  ['an unknown resampler', { resampler: 'vips' }, /'preprocess.resampler' must be 'sharp' or 'imagemagick'/],
])('Net.load rejects %s', async (_, preprocess, message) => {
  await expect(Net.load({ ...demo, preprocess: preprocess as never })).rejects.toMatchObject({ code: 'OPTION', message: expect.stringMatching(message) });
});

describe('bad images', () => {
  let net: Net;
  beforeAll(async () => { net = await Net.load(demo); });
  afterAll(() => net.dispose());
  test.each([
    ['a missing file', '/nonexistent/x.png', 'IO', /cannot read the image/],
    ['bytes that are no image', Buffer.from('not an image'), 'DECODE', /cannot decode the image/],
    ['raw pixels of the wrong length', { data: new Uint8Array(10), width: 4, height: 4, channels: 1 }, 'SHAPE', /10 values do not fill 4x4x1/],
    ['raw pixels with 2 channels', { data: new Uint8Array(32), width: 4, height: 4, channels: 2 }, 'OPTION', /channels must be 1, 3 or 4, got 2/],
    ['a number', 42, 'OPTION', /file path, a Buffer/],
  ])('preprocess rejects %s', async (_, image, code, message) => {
    await expect(net.preprocess(image as never)).rejects.toMatchObject({ code, message: expect.stringMatching(message) });
  });
  test('explainImage rejects bad options before decoding, and a wrong number of targets', async () => {
    await expect(net.explainImage(demoModel.images[0], { rule: 'zplus' as never })).rejects.toThrow(/option 'rule': unknown rule/);
    await expect(net.explainImage(demoModel.images.slice(0, 2), { targets: ['top1', 'top1', 'top1'] })).rejects.toThrow(/'targets' has 3 entries for 2 image/);
    await expect(net.explainImage([])).rejects.toThrow(/no images/);
  });
  test('a net whose input is not a square image cannot preprocess', async () => {
    const spec = smallNet(1, true);
    const vector: NetSpec = { name: 'fc-only', inputs: [{ name: 'data', shape: [1, 72] }], layers: [{ ...spec.layers[5], bottoms: ['data'] }] };
    const flat = new Net(vector);
    const wide = smallNet(1, true);
    wide.inputs[0].shape = [1, 3, 10, 12];
    wide.layers[5].blobs[0] = { shape: [5, 96], data: new Float32Array(480) };
    const notSquare = new Net(wide);
    try {
      await expect(flat.preprocess(demoModel.images[0])).rejects.toMatchObject({ code: 'UNSUPPORTED', message: expect.stringMatching(/N x C x H x W net input, this net's is 1x72/) });
      await expect(notSquare.preprocess(demoModel.images[0])).rejects.toThrow(/square net input .* 10x12/);
    } finally {
      await flat.dispose();
      await notSquare.dispose();
    }
  });
});

describeShared('mean files', ['vectors/models/mini-caffenet'], () => {
  const MINI = sharedPath('vectors', 'models', 'mini-caffenet');
  test('a 3-channel mean for a grey net is a load error naming the mean file', async () => {
    const mean = path.join(MINI, 'mean_bgr_104_117_123_67.binaryproto');
    await expect(Net.load({ ...demo, mean })).rejects.toMatchObject({ code: 'SHAPE', message: expect.stringMatching(/mean_bgr_104_117_123_67\.binaryproto: the mean has 3 channel\(s\) but the net input has 1/) });
  });
  test('meanMode 2 reverses the channels of a binaryproto mean', async () => {
    const base = { prototxt: path.join(MINI, 'mini-caffenet_deploy_batch1.prototxt'), caffemodel: path.join(MINI, 'mini-caffenet_seed1234.caffemodel'), mean: path.join(MINI, 'mean_bgr_104_117_123_67.binaryproto') };
    const bgr = await Net.load({ ...base, preprocess: { meanMode: 1 } });
    const rgb = await Net.load({ ...base, preprocess: { meanMode: 2 } });
    try {
      const photo = sharedPath('images', 'cat1.jpg');
      const a = (await bgr.preprocess(photo)).input;
      const b = (await rgb.preprocess(photo)).input;
      const plane = 67 * 67;
      // blob channel 0 (B): minus 104 with mode 1, minus the file's last channel (123) with mode 2
      expect(a[5] - b[5]).toBeCloseTo(123 - 104, 3);
      expect(a[plane + 5] - b[plane + 5]).toBeCloseTo(0, 3);
      expect(a[2 * plane + 5] - b[2 * plane + 5]).toBeCloseTo(104 - 123, 3);
    } finally {
      await bgr.dispose();
      await rgb.dispose();
    }
  });
});
