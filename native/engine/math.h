// Dense kernels the layers share: sgemm through OpenBLAS, im2col/col2im over a whole
// batch, and layout changes between Caffe's N x C x P blobs and C x (N*P) matrices.
#pragma once
#include <cstdint>
#include <string>

namespace caffe_lrp {

// Loops over fewer elements than this stay on one thread (OpenMP start-up is not free).
constexpr int64_t kParallelGrain = 1 << 15;

// C = alpha * op(A) * op(B) + beta * C, row-major; op(X) = X or X^T.
void Gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
          const float* b, int64_t ldb, float beta, float* c, int64_t ldc);

struct ConvGeometry {
  int64_t channels, height, width;        // input
  int64_t kernel_h, kernel_w, pad_h, pad_w, stride_h, stride_w, dilation_h, dilation_w;
  // Bottom/right padding (= pad_h/pad_w in Caffe; ONNX pads may differ). im2col/col2im need
  // no offset for it: pad_h/pad_w place the first tap, and the end padding only makes
  // out_h/out_w larger, its taps falling outside the image (zero in im2col, dropped by col2im);
  // it only rules out im2col's 1x1 copy.
  int64_t pad_b, pad_r;
  int64_t out_h, out_w;                   // output
  int64_t taps() const { return channels * kernel_h * kernel_w; }
  int64_t positions() const { return out_h * out_w; }
};

// Writes the im2col matrix of `count` images (taps x positions each) into `col`, whose rows
// have length `ld`: image i's columns start at col + i * positions (ld = count * positions
// for a batch matrix). Image i starts at images + i * image_stride.
void Im2Col(const float* images, const ConvGeometry& g, float* col, int64_t ld, int64_t count = 1, int64_t image_stride = 0);
// Adds column entries back onto their image pixels (padding taps are dropped), the layout as
// in Im2Col. The images must be zeroed by the caller when they should not accumulate.
void Col2Im(const float* col, int64_t ld, const ConvGeometry& g, float* images, int64_t count = 1, int64_t image_stride = 0);

// src: N x C x P (Caffe blob)  <->  dst: C x (N*P) (one row per channel, images side by side).
void BatchToChannelMajor(const float* src, int64_t n, int64_t c, int64_t p, float* dst);
void ChannelMajorToBatch(const float* src, int64_t n, int64_t c, int64_t p, float* dst);
// Row j of the rows x cols matrix `out` becomes values[j] everywhere.
void FillRows(const float* values, int64_t rows, int64_t cols, float* out);
// a[i] *= b[i] for i < n (the rules' input factor x), on all threads for large n.
void MultiplyInPlace(float* a, const float* b, int64_t n);
// True when no value of a[0..n) is NaN or ±Inf (the exponent bits are not all ones), on all
// threads for large n: every net's weights are checked at load, 61 M values for CaffeNet.
bool AllFinite(const float* a, int64_t n);
// Out-of-place transpose of a rows x cols row-major matrix.
void Transpose(const float* src, int64_t rows, int64_t cols, float* dst);

// What the linked OpenBLAS runs: kernel family (e.g. "SkylakeX"), threads, and threading
// model (0 sequential, 1 pthreads, 2 OpenMP).
struct BlasInfo {
  std::string core_name;
  int threads = 1;
  int threading = 0;
  std::string skinny_kernels;  // our own fully-connected kernels (skinny_gemm.h)
};
BlasInfo GetBlasInfo();

// Largest sgemm rate this process reaches through the same OpenBLAS (GFLOP/s), for the
// benchmarks' "fraction of sgemm rate" figures.
double MeasureSgemmGflops(int size, int repeats);

}  // namespace caffe_lrp
