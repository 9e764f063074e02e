// Matrix products with a large weight matrix and only a few columns on the other side (a
// handful of images through a fully connected layer). They are bound by memory bandwidth:
// OpenBLAS runs them on one thread, which streams the weights at single-core bandwidth.
// These kernels split the weight matrix over the OpenMP threads so every core streams its
// share (about twice the bandwidth on two cores). Gemm() in math.cc routes to them.
#pragma once
#include <cstdint>

namespace caffe_lrp {

// True when (trans_a, trans_b, m, n, k) is a skinny product these kernels handle and the
// CPU supports them; then SkinnyGemm computes C = op(A) op(B) (alpha 1, beta 0 only).
bool SkinnyGemmApplies(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, float beta);
void SkinnyGemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b,
                int64_t ldb, float* c, int64_t ldc);

}  // namespace caffe_lrp
