// Shapes and element counts with overflow and size checks. A shape that would need more
// memory than kMaxBlobElements is refused before anything is allocated.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "engine/error.h"

namespace caffe_lrp {

using Shape = std::vector<int64_t>;

// 2^31 floats = 8 GiB for one blob: far beyond any image net, small enough to catch garbage.
constexpr int64_t kMaxBlobElements = int64_t(1) << 31;

inline std::string ShapeString(const Shape& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) out += (i ? "x" : "") + std::to_string(s[i]);
  return out.empty() ? "scalar" : out;
}

// Product of s[from..to), checked for positivity and size.
inline int64_t CountRange(const Shape& s, size_t from, size_t to) {
  int64_t n = 1;
  for (size_t i = from; i < to && i < s.size(); ++i) {
    if (s[i] <= 0) throw EngineError("dimension " + std::to_string(i) + " of shape " + ShapeString(s) + " is not positive");
    if (n > kMaxBlobElements / s[i]) throw EngineError("shape " + ShapeString(s) + " is too large (more than 2^31 elements)");
    n *= s[i];
  }
  return n;
}

inline int64_t Count(const Shape& s) { return CountRange(s, 0, s.size()); }

// Caffe's negative-axis convention: -1 is the last axis.
inline int CanonicalAxis(int axis, size_t rank, const std::string& what) {
  int r = static_cast<int>(rank);
  if (axis < -r || axis >= r) throw EngineError(what + " axis " + std::to_string(axis) + " is out of range for a " + std::to_string(r) + "-D blob");
  return axis < 0 ? axis + r : axis;
}

}  // namespace caffe_lrp
