// Products of a large weight matrix with a few vectors: the fully connected layers at small
// batch sizes. OpenBLAS runs these at a fraction of the memory bandwidth (its kernels are
// built for square-ish products); these stream the weights once, with the few vectors held
// in cache, on all threads. Vector code for AVX2 and AVX-512 is chosen at run time; without
// either, the functions return false and the caller uses sgemm.
#pragma once
#include <cstdint>

namespace caffe_lrp {

// Up to this many vectors (a batch of images).
constexpr int64_t kSkinnyMaxVectors = 16;
// Weight matrices from this size (M*K) on: smaller ones stay in cache, where sgemm is fine.
constexpr int64_t kSkinnyMinWeights = int64_t(1) << 20;

// True when the kernels below run for this shape (a vector unit is there and sizes fit).
bool SkinnyApplies(int64_t m, int64_t k, int64_t p);

// W is M x K row-major with row stride ldw (M and K large, the weights), P <= kSkinnyMaxVectors.
//
// Dots: for j < M, q < P
//   out[j*os_j + q*os_q] = alpha * sum_i W[j][i] X[q][i] + beta * out[...],   X[q] = x + q*ldx
bool SkinnyDots(int64_t m, int64_t k, int64_t p, const float* w, int64_t ldw, const float* x, int64_t ldx, float alpha,
                float beta, float* out, int64_t os_j, int64_t os_q);

// Axpys (the transposed product): for i < K, q < P
//   out[i*os_i + q*os_q] = alpha * sum_j W[j][i] S[j*ss_j + q*ss_q] + beta * out[...]
bool SkinnyAxpys(int64_t m, int64_t k, int64_t p, const float* w, int64_t ldw, const float* s, int64_t ss_j, int64_t ss_q,
                 float alpha, float beta, float* out, int64_t os_i, int64_t os_q);

// Alpha-beta's products straight from W, so that no W+ / W- copies of large weights are kept:
//   positive dots:  out[j*os_j + q*os_q] = sum_i max(W[j][i], 0) X[q][i]
//   signed axpys:   out[i*os_i + q*os_q] = sum_j max(W[j][i], 0) SP[j][q] + min(W[j][i], 0) SN[j][q]
//                   (SP and SN indexed like S above)
bool SkinnyPositiveDots(int64_t m, int64_t k, int64_t p, const float* w, int64_t ldw, const float* x, int64_t ldx, float* out,
                        int64_t os_j, int64_t os_q);
bool SkinnySignedAxpys(int64_t m, int64_t k, int64_t p, const float* w, int64_t ldw, const float* sp, const float* sn, int64_t ss_j,
                       int64_t ss_q, float* out, int64_t os_i, int64_t os_q);

// "avx512", "avx2" or "none": the kernels in use.
const char* SkinnyKernelName();

}  // namespace caffe_lrp
