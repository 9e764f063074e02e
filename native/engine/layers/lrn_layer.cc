#include "engine/layers/lrn_layer.h"

#include <algorithm>
#include <cmath>

#include "engine/math.h"

namespace caffe_lrp {

LRNLayer::LRNLayer(const LayerDef& def) : Layer(def) {
  size_ = def.Int("localSize", 5);
  alpha_ = static_cast<float>(def.Number("alpha", 1.0));
  beta_ = static_cast<float>(def.Number("beta", 0.75));
  k_ = static_cast<float>(def.Number("k", 1.0));
  across_ = def.String("normRegion", "ACROSS_CHANNELS") != "WITHIN_CHANNEL";
  if (size_ <= 0 || size_ % 2 == 0) Fail("local_size must be a positive odd number");
}

void LRNLayer::Reshape(const Blobs& bottom, const Blobs& top) {
  const Blob& b = *bottom[0];
  if (b.rank() != 4) Fail("input '" + b.name() + "' must be 4-D (N x C x H x W), got " + ShapeString(b.shape()));
  channels_ = b.shape(1); height_ = b.shape(2); width_ = b.shape(3);
  top[0]->Reshape(b.shape());
}

void LRNLayer::Forward(const Blobs& bottom, const Blobs& top, Workspace&) {
  scale_.resize(static_cast<size_t>(bottom[0]->count()));
  if (across_) ForwardAcross(*bottom[0], *top[0]);
  else ForwardWithin(*bottom[0], *top[0]);
}

void LRNLayer::ForwardAcross(const Blob& bottom, Blob& top) {
  const int64_t plane = height_ * width_, half = (size_ - 1) / 2;
  const float a = alpha_ / static_cast<float>(size_);
#pragma omp parallel for schedule(static) if (bottom.count() > kParallelGrain)
  for (int64_t n = 0; n < bottom.num(); ++n) {
    const float* x = bottom.data() + n * channels_ * plane;
    float* s = scale_.data() + n * channels_ * plane;
    float* y = top.data() + n * channels_ * plane;
    for (int64_t c = 0; c < channels_; ++c) {
      float* sc = s + c * plane;
      std::fill(sc, sc + plane, k_);
      for (int64_t d = std::max<int64_t>(0, c - half); d <= std::min(channels_ - 1, c + half); ++d) {
        const float* xd = x + d * plane;
        for (int64_t i = 0; i < plane; ++i) sc[i] += a * xd[i] * xd[i];
      }
      const float* xc = x + c * plane;
      float* yc = y + c * plane;
      for (int64_t i = 0; i < plane; ++i) yc[i] = xc[i] * std::pow(sc[i], -beta_);
    }
  }
}

void LRNLayer::ForwardWithin(const Blob& bottom, Blob& top) {
  const int64_t half = (size_ - 1) / 2, plane = height_ * width_;
  const float a = alpha_ / static_cast<float>(size_ * size_);
  const int64_t planes = bottom.num() * channels_;
  for (int64_t pl = 0; pl < planes; ++pl) {
    const float* x = bottom.data() + pl * plane;
    float* s = scale_.data() + pl * plane;
    float* y = top.data() + pl * plane;
    for (int64_t h = 0; h < height_; ++h)
      for (int64_t w = 0; w < width_; ++w) {
        float sum = 0;
        for (int64_t i = std::max<int64_t>(0, h - half); i <= std::min(height_ - 1, h + half); ++i)
          for (int64_t j = std::max<int64_t>(0, w - half); j <= std::min(width_ - 1, w + half); ++j)
            sum += x[i * width_ + j] * x[i * width_ + j];
        const float sc = 1.0f + a * sum;
        s[h * width_ + w] = sc;
        y[h * width_ + w] = x[h * width_ + w] * std::pow(sc, -beta_);
      }
  }
}

// dL/dx_c = g_c s_c^-beta - (2 alpha beta / n) x_c sum_{c' near c} g_c' y_c' / s_c'
void LRNLayer::GradientAcross(const Blob& top, Blob& bottom) const {
  const int64_t plane = height_ * width_, half = (size_ - 1) / 2;
  const float coeff = 2.0f * alpha_ * beta_ / static_cast<float>(size_);
#pragma omp parallel for schedule(static) if (bottom.count() > kParallelGrain)
  for (int64_t n = 0; n < bottom.num(); ++n) {
    std::vector<float> ratio(static_cast<size_t>(channels_ * plane));
    const int64_t off = n * channels_ * plane;
    const float *x = bottom.data() + off, *y = top.data() + off, *g = top.diff() + off, *s = scale_.data() + off;
    float* gx = bottom.diff() + off;
    for (int64_t i = 0; i < channels_ * plane; ++i) ratio[i] = g[i] * y[i] / s[i];
    for (int64_t c = 0; c < channels_; ++c)
      for (int64_t i = 0; i < plane; ++i) {
        float acc = 0;
        for (int64_t d = std::max<int64_t>(0, c - half); d <= std::min(channels_ - 1, c + half); ++d) acc += ratio[d * plane + i];
        const int64_t q = c * plane + i;
        gx[q] = g[q] * std::pow(s[q], -beta_) - coeff * x[q] * acc;
      }
  }
}

void LRNLayer::GradientWithin(const Blob& top, Blob& bottom) const {
  const int64_t half = (size_ - 1) / 2, plane = height_ * width_;
  const float coeff = 2.0f * alpha_ * beta_ / static_cast<float>(size_ * size_);
  std::vector<float> ratio(static_cast<size_t>(plane));
  const int64_t planes = bottom.num() * channels_;
  for (int64_t pl = 0; pl < planes; ++pl) {
    const int64_t off = pl * plane;
    const float *x = bottom.data() + off, *y = top.data() + off, *g = top.diff() + off, *s = scale_.data() + off;
    float* gx = bottom.diff() + off;
    for (int64_t i = 0; i < plane; ++i) ratio[i] = g[i] * y[i] / s[i];
    for (int64_t h = 0; h < height_; ++h)
      for (int64_t w = 0; w < width_; ++w) {
        float acc = 0;
        for (int64_t i = std::max<int64_t>(0, h - half); i <= std::min(height_ - 1, h + half); ++i)
          for (int64_t j = std::max<int64_t>(0, w - half); j <= std::min(width_ - 1, w + half); ++j) acc += ratio[i * width_ + j];
        const int64_t q = h * width_ + w;
        gx[q] = g[q] * std::pow(s[q], -beta_) - coeff * x[q] * acc;
      }
  }
}

void LRNLayer::BackwardGradient(const Blobs& bottom, const Blobs& top, Workspace&) {
  if (across_) GradientAcross(*top[0], *bottom[0]);
  else GradientWithin(*top[0], *bottom[0]);
}

// lrn_backward_type 1 (across channels only), as the original computes it:
//   R_in_c = x_c (k + a x_c^2)^-beta R_c + x_c^2 sum_{c' != c, |c'-c| <= half} (-2 a beta) x_c' s_c'^(-beta-1) R_c'
// with a = alpha / n. Not conservative: it scales relevance by roughly the activation.
void LRNLayer::BackwardRelevance(const Blobs& bottom, const Blobs& top, const LayerRule& rule, Workspace&) {
  const Blob& t = *top[0];
  Blob& b = *bottom[0];
  if (rule.lrn == LrnRule::kIdentity) {
    std::copy(t.diff(), t.diff() + t.count(), b.diff());
    return;
  }
  if (!across_) Fail("lrn_backward_type 1 needs ACROSS_CHANNELS LRN; use lrn_backward_type 0 (identity) for WITHIN_CHANNEL");
  const int64_t plane = height_ * width_, half = (size_ - 1) / 2;
  const float a = alpha_ / static_cast<float>(size_);
#pragma omp parallel for schedule(static) if (b.count() > kParallelGrain)
  for (int64_t n = 0; n < b.num(); ++n) {
    std::vector<float> cross(static_cast<size_t>(channels_ * plane));  // per image: images run in parallel
    const int64_t off = n * channels_ * plane;
    const float *x = b.data() + off, *r = t.diff() + off, *s = scale_.data() + off;
    float* rx = b.diff() + off;
    for (int64_t i = 0; i < channels_ * plane; ++i) cross[i] = -2.0f * a * beta_ * x[i] * std::pow(s[i], -beta_ - 1.0f) * r[i];
    for (int64_t c = 0; c < channels_; ++c)
      for (int64_t i = 0; i < plane; ++i) {
        const int64_t q = c * plane + i;
        float acc = 0;
        for (int64_t d = std::max<int64_t>(0, c - half); d <= std::min(channels_ - 1, c + half); ++d)
          if (d != c) acc += cross[d * plane + i];
        const float xc = x[q];
        rx[q] = xc * std::pow(k_ + a * xc * xc, -beta_) * r[q] + xc * xc * acc;
      }
  }
}

}  // namespace caffe_lrp
