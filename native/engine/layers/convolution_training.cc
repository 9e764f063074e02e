// Convolution's learned-blob gradients for training: per group, dW = top_diff x im2col(bottom)^T
// summed over images and output positions, dB = sum of top_diff over images and positions.
#include <algorithm>

#include "engine/layers/convolution_layer.h"

namespace caffe_lrp {

bool ConvolutionLayer::AccumulateBlobGradients(const Blobs& bottom, const Blobs& top, const std::vector<float*>& out,
                                               const std::vector<float>& factors, Workspace& ws) {
  const int64_t n = bottom[0]->num(), p = geom_.positions(), block = BlockSize(n);
  const int64_t kg = geom_.taps() / group_, mg = num_output_ / group_;
  const ConvGeometry gg = GroupGeometry();
  const int64_t image_size = geom_.channels * geom_.height * geom_.width, group_size = gg.channels * geom_.height * geom_.width;
  std::vector<double> bias_sum(bias_term_ ? static_cast<size_t>(num_output_) : 0, 0.0);
  for (int64_t first = 0; first < n; first += block) {
    const int64_t count = std::min(block, n - first), cp = count * p;
    // Top diff channel-major over the block: num_output x (count * positions).
    const float* g = top[0]->diff() + first * num_output_ * p;
    if (count > 1) {
      float* gm = ws.Get(1, static_cast<size_t>(num_output_ * cp));
      BatchToChannelMajor(g, count, num_output_, p, gm);
      g = gm;
    }
    float* cols = ws.Get(0, static_cast<size_t>(kg * cp));
    const float* images = bottom[0]->data() + first * image_size;
    for (int grp = 0; grp < group_; ++grp) {
      Im2Col(images + grp * group_size, gg, cols, cp, count, image_size);
      Gemm(false, true, mg, kg, cp, factors[0], g + grp * mg * cp, cp, cols, cp, 1.0f, out[0] + grp * mg * kg, kg);
    }
    for (size_t f = 0; f < bias_sum.size(); ++f)
      for (int64_t q = 0; q < cp; ++q) bias_sum[f] += g[static_cast<int64_t>(f) * cp + q];
  }
  for (size_t f = 0; f < bias_sum.size(); ++f) out[1][f] += factors[1] * static_cast<float>(bias_sum[f]);
  return true;
}

}  // namespace caffe_lrp
