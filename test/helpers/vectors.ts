/**
 * Access to the reference vectors of the original implementation in ../shared/vectors
 * (read in place, never copied into the repo). Tests skip with a printed reason when the
 * folder is absent.
 */
import * as fs from 'fs';
import * as path from 'path';
import { parseNpy } from '../../lib/io/npy';

import { ROOT, SHARED, describeShared } from './shared-data';

export { ROOT, SHARED };
export const VECTORS = path.join(SHARED, 'vectors');
export const MODELS = path.join(SHARED, 'models');

export function sharedAvailable(what = VECTORS): boolean {
  return fs.existsSync(what);
}

/** describe() when `dir` exists, else describe.skip() with the reason printed. */
export function describeIfExists(dir: string, name: string, body: () => void): void {
  describeShared(name, dir, body);
}

export interface VectorCase {
  name: string;
  dir: string;
  meta: any;
  input: { shape: number[]; data: Float32Array };
  rawhm: { shape: number[]; data: Float32Array };
  rawhmFixed?: { shape: number[]; data: Float32Array };
  scores: { shape: number[]; data: Float32Array };
  seedtop: { shape: number[]; data: Float32Array };
}

function npy(file: string): { shape: number[]; data: Float32Array } {
  const n = parseNpy(fs.readFileSync(file), file);
  return { shape: n.shape, data: Float32Array.from(n.data as ArrayLike<number>) };
}

export function tensorCaseNames(): string[] {
  if (!sharedAvailable()) return [];
  return fs
    .readdirSync(VECTORS)
    .filter((d) => fs.existsSync(path.join(VECTORS, d, 'meta.json')) && fs.existsSync(path.join(VECTORS, d, 'seedtop.npy')))
    .sort();
}

export function loadCase(name: string): VectorCase {
  const dir = path.join(VECTORS, name);
  // meta.json holds bare NaN tokens (python's json), which JSON.parse rejects.
  const meta = JSON.parse(fs.readFileSync(path.join(dir, 'meta.json'), 'utf8').replace(/\bNaN\b/g, 'null'));
  const fixed = path.join(dir, 'rawhm_fixed.npy');
  return {
    name, dir, meta,
    input: npy(path.join(dir, 'input.npy')),
    rawhm: npy(path.join(dir, 'rawhm.npy')),
    rawhmFixed: fs.existsSync(fixed) ? npy(fixed) : undefined,
    scores: npy(path.join(dir, 'scores.npy')),
    seedtop: npy(path.join(dir, 'seedtop.npy')),
  };
}

/** ||a - b|| / ||b|| over one image's values. */
export function relativeL2(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0, den = 0;
  for (let i = 0; i < b.length; ++i) {
    num += (a[i] - b[i]) ** 2;
    den += b[i] ** 2;
  }
  return den === 0 ? Math.sqrt(num) : Math.sqrt(num / den);
}

/** max |a - b| / max |b|. */
export function relativeMax(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0, den = 0;
  for (let i = 0; i < b.length; ++i) {
    num = Math.max(num, Math.abs(a[i] - b[i]));
    den = Math.max(den, Math.abs(b[i]));
  }
  return den === 0 ? num : num / den;
}
