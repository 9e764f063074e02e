#include "engine/layers/activation_layers.h"

#include <algorithm>
#include <cmath>

#include "engine/math.h"

namespace caffe_lrp {

void ElementwiseLayer::BackwardRelevance(const Blobs& bottom, const Blobs& top, const LayerRule&, Workspace&) {
  const float* r = top[0]->diff();
  float* rx = bottom[0]->diff();
  const int64_t n = top[0]->count();
#pragma omp parallel for schedule(static) if (n > kParallelGrain)
  for (int64_t i = 0; i < n; ++i) rx[i] = r[i];
}

ReLULayer::ReLULayer(const LayerDef& def) : ElementwiseLayer(def) {
  slope_ = static_cast<float>(def.Number("negativeSlope", 0.0));
}

bool ReLULayer::ExactTopValue(const Blobs&, int64_t image, int64_t index, double* value) const {
  double v;
  if (!ExactBottom(0, image, index, &v)) return false;
  *value = v > 0 ? v : static_cast<double>(slope_) * v;
  return true;
}

void ReLULayer::Forward(const Blobs& bottom, const Blobs& top, Workspace&) {
  const float* x = bottom[0]->data();
  float* y = top[0]->data();
  const int64_t n = bottom[0]->count();
  const float s = slope_;
  // Branch-free so it vectorises: signs of conv outputs are close to random.
#pragma omp parallel for schedule(static) if (n > kParallelGrain)
  for (int64_t i = 0; i < n; ++i) y[i] = std::max(x[i], 0.0f) + s * std::min(x[i], 0.0f);
}

void ReLULayer::BackwardGradient(const Blobs& bottom, const Blobs& top, Workspace&) {
  const float* x = bottom[0]->data();
  const float* g = top[0]->diff();
  float* gx = bottom[0]->diff();
  const int64_t n = bottom[0]->count();
  const float s = slope_;
  // Arithmetic on a 0/1 mask instead of a branch: GCC vectorises this form (the signs of
  // x are close to random, so a branch mispredicts half the time: 12x slower).
#pragma omp parallel for schedule(static) if (n > kParallelGrain)
  for (int64_t i = 0; i < n; ++i) {
    const float pos = x[i] > 0 ? 1.0f : 0.0f;
    gx[i] = g[i] * (s + (1.0f - s) * pos);
  }
}

void ReLULayer::BackwardRelevance(const Blobs& bottom, const Blobs& top, const LayerRule& rule, Workspace& ws) {
  const float* r = top[0]->diff();
  const float* x = bottom[0]->data();
  float* rx = bottom[0]->diff();
  const int64_t n = bottom[0]->count();
  switch (rule.relu) {
    case ReluRule::kIdentity: return ElementwiseLayer::BackwardRelevance(bottom, top, rule, ws);
    case ReluRule::kRectify:
      for (int64_t i = 0; i < n; ++i) rx[i] = std::max(r[i], 0.0f);
      return;
    case ReluRule::kGuided:
      for (int64_t i = 0; i < n; ++i) {
        const float pos = x[i] > 0 ? 1.0f : 0.0f;  // mask arithmetic: vectorises (see BackwardGradient)
        rx[i] = std::max(r[i], 0.0f) * pos;
      }
      return;
  }
}

PReLULayer::PReLULayer(const LayerDef& def) : ElementwiseLayer(def) { shared_ = def.Bool("channelShared", false); }

void PReLULayer::CheckWeights() const { ExpectBlobCount(1); }

void PReLULayer::Reshape(const Blobs& bottom, const Blobs& top) {
  const Blob& b = *bottom[0];
  if (b.rank() < 2) Fail("input '" + b.name() + "' needs a channel axis");
  channels_ = b.shape(1);
  inner_ = b.CountFrom(2);
  const int64_t slopes = Count(def_.blobs[0].shape);
  if (shared_ ? slopes != 1 : slopes != channels_)
    Fail("slope blob has " + std::to_string(slopes) + " values for " + std::to_string(channels_) + " channels");
  top[0]->Reshape(b.shape());
}

float PReLULayer::SlopeOf(int64_t channel) const { return def_.blobs[0].data[shared_ ? 0 : channel]; }

void PReLULayer::Forward(const Blobs& bottom, const Blobs& top, Workspace&) {
  const int64_t outer = bottom[0]->count() / (channels_ * inner_);
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t c = 0; c < channels_; ++c) {
      const float a = SlopeOf(c);
      const float* x = bottom[0]->data() + (o * channels_ + c) * inner_;
      float* y = top[0]->data() + (o * channels_ + c) * inner_;
      for (int64_t i = 0; i < inner_; ++i) y[i] = std::max(x[i], 0.0f) + a * std::min(x[i], 0.0f);
    }
}

void PReLULayer::BackwardGradient(const Blobs& bottom, const Blobs& top, Workspace&) {
  const int64_t outer = bottom[0]->count() / (channels_ * inner_);
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t c = 0; c < channels_; ++c) {
      const float a = SlopeOf(c);
      const int64_t base = (o * channels_ + c) * inner_;
      const float* x = bottom[0]->data() + base;
      const float* g = top[0]->diff() + base;
      float* gx = bottom[0]->diff() + base;
      for (int64_t i = 0; i < inner_; ++i) {
        const float pos = x[i] > 0 ? 1.0f : 0.0f;  // mask arithmetic: vectorises
        gx[i] = g[i] * (a + (1.0f - a) * pos);
      }
    }
}

void TanHLayer::Forward(const Blobs& bottom, const Blobs& top, Workspace&) {
  const float* x = bottom[0]->data();
  float* y = top[0]->data();
  for (int64_t i = 0; i < bottom[0]->count(); ++i) y[i] = std::tanh(x[i]);
}

void TanHLayer::BackwardGradient(const Blobs& bottom, const Blobs& top, Workspace&) {
  const float* y = top[0]->data();
  const float* g = top[0]->diff();
  float* gx = bottom[0]->diff();
  for (int64_t i = 0; i < bottom[0]->count(); ++i) gx[i] = g[i] * (1.0f - y[i] * y[i]);
}

void SigmoidLayer::Forward(const Blobs& bottom, const Blobs& top, Workspace&) {
  const float* x = bottom[0]->data();
  float* y = top[0]->data();
  for (int64_t i = 0; i < bottom[0]->count(); ++i) y[i] = 1.0f / (1.0f + std::exp(-x[i]));
}

void SigmoidLayer::BackwardGradient(const Blobs& bottom, const Blobs& top, Workspace&) {
  const float* y = top[0]->data();
  const float* g = top[0]->diff();
  float* gx = bottom[0]->diff();
  for (int64_t i = 0; i < bottom[0]->count(); ++i) gx[i] = g[i] * y[i] * (1.0f - y[i]);
}

void AbsValLayer::Forward(const Blobs& bottom, const Blobs& top, Workspace&) {
  const float* x = bottom[0]->data();
  float* y = top[0]->data();
  for (int64_t i = 0; i < bottom[0]->count(); ++i) y[i] = std::fabs(x[i]);
}

void AbsValLayer::BackwardGradient(const Blobs& bottom, const Blobs& top, Workspace&) {
  const float* x = bottom[0]->data();
  const float* g = top[0]->diff();
  float* gx = bottom[0]->diff();
  for (int64_t i = 0; i < bottom[0]->count(); ++i) gx[i] = x[i] > 0 ? g[i] : (x[i] < 0 ? -g[i] : 0.0f);
}

PowerLayer::PowerLayer(const LayerDef& def) : ElementwiseLayer(def) {
  power_ = static_cast<float>(def.Number("power", 1.0));
  scale_ = static_cast<float>(def.Number("scale", 1.0));
  shift_ = static_cast<float>(def.Number("shift", 0.0));
}

void PowerLayer::Forward(const Blobs& bottom, const Blobs& top, Workspace&) {
  const float* x = bottom[0]->data();
  float* y = top[0]->data();
  for (int64_t i = 0; i < bottom[0]->count(); ++i) y[i] = std::pow(shift_ + scale_ * x[i], power_);
}

void PowerLayer::BackwardGradient(const Blobs& bottom, const Blobs& top, Workspace&) {
  const float* x = bottom[0]->data();
  const float* g = top[0]->diff();
  float* gx = bottom[0]->diff();
  for (int64_t i = 0; i < bottom[0]->count(); ++i) {
    const float d = power_ == 1.0f ? scale_ : power_ * scale_ * std::pow(shift_ + scale_ * x[i], power_ - 1.0f);
    gx[i] = g[i] * d;
  }
}

void DropoutLayer::Forward(const Blobs& bottom, const Blobs& top, Workspace&) {
  std::copy(bottom[0]->data(), bottom[0]->data() + bottom[0]->count(), top[0]->data());
}

void DropoutLayer::BackwardGradient(const Blobs& bottom, const Blobs& top, Workspace&) {
  std::copy(top[0]->diff(), top[0]->diff() + top[0]->count(), bottom[0]->diff());
}

}  // namespace caffe_lrp
