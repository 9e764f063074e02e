// Convolution: Caffe's 2-D convolution with groups, padding, stride and dilation, run as
// im2col over the whole batch + one sgemm per group. Its relevance rules are the shared
// linear rules applied per group to the batch's column matrix.
#pragma once
#include "engine/layer.h"
#include "engine/math.h"
#include "engine/relevance/linear_rules.h"

namespace caffe_lrp {

class ConvolutionLayer : public Layer {
 public:
  explicit ConvolutionLayer(const LayerDef& def);
  void CheckWeights() const override;
  void Reshape(const Blobs& bottom, const Blobs& top) override;
  void Forward(const Blobs& bottom, const Blobs& top, Workspace& ws) override;
  void BackwardGradient(const Blobs& bottom, const Blobs& top, Workspace& ws) override;
  void BackwardRelevance(const Blobs& bottom, const Blobs& top, const LayerRule& rule, Workspace& ws) override;

 private:
  // im2col of every image of the bottom into one taps x (N*P) matrix.
  float* BatchColumns(const Blob& bottom, Workspace& ws, int slot) const;
  // Adds a taps x (N*P) column matrix back onto the bottom diff (zeroed first).
  void ScatterColumns(const float* cols, Blob& bottom) const;

  int num_output_, group_;
  bool bias_term_;
  SignedWeights signed_;
  ConvGeometry geom_{};  // channels = all input channels; per-group taps = taps() / group_
};

}  // namespace caffe_lrp
