#include "engine/layers/affine_layers.h"

#include <algorithm>
#include <cfloat>
#include <cmath>

#include "engine/relevance/linear_rules.h"

namespace caffe_lrp {

// ---- Eltwise ----
EltwiseLayer::EltwiseLayer(const LayerDef& def) : Layer(def) {
  const std::string op = def.String("operation", "SUM");
  if (op == "SUM") op_ = Op::kSum;
  else if (op == "PROD") op_ = Op::kProd;
  else if (op == "MAX") op_ = Op::kMax;
  else Fail("unknown operation '" + op + "' (PROD, SUM, MAX)");
  coeff_ = def.FloatList("coeff");
  if (!coeff_.empty() && op_ != Op::kSum) Fail("coeff is only allowed with SUM");
}

void EltwiseLayer::Reshape(const Blobs& bottom, const Blobs& top) {
  if (bottom.size() < 2) Fail("needs at least two inputs");
  if (!coeff_.empty() && coeff_.size() != bottom.size())
    Fail("has " + std::to_string(coeff_.size()) + " coefficients for " + std::to_string(bottom.size()) + " inputs");
  for (Blob* b : bottom)
    if (b->shape() != bottom[0]->shape())
      Fail("inputs '" + bottom[0]->name() + "' (" + ShapeString(bottom[0]->shape()) + ") and '" + b->name() + "' (" +
           ShapeString(b->shape()) + ") differ in shape");
  top[0]->Reshape(bottom[0]->shape());
}

void EltwiseLayer::Forward(const Blobs& bottom, const Blobs& top, Workspace&) {
  const int64_t n = top[0]->count();
  float* y = top[0]->data();
  switch (op_) {
    case Op::kSum:
      std::fill(y, y + n, 0.0f);
      for (size_t k = 0; k < bottom.size(); ++k) {
        const float c = coeff_.empty() ? 1.0f : coeff_[k];
        const float* x = bottom[k]->data();
        for (int64_t i = 0; i < n; ++i) y[i] += c * x[i];
      }
      break;
    case Op::kProd:
      std::copy(bottom[0]->data(), bottom[0]->data() + n, y);
      for (size_t k = 1; k < bottom.size(); ++k)
        for (int64_t i = 0; i < n; ++i) y[i] *= bottom[k]->data()[i];
      break;
    case Op::kMax:
      winner_.assign(static_cast<size_t>(n), 0);
      std::fill(y, y + n, -FLT_MAX);
      for (size_t k = 0; k < bottom.size(); ++k)
        for (int64_t i = 0; i < n; ++i)
          if (bottom[k]->data()[i] > y[i]) { y[i] = bottom[k]->data()[i]; winner_[i] = static_cast<int>(k); }
      break;
  }
}

void EltwiseLayer::BackwardGradient(const Blobs& bottom, const Blobs& top, Workspace&) {
  const int64_t n = top[0]->count();
  const float* g = top[0]->diff();
  for (size_t k = 0; k < bottom.size(); ++k) {
    float* gx = bottom[k]->diff();
    for (int64_t i = 0; i < n; ++i) {
      switch (op_) {
        case Op::kSum: gx[i] = g[i] * (coeff_.empty() ? 1.0f : coeff_[k]); break;
        case Op::kMax: gx[i] = winner_[i] == static_cast<int>(k) ? g[i] : 0.0f; break;
        case Op::kProd: {
          float others = 1;
          for (size_t j = 0; j < bottom.size(); ++j) if (j != k) others *= bottom[j]->data()[i];
          gx[i] = g[i] * others;
          break;
        }
      }
    }
  }
}

// SUM: each input's share c_k x_k of z gets the active linear rule (K = number of inputs).
void EltwiseLayer::BackwardRelevance(const Blobs& bottom, const Blobs& top, const LayerRule& rule, Workspace& ws) {
  if (op_ == Op::kMax) return BackwardGradient(bottom, top, ws);
  if (op_ == Op::kProd) Fail("Eltwise PROD has no relevance rule (only SUM and MAX do)");
  const int64_t n = top[0]->count();
  const size_t kn = bottom.size();
  const float beta = rule.beta, alpha = rule.Alpha(), tiny = rule.Tiny();
  const float* z = top[0]->data();
  const float* r = top[0]->diff();
  float csq = 0;
  for (size_t k = 0; k < kn; ++k) csq += coeff_.empty() ? 1.0f : coeff_[k] * coeff_[k];
  for (int64_t i = 0; i < n; ++i) {
    float zp = 0, zn = 0;
    if (rule.linear == LinearRule::kAlphaBeta)
      for (size_t k = 0; k < kn; ++k) {
        const float v = (coeff_.empty() ? 1.0f : coeff_[k]) * bottom[k]->data()[i];
        if (v > 0) zp += v; else zn += v;
      }
    for (size_t k = 0; k < kn; ++k) {
      const float c = coeff_.empty() ? 1.0f : coeff_[k];
      const float v = c * bottom[k]->data()[i];
      float out = 0;
      switch (rule.linear) {
        case LinearRule::kEpsilon: out = v * StabilizedQuotient(rule, r[i], z[i], rule.epsilon); break;
        case LinearRule::kAlphaBeta: out = AlphaBetaShare(v, r[i], zp, zn, alpha, beta, tiny); break;
        case LinearRule::kFlat: out = r[i] / static_cast<float>(kn); break;
        case LinearRule::kWSquare: out = csq != 0.0f ? c * c / csq * r[i] : 0.0f; break;
        case LinearRule::kTranspose:
        case LinearRule::kZennit: out = c * r[i]; break;  // no zennit rule on a sum: the gradient
      }
      bottom[k]->diff()[i] = out;
    }
  }
}

// ---- per-channel affine ----
void ChannelAffineLayer::SetSpan(const Blob& bottom, int axis, int num_axes, const Shape&) {
  const int a = CanonicalAxis(axis, bottom.rank(), def_.Where());
  const int end = num_axes < 0 ? static_cast<int>(bottom.rank()) : a + num_axes;
  if (end > static_cast<int>(bottom.rank())) Fail("num_axes reaches past the input's " + std::to_string(bottom.rank()) + " axes");
  outer_ = bottom.CountTo(a);
  channels_ = CountRange(bottom.shape(), a, end);
  inner_ = bottom.CountFrom(end);
}

void ChannelAffineLayer::Forward(const Blobs& bottom, const Blobs& top, Workspace&) {
  const float* x = bottom[0]->data();
  float* y = top[0]->data();
  for (int64_t o = 0; o < outer_; ++o)
    for (int64_t ch = 0; ch < channels_; ++ch) {
      const float a = a_.empty() ? 1.0f : a_[ch], c = c_.empty() ? 0.0f : c_[ch];
      const int64_t base = (o * channels_ + ch) * inner_;
      for (int64_t t = 0; t < inner_; ++t) y[base + t] = a * x[base + t] + c;
    }
}

void ChannelAffineLayer::BackwardGradient(const Blobs& bottom, const Blobs& top, Workspace&) {
  const float* g = top[0]->diff();
  float* gx = bottom[0]->diff();
  for (int64_t o = 0; o < outer_; ++o)
    for (int64_t ch = 0; ch < channels_; ++ch) {
      const float a = a_.empty() ? 1.0f : a_[ch];
      const int64_t base = (o * channels_ + ch) * inner_;
      for (int64_t t = 0; t < inner_; ++t) gx[base + t] = a * g[base + t];
    }
}

void ChannelAffineLayer::BackwardRelevance(const Blobs& bottom, const Blobs& top, const LayerRule& rule, Workspace&) {
  DiagonalProblem dp;
  dp.outer = outer_; dp.channels = channels_; dp.inner = inner_;
  dp.a = a_.empty() ? nullptr : a_.data();
  dp.c = c_.empty() ? nullptr : c_.data();
  dp.x = bottom[0]->data();
  dp.z = top[0]->data();
  dp.r = top[0]->diff();
  dp.rx = bottom[0]->diff();
  ApplyDiagonalRule(rule, dp);
}

BatchNormLayer::BatchNormLayer(const LayerDef& def) : ChannelAffineLayer(def) {
  eps_ = static_cast<float>(def.Number("eps", 1e-5));
}

void BatchNormLayer::CheckWeights() const { ExpectBlobCount(3); }

// Global statistics (as Caffe at test time): mean and variance are stored scaled by the
// moving-average factor in blob 2.
void BatchNormLayer::Reshape(const Blobs& bottom, const Blobs& top) {
  SetSpan(*bottom[0], 1, 1, {});
  for (int i = 0; i < 2; ++i)
    if (Count(def_.blobs[i].shape) != channels_)
      Fail("blob " + std::to_string(i) + " has " + std::to_string(Count(def_.blobs[i].shape)) + " values for " + std::to_string(channels_) + " channels");
  if (def_.blobs[2].data.empty()) Fail("blob 2 (moving-average factor) is empty");
  const float factor = def_.blobs[2].data[0];
  const float scale = factor == 0.0f ? 0.0f : 1.0f / factor;
  a_.resize(channels_);
  c_.resize(channels_);
  for (int64_t ch = 0; ch < channels_; ++ch) {
    const float mean = def_.blobs[0].data[ch] * scale, var = def_.blobs[1].data[ch] * scale;
    a_[ch] = 1.0f / std::sqrt(var + eps_);
    c_[ch] = -mean * a_[ch];
  }
  top[0]->Reshape(bottom[0]->shape());
}

ScaleLayer::ScaleLayer(const LayerDef& def) : ChannelAffineLayer(def) {
  axis_ = def.Int("axis", 1);
  num_axes_ = def.Int("numAxes", 1);
  bias_term_ = def.Bool("biasTerm", false);
}

void ScaleLayer::CheckWeights() const {
  if (def_.bottoms.size() > 1) Fail("the two-input form of Scale (factors taken from a second blob) is not supported; only learned factors are");
  ExpectBlobCount(bias_term_ ? 2 : 1);
}

void ScaleLayer::Reshape(const Blobs& bottom, const Blobs& top) {
  SetSpan(*bottom[0], axis_, num_axes_, {});
  if (Count(def_.blobs[0].shape) != channels_)
    Fail("scale blob " + ShapeString(def_.blobs[0].shape) + " does not match the " + std::to_string(channels_) + " scaled values");
  a_.assign(def_.blobs[0].data.begin(), def_.blobs[0].data.end());
  if (bias_term_) {
    if (Count(def_.blobs[1].shape) != channels_) Fail("bias blob " + ShapeString(def_.blobs[1].shape) + " does not match");
    c_.assign(def_.blobs[1].data.begin(), def_.blobs[1].data.end());
  }
  top[0]->Reshape(bottom[0]->shape());
}

BiasLayer::BiasLayer(const LayerDef& def) : ChannelAffineLayer(def) {
  axis_ = def.Int("axis", 1);
  num_axes_ = def.Int("numAxes", 1);
}

void BiasLayer::CheckWeights() const {
  if (def_.bottoms.size() > 1) Fail("the two-input form of Bias (offsets taken from a second blob) is not supported; only a learned bias is");
  ExpectBlobCount(1);
}

void BiasLayer::Reshape(const Blobs& bottom, const Blobs& top) {
  SetSpan(*bottom[0], axis_, num_axes_, {});
  if (Count(def_.blobs[0].shape) != channels_) Fail("bias blob " + ShapeString(def_.blobs[0].shape) + " does not match");
  c_.assign(def_.blobs[0].data.begin(), def_.blobs[0].data.end());
  top[0]->Reshape(bottom[0]->shape());
}

}  // namespace caffe_lrp
