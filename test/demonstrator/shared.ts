/** Paths to the read-only reference material; tests skip (with a printed reason) without it. */
import * as path from 'path';

import { SHARED, describeIfShared, testIfShared } from '../helpers/shared-data';

export { SHARED, describeIfShared, testIfShared };
export const VECTORS = path.join(SHARED, 'vectors');
export const IMAGES = path.join(SHARED, 'images');
export const E2E_CASES = ['e2e-lrp_demo-f100-mc', 'e2e-lrp_parallel_demo-f0-mc'];
