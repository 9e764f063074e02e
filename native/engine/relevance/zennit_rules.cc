// Zennit 0.5.1's rules for linear layers (semantics 'zennit'), from the formulas in
// ../shared/vectors/onnx/README.md. Each rule is a set of "passes": the layer evaluated on
// modified inputs and parameters, its outputs stabilised and divided into R, and the
// quotients sent back through the transposed (modified) weights. Written with plain
// matrix products over the column form the layers already use (see linear_rules.h).
#include "engine/relevance/zennit_rules.h"

#include <algorithm>
#include <vector>

#include "engine/error.h"
#include "engine/math.h"

namespace caffe_lrp {
namespace {

using Matrix = std::vector<float>;

// stab(z) = z + s sign(z), sign(0) = +1 (also for -0.0: -0.0 >= 0 is true).
inline float Stabilize(float z, float s) { return z + (z >= 0.0f ? s : -s); }

// out (M x P) = A (M x K) X (K x P) [+ bias per row].
void Forward(const LinearProblem& lp, const float* a, const float* x, const float* bias, float* out) {
  Gemm(false, false, lp.m, lp.p, lp.k, 1.0f, a, lp.k, x, lp.p, 0.0f, out, lp.p);
  if (bias)
    for (int64_t j = 0; j < lp.m; ++j)
      for (int64_t q = 0; q < lp.p; ++q) out[j * lp.p + q] += bias[j];
}

// out (K x P) (+)= A^T (K x M) S (M x P).
void Backward(const LinearProblem& lp, const float* a, const float* s, float* out, bool accumulate) {
  Gemm(true, false, lp.k, lp.p, lp.m, 1.0f, a, lp.k, s, lp.p, accumulate ? 1.0f : 0.0f, out, lp.p);
}

// S = R / stab(z), in place over z; an optional mask zeroes entries first.
void Quotients(const LinearProblem& lp, float stabilizer, Matrix& z) {
  const int64_t mp = lp.m * lp.p;
  for (int64_t i = 0; i < mp; ++i) z[i] = lp.r[i] / Stabilize(z[i], stabilizer);
}

Matrix Map(const float* v, int64_t n, float (*f)(float)) {
  Matrix out(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) out[i] = f(v[i]);
  return out;
}
float Pos(float v) { return v > 0 ? v : 0.0f; }
float Neg(float v) { return v < 0 ? v : 0.0f; }
float Square(float v) { return v * v; }

const float* NeedInputs(const LinearProblem& lp) {
  if (!lp.x) throw EngineError("internal: a zennit rule needs the layer's inputs in column form");
  return lp.x;
}

// Epsilon: R_x = x (W^T (R / stab_eps(Wx + b))).
void Epsilon(const LayerRule& rule, const LinearProblem& lp) {
  const float* x = NeedInputs(lp);
  Matrix s(static_cast<size_t>(lp.m * lp.p));
  if (lp.z) std::copy(lp.z, lp.z + lp.m * lp.p, s.begin());
  else Forward(lp, lp.w, x, lp.bias, s.data());
  Quotients(lp, rule.epsilon, s);
  Backward(lp, lp.w, s.data(), lp.rx, false);
  MultiplyInPlace(lp.rx, x, lp.k * lp.p);
}

// One "signed" denominator of alpha-beta and gamma: z = A x+ + B x- + c, S = mask R / stab(z),
// and R_x += f (x+ (A^T S) + x- (B^T S)).
void SignedPass(const LinearProblem& lp, float stabilizer, const float* a, const float* b, const float* c,
                const Matrix& xp, const Matrix& xn, const float* mask, float factor, Matrix& scratch_k) {
  const int64_t mp = lp.m * lp.p, kp = lp.k * lp.p;
  Matrix z(static_cast<size_t>(mp)), t(static_cast<size_t>(mp));
  Forward(lp, a, xp.data(), c, z.data());
  Forward(lp, b, xn.data(), nullptr, t.data());
  for (int64_t i = 0; i < mp; ++i) z[i] += t[i];
  Quotients(lp, stabilizer, z);
  if (mask)
    for (int64_t i = 0; i < mp; ++i) z[i] = mask[i] != 0.0f ? z[i] : 0.0f;
  Backward(lp, a, z.data(), scratch_k.data(), false);
  for (int64_t i = 0; i < kp; ++i) lp.rx[i] += factor * xp[i] * scratch_k[i];
  Backward(lp, b, z.data(), scratch_k.data(), false);
  for (int64_t i = 0; i < kp; ++i) lp.rx[i] += factor * xn[i] * scratch_k[i];
}

Matrix BiasOf(const LinearProblem& lp, float (*f)(float)) {
  Matrix out(static_cast<size_t>(lp.m), 0.0f);
  if (lp.bias)
    for (int64_t j = 0; j < lp.m; ++j) out[j] = f(lp.bias[j]);
  return out;
}

// AlphaBeta(alpha, beta) (ZPlus = AlphaBeta(1, 0)): the positive bias part in the alpha
// denominator, the negative one in the beta denominator.
void AlphaBeta(const LayerRule& rule, const LinearProblem& lp) {
  const float* x = NeedInputs(lp);
  const int64_t mk = lp.m * lp.k, kp = lp.k * lp.p;
  const Matrix xp = Map(x, kp, Pos), xn = Map(x, kp, Neg), wp = Map(lp.w, mk, Pos), wn = Map(lp.w, mk, Neg);
  const Matrix bp = BiasOf(lp, Pos), bn = BiasOf(lp, Neg);
  Matrix scratch(static_cast<size_t>(kp));
  std::fill(lp.rx, lp.rx + kp, 0.0f);
  SignedPass(lp, rule.zennit_stabilizer, wp.data(), wn.data(), bp.data(), xp, xn, nullptr, rule.Alpha(), scratch);
  if (rule.beta != 0.0f)
    SignedPass(lp, rule.zennit_stabilizer, wn.data(), wp.data(), bn.data(), xp, xn, nullptr, -rule.beta, scratch);
}

// Gamma(gamma): W + gamma W+ / W + gamma W- (biases likewise), the first pair where the plain
// output z > 0, the second where z < 0; z == 0 gets no relevance.
void Gamma(const LayerRule& rule, const LinearProblem& lp) {
  const float* x = NeedInputs(lp);
  const int64_t mk = lp.m * lp.k, mp = lp.m * lp.p, kp = lp.k * lp.p;
  const float g = rule.gamma;
  const Matrix xp = Map(x, kp, Pos), xn = Map(x, kp, Neg);
  Matrix gp(static_cast<size_t>(mk)), gn(static_cast<size_t>(mk)), cp(static_cast<size_t>(lp.m), 0.0f), cn(cp);
  for (int64_t i = 0; i < mk; ++i) {
    gp[i] = lp.w[i] + g * Pos(lp.w[i]);
    gn[i] = lp.w[i] + g * Neg(lp.w[i]);
  }
  if (lp.bias)
    for (int64_t j = 0; j < lp.m; ++j) {
      cp[j] = lp.bias[j] + g * Pos(lp.bias[j]);
      cn[j] = lp.bias[j] + g * Neg(lp.bias[j]);
    }
  Matrix z(static_cast<size_t>(mp));
  if (lp.z) std::copy(lp.z, lp.z + mp, z.begin());
  else Forward(lp, lp.w, x, lp.bias, z.data());
  Matrix positive(static_cast<size_t>(mp)), negative(static_cast<size_t>(mp));
  for (int64_t i = 0; i < mp; ++i) {
    positive[i] = z[i] > 0 ? 1.0f : 0.0f;
    negative[i] = z[i] < 0 ? 1.0f : 0.0f;
  }
  Matrix scratch(static_cast<size_t>(kp));
  std::fill(lp.rx, lp.rx + kp, 0.0f);
  SignedPass(lp, rule.zennit_stabilizer, gp.data(), gn.data(), cp.data(), xp, xn, positive.data(), 1.0f, scratch);
  SignedPass(lp, rule.zennit_stabilizer, gn.data(), gp.data(), cn.data(), xp, xn, negative.data(), 1.0f, scratch);
}

// ZBox(low, high): z = (Wx + b) - (W+ l + b+) - (W- h + b-); R_x = x W^T S - l W+^T S - h W-^T S.
void ZBox(const LayerRule& rule, const LinearProblem& lp) {
  const float* x = NeedInputs(lp);
  if (!lp.low || !lp.high) throw EngineError("internal: the ZBox rule needs its bounds in column form");
  const int64_t mk = lp.m * lp.k, mp = lp.m * lp.p, kp = lp.k * lp.p;
  const Matrix wp = Map(lp.w, mk, Pos), wn = Map(lp.w, mk, Neg), bp = BiasOf(lp, Pos), bn = BiasOf(lp, Neg);
  Matrix z(static_cast<size_t>(mp)), t(static_cast<size_t>(mp));
  if (lp.z) std::copy(lp.z, lp.z + mp, z.begin());
  else Forward(lp, lp.w, x, lp.bias, z.data());
  Forward(lp, wp.data(), lp.low, bp.data(), t.data());
  for (int64_t i = 0; i < mp; ++i) z[i] -= t[i];
  Forward(lp, wn.data(), lp.high, bn.data(), t.data());
  for (int64_t i = 0; i < mp; ++i) z[i] -= t[i];
  Quotients(lp, rule.zennit_stabilizer, z);
  Matrix scratch(static_cast<size_t>(kp));
  Backward(lp, lp.w, z.data(), scratch.data(), false);
  for (int64_t i = 0; i < kp; ++i) lp.rx[i] = x[i] * scratch[i];
  Backward(lp, wp.data(), z.data(), scratch.data(), false);
  for (int64_t i = 0; i < kp; ++i) lp.rx[i] -= lp.low[i] * scratch[i];
  Backward(lp, wn.data(), z.data(), scratch.data(), false);
  for (int64_t i = 0; i < kp; ++i) lp.rx[i] -= lp.high[i] * scratch[i];
}

// Flat: weights 1, bias 0, input ones: z = the number of (non-padding) inputs of the
// receptive field; R_x = 1^T (R / stab(z)), the gradient only.
void Flat(const LayerRule& rule, const LinearProblem& lp) {
  Matrix counts(static_cast<size_t>(lp.p), 0.0f);
  for (int64_t i = 0; i < lp.k; ++i)
    for (int64_t q = 0; q < lp.p; ++q) counts[q] += lp.ones ? lp.ones[i * lp.p + q] : 1.0f;
  Matrix column(static_cast<size_t>(lp.p), 0.0f);
  for (int64_t j = 0; j < lp.m; ++j)
    for (int64_t q = 0; q < lp.p; ++q) column[q] += lp.r[j * lp.p + q] / Stabilize(counts[q], rule.zennit_stabilizer);
  for (int64_t i = 0; i < lp.k; ++i) std::copy(column.begin(), column.end(), lp.rx + i * lp.p);
}

// WSquare: every parameter squared (the bias too), input ones: z = W^2 1 + b^2; R_x = (W^2)^T S.
void WSquare(const LayerRule& rule, const LinearProblem& lp) {
  const int64_t mk = lp.m * lp.k, mp = lp.m * lp.p;
  const Matrix w2 = Map(lp.w, mk, Square), b2 = BiasOf(lp, Square);
  Matrix z(static_cast<size_t>(mp));
  if (lp.ones) {
    Forward(lp, w2.data(), lp.ones, b2.data(), z.data());
  } else {
    for (int64_t j = 0; j < lp.m; ++j) {
      float sum = b2[j];
      for (int64_t i = 0; i < lp.k; ++i) sum += w2[j * lp.k + i];
      std::fill(z.begin() + j * lp.p, z.begin() + (j + 1) * lp.p, sum);
    }
  }
  Quotients(lp, rule.zennit_stabilizer, z);
  Backward(lp, w2.data(), z.data(), lp.rx, false);
}

}  // namespace

void ApplyZennitRule(const LayerRule& rule, const LinearProblem& lp) {
  switch (rule.zennit) {
    case ZennitRule::kEpsilon: Epsilon(rule, lp); return;
    case ZennitRule::kAlphaBeta: AlphaBeta(rule, lp); return;
    case ZennitRule::kGamma: Gamma(rule, lp); return;
    case ZennitRule::kZBox: ZBox(rule, lp); return;
    case ZennitRule::kFlat: Flat(rule, lp); return;
    case ZennitRule::kWSquare: WSquare(rule, lp); return;
  }
  throw EngineError("unknown zennit rule");
}

bool ZennitNeedsOnes(const LayerRule& rule) {
  return rule.linear == LinearRule::kZennit && (rule.zennit == ZennitRule::kFlat || rule.zennit == ZennitRule::kWSquare);
}

bool ZennitNeedsBounds(const LayerRule& rule) {
  return rule.linear == LinearRule::kZennit && rule.zennit == ZennitRule::kZBox;
}

}  // namespace caffe_lrp
