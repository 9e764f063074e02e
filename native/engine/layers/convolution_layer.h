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
  // Outputs per image from which images are processed one at a time.
  static constexpr int64_t kPerImagePositions = 512;
  // The geometry of one group's input channels.
  ConvGeometry GroupGeometry() const;
  int64_t BlockSize(int64_t n) const;
  // im2col of images [first, first+count) into one taps x (count*P) matrix.
  float* BlockColumns(const Blob& bottom, int64_t first, int64_t count, Workspace& ws, int slot) const;
  // Writes a taps x (count*P) column matrix back onto those images' bottom diff.
  void ScatterBlock(const float* cols, int64_t first, int64_t count, Blob& bottom) const;

  int num_output_, group_;
  bool bias_term_;
  SignedWeights signed_;
  ConvGeometry geom_{};  // channels = all input channels; per-group taps = taps() / group_
};

}  // namespace caffe_lrp
