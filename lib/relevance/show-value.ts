/**
 * A value as error messages show it: numbers as JavaScript prints them (NaN, Infinity, -0
 * stay visible, where JSON.stringify would say "null" or "0"), strings quoted, other values
 * as JSON where possible.
 */
export function showValue(v: unknown): string {
  if (typeof v === 'number') return Object.is(v, -0) ? '-0' : String(v);
  if (v === undefined || typeof v === 'bigint' || typeof v === 'symbol' || typeof v === 'function') return String(v);
  try {
    return JSON.stringify(v, (_k, x: unknown) => (typeof x === 'number' && !Number.isFinite(x) ? String(x) : x)) ?? String(v);
  } catch {
    return String(v);
  }
}
