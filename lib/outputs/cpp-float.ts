/**
 * Numbers as a C++ ostream prints them with default settings (precision 6, neither fixed nor
 * scientific): printf's %g with glibc's exact decimal rounding. The original demonstrator
 * writes every number of `_rawhm.txt` and `_top10scores.txt` this way (behaviour spec §5.11),
 * so byte-compatible files need the same digits:
 *
 *   0.123457   1e-05   1.5e+10   -0   100000   1e+06   inf   -inf   nan   -nan
 *
 * %g: round to 6 significant digits; with X the decimal exponent after rounding, print fixed
 * notation with 5−X decimals if −4 ≤ X < 6, else d.ddddde±XX (at least two exponent digits);
 * then drop trailing zeros and a trailing point. glibc rounds the EXACT binary value, ties to
 * even (100000.5 → 100000), where JavaScript's toPrecision rounds ties away from zero.
 */

const P = 6;

/** Formats a number like `std::cout << v` with default flags. `negativeNaN` prints `-nan` as glibc does for a NaN with its sign bit set. */
export function formatFloatLikeCpp(v: number, negativeNaN = false): string {
  if (Number.isNaN(v)) return negativeNaN ? '-nan' : 'nan';
  if (v === Infinity) return 'inf';
  if (v === -Infinity) return '-inf';
  if (v === 0) return Object.is(v, -0) ? '-0' : '0';
  const sign = v < 0 ? '-' : '';
  const { digits, exp } = roundSignificant(Math.abs(v));
  let body: string;
  if (exp >= -4 && exp < P) {
    // fixed: digits d0 d1 ... d5 with the point after position exp
    if (exp >= 0) body = digits.slice(0, exp + 1) + '.' + digits.slice(exp + 1);
    else body = '0.' + '0'.repeat(-exp - 1) + digits;
    body = stripZeros(body);
  } else {
    const mant = stripZeros(digits[0] + '.' + digits.slice(1));
    const e = Math.abs(exp);
    body = `${mant}e${exp < 0 ? '-' : '+'}${e < 10 ? '0' : ''}${e}`;
  }
  return sign + body;
}

function stripZeros(s: string): string {
  if (!s.includes('.')) return s;
  s = s.replace(/0+$/, '');
  return s.endsWith('.') ? s.slice(0, -1) : s;
}

/** Six significant digits of a positive finite x, rounded half to even on its exact value, and the decimal exponent of the first. */
function roundSignificant(x: number): { digits: string; exp: number } {
  // Fast path (rawhm files hold ~150k numbers per image): scale to 6 integer digits in
  // double arithmetic, whose error (~1e-10 here) can only matter next to a half, where the
  // exact path below decides.
  let exp = Math.floor(Math.log10(x));
  let y = x * Math.pow(10, P - 1 - exp);
  if (y >= 1e6) y = x * Math.pow(10, P - 1 - ++exp);
  else if (y < 1e5) y = x * Math.pow(10, P - 1 - --exp);
  if (Math.abs(y - Math.floor(y) - 0.5) > 1e-6 && y >= 1e5 && y < 1e6) {
    const m = Math.round(y);
    return m === 1e6 ? { digits: '100000', exp: exp + 1 } : { digits: String(m), exp };
  }
  return roundSignificantExactly(x);
}

function roundSignificantExactly(x: number): { digits: string; exp: number } {
  // toExponential(P-1) is correctly rounded except that exact ties go away from zero.
  const [m, e] = x.toExponential(P - 1).split('e');
  let digits = m.replace('.', '');
  let exp = Number(e);
  if (isTie(x)) {
    // The exact value is half-way: glibc keeps the even neighbour. toExponential went up;
    // go back down when the truncated last digit is even.
    const [tm, te] = x.toExponential(P + 2).split('e'); // 9 digits: exact here, the tail is "50"
    const truncated = tm.replace('.', '').slice(0, P);
    if (Number(truncated[P - 1]) % 2 === 0) {
      digits = truncated;
      exp = Number(te);
    }
  }
  return { digits, exp };
}

/**
 * True when x lies exactly half-way between two 6-significant-digit decimals. A double is
 * m·2^q, an exact finite decimal, so this is decided with BigInt on its exact expansion —
 * but only when a cheap test (digits 7.. of a long rounding being 5000…) says it might be.
 */
function isTie(x: number): boolean {
  if (!mayBeTie(x)) return false;
  const long = x.toExponential(16).split('e')[0].replace('.', ''); // 17 digits: fast, and exact for a tie
  if (!/^\d{6}50{10}$/.test(long)) return false;
  const exact = exactDigits(x);
  return /^5(0*)$/.test(exact.slice(P));
}

/**
 * A cheap necessary condition for a tie, so that nearly every number skips the exact test:
 * scaled to 6 (or 7, if rounding carried into a new digit) integer digits, a tie has a
 * fractional part of exactly one half; double arithmetic lands within 1e-6 of it.
 */
function mayBeTie(x: number): boolean {
  const e = Math.floor(Math.log10(x));
  for (const shift of [P - 1 - e, P - e]) {
    const y = x * Math.pow(10, shift);
    if (Math.abs(y - Math.floor(y) - 0.5) < 1e-6) return true;
  }
  return false;
}

/** All significant decimal digits of a positive finite double, exactly. */
function exactDigits(x: number): string {
  const buf = new DataView(new ArrayBuffer(8));
  buf.setFloat64(0, x);
  const hi = buf.getUint32(0);
  const lo = buf.getUint32(4);
  const biased = (hi >>> 20) & 0x7ff;
  let mant = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  let q: number;
  if (biased === 0) q = -1074;
  else {
    mant |= 1n << 52n;
    q = biased - 1075;
  }
  // x = mant · 2^q; for q < 0 that is mant · 5^-q / 10^-q, whose digits are those of mant · 5^-q.
  const digits = q >= 0 ? (mant << BigInt(q)).toString() : (mant * 5n ** BigInt(-q)).toString();
  return digits.replace(/0+$/, '') || '0';
}
