/** The CaffeLrpError a synchronous call throws (the test fails if it throws nothing or something else). */
import { CaffeLrpError } from '../../lib/errors';

export function thrownCaffeLrpError(fn: () => unknown): CaffeLrpError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(CaffeLrpError);
    return e as CaffeLrpError;
  }
  throw new Error('expected a CaffeLrpError, but the call returned');
}
