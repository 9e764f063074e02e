// InnerProduct's learned-blob gradients for training: dW = top_diff^T x bottom (num_output x K,
// summed over the batch, not averaged), dB = column sums of top_diff.
#include "engine/layers/inner_product_layer.h"
#include "engine/math.h"

namespace caffe_lrp {

bool InnerProductLayer::AccumulateBlobGradients(const Blobs& bottom, const Blobs& top, const std::vector<float*>& out,
                                                const std::vector<float>& factors, Workspace&) {
  if (def_.Bool("transpose", false)) Fail("training: transposed weight storage is not supported");
  const float* dy = top[0]->diff();
  // beta = 1: the product is added to what out holds (a zeroed buffer, or the weights).
  Gemm(true, false, num_output_, k_, outer_, factors[0], dy, num_output_, bottom[0]->data(), k_, 1.0f, out[0], k_);
  if (bias_term_) {
    float* b = out[1];
    const float f = factors[1];
    for (int64_t j = 0; j < num_output_; ++j) {
      double s = 0;  // sequential over the batch, as the toolbox's DY.sum(axis=0)
      for (int64_t i = 0; i < outer_; ++i) s += dy[i * num_output_ + j];
      b[j] += f * static_cast<float>(s);
    }
  }
  return true;
}

}  // namespace caffe_lrp
