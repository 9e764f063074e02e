// Numbers as printf's %g with precision 6 prints them (what a C++ stream with default flags
// writes), for float32 values: the digits of every `_rawhm.txt`. std::to_chars gives those
// exact bytes but costs ~60 ns a number, the largest part of writing a 3x227x227 map; this
// fast path gets the same bytes in a fraction of that and defers to std::to_chars for the
// rare values it cannot decide with certainty.
#pragma once
#include <cstddef>

namespace caffe_lrp {

// Longest output: "-1.23457e-45" plus room: callers pass at least this many bytes.
constexpr std::size_t kFloatTextMax = 32;

// Writes `value` as %g (precision 6) at `out`, returns the end (no terminator).
char* FormatFloatG6(float value, char* out);

}  // namespace caffe_lrp
