// Clip: y = min(max(x, min), max), ONNX's Clip (ReLU6 is min 0, max 6). An elementwise
// neuron layer: relevance passes through unchanged (like ReLU), the gradient is 1 strictly
// inside [min, max] and 0 outside (PyTorch's hardtanh convention at the bounds: 0).
#pragma once
#include "engine/layers/activation_layers.h"

namespace caffe_lrp {

class ClipLayer : public ElementwiseLayer {
 public:
  explicit ClipLayer(const LayerDef& def);
  void Forward(const Blobs& bottom, const Blobs& top, Workspace& ws) override;
  void BackwardGradient(const Blobs& bottom, const Blobs& top, Workspace& ws) override;

 private:
  float min_, max_;
};

}  // namespace caffe_lrp
