/**
 * UltraFace RFB-320 exists as ONNX (../shared/models/onnx/ultraface-rfb320, upstream's
 * trained face detector) and as its Caffe conversion (../shared/models/ultraface-rfb320):
 * the same trained weights (see the SOURCE.md files). Our two loads must agree: the same
 * layers, outputs `scores` and `boxes` within 1e-5 (and onnxruntime's stored outputs within
 * 1e-4), and the same ε and αβ relevance (within 1e-4) from the same seed at the same start
 * layer: the first classification-head convolution, seeded at its largest face logit.
 * The model's batch dimension is fixed at 1: a larger batch is a clear error.
 */
import { Net } from '../../lib/net';
import { CaffeLrpError } from '../../lib/errors';
import { npyToFloat32, readNpy } from '../../lib/io/npy';
import { describeShared, sharedPath } from '../helpers/shared-data';
import { relErr } from '../helpers/onnx-builder';

const ONNX = ['model.onnx', 'model-simplified.onnx'];
const VEC = 'vectors/onnx/ultraface-rfb320-forward';

describeShared('UltraFace RFB-320: ONNX vs its Caffe conversion', ['models/onnx/ultraface-rfb320', 'models/ultraface-rfb320', VEC], () => {
  let caffe: Net;
  const onnx: Net[] = [];
  let imgs: Float32Array[];
  beforeAll(async () => {
    caffe = await Net.load({
      prototxt: sharedPath('models/ultraface-rfb320/RFB-320.prototxt'),
      caffemodel: sharedPath('models/ultraface-rfb320/RFB-320.caffemodel'),
    });
    for (const f of ONNX) onnx.push(await Net.load({ onnx: sharedPath('models/onnx/ultraface-rfb320', f) }));
    const npy = readNpy(sharedPath(VEC, 'input.npy'));
    const data = npyToFloat32(npy);
    const per = npy.shape.slice(1).reduce((a, b) => a * b, 1);
    imgs = Array.from({ length: npy.shape[0] }, (_, i) => data.slice(i * per, (i + 1) * per));
  }, 60_000);
  afterAll(async () => {
    await caffe.dispose();
    for (const n of onnx) await n.dispose();
  });

  it('lowers to the same layer types, with the ONNX graph outputs as outputs (scores first)', () => {
    for (const n of onnx) {
      expect(n.layers.map((l) => l.type)).toEqual(caffe.layers.map((l) => l.type));
      expect(n.scoresBlob).toBe('scores');
      expect(n.numClasses).toBe(4420 * 2);
    }
  });

  it('scores and boxes agree with the Caffe load (1e-5) and with onnxruntime (1e-4)', async () => {
    for (const [k, n] of onnx.entries()) {
      const suffix = k === 0 ? '' : '_simplified';
      const ortScores = npyToFloat32(readNpy(sharedPath(VEC, `scores_ort${suffix}.npy`)));
      const ortBoxes = npyToFloat32(readNpy(sharedPath(VEC, `boxes_ort${suffix}.npy`)));
      for (const [i, x] of imgs.entries()) {
        await n.forward(x);
        await caffe.forward(x);
        for (const [name, ort] of [['scores', ortScores], ['boxes', ortBoxes]] as const) {
          const ours = n.blob(name).data;
          expect(relErr(ours, caffe.blob(name).data)).toBeLessThanOrEqual(1e-5);
          expect(relErr(ours, ort.subarray(i * ours.length, (i + 1) * ours.length))).toBeLessThanOrEqual(1e-4);
        }
      }
    }
  }, 120_000);

  it('ε and αβ relevance from the largest face logit of the first classification head agree with Caffe (1e-4)', async () => {
    // The first classification head: the first convolution whose 6 outputs (3 anchors x {background, face})
    // go through a Permute into the scores.
    const head = caffe.layers.findIndex((l, i) => l.type === 'Convolution' && l.outputShapes[0][1] === 6 && caffe.layers[i + 1]?.type === 'Permute');
    expect(head).toBeGreaterThan(0);
    for (const n of onnx) expect(n.layers[head].type).toBe('Convolution');
    for (const x of imgs) {
      await caffe.forward(x);
      const logits = caffe.blob(caffe.layers[head].tops[0]).data;
      const plane = caffe.layers[head].outputShapes[0][2] * caffe.layers[head].outputShapes[0][3];
      let best = -1;
      for (let a = 0; a < 3; a++)
        for (let p = 0; p < plane; p++) {
          const idx = (2 * a + 1) * plane + p; // channel 2a+1: face
          if (best < 0 || logits[idx] > logits[best]) best = idx;
        }
      const seed = new Float32Array(logits.length);
      seed[best] = logits[best];
      for (const opts of [{ relpropformulatype: 0, epsstab: 0.01 }, { relpropformulatype: 2, alphabeta_beta: 1 }]) {
        const [ref] = await caffe.backwardRelevanceSeeded([seed], { ...opts, lastlayerindex: head });
        // Caffe's heatmap is the blob's channels reversed (its BGR convention); ONNX keeps the input's order.
        const plane2 = ref.height * ref.width;
        const unreversed = new Float32Array(ref.data.length);
        for (let c = 0; c < ref.channels; c++) unreversed.set(ref.data.subarray((ref.channels - 1 - c) * plane2, (ref.channels - c) * plane2), c * plane2);
        for (const n of onnx) {
          await n.forward(x);
          const [hm] = await n.backwardRelevanceSeeded([seed], { ...opts, lastlayerindex: head });
          expect(hm.channelOrder).toBe('input');
          expect(relErr(hm.data, unreversed)).toBeLessThanOrEqual(1e-4);
          expect(hm.data.some((v) => v !== 0)).toBe(true);
        }
      }
    }
  }, 240_000);

  it('its batch dimension is fixed at 1: two images at once are a clear error', async () => {
    const err = await onnx[0].forward(imgs).catch((e) => e);
    expect(err).toBeInstanceOf(CaffeLrpError);
    expect(err.code).toBe('SHAPE');
    expect(err.message).toMatch(/only runs at batch size 1, not 2: the graph input 'input' has a fixed batch dimension of 1/);
  });
});
