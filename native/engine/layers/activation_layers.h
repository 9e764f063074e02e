// Elementwise activation layers: ReLU (with negative_slope), PReLU, TanH, Sigmoid, AbsVal,
// Power. For every LRP rule they pass relevance through unchanged, except ReLU under
// deconvolution (rectify the signal) and guided backprop (rectify and mask by x > 0).
#pragma once
#include "engine/layer.h"

namespace caffe_lrp {

// Shared shape handling and the identity relevance rule.
class ElementwiseLayer : public Layer {
 public:
  using Layer::Layer;
  void Reshape(const Blobs& bottom, const Blobs& top) override { top[0]->Reshape(bottom[0]->shape()); }
  void BackwardRelevance(const Blobs& bottom, const Blobs& top, const LayerRule& rule, Workspace& ws) override;
};

class ReLULayer : public ElementwiseLayer {
 public:
  explicit ReLULayer(const LayerDef& def);
  bool ExactTopValue(const Blobs& bottom, int64_t image, int64_t index, double* value) const override;
  void Forward(const Blobs& bottom, const Blobs& top, Workspace& ws) override;
  void BackwardGradient(const Blobs& bottom, const Blobs& top, Workspace& ws) override;
  void BackwardRelevance(const Blobs& bottom, const Blobs& top, const LayerRule& rule, Workspace& ws) override;

 private:
  float slope_;
};

class PReLULayer : public ElementwiseLayer {
 public:
  explicit PReLULayer(const LayerDef& def);
  void CheckWeights() const override;
  void Reshape(const Blobs& bottom, const Blobs& top) override;
  void Forward(const Blobs& bottom, const Blobs& top, Workspace& ws) override;
  void BackwardGradient(const Blobs& bottom, const Blobs& top, Workspace& ws) override;

 private:
  float SlopeOf(int64_t channel) const;
  bool shared_;
  int64_t channels_ = 0, inner_ = 0;
};

class TanHLayer : public ElementwiseLayer {
 public:
  using ElementwiseLayer::ElementwiseLayer;
  void Forward(const Blobs& bottom, const Blobs& top, Workspace& ws) override;
  void BackwardGradient(const Blobs& bottom, const Blobs& top, Workspace& ws) override;
};

class SigmoidLayer : public ElementwiseLayer {
 public:
  using ElementwiseLayer::ElementwiseLayer;
  void Forward(const Blobs& bottom, const Blobs& top, Workspace& ws) override;
  void BackwardGradient(const Blobs& bottom, const Blobs& top, Workspace& ws) override;
};

class AbsValLayer : public ElementwiseLayer {
 public:
  using ElementwiseLayer::ElementwiseLayer;
  void Forward(const Blobs& bottom, const Blobs& top, Workspace& ws) override;
  void BackwardGradient(const Blobs& bottom, const Blobs& top, Workspace& ws) override;
};

// y = (shift + scale * x) ^ power
class PowerLayer : public ElementwiseLayer {
 public:
  explicit PowerLayer(const LayerDef& def);
  void Forward(const Blobs& bottom, const Blobs& top, Workspace& ws) override;
  void BackwardGradient(const Blobs& bottom, const Blobs& top, Workspace& ws) override;

 private:
  float power_, scale_, shift_;
};

// Dropout is the identity at test time, for data, gradient and relevance alike.
class DropoutLayer : public ElementwiseLayer {
 public:
  bool ExactTopValue(const Blobs&, int64_t image, int64_t index, double* value) const override { return ExactBottom(0, image, index, value); }
  using ElementwiseLayer::ElementwiseLayer;
  void Forward(const Blobs& bottom, const Blobs& top, Workspace& ws) override;
  void BackwardGradient(const Blobs& bottom, const Blobs& top, Workspace& ws) override;
};

}  // namespace caffe_lrp
