// Identity: y = x. What a canonizer leaves where it merged a layer into the one before it
// (lib/canonize/): the merged BatchNorm/Scale keeps its index, name and blobs in the net, so
// layer indices mean the same in the raw and the canonized net. Data, gradient and relevance
// pass through unchanged.
#pragma once
#include "engine/layers/activation_layers.h"

namespace caffe_lrp {

class IdentityLayer : public ElementwiseLayer {
 public:
  using ElementwiseLayer::ElementwiseLayer;
  bool ExactTopValue(const Blobs&, int64_t image, int64_t index, double* value) const override { return ExactBottom(0, image, index, value); }
  void Forward(const Blobs& bottom, const Blobs& top, Workspace& ws) override;
  void BackwardGradient(const Blobs& bottom, const Blobs& top, Workspace& ws) override;
};

}  // namespace caffe_lrp
