/**
 * Under CI the reference data must be there: a vanished or renamed shared folder would
 * otherwise turn hundreds of tests into skips and CI would still go green. Outside CI an
 * absent folder makes this a visible skip, like every test that needs the data.
 */
import { SHARED, SHARED_DATA_SETS, haveShared, sharedPath } from './helpers/shared-data';

const absent = SHARED_DATA_SETS.filter((set) => !haveShared(set));
const required = Boolean(process.env.CI) || absent.length === 0;
if (!required) {
  // eslint-disable-next-line no-console
  console.warn(`not under CI: ${absent.map((s) => sharedPath(s)).join(', ')} absent; the tests that need them are skipped`);
}

(required ? test : test.skip)('the shared reference data is present (required under CI)', () => {
  expect({ shared: SHARED, absent }).toEqual({ shared: SHARED, absent: [] });
});
