#include "engine/relevance/linear_rules.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "engine/error.h"
#include "engine/math.h"

namespace caffe_lrp {
namespace {

// Workspace slots used here (the calling layer owns slots 0-2 for its X/Z/R matrices).
constexpr int kSlotA = 3, kSlotB = 4, kSlotC = 5;

// Z = W X + b, when the layer could not hand us its forward output.
const float* ForwardOutput(const LinearProblem& lp, float* buffer) {
  if (lp.z) return lp.z;
  if (!lp.x) throw EngineError("internal: a linear rule got neither forward outputs nor inputs");
  Gemm(false, false, lp.m, lp.p, lp.k, 1.0f, lp.w, lp.k, lp.x, lp.p, 0.0f, buffer, lp.p);
  if (lp.bias)
    for (int64_t j = 0; j < lp.m; ++j)
      for (int64_t q = 0; q < lp.p; ++q) buffer[j * lp.p + q] += lp.bias[j];
  return buffer;
}

bool Epsilon(const LayerRule& rule, const LinearProblem& lp, Workspace& ws) {
  const int64_t mp = lp.m * lp.p;
  float* s = ws.Get(kSlotA, mp);
  const float* z = ForwardOutput(lp, ws.Get(kSlotB, lp.z ? 0 : mp));
  const float eps = rule.epsilon;
  if (rule.stabilizer == Stabilizer::kToolbox)
    for (int64_t i = 0; i < mp; ++i) s[i] = ToolboxEpsilonQuotient(lp.r[i], z[i], eps);
  else
    for (int64_t i = 0; i < mp; ++i) s[i] = EpsilonQuotient(lp.r[i], z[i], eps);
  Gemm(true, false, lp.k, lp.p, lp.m, 1.0f, lp.w, lp.k, s, lp.p, 0.0f, lp.rx, lp.p);
  if (lp.may_defer_input_factor) return true;
  if (!lp.x) throw EngineError("internal: the epsilon rule needs the inputs unless the caller applies them");
  const int64_t kp = lp.k * lp.p;
  for (int64_t i = 0; i < kp; ++i) lp.rx[i] *= lp.x[i];
  return false;
}

void Transposed(const LinearProblem& lp) {
  Gemm(true, false, lp.k, lp.p, lp.m, 1.0f, lp.w, lp.k, lp.r, lp.p, 0.0f, lp.rx, lp.p);
}

void WSquare(const LinearProblem& lp, Workspace& ws) {
  float* v = ws.Get(kSlotA, lp.m * lp.k);
  for (int64_t j = 0; j < lp.m; ++j) {
    const float* wr = lp.w + j * lp.k;
    float* vr = v + j * lp.k;
    float sum = 0;
    for (int64_t i = 0; i < lp.k; ++i) sum += wr[i] * wr[i];
    const float inv = sum != 0.0f ? 1.0f / sum : 0.0f;  // rows with no weight contribute 0
    for (int64_t i = 0; i < lp.k; ++i) vr[i] = wr[i] * wr[i] * inv;
  }
  Gemm(true, false, lp.k, lp.p, lp.m, 1.0f, v, lp.k, lp.r, lp.p, 0.0f, lp.rx, lp.p);
}

void Flat(const LinearProblem& lp) {
  // Every input of column q receives sum_j R_jq / divisor: no matrix product needed.
  std::vector<float> col_sum(static_cast<size_t>(lp.p), 0.0f);
  for (int64_t j = 0; j < lp.m; ++j)
    for (int64_t q = 0; q < lp.p; ++q) col_sum[q] += lp.r[j * lp.p + q];
  const float inv = static_cast<float>(1.0 / lp.flat_divisor);
  for (int64_t q = 0; q < lp.p; ++q) col_sum[q] *= inv;
  for (int64_t i = 0; i < lp.k; ++i) std::copy(col_sum.begin(), col_sum.end(), lp.rx + i * lp.p);
}

// Alpha-beta with the bias in the denominators only (biastreatmenttype 0):
//   Z+ = sum_i (x_i w_ij)+ + b_j+,  Z- = sum_i (x_i w_ij)- + b_j-
//   R_i = sum_j [alpha (x_i w_ij)+ R_j / Z+ - beta (x_i w_ij)- R_j / Z-]
// computed with W+ / W- products only (no K x M x P contribution tensor). For x >= 0,
// (x w)+ = x w+ and (x w)- = x w-; for x < 0 the roles of W+ and W- swap. Quotients are
// 0 unless Z+ > 0 / Z- < 0 (the original leaves R undivided there, where every
// numerator is 0 anyway). The toolbox's stabilisers add 1e-16 to Z+ and -2e-16 to Z-
// (its Z- = Y - Z+ - 1e-16); Z- is summed from the negative parts rather than taken as a
// difference of the forward output, which is the same number without float32 cancellation.
// The negative sums need no products of their own: every contribution x_i w_ij is either
// positive or negative, so Z+ + Z- = W x = z - b, and the forward pass already has z. Where
// Z- = (z - b) - Z+ would cancel badly (|Z-| well below |Z+|) it is recomputed directly,
// so the accuracy is that of the direct product.
void NegativeSumsFromForward(const LinearProblem& lp, const float* zpos, float* zneg) {
  const int64_t m = lp.m, k = lp.k, p = lp.p;
  const float* zb = lp.z_bias ? lp.z_bias : lp.bias;
  for (int64_t j = 0; j < m; ++j) {
    const float b = zb ? zb[j] : 0.0f;
    const float* z = lp.z + j * p;
    const float* zp = zpos + j * p;
    float* zn = zneg + j * p;
    for (int64_t q = 0; q < p; ++q) zn[q] = (z[q] - b) - zp[q];
    for (int64_t q = 0; q < p; ++q) {
      if (std::fabs(zn[q]) >= 1e-2f * std::fabs(zp[q])) continue;
      double sum = 0;
      const float* w = lp.w + j * k;
      for (int64_t i = 0; i < k; ++i) sum += std::min(0.0, static_cast<double>(w[i]) * lp.x[i * p + q]);
      zn[q] = static_cast<float>(sum);
    }
  }
}

bool AlphaBeta(const LayerRule& rule, const LinearProblem& lp, Workspace& ws) {
  const int64_t m = lp.m, k = lp.k, p = lp.p, mk = m * k, mp = m * p, kp = k * p;
  const float beta = rule.beta;
  const float alpha = rule.Alpha();
  const float tiny = rule.Tiny();
  const bool with_beta = beta != 0.0f;
  const bool mixed_sign = std::any_of(lp.x, lp.x + kp, [](float v) { return v < 0; });

  const float* wp = lp.w_pos;
  const float* wn = lp.w_neg;
  if (!wp || !wn) {
    float* split = ws.Get(kSlotA, 2 * mk);
    for (int64_t i = 0; i < mk; ++i) {
      split[i] = std::max(lp.w[i], 0.0f);
      split[mk + i] = std::min(lp.w[i], 0.0f);
    }
    wp = split;
    wn = split + mk;
  }
  // s = [Z+; Z-] (2m x p), later overwritten by the scaled quotients.
  float* s = ws.Get(kSlotB, 2 * mp);
  const float* xp = lp.x;
  const float* xn = nullptr;
  if (mixed_sign) {
    float* xs = ws.Get(kSlotC, 2 * kp);
    for (int64_t i = 0; i < kp; ++i) {
      xs[i] = std::max(lp.x[i], 0.0f);
      xs[kp + i] = std::min(lp.x[i], 0.0f);
    }
    xp = xs;
    xn = xs + kp;
  }
  Gemm(false, false, m, p, k, 1.0f, wp, k, xp, p, 0.0f, s, p);                 // Z+ = W+ x+
  if (xn) Gemm(false, false, m, p, k, 1.0f, wn, k, xn, p, 1.0f, s, p);         //    + W- x-
  if (with_beta) {
    if (lp.z) {
      NegativeSumsFromForward(lp, s, s + mp);
    } else {
      Gemm(false, false, m, p, k, 1.0f, wn, k, xp, p, 0.0f, s + mp, p);          // Z- = W- x+
      if (xn) Gemm(false, false, m, p, k, 1.0f, wp, k, xn, p, 1.0f, s + mp, p);  //    + W+ x-
    }
  }
  for (int64_t j = 0; j < m; ++j) {
    const float bp = lp.bias ? std::max(lp.bias[j], 0.0f) : 0.0f;
    const float bn = lp.bias ? std::min(lp.bias[j], 0.0f) : 0.0f;
    // Selects instead of branches so the loops vectorise; a denominator that is not
    // strictly positive (negative) gives 0.
    float* sp = s + j * p;
    const float* r = lp.r + j * p;
    for (int64_t q = 0; q < p; ++q) {
      const float zp = sp[q] + bp;
      const bool ok = zp > 0;
      const float quotient = alpha * r[q] / (ok ? zp + tiny : 1.0f);
      sp[q] = ok ? quotient : 0.0f;
    }
    if (with_beta) {
      float* sn = s + mp + j * p;
      for (int64_t q = 0; q < p; ++q) {
        const float zn = sn[q] + bn;
        const bool ok = zn < 0;
        const float quotient = -beta * r[q] / (ok ? zn - 2 * tiny : -1.0f);
        sn[q] = ok ? quotient : 0.0f;
      }
    }
  }
  // Positive inputs: W+^T S+ + W-^T S-.
  Gemm(true, false, k, p, m, 1.0f, wp, k, s, p, 0.0f, lp.rx, p);
  if (with_beta) Gemm(true, false, k, p, m, 1.0f, wn, k, s + mp, p, 1.0f, lp.rx, p);
  if (!mixed_sign) {
    if (lp.may_defer_input_factor) return true;
    for (int64_t i = 0; i < kp; ++i) lp.rx[i] *= lp.x[i];
    return false;
  }
  // Negative inputs: W-^T S+ + W+^T S- (x_n no longer needed: reuse its buffer).
  float* g = ws.Get(kSlotC, 2 * kp) + kp;
  Gemm(true, false, k, p, m, 1.0f, wn, k, s, p, 0.0f, g, p);
  if (with_beta) Gemm(true, false, k, p, m, 1.0f, wp, k, s + mp, p, 1.0f, g, p);
  for (int64_t i = 0; i < kp; ++i) {
    const float x = lp.x[i];
    const float pos = x >= 0 ? 1.0f : 0.0f;  // mask arithmetic instead of a branch: vectorises
    lp.rx[i] = x * (pos * lp.rx[i] + (1.0f - pos) * g[i]);
  }
  return false;
}

// Alpha-beta with the bias spread over the K inputs (biastreatmenttype 1):
// z'_ij = x_i w_ij + b_j / K. The positive/negative parts of z' do not factor into W+/W-
// products, so this runs explicit loops over (column, output, input).
void AlphaBetaSpreadBias(const LayerRule& rule, const LinearProblem& lp, Workspace& ws) {
  const int64_t m = lp.m, k = lp.k, p = lp.p;
  const float beta = rule.beta, alpha = rule.Alpha(), tiny = rule.Tiny();
  float* xt = ws.Get(kSlotA, k * p);   // X^T: p x k, so each column is contiguous
  float* rt = ws.Get(kSlotB, k * p);   // Rx^T accumulator
  Transpose(lp.x, k, p, xt);
  std::fill(rt, rt + k * p, 0.0f);
  for (int64_t q = 0; q < p; ++q) {
    const float* xq = xt + q * k;
    float* rq = rt + q * k;
    for (int64_t j = 0; j < m; ++j) {
      const float* wj = lp.w + j * k;
      const float bk = lp.bias ? lp.bias[j] / static_cast<float>(k) : 0.0f;
      float zp = 0, zn = 0;
      for (int64_t i = 0; i < k; ++i) {
        const float z = xq[i] * wj[i] + bk;
        if (z > 0) zp += z; else zn += z;
      }
      const float r = lp.r[j * p + q];
      const float sp = zp > 0 ? alpha * r / (zp + tiny) : 0.0f;
      const float sn = (zn < 0 && beta != 0.0f) ? -beta * r / (zn - 2 * tiny) : 0.0f;
      if (sp == 0.0f && sn == 0.0f) continue;
      for (int64_t i = 0; i < k; ++i) {
        const float z = xq[i] * wj[i] + bk;
        rq[i] += z > 0 ? z * sp : z * sn;
      }
    }
  }
  Transpose(rt, p, k, lp.rx);
}

}  // namespace

bool ApplyLinearRule(const LayerRule& rule, const LinearProblem& lp, Workspace& ws) {
  switch (rule.linear) {
    case LinearRule::kEpsilon: return Epsilon(rule, lp, ws);
    case LinearRule::kAlphaBeta:
      if (rule.beta < 0 && !rule.has_alpha) throw EngineError("alpha-beta rule: beta must be >= 0 (alpha = 1 + beta)");
      if (rule.bias_treatment == 1 && lp.bias) {
        AlphaBetaSpreadBias(rule, lp, ws);
        return false;
      }
      return AlphaBeta(rule, lp, ws);
    case LinearRule::kFlat: Flat(lp); return false;
    case LinearRule::kWSquare: WSquare(lp, ws); return false;
    case LinearRule::kTranspose: Transposed(lp); return false;
  }
  throw EngineError("unknown linear rule");
}

void ApplyDiagonalRule(const LayerRule& rule, const DiagonalProblem& dp) {
  const float beta = rule.beta, alpha = rule.Alpha(), tiny = rule.Tiny();
  for (int64_t o = 0; o < dp.outer; ++o) {
    for (int64_t ch = 0; ch < dp.channels; ++ch) {
      const float a = dp.a ? dp.a[ch] : 1.0f;
      const float c = dp.c ? dp.c[ch] : 0.0f;
      const int64_t base = (o * dp.channels + ch) * dp.inner;
      for (int64_t t = 0; t < dp.inner; ++t) {
        const int64_t i = base + t;
        const float r = dp.r[i];
        const float contrib = a * dp.x[i];  // the single input's share of z
        float out = 0;
        switch (rule.linear) {
          case LinearRule::kEpsilon: out = contrib * StabilizedQuotient(rule, r, dp.z[i], rule.epsilon); break;
          case LinearRule::kAlphaBeta: {
            const float zp = std::max(contrib, 0.0f) + std::max(c, 0.0f);
            const float zn = std::min(contrib, 0.0f) + std::min(c, 0.0f);
            out = AlphaBetaShare(contrib, r, zp, zn, alpha, beta, tiny);
            break;
          }
          case LinearRule::kFlat:
          case LinearRule::kWSquare: out = a != 0.0f ? r : 0.0f; break;  // one input per output
          case LinearRule::kTranspose: out = a * r; break;
        }
        dp.rx[i] = out;
      }
    }
  }
}

}  // namespace caffe_lrp
