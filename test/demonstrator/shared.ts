/** Paths to the read-only reference material; tests skip (with a printed reason) without it. */
import * as fs from 'fs';
import * as path from 'path';

export const SHARED = process.env.CAFFE_LRP_SHARED ?? path.resolve(__dirname, '../../../shared');
export const VECTORS = path.join(SHARED, 'vectors');
export const IMAGES = path.join(SHARED, 'images');
export const E2E_CASES = ['e2e-lrp_demo-f100-mc', 'e2e-lrp_parallel_demo-f0-mc'];

/** True when `p` exists; otherwise prints why the caller skips. */
export function haveShared(p: string, what: string): boolean {
  if (fs.existsSync(p)) return true;
  // eslint-disable-next-line no-console
  console.log(`skipping ${what}: ${p} not found (set CAFFE_LRP_SHARED to the shared/ folder)`);
  return false;
}
