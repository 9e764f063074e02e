#include "float_format.h"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>

namespace caffe_lrp {
namespace {

// 10^0 .. 10^60 as the nearest doubles (decimal literals are correctly rounded).
constexpr double kPow10[] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22, 1e23, 1e24, 1e25, 1e26, 1e27, 1e28, 1e29, 1e30, 1e31, 1e32, 1e33, 1e34, 1e35, 1e36, 1e37, 1e38, 1e39, 1e40, 1e41, 1e42, 1e43, 1e44, 1e45, 1e46, 1e47, 1e48, 1e49, 1e50, 1e51, 1e52, 1e53, 1e54, 1e55, 1e56, 1e57, 1e58, 1e59, 1e60};

// The exact answer, for values the fast path leaves (%g rounds the exact binary value to
// nearest, ties to even; so does std::to_chars).
char* Exact(double v, char* out) {
  return std::to_chars(out, out + kFloatTextMax, v, std::chars_format::general, 6).ptr;
}

// Six digits of n (100000 <= n <= 999999) into d[0..5].
void SixDigits(uint32_t n, char* d) {
  for (int i = 5; i >= 0; --i) {
    d[i] = static_cast<char>('0' + n % 10);
    n /= 10;
  }
}

}  // namespace

char* FormatFloatG6(float value, char* out) {
  const double v = static_cast<double>(value);
  if (!std::isfinite(v) || v == 0.0) return Exact(v, out);  // (the exact path writes the sign itself)
  char* p = out;
  double a = std::fabs(v);
  if (std::signbit(v)) *p++ = '-';
  // Decimal exponent X with 10^X <= a < 10^(X+1): an estimate from the binary exponent,
  // off by at most one, corrected below.
  int e2 = 0;
  std::frexp(a, &e2);  // a = f * 2^e2, 0.5 <= f < 1
  // floor((e2 - 1) log10 2) for |e2| < 200, in integer arithmetic (78913 / 2^18 ~ log10 2)
  const int t = (e2 - 1) * 78913;
  int x = t >= 0 ? t >> 18 : -((-t + (1 << 18) - 1) >> 18);
  // scaled = a * 10^(5 - X) in [1e5, 1e6). A float times a power of ten (one rounding each
  // for the power and the product) is within ~1e-9 of the exact value at this size.
  auto scale = [a](int ex) { const int s = 5 - ex; return s >= 0 ? a * kPow10[s] : a / kPow10[-s]; };
  double scaled = scale(x);
  if (scaled >= 1e6) scaled = scale(++x);
  if (scaled < 1e5) scaled = scale(--x);
  if (scaled < 1e5 || scaled >= 1e6) return Exact(v, out);  // cannot happen; stay exact regardless
  const double whole = static_cast<double>(static_cast<uint32_t>(scaled));  // scaled > 0
  const double frac = scaled - whole;
  // Too close to a rounding boundary to be sure from a double: let the exact path decide.
  if (std::fabs(frac - 0.5) < 1e-6) return Exact(v, out);
  uint32_t n = static_cast<uint32_t>(whole) + (frac > 0.5 ? 1 : 0);
  if (n == 1000000) {  // 999999.5+ rounds up into the next decade
    n = 100000;
    ++x;
  }
  char d[6];
  SixDigits(n, d);
  int last = 5;  // trailing zeros are not printed
  while (last > 0 && d[last] == '0') --last;
  if (x >= -4 && x < 6) {
    if (x >= 0) {
      // d0..dX, then the point and the remaining significant digits
      std::memcpy(p, d, static_cast<size_t>(x + 1));
      p += x + 1;
      if (last > x) {
        *p++ = '.';
        std::memcpy(p, d + x + 1, static_cast<size_t>(last - x));
        p += last - x;
      }
    } else {
      *p++ = '0';
      *p++ = '.';
      for (int i = 0; i < -x - 1; ++i) *p++ = '0';
      std::memcpy(p, d, static_cast<size_t>(last + 1));
      p += last + 1;
    }
    return p;
  }
  *p++ = d[0];
  if (last > 0) {
    *p++ = '.';
    std::memcpy(p, d + 1, static_cast<size_t>(last));
    p += last;
  }
  *p++ = 'e';
  *p++ = x < 0 ? '-' : '+';
  const int ax = x < 0 ? -x : x;
  if (ax >= 100) *p++ = static_cast<char>('0' + ax / 100);
  *p++ = static_cast<char>('0' + ax / 10 % 10);
  *p++ = static_cast<char>('0' + ax % 10);
  return p;
}

}  // namespace caffe_lrp
