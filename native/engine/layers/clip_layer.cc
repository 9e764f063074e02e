#include "engine/layers/clip_layer.h"

#include <algorithm>
#include <cmath>

#include "engine/math.h"

namespace caffe_lrp {

ClipLayer::ClipLayer(const LayerDef& def) : ElementwiseLayer(def) {
  const double lo = def.Number("min", -3.4e38), hi = def.Number("max", 3.4e38);
  if (!std::isfinite(lo) || !std::isfinite(hi)) Fail("min and max must be finite numbers");
  if (lo > hi) Fail("min " + std::to_string(lo) + " is above max " + std::to_string(hi));
  min_ = static_cast<float>(lo);
  max_ = static_cast<float>(hi);
}

void ClipLayer::Forward(const Blobs& bottom, const Blobs& top, Workspace&) {
  const float* x = bottom[0]->data();
  float* y = top[0]->data();
  const int64_t n = bottom[0]->count();
  const float lo = min_, hi = max_;
#pragma omp parallel for schedule(static) if (n > kParallelGrain)
  for (int64_t i = 0; i < n; ++i) y[i] = std::min(std::max(x[i], lo), hi);
}

void ClipLayer::BackwardGradient(const Blobs& bottom, const Blobs& top, Workspace&) {
  const float* x = bottom[0]->data();
  const float* g = top[0]->diff();
  float* gx = bottom[0]->diff();
  const int64_t n = bottom[0]->count();
  const float lo = min_, hi = max_;
#pragma omp parallel for schedule(static) if (n > kParallelGrain)
  for (int64_t i = 0; i < n; ++i) {
    const float inside = (x[i] > lo && x[i] < hi) ? 1.0f : 0.0f;  // mask arithmetic: vectorises
    gx[i] = g[i] * inside;
  }
}

}  // namespace caffe_lrp
