#include "engine/relevance/linear_rules.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "engine/error.h"
#include "engine/math.h"
#include "engine/skinny_gemm.h"
#include "engine/relevance/zennit_rules.h"

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

// The rules that end with R_x = x * G (G in lp.rx): applies the factor x, or leaves it to
// the caller when it may defer it (returns true then).
bool ApplyInputFactor(const LinearProblem& lp, const char* rule_name) {
  if (lp.may_defer_input_factor) return true;
  if (!lp.x) throw EngineError(std::string("internal: the ") + rule_name + " rule needs the inputs unless the caller applies them");
  const int64_t kp = lp.k * lp.p;
  MultiplyInPlace(lp.rx, lp.x, kp);
  return false;
}

bool Epsilon(const LayerRule& rule, const LinearProblem& lp, Workspace& ws) {
  const int64_t mp = lp.m * lp.p;
  float* s = ws.Get(kSlotA, mp);
  const float* z = ForwardOutput(lp, ws.Get(kSlotB, lp.z ? 0 : mp));
  EpsilonQuotients(rule, lp.r, z, mp, s);
  Gemm(true, false, lp.k, lp.p, lp.m, 1.0f, lp.w, lp.k, s, lp.p, 0.0f, lp.rx, lp.p);
  return ApplyInputFactor(lp, "epsilon");
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
// computed with matrix products only (no K x M x P contribution tensor): for x >= 0,
// (x w)+ = x w+ and (x w)- = x w- (inputs of mixed sign: MixedSignAlphaBeta). Quotients are
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

// The scaled quotients of alpha-beta: S+ = alpha R / (Z+ + tiny) where Z+ (with b+) > 0,
// S- = -beta R / (Z- - 2 tiny) where Z- (with b-) < 0, else 0 (every numerator of that
// sign is 0 there). Selects instead of branches so that loops over them vectorise.
inline float PositiveQuotient(float zp, float r, float alpha, float tiny) {
  const bool ok = zp > 0;
  const float quotient = alpha * r / (ok ? zp + tiny : 1.0f);
  return ok ? quotient : 0.0f;
}
inline float NegativeQuotient(float zn, float r, float beta, float tiny) {
  const bool ok = zn < 0;
  const float quotient = -beta * r / (ok ? zn - 2 * tiny : -1.0f);
  return ok ? quotient : 0.0f;
}

// Turns the sums s = [Z+; Z-] (2m x p, without the bias) into [S+; S-], in place.
void AlphaBetaQuotients(const LayerRule& rule, const LinearProblem& lp, bool with_beta, float* s) {
  const int64_t m = lp.m, p = lp.p, mp = m * p;
  const float beta = rule.beta, alpha = rule.Alpha(), tiny = rule.Tiny();
  for (int64_t j = 0; j < m; ++j) {
    const float bp = lp.bias ? std::max(lp.bias[j], 0.0f) : 0.0f;
    const float bn = lp.bias ? std::min(lp.bias[j], 0.0f) : 0.0f;
    float* sp = s + j * p;
    const float* r = lp.r + j * p;
    for (int64_t q = 0; q < p; ++q) sp[q] = PositiveQuotient(sp[q] + bp, r[q], alpha, tiny);
    if (!with_beta) continue;
    float* sn = s + mp + j * p;
    for (int64_t q = 0; q < p; ++q) sn[q] = NegativeQuotient(sn[q] + bn, r[q], beta, tiny);
  }
}

// Alpha-beta for inputs of mixed sign (typically the first layer, on mean-subtracted
// pixels). With |W| = W+ - W- and |x| = x+ - x-, every contribution c = x w has
// c+ = (c + |c|) / 2 and c- = (c - |c|) / 2, so with A = |W| |x| and W x = z - b:
//   Z+ = (W x + A) / 2,   Z- = (W x - A) / 2,
// and the relevance of input i, x_i (W+^T S+ + W-^T S-)_i for x_i >= 0 and
// x_i (W-^T S+ + W+^T S-)_i for x_i < 0, is
//   R_i = (x_i (W^T (S+ + S-))_i + |x_i| (|W|^T (S+ - S-))_i) / 2.
// That is three products where splitting x and W needs six. The identities lose
// accuracy where a sum is small next to A (its rounding error, about 1e-7 A, is then
// large next to it, and the quotient amplifies the backward products' rounding by
// A / |Z|): such entries (|Z + b| < A / 32, rare) get their sums recomputed exactly and
// their relevance distributed contribution by contribution instead.
struct IllConditioned {
  int64_t j, q;
  float sp, sn;
};

void MixedSignAlphaBeta(const LayerRule& rule, const LinearProblem& lp, bool with_beta, Workspace& ws) {
  const int64_t m = lp.m, k = lp.k, p = lp.p, mk = m * k, mp = m * p, kp = k * p;
  const float beta = with_beta ? rule.beta : 0.0f, alpha = rule.Alpha(), tiny = rule.Tiny();
  constexpr float kConditioning = 1.0f / 32;
  float* abs_buffer = ws.Get(kSlotA, mk + 2 * kp);
  float* w_abs = abs_buffer;
  float* x_abs = abs_buffer + mk;
  float* d = abs_buffer + mk + kp;
  for (int64_t i = 0; i < mk; ++i) w_abs[i] = std::fabs(lp.w[i]);
  for (int64_t i = 0; i < kp; ++i) x_abs[i] = std::fabs(lp.x[i]);
  // sums: A = |W| |x|, and W x when the layer could not hand us z.
  float* sums = ws.Get(kSlotB, 2 * mp);
  float* a_all = sums;
  Gemm(false, false, m, p, k, 1.0f, w_abs, k, x_abs, p, 0.0f, a_all, p);
  const float* zb = lp.z_bias ? lp.z_bias : lp.bias;
  if (!lp.z) Gemm(false, false, m, p, k, 1.0f, lp.w, k, lp.x, p, 0.0f, sums + mp, p);
  // Z+ and Z- from the identities (a == 0: every contribution is 0), and the conditioning
  // test on them.
  auto positive_sum = [](float a, float wx) { return a == 0.0f ? 0.0f : 0.5f * (wx + a); };
  auto negative_sum = [](float a, float wx, float zp) { return a == 0.0f ? 0.0f : wx - zp; };
  auto ill_conditioned = [&](float a, float zp, float zn, float bp, float bn) {
    return (std::fabs(zp + bp) < kConditioning * a) | (with_beta & (std::fabs(zn + bn) < kConditioning * a));
  };
  // uv = [S+ + S-; S+ - S-]. One vectorisable pass per row; a row with ill-conditioned
  // entries gets a second pass that recomputes those exactly and takes them out of uv.
  float* uv = ws.Get(kSlotC, 2 * mp);
  std::vector<IllConditioned> ill;
  for (int64_t j = 0; j < m; ++j) {
    const float bp = lp.bias ? std::max(lp.bias[j], 0.0f) : 0.0f;
    const float bn = lp.bias ? std::min(lp.bias[j], 0.0f) : 0.0f;
    const float b = zb ? zb[j] : 0.0f;
    const float* a_row = a_all + j * p;
    const float* wx_row = lp.z ? lp.z + j * p : sums + mp + j * p;
    const float wx_offset = lp.z ? b : 0.0f;
    const float* r = lp.r + j * p;
    float* u = uv + j * p;
    float* v = uv + mp + j * p;
    int64_t ill_in_row = 0;
    for (int64_t q = 0; q < p; ++q) {
      const float a = a_row[q], wx = wx_row[q] - wx_offset;
      const float zp = positive_sum(a, wx), zn = negative_sum(a, wx, zp);
      ill_in_row += ill_conditioned(a, zp, zn, bp, bn);
      const float sp = PositiveQuotient(zp + bp, r[q], alpha, tiny);
      const float sn = with_beta ? NegativeQuotient(zn + bn, r[q], beta, tiny) : 0.0f;
      u[q] = sp + sn;
      v[q] = sp - sn;
    }
    if (ill_in_row == 0) continue;
    const float* w = lp.w + j * k;
    for (int64_t q = 0; q < p; ++q) {
      const float a = a_row[q], wx = wx_row[q] - wx_offset;
      const float zp_identity = positive_sum(a, wx);
      if (!ill_conditioned(a, zp_identity, negative_sum(a, wx, zp_identity), bp, bn)) continue;
      double zp = 0, zn = 0;
      for (int64_t i = 0; i < k; ++i) {
        const double c = static_cast<double>(w[i]) * lp.x[i * p + q];
        (c > 0 ? zp : zn) += c;
      }
      const float sp = PositiveQuotient(static_cast<float>(zp) + bp, r[q], alpha, tiny);
      const float sn = with_beta ? NegativeQuotient(static_cast<float>(zn) + bn, r[q], beta, tiny) : 0.0f;
      ill.push_back({j, q, sp, sn});
      u[q] = v[q] = 0.0f;
    }
  }
  Gemm(true, false, k, p, m, 1.0f, lp.w, k, uv, p, 0.0f, lp.rx, p);
  Gemm(true, false, k, p, m, 1.0f, w_abs, k, uv + mp, p, 0.0f, d, p);
  for (int64_t i = 0; i < kp; ++i) lp.rx[i] = 0.5f * (lp.x[i] * lp.rx[i] + x_abs[i] * d[i]);
  // The ill-conditioned entries, contribution by contribution.
  for (const IllConditioned& c : ill) {
    const float* w = lp.w + c.j * k;
    for (int64_t i = 0; i < k; ++i) {
      const float contribution = lp.x[i * p + c.q] * w[i];
      lp.rx[i * p + c.q] += contribution > 0 ? contribution * c.sp : contribution < 0 ? contribution * c.sn : 0.0f;
    }
  }
}

// Non-negative inputs of a fully connected layer at a small batch: the products with W+ and
// W- come straight from W through the skinny kernels (W read twice, no W+/W- copies kept).
bool SkinnyAlphaBeta(const LayerRule& rule, const LinearProblem& lp, bool with_beta, Workspace& ws) {
  const int64_t m = lp.m, k = lp.k, p = lp.p, mp = m * p, kp = k * p;
  float* xt = ws.Get(kSlotA, kp);  // the kernels read each input vector contiguously
  Transpose(lp.x, k, p, xt);
  float* s = ws.Get(kSlotB, 2 * mp);
  SkinnyPositiveDots(m, k, p, lp.w, k, xt, k, s, p, 1);  // Z+ = W+ x
  if (with_beta)
    NegativeSumsFromForward(lp, s, s + mp);
  else
    std::fill(s + mp, s + 2 * mp, 0.0f);
  AlphaBetaQuotients(rule, lp, with_beta, s);
  SkinnySignedAxpys(m, k, p, lp.w, k, s, s + mp, p, 1, lp.rx, p, 1);  // W+^T S+ + W-^T S-
  return ApplyInputFactor(lp, "alpha-beta");
}

bool AlphaBeta(const LayerRule& rule, const LinearProblem& lp, Workspace& ws) {
  const int64_t m = lp.m, k = lp.k, p = lp.p, mk = m * k, mp = m * p, kp = k * p;
  const bool with_beta = rule.beta != 0.0f;
  if (std::any_of(lp.x, lp.x + kp, [](float v) { return v < 0; })) {
    MixedSignAlphaBeta(rule, lp, with_beta, ws);
    return false;
  }
  // Non-negative inputs: (x w)+ = x w+ and (x w)- = x w-.
  if (lp.z && SkinnyApplies(m, k, p)) return SkinnyAlphaBeta(rule, lp, with_beta, ws);
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
  Gemm(false, false, m, p, k, 1.0f, wp, k, lp.x, p, 0.0f, s, p);  // Z+ = W+ x
  if (with_beta) {
    if (lp.z)
      NegativeSumsFromForward(lp, s, s + mp);
    else
      Gemm(false, false, m, p, k, 1.0f, wn, k, lp.x, p, 0.0f, s + mp, p);  // Z- = W- x
  }
  AlphaBetaQuotients(rule, lp, with_beta, s);
  // R = x (W+^T S+ + W-^T S-): one product over 2m when W+ and W- are stacked (SignedWeights
  // and the split above store them so), which saves reading and rewriting R a second time
  // and gives sgemm a deeper inner dimension.
  if (with_beta && wn == wp + mk) {
    Gemm(true, false, k, p, 2 * m, 1.0f, wp, k, s, p, 0.0f, lp.rx, p);
  } else {
    Gemm(true, false, k, p, m, 1.0f, wp, k, s, p, 0.0f, lp.rx, p);
    if (with_beta) Gemm(true, false, k, p, m, 1.0f, wn, k, s + mp, p, 1.0f, lp.rx, p);
  }
  return ApplyInputFactor(lp, "alpha-beta");
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

void EpsilonQuotients(const LayerRule& rule, const float* r, const float* z, int64_t n, float* s) {
  const float eps = rule.epsilon;
  // (elementwise over a whole layer's outputs: several MB for a first layer, worth both cores)
  if (rule.stabilizer == Stabilizer::kToolbox) {
#pragma omp parallel for simd schedule(static) if (n > kParallelGrain)
    for (int64_t i = 0; i < n; ++i) s[i] = ToolboxEpsilonQuotient(r[i], z[i], eps);
  } else {
#pragma omp parallel for simd schedule(static) if (n > kParallelGrain)
    for (int64_t i = 0; i < n; ++i) s[i] = EpsilonQuotient(r[i], z[i], eps);
  }
}

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
    case LinearRule::kZennit: ApplyZennitRule(rule, lp); return false;
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
          case LinearRule::kZennit: out = a * r; break;  // no zennit rule on affine maps: the gradient
        }
        dp.rx[i] = out;
      }
    }
  }
}

}  // namespace caffe_lrp
