/**
 * Shared pieces of the service tests: one loaded bundled model (the engine is the slow
 * part), multipart forms, crafted image files.
 */
import { pngWithHeader } from '../helpers/png-craft';
import * as fs from 'fs';
import { demoModel, type Net } from '../../lib/index';
import { loadServedModel, type ServedModel } from '../../demonstrator/serve/model';

let served: Promise<ServedModel> | undefined;

/** The bundled model, loaded once per test file. */
export function bundledModel(): Promise<ServedModel> {
  served ??= loadServedModel({ kind: 'bundled' });
  return served;
}

export async function disposeModel(): Promise<void> {
  if (served) await (await served).net.dispose();
  served = undefined;
}

export function bundledImage(i: number): Buffer {
  return fs.readFileSync(demoModel.images[i]);
}

/** A multipart body with the file in field `image` (unless undefined) and text fields. */
export function form(image: Buffer | undefined, fields: Record<string, string> = {}, filename = 'upload.png'): FormData {
  const f = new FormData();
  if (image !== undefined) f.append('image', new Blob([new Uint8Array(image)]), filename);
  for (const [k, v] of Object.entries(fields)) f.append(k, v);
  return f;
}

export { pngWithHeader };
export type { Net };
