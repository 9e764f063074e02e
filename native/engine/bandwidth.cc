#include "engine/bandwidth.h"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <vector>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#endif

namespace caffe_lrp {
namespace {

// Sum of v[0..n) with eight independent vector chains, so that the loop is limited by the
// loads rather than by the latency of one addition chain (one chain of 8-wide additions
// measured 33 GB/s where the loads reach 48). AVX where the CPU has it: 16-byte loads alone
// do not saturate the memory system of current CPUs.
#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target("avx"))) float SumAvx(const float* v, int64_t n) {
  __m256 s[8];
  for (auto& x : s) x = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 64 <= n; i += 64)
    for (int k = 0; k < 8; ++k) s[k] = _mm256_add_ps(s[k], _mm256_loadu_ps(v + i + 8 * k));
  float lanes[8];
  float total = 0;
  for (auto& x : s) {
    _mm256_storeu_ps(lanes, x);
    for (float f : lanes) total += f;
  }
  for (; i < n; ++i) total += v[i];
  return total;
}
#endif

float SumPlain(const float* v, int64_t n) {
  constexpr int kSums = 32;
  float s[kSums] = {};
  int64_t i = 0;
  for (; i + kSums <= n; i += kSums)
    for (int k = 0; k < kSums; ++k) s[k] += v[i + k];
  float total = 0;
  for (float x : s) total += x;
  for (; i < n; ++i) total += v[i];
  return total;
}

float Sum(const float* v, int64_t n) {
#if defined(__x86_64__) && defined(__GNUC__)
  static const bool avx = __builtin_cpu_supports("avx");
  if (avx) return SumAvx(v, n);
#endif
  return SumPlain(v, n);
}

}  // namespace

double MeasureReadBandwidthGBps(int megabytes, int repeats) {
  const int64_t n = static_cast<int64_t>(megabytes) * (1 << 20) / static_cast<int64_t>(sizeof(float));
  std::vector<float> buffer(static_cast<size_t>(n));
  // Written in parallel first, so that each thread's pages are mapped (and on its node).
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) buffer[i] = static_cast<float>(i & 7);
  double best = 0;
  volatile float sink = 0;
  for (int r = 0; r < repeats; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    float total = 0;
#pragma omp parallel reduction(+ : total)
    {
      const int64_t threads = omp_get_num_threads(), t = omp_get_thread_num();
      const int64_t lo = n * t / threads, hi = n * (t + 1) / threads;
      total += Sum(buffer.data() + lo, hi - lo);
    }
    sink = sink + total;
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    best = std::max(best, static_cast<double>(n) * sizeof(float) / seconds / 1e9);
  }
  return best;
}

}  // namespace caffe_lrp
