#include "engine/layers/inner_product_layer.h"

#include <vector>

#include "engine/relevance/zennit_rules.h"

#include "engine/math.h"
#include "engine/relevance/linear_rules.h"
#include "engine/skinny_gemm.h"

namespace caffe_lrp {

InnerProductLayer::InnerProductLayer(const LayerDef& def) : Layer(def) {
  num_output_ = def.Int("numOutput");
  axis_ = def.Int("axis", 1);
  bias_term_ = def.Bool("biasTerm", true);
  if (num_output_ <= 0) Fail("num_output must be positive");
}

void InnerProductLayer::CheckWeights() const {
  ExpectBlobCount(bias_term_ ? 2 : 1);
  if (Count(def_.blobs[0].shape) % num_output_ != 0)
    Fail("weight blob " + ShapeString(def_.blobs[0].shape) + " does not hold num_output=" + std::to_string(num_output_) + " rows");
  if (bias_term_ && Count(def_.blobs[1].shape) != num_output_)
    Fail("bias blob " + ShapeString(def_.blobs[1].shape) + " does not have num_output=" + std::to_string(num_output_) + " values");
}

void InnerProductLayer::Reshape(const Blobs& bottom, const Blobs& top) {
  const Blob& b = *bottom[0];
  const int axis = CanonicalAxis(axis_, b.rank(), def_.Where());
  outer_ = b.CountTo(axis);
  k_ = b.CountFrom(axis);
  const int64_t stored = Count(def_.blobs[0].shape);
  if (stored != k_ * num_output_)
    Fail("input '" + b.name() + "' has " + std::to_string(k_) + " values per item but the weights " +
         ShapeString(def_.blobs[0].shape) + " expect " + std::to_string(stored / num_output_));
  if (def_.Bool("transpose", false) && weights_.empty()) {  // stored K x num_output
    const WeightData& w = def_.blobs[0].data;
    weights_.resize(w.size());
    Transpose(w.data(), k_, num_output_, weights_.data());
  }
  Shape out(b.shape().begin(), b.shape().begin() + axis);
  out.push_back(num_output_);
  top[0]->Reshape(out);
}

void InnerProductLayer::Forward(const Blobs& bottom, const Blobs& top, Workspace&) {
  float* y = top[0]->data();
  Gemm(false, true, outer_, num_output_, k_, 1.0f, bottom[0]->data(), k_, W(), k_, 0.0f, y, num_output_);
  if (bias_term_) {
    const float* b = def_.blobs[1].data.data();
    for (int64_t i = 0; i < outer_; ++i)
      for (int64_t j = 0; j < num_output_; ++j) y[i * num_output_ + j] += b[j];
  }
}

void InnerProductLayer::BackwardGradient(const Blobs& bottom, const Blobs& top, Workspace&) {
  Gemm(false, false, outer_, k_, num_output_, 1.0f, top[0]->diff(), num_output_, W(), k_, 0.0f,
       bottom[0]->diff(), k_);
}

void InnerProductLayer::BackwardRelevance(const Blobs& bottom, const Blobs& top, const LayerRule& rule, Workspace& ws) {
  // The rules work on columns: X = bottom^T (K x N), Z and R = top^T (M x N).
  const int64_t n = outer_, m = num_output_, k = k_;
  float* x = ws.Get(0, static_cast<size_t>(k * n));
  float* zr = ws.Get(1, static_cast<size_t>(2 * m * n));
  float* rx = ws.Get(2, static_cast<size_t>(k * n));
  Transpose(bottom[0]->data(), n, k, x);
  Transpose(top[0]->data(), n, m, zr);
  Transpose(top[0]->diff(), n, m, zr + m * n);
  LinearProblem lp;
  lp.m = m; lp.k = k; lp.p = n;
  lp.w = W();
  lp.x = x;
  lp.z = zr;
  lp.bias = bias_term_ ? def_.blobs[1].data.data() : nullptr;
  lp.r = zr + m * n;
  lp.rx = rx;
  lp.flat_divisor = static_cast<double>(k);
  // Alpha-beta reads W+ / W- copies, except where the skinny kernels take them from W.
  if (rule.linear == LinearRule::kAlphaBeta && !SkinnyApplies(m, k, n)) {
    signed_.Prepare(W(), m * k);
    lp.w_pos = signed_.pos();
    lp.w_neg = signed_.neg();
  }
  // ZBox on a dense layer: one bound for every input (no channels to tell apart).
  std::vector<float> low, high;
  if (ZennitNeedsBounds(rule)) {
    if (rule.low.size() != 1 || rule.high.size() != 1)
      Fail("zennit rule ZBox on an InnerProduct layer takes one 'low' and one 'high' value");
    low.assign(static_cast<size_t>(k * n), rule.low[0]);
    high.assign(static_cast<size_t>(k * n), rule.high[0]);
    lp.low = low.data();
    lp.high = high.data();
  }
  ApplyLinearRule(rule, lp, ws);
  Transpose(rx, k, n, bottom[0]->diff());
}

}  // namespace caffe_lrp
