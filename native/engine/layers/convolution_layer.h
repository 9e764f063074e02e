// Convolution: Caffe's 2-D convolution with groups, padding, stride and dilation, run as
// im2col + one sgemm per group, over blocks of images. Its relevance rules are the shared
// linear rules applied per group to the block's column matrix.
//
// For ONNX models one optional parameter: padEnd [h, w], the bottom/right padding when it
// differs from pad (which is then the top/left padding); it only changes the output size.
#pragma once
#include <vector>
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
  bool ExactTopValue(const Blobs& bottom, int64_t image, int64_t index, double* value) const override;
  bool AccumulateBlobGradients(const Blobs& bottom, const Blobs& top, const std::vector<float*>& out, const std::vector<float>& factors,
                               Workspace& ws) override;  // convolution_training.cc

 private:
  // Outputs per image from which images are processed one at a time.
  static constexpr int64_t kPerImagePositions = 512;
  // The geometry of one group's input channels.
  ConvGeometry GroupGeometry() const;
  std::vector<float> ConstantColumns(const std::vector<float>& values, int64_t count, int64_t cp, const char* what) const;
  // One filter per channel (group = channels = outputs): the direct loops of depthwise_convolution.h.
  bool Depthwise() const { return group_ == geom_.channels && num_output_ == group_; }
  // Images per block (see convolution_layer.cc).
  int64_t BlockSize(int64_t n) const;

  int num_output_, group_;
  bool bias_term_;
  SignedWeights signed_;
  ConvGeometry geom_{};  // channels = all input channels; per-group taps = taps() / group_
};

}  // namespace caffe_lrp
