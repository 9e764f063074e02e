#include "engine/skinny_gemm.h"

#include <omp.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace caffe_lrp {
namespace {

// Vectors per pass over the weights (a register tile is rows x vectors accumulators).
constexpr int64_t kVectorsPerPass = 5;

enum class Isa { kNone, kAvx2, kAvx512 };

}  // namespace
}  // namespace caffe_lrp

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

#pragma GCC push_options
#pragma GCC target("avx2,fma")
namespace caffe_lrp {
namespace avx2 {
constexpr int kDotRows = 2;  // 2 x 5 accumulators + operands fit 16 registers
struct Simd {
  using V = __m256;
  static constexpr int64_t kLanes = 8;
  static V Zero() { return _mm256_setzero_ps(); }
  static V Load(const float* p) { return _mm256_loadu_ps(p); }
  static void Store(float* p, V v) { _mm256_storeu_ps(p, v); }
  static V Set1(float f) { return _mm256_set1_ps(f); }
  static V Fma(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
  static float Sum(V v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }
};
#include "engine/skinny_gemm_kernels.inc"
}  // namespace avx2
}  // namespace caffe_lrp
#pragma GCC pop_options

#pragma GCC push_options
#pragma GCC target("avx512f,avx512dq,avx512bw,avx512vl,fma")
namespace caffe_lrp {
namespace avx512 {
constexpr int kDotRows = 4;  // 4 x 5 accumulators + operands fit 32 registers; more rows in flight
struct Simd {
  using V = __m512;
  static constexpr int64_t kLanes = 16;
  static V Zero() { return _mm512_setzero_ps(); }
  static V Load(const float* p) { return _mm512_loadu_ps(p); }
  static void Store(float* p, V v) { _mm512_storeu_ps(p, v); }
  static V Set1(float f) { return _mm512_set1_ps(f); }
  static V Fma(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
  static float Sum(V v) {
    // (once per dot product; _mm512_reduce_add_ps trips GCC 12's -Wuninitialized in its header)
    float lanes[kLanes];
    _mm512_storeu_ps(lanes, v);
    float s = 0;
    for (float f : lanes) s += f;
    return s;
  }
};
#include "engine/skinny_gemm_kernels.inc"
}  // namespace avx512
}  // namespace caffe_lrp
#pragma GCC pop_options
#define CAFFE_LRP_HAVE_X86_KERNELS 1
#endif

namespace caffe_lrp {
namespace {

// The widest vector unit this CPU has; CAFFE_LRP_SIMD=avx2 or =none caps it (tests run
// every path on one machine).
Isa DetectIsa() {
#ifdef CAFFE_LRP_HAVE_X86_KERNELS
  __builtin_cpu_init();
  const char* cap = std::getenv("CAFFE_LRP_SIMD");
  const bool allow512 = !cap || std::strcmp(cap, "avx512") == 0;
  const bool allow2 = allow512 || (cap && std::strcmp(cap, "avx2") == 0);
  if (allow512 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
      __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("fma"))
    return Isa::kAvx512;
  if (allow2 && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return Isa::kAvx2;
#endif
  return Isa::kNone;
}

Isa ActiveIsa() {
  static const Isa isa = DetectIsa();
  return isa;
}

}  // namespace

const char* SkinnyKernelName() {
  switch (ActiveIsa()) {
    case Isa::kAvx512: return "avx512";
    case Isa::kAvx2: return "avx2";
    case Isa::kNone: break;
  }
  return "none";
}

bool SkinnyDots(int64_t m, int64_t k, int64_t p, const float* w, int64_t ldw, const float* x, int64_t ldx, float alpha,
                float beta, float* out, int64_t os_j, int64_t os_q) {
  if (p < 1 || p > kSkinnyMaxVectors || m < 1 || k < 1) return false;
#ifdef CAFFE_LRP_HAVE_X86_KERNELS
  switch (ActiveIsa()) {
    case Isa::kAvx512: avx512::Dots(m, k, p, w, ldw, x, ldx, alpha, beta, out, os_j, os_q); return true;
    case Isa::kAvx2: avx2::Dots(m, k, p, w, ldw, x, ldx, alpha, beta, out, os_j, os_q); return true;
    case Isa::kNone: break;
  }
#else
  (void)w; (void)ldw; (void)x; (void)ldx; (void)alpha; (void)beta; (void)out; (void)os_j; (void)os_q;
#endif
  return false;
}

bool SkinnyAxpys(int64_t m, int64_t k, int64_t p, const float* w, int64_t ldw, const float* s, int64_t ss_j, int64_t ss_q,
                 float alpha, float beta, float* out, int64_t os_i, int64_t os_q) {
  if (p < 1 || p > kSkinnyMaxVectors || m < 1 || k < 1) return false;
#ifdef CAFFE_LRP_HAVE_X86_KERNELS
  switch (ActiveIsa()) {
    case Isa::kAvx512: avx512::Axpys(m, k, p, w, ldw, s, ss_j, ss_q, alpha, beta, out, os_i, os_q); return true;
    case Isa::kAvx2: avx2::Axpys(m, k, p, w, ldw, s, ss_j, ss_q, alpha, beta, out, os_i, os_q); return true;
    case Isa::kNone: break;
  }
#else
  (void)w; (void)ldw; (void)s; (void)ss_j; (void)ss_q; (void)alpha; (void)beta; (void)out; (void)os_i; (void)os_q;
#endif
  return false;
}

}  // namespace caffe_lrp
