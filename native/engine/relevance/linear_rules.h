// The relevance rules for linear layers, written once over dense matrices so that
// Convolution (per group, im2col columns of the whole batch) and InnerProduct (one column
// per image) share them. All matrices are row-major float32.
//
//   W  M x K   weights (M outputs, K inputs/taps)
//   X  K x P   inputs, one column per output position (conv) or image (inner product)
//   Z  M x P   forward outputs including the bias (may be null: then computed here)
//   b  M       bias (may be null)
//   R  M x P   relevance of the outputs
//   Rx K x P   relevance of the inputs (overwritten)
#pragma once
#include <cmath>
#include <cstdint>
#include <vector>

#include "engine/relevance/layer_rule.h"
#include "engine/workspace.h"

namespace caffe_lrp {

struct LinearProblem {
  int64_t m = 0, k = 0, p = 0;
  const float* w = nullptr;
  const float* x = nullptr;
  const float* z = nullptr;
  const float* bias = nullptr;
  // The bias that z includes, when it differs from `bias` (compat mode's group-0 biases).
  const float* z_bias = nullptr;
  const float* r = nullptr;
  float* rx = nullptr;
  // The epsilon and (non-negative input) alpha-beta rules end with R_x = x * G. With this
  // set they may leave the factor x to the caller (ApplyLinearRule returns true then), who
  // applies it after scattering columns back to the image: fewer multiplications, and the
  // original's order of operations (so e.g. x = 0 with a negative sum gives -0 as there).
  bool may_defer_input_factor = false;
  // Optional max(W, 0) and min(W, 0) (M x K each), cached by the layer for alpha-beta.
  const float* w_pos = nullptr;
  const float* w_neg = nullptr;
  // Flat rule: each input receives sum_j R_j / flat_divisor.
  double flat_divisor = 1;
  // Zennit rules (zennit_rules.h): column forms of an all-ones input and of ZBox's bounds.
  const float* ones = nullptr;
  const float* low = nullptr;
  const float* high = nullptr;
};

// Returns true when the input factor x was left to the caller (see may_defer_input_factor).
bool ApplyLinearRule(const LayerRule& rule, const LinearProblem& lp, Workspace& ws);

// Epsilon's quotients s = R / (z +- eps) under the rule's stabiliser convention, over n outputs.
void EpsilonQuotients(const LayerRule& rule, const float* r, const float* z, int64_t n, float* s);

// max(W, 0) and min(W, 0) of a layer's weights, made on first use by an alpha-beta rule
// and kept: it trades one more copy of the weights for not re-splitting them every call.
class SignedWeights {
 public:
  // W+ and W- of `groups` equal blocks of W, stored per group as [W+_g; W-_g]: the rules
  // can then take W+^T S+ + W-^T S- as one product of the stacked matrices.
  void Prepare(const float* w, int64_t n, int64_t groups = 1) {
    if (static_cast<int64_t>(both_.size()) == 2 * n && groups_ == groups) return;
    groups_ = groups;
    group_size_ = n / groups;
    both_.resize(static_cast<size_t>(2 * n));
    for (int64_t g = 0; g < groups; ++g) {
      const float* src = w + g * group_size_;
      float* pos = both_.data() + 2 * g * group_size_;
      float* neg = pos + group_size_;
      for (int64_t i = 0; i < group_size_; ++i) {
        pos[i] = src[i] > 0 ? src[i] : 0.0f;
        neg[i] = src[i] < 0 ? src[i] : 0.0f;
      }
    }
  }
  const float* pos(int64_t group = 0) const { return both_.data() + 2 * group * group_size_; }
  const float* neg(int64_t group = 0) const { return pos(group) + group_size_; }

 private:
  std::vector<float> both_;
  int64_t groups_ = 0, group_size_ = 0;
};

// Elementwise affine maps y_i = a_i x_i + c_i (BatchNorm, Scale, Bias, one input per
// output): the same rule kinds, specialised to a diagonal W. `a` and `c` are indexed
// through `channel_of(i)`: i / inner % channels.
struct DiagonalProblem {
  int64_t outer = 0, channels = 0, inner = 0;
  const float* a = nullptr;  // per channel (null: 1)
  const float* c = nullptr;  // per channel (null: 0)
  const float* x = nullptr;
  const float* z = nullptr;  // forward output
  const float* r = nullptr;
  float* rx = nullptr;
};

void ApplyDiagonalRule(const LayerRule& rule, const DiagonalProblem& dp);

// The epsilon stabiliser of the original: z > 0 -> z + eps, z < 0 -> z - eps, and for
// z == 0 the relevance passes undivided (returns R).
// Written so that loops over it vectorise (signs of z are close to random: branches would
// mispredict half the time): copysign picks +-eps, and z == 0 (either sign) divides by 1.
inline float EpsilonQuotient(float r, float z, float eps) {
  float d = z + std::copysign(eps, z);
  d = z == 0.0f ? 1.0f : d;
  return r / d;
}

// The stand-alone toolbox's stabiliser: sign(0) = +1 (also for -0), always divided.
inline float ToolboxEpsilonQuotient(float r, float z, float eps) {
  const float signed_eps = z >= 0.0f ? eps : -eps;
  return r / (z + signed_eps);
}

// R / (z +- eps) under the rule's stabiliser convention.
inline float StabilizedQuotient(const LayerRule& rule, float r, float z, float eps) {
  return rule.stabilizer == Stabilizer::kToolbox ? ToolboxEpsilonQuotient(r, z, eps) : EpsilonQuotient(r, z, eps);
}

// The alpha-beta share of one contribution v of an output with positive/negative sums
// zp = sum v+ (+ b+) and zn = sum v- (+ b-): alpha v r / Z+ for v > 0, -beta v r / Z- for
// v < 0, 0 otherwise. `tiny` is the rule's stabiliser (Z+ = zp + tiny, Z- = zn - 2 tiny);
// a zero zp (or zn) means every numerator of that sign is 0, so the share is 0.
inline float AlphaBetaShare(float v, float r, float zp, float zn, float alpha, float beta, float tiny) {
  if (v > 0 && zp > 0) return alpha * v * r / (zp + tiny);
  if (v < 0 && zn < 0) return -beta * v * r / (zn - 2 * tiny);
  return 0.0f;
}

}  // namespace caffe_lrp
