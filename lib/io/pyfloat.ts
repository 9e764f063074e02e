/**
 * Numbers as the LRP Toolbox's python side writes and reads them: Python's `float()`
 * syntax on input, `repr()` style on output (shortest digits that read back to the same
 * value; fixed notation for decimal exponents -4..15 with '.0' on integral values,
 * otherwise 'd.ddde-05' / '1e+16'). Values that live in float32 are written with the
 * shortest digits that read back to the same float32.
 */

// Python float(): optional sign, digits with optional fraction (underscores between
// digits), optional exponent; or inf / infinity / nan, case-insensitive.
const DIGITS = String.raw`\d(?:_?\d)*`;
const PY_FLOAT = new RegExp(String.raw`^[+-]?(?:(?:${DIGITS}(?:\.(?:${DIGITS})?)?|\.${DIGITS})(?:[eE][+-]?${DIGITS})?|inf|infinity|nan)$`, 'i');

/** Parses one token with Python's float() syntax; undefined when it is not a number. */
export function parsePyFloat(token: string): number | undefined {
  if (!PY_FLOAT.test(token)) return undefined;
  const t = token.toLowerCase().replace(/_/g, '');
  const body = t.replace(/^[+-]/, '');
  const negative = t.startsWith('-');
  if (body === 'inf' || body === 'infinity') return negative ? -Infinity : Infinity;
  if (body === 'nan') return NaN;
  return Number(t);
}

/** Shortest significant digits (no dot) and decimal exponent of a finite non-zero number. */
function shortestDigits(x: number, float32: boolean): { digits: string; exponent: number } {
  let text = Math.abs(x).toExponential(); // shortest round-trip digits for float64
  if (float32) {
    const target = Math.abs(x);
    for (let p = 1; p <= 9; ++p) {
      const candidate = target.toExponential(p - 1);
      if (Math.fround(Number(candidate)) === target) {
        text = candidate;
        break;
      }
    }
  }
  const [mantissa, exp] = text.split('e');
  return { digits: mantissa.replace('.', ''), exponent: Number(exp) };
}

/** Python repr() of a float (float32 = true: of the float32 value, with float32-shortest digits). */
export function formatPyFloat(value: number, float32 = false): string {
  const x = float32 ? Math.fround(value) : value;
  if (Number.isNaN(x)) return 'nan';
  if (x === Infinity) return 'inf';
  if (x === -Infinity) return '-inf';
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  const sign = x < 0 ? '-' : '';
  const { digits, exponent } = shortestDigits(x, float32);
  if (exponent >= -4 && exponent < 16) {
    if (exponent < 0) return `${sign}0.${'0'.repeat(-exponent - 1)}${digits}`;
    const intLen = exponent + 1;
    if (digits.length <= intLen) return `${sign}${digits}${'0'.repeat(intLen - digits.length)}.0`;
    return `${sign}${digits.slice(0, intLen)}.${digits.slice(intLen)}`;
  }
  const mantissa = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
  const e = Math.abs(exponent);
  return `${sign}${mantissa}e${exponent < 0 ? '-' : '+'}${e < 10 ? '0' : ''}${e}`;
}
