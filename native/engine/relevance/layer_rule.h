// LayerRule: what the relevance walk asks one layer to do. The policy that maps the
// original's formula types (or a user's per-layer composite, or the stand-alone LRP
// Toolbox's conventions) to these rules lives in the TypeScript layer
// (lib/relevance/policy.ts, lib/toolbox/policy.ts); layers only know how to apply a rule kind.
#pragma once
#include <vector>

namespace caffe_lrp {

// Rules for layers that are linear maps z = W x + b (Convolution, InnerProduct, and the
// affine/elementwise layers Eltwise SUM, BatchNorm, Scale, Bias).
enum class LinearRule {
  kEpsilon,    // R_i = x_i w_ij R_j / (z_j +- eps); z == 0: see Stabilizer
  kAlphaBeta,  // alpha z+/Z+ - beta z-/Z-
  kFlat,       // uniform over the receptive field
  kWSquare,    // w^2 / sum w^2
  kTranspose,  // W^T R: deconvolution / guided backprop (no x factor, no division)
  kZennit,     // one of Zennit 0.5.1's rules (ZennitRule), see zennit_rules.cc
};

// Zennit's rules for linear layers (semantics 'zennit'). Their stabiliser is
// stab(z) = z + s sign(z) with sign(0) = +1 (also for -0); s = `epsilon` for kEpsilon and
// `zennit_stabilizer` for all others. Biases enter as Zennit's passes let them (see
// zennit_rules.cc).
enum class ZennitRule { kEpsilon, kAlphaBeta, kGamma, kZBox, kFlat, kWSquare };

// Rules for pooling layers.
//   kWinnerTakeAll      MAX: all of R_j to the first maximum (Caffe); AVE/SUM: as kProportional
//   kProportional       x_i / sum x over the window; |sum| < 1e-6 adds x_i instead (Caffe's AVE)
//   kWinnerTakeAllTies  MAX only: R_j split equally among all positions equal to the maximum
//   kFlat               R_j / (window size) to every position of the window
//   kEpsilon            AVE/SUM: the epsilon rule on the window sum S: x_i R_j / (S +- eps)
//   kAlphaBeta          AVE/SUM: the alpha-beta rule on the window's inputs (no bias)
// For AVE and SUM pooling the rules see the unscaled window sum (the 1/n or 1/sqrt(n)
// scaling of the forward pass cancels), as the stand-alone toolbox's SumPool does.
enum class PoolRule { kWinnerTakeAll, kProportional, kWinnerTakeAllTies, kFlat, kEpsilon, kAlphaBeta };
enum class LrnRule { kIdentity, kTaylor };
enum class ReluRule { kIdentity, kRectify, kGuided };

// Stabilisers of the epsilon and alpha-beta rules.
//   kCaffe    (the Caffe plugin) epsilon: z > 0 -> z + eps, z < 0 -> z - eps, z == 0 passes
//             R undivided; alpha-beta: no additive term, a Z+ <= 0 or Z- >= 0 contributes 0.
//   kToolbox  (the stand-alone python/Matlab toolbox) epsilon: z >= 0 -> z + eps (sign(0) =
//             +1, also for -0), z < 0 -> z - eps; alpha-beta: Z+ = sum z+ + b+ + 1e-16 and
//             Z- = Y - Z+ - 1e-16 = sum z- + b- - 2e-16.
enum class Stabilizer { kCaffe, kToolbox };

// The toolbox's alpha-beta stabiliser.
constexpr float kToolboxTiny = 1e-16f;

struct LayerRule {
  // Propagate the plain gradient (the layer's BackwardGradient) instead of a relevance rule:
  // Zennit's treatment of layers no rule is attached to (max pooling's winner-take-all,
  // LRN's Jacobian, reshapes).
  bool gradient = false;
  LinearRule linear = LinearRule::kEpsilon;
  float epsilon = 1.0f;
  float beta = 0.0f;         // alpha-beta: weight of the subtracted negative part
  bool has_alpha = false;    // alpha given explicitly (then beta may be negative)
  float alpha = 1.0f;        // only read when has_alpha; otherwise alpha = 1 + beta
  int bias_treatment = 0;    // 0: bias in Z+/Z- only; 1: b/K spread over the K inputs
  PoolRule pool = PoolRule::kWinnerTakeAll;
  LrnRule lrn = LrnRule::kIdentity;
  ReluRule relu = ReluRule::kIdentity;
  Stabilizer stabilizer = Stabilizer::kCaffe;
  // Reproduce the original's grouped-convolution alpha-beta defect (group 0's biases).
  bool compat_group_bias = false;
  // Reproduce the stand-alone toolbox's SumPool alpha-beta defect: the beta term of the
  // general case (alpha not 0 or 1) is multiplied by R_j twice.
  bool compat_sum_pool_beta = false;
  // Flat rule normalisation for convolutions: false = 1/(kh*kw) (original Caffe plugin),
  // true = 1/(C_in/group*kh*kw) (the stand-alone toolbox).
  bool flat_over_depth = false;
  // Semantics 'zennit' (linear == kZennit): which rule, its stabiliser and parameters.
  // Alpha-beta reads Alpha()/beta (ZPlus = alpha 1, beta 0). ZBox bounds: one value, or one
  // per input channel of the layer.
  ZennitRule zennit = ZennitRule::kEpsilon;
  float zennit_stabilizer = 1e-6f;
  float gamma = 0.25f;
  std::vector<float> low, high;

  // The weight of the positive part: the Caffe plugin's alpha = 1 + beta unless given.
  float Alpha() const { return has_alpha ? alpha : 1.0f + beta; }
  // Additive alpha-beta stabiliser (0 for the Caffe plugin).
  float Tiny() const { return stabilizer == Stabilizer::kToolbox ? kToolboxTiny : 0.0f; }
};

}  // namespace caffe_lrp
