// LayerRule: what the relevance walk asks one layer to do. The policy that maps the
// original's formula types (or a user's per-layer composite) to these rules lives in the
// TypeScript layer (lib/relevance/policy.ts); layers only know how to apply a rule kind.
#pragma once

namespace caffe_lrp {

// Rules for layers that are linear maps z = W x + b (Convolution, InnerProduct, and the
// affine/elementwise layers Eltwise SUM, BatchNorm, Scale, Bias).
enum class LinearRule {
  kEpsilon,    // R_i = x_i w_ij R_j / (z_j +- eps); z == 0 passes R undivided (original)
  kAlphaBeta,  // alpha z+/Z+ - beta z-/Z-, alpha = 1 + beta
  kFlat,       // uniform over the receptive field
  kWSquare,    // w^2 / sum w^2
  kTranspose,  // W^T R: deconvolution / guided backprop (no x factor, no division)
};

enum class PoolRule { kWinnerTakeAll, kProportional };
enum class LrnRule { kIdentity, kTaylor };
enum class ReluRule { kIdentity, kRectify, kGuided };

struct LayerRule {
  LinearRule linear = LinearRule::kEpsilon;
  float epsilon = 1.0f;
  float beta = 0.0f;         // alpha-beta: alpha = 1 + beta
  int bias_treatment = 0;    // 0: bias in Z+/Z- only; 1: b/K spread over the K inputs
  PoolRule pool = PoolRule::kWinnerTakeAll;
  LrnRule lrn = LrnRule::kIdentity;
  ReluRule relu = ReluRule::kIdentity;
  // Reproduce the original's grouped-convolution alpha-beta defect (group 0's biases).
  bool compat_group_bias = false;
  // Flat rule normalisation for convolutions: false = 1/(kh*kw) (original Caffe plugin),
  // true = 1/(C_in/group*kh*kw) (the stand-alone toolbox).
  bool flat_over_depth = false;
};

}  // namespace caffe_lrp
