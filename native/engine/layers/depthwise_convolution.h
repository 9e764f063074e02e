// Depthwise convolution (group = input channels = output channels, one filter per channel:
// MobileNet's 3x3 layers) as direct loops. Through im2col and sgemm such a layer is one
// product per channel of a 1 x taps matrix, where per-call overhead is all there is; these
// loops read each input row once per filter tap instead.
#pragma once
#include <cstdint>

#include "engine/math.h"

namespace caffe_lrp {

// out[n][c] = bias[c] + sum over taps of w[c][tap] * in[n][c] at the tap (bias may be null).
void DepthwiseForward(const float* in, const ConvGeometry& g, int64_t images, const float* w, const float* bias, float* out);
// The transposed map: out[n][c] at each input pixel = sum over the outputs that read it of
// w[c][tap] * s[n][c][output]; out is overwritten.
void DepthwiseTransposed(const float* s, const ConvGeometry& g, int64_t images, const float* w, float* out);

}  // namespace caffe_lrp
