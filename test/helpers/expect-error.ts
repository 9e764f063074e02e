/** The CaffeLrpError a synchronous call throws (the test fails if it throws nothing or something else). */
import { CaffeLrpError } from '../../lib/errors';
import { Net } from '../../lib/net';
import { encodeModel, type GraphSpec } from './onnx-builder';

export function thrownCaffeLrpError(fn: () => unknown): CaffeLrpError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(CaffeLrpError);
    return e as CaffeLrpError;
  }
  throw new Error('expected a CaffeLrpError, but the call returned');
}

/** An ONNX graph that Net.load or the first forward pass must refuse with this code and message. */
export async function expectOnnxRefused(g: GraphSpec, code: string, pattern: RegExp): Promise<void> {
  let err: unknown;
  try {
    const net = await Net.load({ onnx: encodeModel(g) });
    await net.forward(new Float32Array(net.inputShape.reduce((a, b) => a * b, 1)));
    await net.dispose();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(CaffeLrpError);
  expect((err as CaffeLrpError).code).toBe(code);
  expect((err as Error).message).toMatch(pattern);
}
