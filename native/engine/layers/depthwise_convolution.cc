#include "engine/layers/depthwise_convolution.h"

#include <algorithm>

namespace caffe_lrp {
namespace {

// The outputs x0 <= x < x1 of a row whose tap at offset `off` (x * stride + off) is inside
// the input row [0, width).
void ValidRange(int64_t off, int64_t stride, int64_t width, int64_t out_w, int64_t* x0, int64_t* x1) {
  *x0 = std::min(out_w, off >= 0 ? 0 : (-off + stride - 1) / stride);
  *x1 = std::max(*x0, std::min(out_w, width - off <= 0 ? 0 : (width - off + stride - 1) / stride));
}

// Every (output row y, filter tap) whose input row iy is inside the image, with the tap's
// column offset and the outputs [x0, x1) whose input column is inside the row.
template <typename F>
void ForEachTapRow(const ConvGeometry& g, F&& f) {
  for (int64_t y = 0; y < g.out_h; ++y)
    for (int64_t kh = 0; kh < g.kernel_h; ++kh) {
      const int64_t iy = y * g.stride_h - g.pad_h + kh * g.dilation_h;
      if (iy < 0 || iy >= g.height) continue;
      for (int64_t kw = 0; kw < g.kernel_w; ++kw) {
        const int64_t off = kw * g.dilation_w - g.pad_w;
        int64_t x0, x1;
        ValidRange(off, g.stride_w, g.width, g.out_w, &x0, &x1);
        f(y, iy, off, x0, x1, kh * g.kernel_w + kw);
      }
    }
}

// One output row += w * (input row at the tap): contiguous for stride 1, where it vectorises
// (AVX2/FMA where the CPU has it, chosen at load time).
__attribute__((target_clones("avx2,fma", "default"))) void AddScaledRow(float* o, const float* src, int64_t stride, int64_t x0, int64_t x1,
                                                                    float wv) {
  if (stride == 1)
    for (int64_t x = x0; x < x1; ++x) o[x] += wv * src[x];
  else
    for (int64_t x = x0; x < x1; ++x) o[x] += wv * src[x * stride];
}

__attribute__((target_clones("avx2,fma", "default"))) void ScatterScaledRow(float* dst, const float* s, int64_t stride, int64_t x0, int64_t x1,
                                                                        float wv) {
  if (stride == 1)
    for (int64_t x = x0; x < x1; ++x) dst[x] += wv * s[x];
  else
    for (int64_t x = x0; x < x1; ++x) dst[x * stride] += wv * s[x];
}

}  // namespace

void DepthwiseForward(const float* in, const ConvGeometry& g, int64_t images, const float* w, const float* bias, float* out) {
  const int64_t planes = images * g.channels, in_plane = g.height * g.width, out_plane = g.out_h * g.out_w;
  const int64_t taps = g.kernel_h * g.kernel_w;
#pragma omp parallel for schedule(static) if (planes * out_plane * taps > kParallelGrain)
  for (int64_t pl = 0; pl < planes; ++pl) {
    const int64_t c = pl % g.channels;
    const float* plane = in + pl * in_plane;
    const float* wc = w + c * taps;
    float* o = out + pl * out_plane;
    std::fill(o, o + out_plane, bias ? bias[c] : 0.0f);
    ForEachTapRow(g, [&](int64_t y, int64_t iy, int64_t off, int64_t x0, int64_t x1, int64_t tap) {
      AddScaledRow(o + y * g.out_w, plane + iy * g.width + off, g.stride_w, x0, x1, wc[tap]);
    });
  }
}

void DepthwiseTransposed(const float* s, const ConvGeometry& g, int64_t images, const float* w, float* out) {
  const int64_t planes = images * g.channels, in_plane = g.height * g.width, out_plane = g.out_h * g.out_w;
  const int64_t taps = g.kernel_h * g.kernel_w;
#pragma omp parallel for schedule(static) if (planes * out_plane * taps > kParallelGrain)
  for (int64_t pl = 0; pl < planes; ++pl) {
    const int64_t c = pl % g.channels;
    float* dst = out + pl * in_plane;
    const float* sp = s + pl * out_plane;
    const float* wc = w + c * taps;
    std::fill(dst, dst + in_plane, 0.0f);
    ForEachTapRow(g, [&](int64_t y, int64_t iy, int64_t off, int64_t x0, int64_t x1, int64_t tap) {
      ScatterScaledRow(dst + iy * g.width + off, sp + y * g.out_w, g.stride_w, x0, x1, wc[tap]);
    });
  }
}

}  // namespace caffe_lrp
