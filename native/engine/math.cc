#include "engine/math.h"

#include <cblas.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <vector>

#include "engine/skinny_gemm.h"

namespace caffe_lrp {

namespace {

void Sgemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
           const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans,
              static_cast<blasint>(m), static_cast<blasint>(n), static_cast<blasint>(k), alpha, a,
              static_cast<blasint>(lda), b, static_cast<blasint>(ldb), beta, c, static_cast<blasint>(ldc));
}

// Products of a large weight matrix with a few images (fully connected layers) are bound by
// memory bandwidth, and OpenBLAS runs them on one thread, i.e. at one core's bandwidth.
// With OpenBLAS's OpenMP build, calls made from inside our parallel region each run on
// their own thread, so splitting the weight matrix in two streams it at about twice the
// speed (measured 16 -> 9 ms for CaffeNet's fc6 at batch 10). The pthreads build would
// serialise such calls, so this is only done for the OpenMP build.
constexpr int64_t kThinSide = 16;
constexpr int64_t kLargeWeights = kSkinnyMinWeights;

bool SplitsWeights() {
  static const bool openmp_blas = openblas_get_parallel() == 2;
  return openmp_blas;
}

// Splits the dimension `total` over the threads; part(lo, hi) computes its share.
template <typename Part>
bool SplitOverThreads(int64_t total, Part part) {
#pragma omp parallel for schedule(static)
  for (int t = 0; t < 2; ++t) part(total * t / 2, total * (t + 1) / 2);
  return true;
}

// The four shapes of the rules and layers: which operand is the weight matrix and which
// dimension of it to split. Returns false when the product is not such a thin one.
bool ThinGemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda, const float* b,
              int64_t ldb, float beta, float* c, int64_t ldc) {
  if (!SplitsWeights()) return false;
  if (!ta && tb && m <= kThinSide && n * k >= kLargeWeights)  // X W^T: split W's rows (C's columns)
    return SplitOverThreads(n, [&](int64_t lo, int64_t hi) { Sgemm(ta, tb, m, hi - lo, k, alpha, a, lda, b + lo * ldb, ldb, beta, c + lo, ldc); });
  if (!ta && !tb && m <= kThinSide && n * k >= kLargeWeights)  // G W: split W's columns (C's columns)
    return SplitOverThreads(n, [&](int64_t lo, int64_t hi) { Sgemm(ta, tb, m, hi - lo, k, alpha, a, lda, b + lo, ldb, beta, c + lo, ldc); });
  if (ta && !tb && n <= kThinSide && m * k >= kLargeWeights)  // W^T S: split W's columns (C's rows)
    return SplitOverThreads(m, [&](int64_t lo, int64_t hi) { Sgemm(ta, tb, hi - lo, n, k, alpha, a + lo, lda, b, ldb, beta, c + lo * ldc, ldc); });
  if (!ta && !tb && n <= kThinSide && m * k >= kLargeWeights)  // W X: split W's rows (C's rows)
    return SplitOverThreads(m, [&](int64_t lo, int64_t hi) { Sgemm(ta, tb, hi - lo, n, k, alpha, a + lo * lda, lda, b, ldb, beta, c + lo * ldc, ldc); });
  return false;
}

// The same four shapes through our own vector kernels (skinny_gemm.h), which stream the
// weights at close to memory speed where OpenBLAS does not. False when they do not apply.
bool SkinnyGemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda, const float* b,
                int64_t ldb, float beta, float* c, int64_t ldc) {
  if (!ta && tb && SkinnyApplies(n, k, m))  // X W^T: dots of W's rows with X's rows
    return SkinnyDots(n, k, m, b, ldb, a, lda, alpha, beta, c, 1, ldc);
  if (!ta && !tb && SkinnyApplies(k, n, m)) {
    // G W: W's rows scaled by G's columns. G^T first, so that the kernel reads each of W's
    // rows' m factors from one place instead of m rows of G far apart.
    static thread_local std::vector<float> gt;
    gt.resize(static_cast<size_t>(m * k));
    for (int64_t q = 0; q < m; ++q)
      for (int64_t j = 0; j < k; ++j) gt[j * m + q] = a[q * lda + j];
    return SkinnyAxpys(k, n, m, b, ldb, gt.data(), m, 1, alpha, beta, c, 1, ldc);
  }
  if (ta && !tb && SkinnyApplies(k, m, n))  // W^T S
    return SkinnyAxpys(k, m, n, a, lda, b, ldb, 1, alpha, beta, c, ldc, 1);
  if (!ta && !tb && SkinnyApplies(m, k, n)) {  // W X: X's columns as rows first
    static thread_local std::vector<float> xt;
    xt.resize(static_cast<size_t>(n * k));
    for (int64_t i = 0; i < k; ++i)
      for (int64_t q = 0; q < n; ++q) xt[q * k + i] = b[i * ldb + q];
    return SkinnyDots(m, k, n, a, lda, xt.data(), k, alpha, beta, c, ldc, 1);
  }
  return false;
}

}  // namespace

void Gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
          const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  if (m == 0 || n == 0) return;
  if (k == 0) {
    // BLAS leaves C untouched for k == 0 only when beta == 1; make the meaning explicit.
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) c[i * ldc + j] = beta == 0.0f ? 0.0f : beta * c[i * ldc + j];
    return;
  }
  if (SkinnyGemm(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)) return;
  if (ThinGemm(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)) return;
  Sgemm(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

void Im2Col(const float* images, const ConvGeometry& g, float* col, int64_t ld, int64_t count, int64_t image_stride) {
  const int64_t oh = g.out_h, ow = g.out_w, p = oh * ow;
  const bool plain = g.kernel_h == 1 && g.kernel_w == 1 && g.pad_h == 0 && g.pad_w == 0 && g.pad_b == 0 && g.pad_r == 0 &&
                     g.stride_h == 1 && g.stride_w == 1;
  if (plain) {  // 1x1 fast path: the matrix is the images themselves
    for (int64_t i = 0; i < count; ++i)
      for (int64_t c = 0; c < g.channels; ++c)
        std::memcpy(col + c * ld + i * p, images + i * image_stride + c * g.height * g.width, sizeof(float) * g.height * g.width);
    return;
  }
  // Every (channel, kernel row) pair writes its own rows: split those pairs over threads
  // (channels alone would leave a core idle for a 3-channel first layer). A row holds the
  // images side by side and is written from start to end.
#pragma omp parallel for schedule(static) if (count * g.channels * p * g.kernel_h * g.kernel_w > kParallelGrain)
  for (int64_t ckh = 0; ckh < g.channels * g.kernel_h; ++ckh) {
    const int64_t c = ckh / g.kernel_h, kh = ckh % g.kernel_h;
    for (int64_t kw = 0; kw < g.kernel_w; ++kw) {
      const int64_t row = (c * g.kernel_h + kh) * g.kernel_w + kw;
      for (int64_t i = 0; i < count; ++i) {
        const float* plane = images + i * image_stride + c * g.height * g.width;
        float* out = col + row * ld + i * p;
        for (int64_t y = 0; y < oh; ++y) {
          const int64_t iy = y * g.stride_h - g.pad_h + kh * g.dilation_h;
          float* o = out + y * ow;
          if (iy < 0 || iy >= g.height) {
            std::fill(o, o + ow, 0.0f);
            continue;
          }
          const float* src = plane + iy * g.width;
          const int64_t off = kw * g.dilation_w - g.pad_w;
          if (g.stride_w == 1) {
            // Valid x range: 0 <= x + off < width, clamped to the output row.
            const int64_t x0 = std::min(std::max<int64_t>(0, -off), ow);
            const int64_t x1 = std::min(std::max(x0, g.width - off), ow);
            std::fill(o, o + x0, 0.0f);
            if (x1 > x0) std::memcpy(o + x0, src + x0 + off, sizeof(float) * (x1 - x0));
            std::fill(o + x1, o + ow, 0.0f);
          } else {
            // Strided: the valid outputs are x0 <= x < x1 with 0 <= x*stride + off < width.
            const int64_t st = g.stride_w;
            const int64_t x0 = std::min(ow, off >= 0 ? 0 : (-off + st - 1) / st);
            const int64_t x1 = std::max(x0, std::min(ow, g.width - off <= 0 ? 0 : (g.width - off + st - 1) / st));
            std::fill(o, o + x0, 0.0f);
            for (int64_t x = x0; x < x1; ++x) o[x] = src[x * st + off];
            std::fill(o + x1, o + ow, 0.0f);
          }
        }
      }
    }
  }
}

void Col2Im(const float* col, int64_t ld, const ConvGeometry& g, float* images, int64_t count, int64_t image_stride) {
  const int64_t oh = g.out_h, ow = g.out_w, p = oh * ow;
  // Work items are bands of image rows of one channel (in every image): each adds onto its
  // own rows only, so items can go to different threads. Few channels (a first layer's 3)
  // are cut into several bands each, or one core would get twice the work of the other.
  const int64_t bands = g.channels < 8 ? 4 : 1;
#pragma omp parallel for schedule(static) if (count * g.channels * p * g.kernel_h * g.kernel_w > kParallelGrain)
  for (int64_t item = 0; item < g.channels * bands; ++item) {
    const int64_t c = item / bands, band = item % bands;
    const int64_t row0 = g.height * band / bands, row1 = g.height * (band + 1) / bands;
    for (int64_t kh = 0; kh < g.kernel_h; ++kh) {
      for (int64_t kw = 0; kw < g.kernel_w; ++kw) {
        const int64_t row = (c * g.kernel_h + kh) * g.kernel_w + kw;
        for (int64_t i = 0; i < count; ++i) {
          float* plane = images + i * image_stride + c * g.height * g.width;
          const float* in = col + row * ld + i * p;
          for (int64_t y = 0; y < oh; ++y) {
            const int64_t iy = y * g.stride_h - g.pad_h + kh * g.dilation_h;
            if (iy < row0 || iy >= row1) continue;
            float* dst = plane + iy * g.width;
            const float* src = in + y * ow;
            const int64_t off = kw * g.dilation_w - g.pad_w;
            if (g.stride_w == 1) {
              // Contiguous run of valid columns, as in Im2Col: no per-element bounds test.
              const int64_t x0 = std::min(std::max<int64_t>(0, -off), ow);
              const int64_t x1 = std::min(std::max(x0, g.width - off), ow);
              float* d = dst + off;
              for (int64_t x = x0; x < x1; ++x) d[x] += src[x];
            } else {
              const int64_t st = g.stride_w;
              const int64_t x0 = std::min(ow, off >= 0 ? 0 : (-off + st - 1) / st);
              const int64_t x1 = std::max(x0, std::min(ow, g.width - off <= 0 ? 0 : (g.width - off + st - 1) / st));
              for (int64_t x = x0; x < x1; ++x) dst[x * st + off] += src[x];
            }
          }
        }
      }
    }
  }
}

void BatchToChannelMajor(const float* src, int64_t n, int64_t c, int64_t p, float* dst) {
#pragma omp parallel for schedule(static) if (n * c * p > kParallelGrain)
  for (int64_t i = 0; i < n; ++i)
    for (int64_t ch = 0; ch < c; ++ch)
      std::memcpy(dst + ch * n * p + i * p, src + (i * c + ch) * p, sizeof(float) * p);
}

void ChannelMajorToBatch(const float* src, int64_t n, int64_t c, int64_t p, float* dst) {
#pragma omp parallel for schedule(static) if (n * c * p > kParallelGrain)
  for (int64_t i = 0; i < n; ++i)
    for (int64_t ch = 0; ch < c; ++ch)
      std::memcpy(dst + (i * c + ch) * p, src + ch * n * p + i * p, sizeof(float) * p);
}

void FillRows(const float* values, int64_t rows, int64_t cols, float* out) {
  // One thread: the fill is cheap, and an OpenMP region between our im2col and OpenBLAS's
  // product measurably slowed the convolutions down (conv2 25 -> 36 ms at batch 10).
  for (int64_t j = 0; j < rows; ++j) std::fill(out + j * cols, out + (j + 1) * cols, values[j]);
}

void MultiplyInPlace(float* a, const float* b, int64_t n) {
#pragma omp parallel for simd schedule(static) if (n > kParallelGrain)
  for (int64_t i = 0; i < n; ++i) a[i] *= b[i];
}

bool AllFinite(const float* a, int64_t n) {
  // An or-reduction over a compare of the bits vectorises; std::isfinite per value with an
  // early exit does not, and ran at ~3 ns per weight.
  constexpr uint32_t kExponent = 0x7f800000u;
  uint32_t any_bad = 0;
#pragma omp parallel for simd schedule(static) reduction(| : any_bad) if (n > kParallelGrain)
  for (int64_t i = 0; i < n; ++i) {
    uint32_t bits;
    std::memcpy(&bits, a + i, sizeof bits);
    any_bad |= static_cast<uint32_t>((bits & kExponent) == kExponent);
  }
  return any_bad == 0;
}

void Transpose(const float* src, int64_t rows, int64_t cols, float* dst) {
  constexpr int64_t kBlock = 32;
  for (int64_t r0 = 0; r0 < rows; r0 += kBlock)
    for (int64_t c0 = 0; c0 < cols; c0 += kBlock)
      for (int64_t r = r0; r < std::min(rows, r0 + kBlock); ++r)
        for (int64_t c = c0; c < std::min(cols, c0 + kBlock); ++c) dst[c * rows + r] = src[r * cols + c];
}

BlasInfo GetBlasInfo() {
  BlasInfo info;
  const char* core = openblas_get_corename();
  info.core_name = core ? core : "unknown";
  info.threads = openblas_get_num_threads();
  info.threading = openblas_get_parallel();
  info.skinny_kernels = SkinnyKernelName();
  return info;
}

double MeasureSgemmGflops(int size, int repeats) {
  const int64_t n = size;
  std::vector<float> a(n * n, 0.5f), b(n * n, 0.25f), c(n * n, 0.0f);
  Gemm(false, false, n, n, n, 1.0f, a.data(), n, b.data(), n, 0.0f, c.data(), n);  // warm-up
  double best = 0;
  for (int r = 0; r < repeats; ++r) {
    auto t0 = std::chrono::steady_clock::now();
    Gemm(false, false, n, n, n, 1.0f, a.data(), n, b.data(), n, 0.0f, c.data(), n);
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    best = std::max(best, 2.0 * n * n * n / s / 1e9);
  }
  return best;
}

}  // namespace caffe_lrp
