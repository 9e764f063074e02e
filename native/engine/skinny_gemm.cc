#include "engine/skinny_gemm.h"

#include <algorithm>
#include <cstdlib>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

namespace caffe_lrp {
namespace {

constexpr int64_t kMaxSkinny = 16;               // at most this many images (columns)
constexpr int64_t kMinWeights = int64_t(1) << 20;  // below 4 MB of weights OpenBLAS is fine

#if defined(__x86_64__) && defined(__GNUC__)
#define SKINNY_TARGET __attribute__((target("avx2,fma")))
bool CpuOk() {
  static const bool ok = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return ok;
}
#else
#define SKINNY_TARGET
bool CpuOk() { return true; }
#endif

// Dot products of one weight row w (length k) with `count` rows of x (stride ldx), four at a
// time so the vector units have independent sums to work on.
SKINNY_TARGET void RowDots(const float* w, const float* x, int64_t ldx, int64_t count, int64_t k, float* out, int64_t out_stride) {
  int64_t i = 0;
  for (; i + 4 <= count; i += 4) {
    const float *x0 = x + i * ldx, *x1 = x0 + ldx, *x2 = x1 + ldx, *x3 = x2 + ldx;
    float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
#pragma omp simd reduction(+ : s0, s1, s2, s3)
    for (int64_t t = 0; t < k; ++t) {
      s0 += w[t] * x0[t];
      s1 += w[t] * x1[t];
      s2 += w[t] * x2[t];
      s3 += w[t] * x3[t];
    }
    out[i * out_stride] = s0;
    out[(i + 1) * out_stride] = s1;
    out[(i + 2) * out_stride] = s2;
    out[(i + 3) * out_stride] = s3;
  }
  for (; i < count; ++i) {
    const float* xi = x + i * ldx;
    float s = 0;
#pragma omp simd reduction(+ : s)
    for (int64_t t = 0; t < k; ++t) s += w[t] * xi[t];
    out[i * out_stride] = s;
  }
}

// acc[i][0..len) += sum over rows j of coef[i][j] * w[j][0..len), streaming w once.
SKINNY_TARGET void AccumulateRows(const float* w, int64_t ldw, int64_t rows, int64_t len, const float* coef, int64_t coef_row_stride,
                                  int64_t coef_col_stride, int64_t count, float* acc) {
  for (int64_t j = 0; j < rows; ++j) {
    const float* wj = w + j * ldw;
    for (int64_t i = 0; i < count; ++i) {
      const float cij = coef[i * coef_row_stride + j * coef_col_stride];
      if (cij == 0.0f) continue;
      float* ai = acc + i * len;
#pragma omp simd
      for (int64_t t = 0; t < len; ++t) ai[t] += cij * wj[t];
    }
  }
}

}  // namespace

bool SkinnyGemmApplies(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, float beta) {
  static const bool disabled = std::getenv("CAFFE_LRP_NO_SKINNY") != nullptr;  // A/B comparisons
  if (disabled || alpha != 1.0f || beta != 0.0f || !CpuOk()) return false;
  // The large operand is the weight matrix; the small side has at most kMaxSkinny columns.
  if (!trans_a && trans_b && m <= kMaxSkinny) return n * k >= kMinWeights;   // X W^T   (fc forward)
  if (!trans_a && !trans_b && m <= kMaxSkinny) return n * k >= kMinWeights;  // G W     (fc gradient)
  if (trans_a && !trans_b && n <= kMaxSkinny) return m * k >= kMinWeights;   // W^T S   (rules, K x P)
  if (!trans_a && !trans_b && n <= kMaxSkinny) return m * k >= kMinWeights;  // W X     (rules, M x P)
  return false;
}

void SkinnyGemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b,
                int64_t ldb, float* c, int64_t ldc) {
  if (!trans_a && trans_b && m <= kMaxSkinny) {
    // C[i][j] = A_i . B_j: every weight row B_j once, dotted with the m rows of A, in blocks
    // of the inner dimension so that the m row pieces of A stay in cache.
    constexpr int64_t kBlock = 1024;
    std::vector<float> partial(static_cast<size_t>(m));
#pragma omp parallel for schedule(static) firstprivate(partial)
    for (int64_t j = 0; j < n; ++j) {
      for (int64_t i = 0; i < m; ++i) c[i * ldc + j] = 0.0f;
    }
#pragma omp parallel firstprivate(partial)
    for (int64_t t0 = 0; t0 < k; t0 += kBlock) {
      const int64_t len = std::min(kBlock, k - t0);
#pragma omp for schedule(static)
      for (int64_t j = 0; j < n; ++j) {
        RowDots(b + j * ldb + t0, a + t0, lda, m, len, partial.data(), 1);
        for (int64_t i = 0; i < m; ++i) c[i * ldc + j] += partial[i];
      }
    }
    return;
  }
  if (!trans_a && !trans_b && n <= kMaxSkinny) {
    // C = W X with W (m x k) large and X (k x n) thin: dot each W row with the columns of X.
    std::vector<float> xt(static_cast<size_t>(n * k));
    for (int64_t t = 0; t < k; ++t)
      for (int64_t i = 0; i < n; ++i) xt[i * k + t] = b[t * ldb + i];
#pragma omp parallel for schedule(static)
    for (int64_t j = 0; j < m; ++j) RowDots(a + j * lda, xt.data(), k, n, k, c + j * ldc, 1);
    return;
  }
  // The remaining cases accumulate weighted weight rows into a thin result, each thread over
  // its own range of weight columns:
  //   A (m x k) thin, B (k x n) large:  C[i][:] = sum_j A[i][j] B[j][:]       (result m x n)
  //   A stored k x m (trans_a) large, B (k x n) thin: C[:][i] = sum_j A[j][:] B[j][i]   (result m x n)
  const bool thin_left = !trans_a && !trans_b && m <= kMaxSkinny;
  const int64_t rows = k;                       // weight rows summed over (the inner dimension)
  const int64_t width = thin_left ? n : m;      // weight row length (= result length per column)
  const int64_t count = thin_left ? m : n;      // number of thin columns
  const float* w = thin_left ? b : a;
  const int64_t ldw = thin_left ? ldb : lda;
#pragma omp parallel
  {
#ifdef _OPENMP
    const int threads = omp_get_num_threads(), id = omp_get_thread_num();
#else
    const int threads = 1, id = 0;
#endif
    const int64_t lo = width * id / threads, hi = width * (id + 1) / threads, len = hi - lo;
    std::vector<float> acc(static_cast<size_t>(count * len), 0.0f);
    if (thin_left) AccumulateRows(w + lo, ldw, rows, len, a, lda, 1, count, acc.data());
    else AccumulateRows(w + lo, ldw, rows, len, b, 1, ldb, count, acc.data());
    for (int64_t i = 0; i < count; ++i)
      for (int64_t t = 0; t < len; ++t) {
        if (thin_left) c[i * ldc + lo + t] = acc[i * len + t];
        else c[(lo + t) * ldc + i] = acc[i * len + t];
      }
  }
}

}  // namespace caffe_lrp
