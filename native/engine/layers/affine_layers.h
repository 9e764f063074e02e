// Layers that are affine maps and therefore take the linear relevance rules:
// Eltwise (SUM: z = sum_k c_k x_k; MAX: winner-take-all; PROD: gradient only), and the
// per-channel BatchNorm (global statistics), Scale and Bias.
#pragma once
#include <vector>

#include "engine/layer.h"

namespace caffe_lrp {

class EltwiseLayer : public Layer {
 public:
  explicit EltwiseLayer(const LayerDef& def);
  int ExactBottoms() const override { return -1; }
  void Reshape(const Blobs& bottom, const Blobs& top) override;
  void Forward(const Blobs& bottom, const Blobs& top, Workspace& ws) override;
  void BackwardGradient(const Blobs& bottom, const Blobs& top, Workspace& ws) override;
  void BackwardRelevance(const Blobs& bottom, const Blobs& top, const LayerRule& rule, Workspace& ws) override;

 private:
  enum class Op { kProd, kSum, kMax } op_;
  std::vector<float> coeff_;
  std::vector<int> winner_;  // MAX: which bottom won each element
};

// Per-channel y = a x + c; subclasses fill a and c for the current input shape.
class ChannelAffineLayer : public Layer {
 public:
  using Layer::Layer;
  void Forward(const Blobs& bottom, const Blobs& top, Workspace& ws) override;
  void BackwardGradient(const Blobs& bottom, const Blobs& top, Workspace& ws) override;
  void BackwardRelevance(const Blobs& bottom, const Blobs& top, const LayerRule& rule, Workspace& ws) override;

 protected:
  // Sets outer/channels/inner from the axis span [axis, axis+num_axes) of the bottom.
  void SetSpan(const Blob& bottom, int axis, int num_axes, const Shape& expected_param_shape_hint);
  int64_t outer_ = 0, channels_ = 0, inner_ = 0;
  std::vector<float> a_, c_;  // empty a_: 1, empty c_: 0
};

class BatchNormLayer : public ChannelAffineLayer {
 public:
  explicit BatchNormLayer(const LayerDef& def);
  void CheckWeights() const override;
  void Reshape(const Blobs& bottom, const Blobs& top) override;

 private:
  float eps_;
};

class ScaleLayer : public ChannelAffineLayer {
 public:
  explicit ScaleLayer(const LayerDef& def);
  // any count here, so that CheckWeights can name the unsupported two-input form
  int ExactBottoms() const override { return -1; }
  void CheckWeights() const override;
  void Reshape(const Blobs& bottom, const Blobs& top) override;

 private:
  int axis_, num_axes_;
  bool bias_term_;
};

class BiasLayer : public ChannelAffineLayer {
 public:
  explicit BiasLayer(const LayerDef& def);
  // any count here, so that CheckWeights can name the unsupported two-input form
  int ExactBottoms() const override { return -1; }
  void CheckWeights() const override;
  void Reshape(const Blobs& bottom, const Blobs& top) override;

 private:
  int axis_, num_axes_;
};

}  // namespace caffe_lrp
