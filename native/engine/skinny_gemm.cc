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
  static V Max(V a, V b) { return _mm256_max_ps(a, b); }
  static V Min(V a, V b) { return _mm256_min_ps(a, b); }
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
  // (masked forms with every lane set: the plain ones trip GCC 12's -Wmaybe-uninitialized)
  static V Max(V a, V b) { return _mm512_mask_max_ps(a, static_cast<__mmask16>(0xFFFF), a, b); }
  static V Min(V a, V b) { return _mm512_mask_min_ps(a, static_cast<__mmask16>(0xFFFF), a, b); }
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

bool SkinnyApplies(int64_t m, int64_t k, int64_t p) {
  return p >= 1 && p <= kSkinnyMaxVectors && m >= 1 && k >= 1 && m * k >= kSkinnyMinWeights && ActiveIsa() != Isa::kNone;
}

// The entry points: one switch over the instruction sets each.
#ifdef CAFFE_LRP_HAVE_X86_KERNELS
#define CAFFE_LRP_DISPATCH(call)                                   \
  switch (ActiveIsa()) {                                           \
    case Isa::kAvx512: avx512::call; return true;                  \
    case Isa::kAvx2: avx2::call; return true;                      \
    case Isa::kNone: break;                                        \
  }                                                                \
  return false
#else
#define CAFFE_LRP_DISPATCH(call) return false
#endif

bool SkinnyDots(int64_t m, int64_t k, int64_t p, const float* w, int64_t ldw, const float* x, int64_t ldx, float alpha,
                float beta, float* out, int64_t os_j, int64_t os_q) {
  if (p < 1 || p > kSkinnyMaxVectors || m < 1 || k < 1) return false;
  CAFFE_LRP_DISPATCH(Dots<false>(m, k, p, w, ldw, x, ldx, alpha, beta, out, os_j, os_q));
}

bool SkinnyPositiveDots(int64_t m, int64_t k, int64_t p, const float* w, int64_t ldw, const float* x, int64_t ldx, float* out,
                        int64_t os_j, int64_t os_q) {
  if (p < 1 || p > kSkinnyMaxVectors || m < 1 || k < 1) return false;
  CAFFE_LRP_DISPATCH(Dots<true>(m, k, p, w, ldw, x, ldx, 1.0f, 0.0f, out, os_j, os_q));
}

bool SkinnyAxpys(int64_t m, int64_t k, int64_t p, const float* w, int64_t ldw, const float* s, int64_t ss_j, int64_t ss_q,
                 float alpha, float beta, float* out, int64_t os_i, int64_t os_q) {
  if (p < 1 || p > kSkinnyMaxVectors || m < 1 || k < 1) return false;
  CAFFE_LRP_DISPATCH(Axpys(m, k, p, w, ldw, s, nullptr, ss_j, ss_q, alpha, beta, out, os_i, os_q));
}

bool SkinnySignedAxpys(int64_t m, int64_t k, int64_t p, const float* w, int64_t ldw, const float* sp, const float* sn, int64_t ss_j,
                       int64_t ss_q, float* out, int64_t os_i, int64_t os_q) {
  if (p < 1 || p > kSkinnyMaxVectors || m < 1 || k < 1) return false;
  CAFFE_LRP_DISPATCH(Axpys(m, k, p, w, ldw, sp, sn, ss_j, ss_q, 1.0f, 0.0f, out, os_i, os_q));
}

}  // namespace caffe_lrp
