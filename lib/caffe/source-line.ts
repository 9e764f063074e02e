/**
 * Access to the prototxt line numbers that parseTextFormat attaches to every message
 * object (a non-enumerable symbol property), so errors can point at the offending layer.
 * Objects decoded from binary files simply have none.
 */
import { SOURCE_LINE, sourceLineOf } from './textformat';

export function lineOf(obj: unknown): number | undefined {
  return obj !== null && typeof obj === 'object' ? sourceLineOf(obj) : undefined;
}

/** Carries the line over to an object derived from `from` (e.g. an upgraded V1 layer). */
export function copySourceLine(from: object, to: object): void {
  const line = lineOf(from);
  if (line !== undefined) {
    Object.defineProperty(to, SOURCE_LINE, { value: line, enumerable: false, writable: true, configurable: true });
  }
}
