// Layers that move values without arithmetic: Split, Concat, Slice, Flatten, Reshape,
// Permute, plus Softmax (whose relevance rule in the original returns its probabilities).
// Their gradient and relevance passes are the inverse data movement.
#pragma once
#include <vector>

#include "engine/layer.h"

namespace caffe_lrp {

// One bottom copied to several tops; backward sums the tops' diffs.
class SplitLayer : public Layer {
 public:
  using Layer::Layer;
  int ExactTops() const override { return -1; }
  void Reshape(const Blobs& bottom, const Blobs& top) override;
  void Forward(const Blobs& bottom, const Blobs& top, Workspace& ws) override;
  void BackwardGradient(const Blobs& bottom, const Blobs& top, Workspace& ws) override;
  void BackwardRelevance(const Blobs& bottom, const Blobs& top, const LayerRule& rule, Workspace& ws) override;
  bool ExactTopValue(const Blobs&, int64_t image, int64_t index, double* value) const override { return ExactBottom(0, image, index, value); }
};

// Concat and Slice are mirror images: Concat joins bottoms along an axis, Slice cuts a
// bottom into tops. Both move contiguous chunks; `parts` are the blobs being joined/cut.
class ConcatLayer : public Layer {
 public:
  explicit ConcatLayer(const LayerDef& def);
  int ExactBottoms() const override { return -1; }
  void Reshape(const Blobs& bottom, const Blobs& top) override;
  void Forward(const Blobs& bottom, const Blobs& top, Workspace& ws) override;
  void BackwardGradient(const Blobs& bottom, const Blobs& top, Workspace& ws) override;
  void BackwardRelevance(const Blobs& bottom, const Blobs& top, const LayerRule& rule, Workspace& ws) override;

 private:
  int axis_param_;
  int axis_ = 1;
};

class SliceLayer : public Layer {
 public:
  explicit SliceLayer(const LayerDef& def);
  int ExactTops() const override { return -1; }
  void Reshape(const Blobs& bottom, const Blobs& top) override;
  void Forward(const Blobs& bottom, const Blobs& top, Workspace& ws) override;
  void BackwardGradient(const Blobs& bottom, const Blobs& top, Workspace& ws) override;
  void BackwardRelevance(const Blobs& bottom, const Blobs& top, const LayerRule& rule, Workspace& ws) override;

 private:
  int axis_param_;
  int axis_ = 1;
  std::vector<int> slice_points_;
};

// Flatten and Reshape change the shape only: data and diffs are copied unchanged.
class ReshapeLikeLayer : public Layer {
 public:
  using Layer::Layer;
  void Forward(const Blobs& bottom, const Blobs& top, Workspace& ws) override;
  void BackwardGradient(const Blobs& bottom, const Blobs& top, Workspace& ws) override;
  void BackwardRelevance(const Blobs& bottom, const Blobs& top, const LayerRule& rule, Workspace& ws) override;
};

class FlattenLayer : public ReshapeLikeLayer {
 public:
  using ReshapeLikeLayer::ReshapeLikeLayer;
  void Reshape(const Blobs& bottom, const Blobs& top) override;
};

class ReshapeLayer : public ReshapeLikeLayer {
 public:
  using ReshapeLikeLayer::ReshapeLikeLayer;
  void Reshape(const Blobs& bottom, const Blobs& top) override;
};

// Axis permutation (SSD fork's Permute layer).
class PermuteLayer : public Layer {
 public:
  explicit PermuteLayer(const LayerDef& def);
  void Reshape(const Blobs& bottom, const Blobs& top) override;
  void Forward(const Blobs& bottom, const Blobs& top, Workspace& ws) override;
  void BackwardGradient(const Blobs& bottom, const Blobs& top, Workspace& ws) override;
  void BackwardRelevance(const Blobs& bottom, const Blobs& top, const LayerRule& rule, Workspace& ws) override;

 private:
  void BuildSource(const Shape& in, const Shape& out);
  std::vector<int64_t> source_;
  std::vector<int> order_;     // as given (may omit trailing axes)
  std::vector<int> resolved_;  // full permutation
};

// Softmax over one axis; with the parameter log (ONNX's LogSoftmax) its logarithm.
class SoftmaxLayer : public Layer {
 public:
  explicit SoftmaxLayer(const LayerDef& def);
  void Reshape(const Blobs& bottom, const Blobs& top) override;
  void Forward(const Blobs& bottom, const Blobs& top, Workspace& ws) override;
  void BackwardGradient(const Blobs& bottom, const Blobs& top, Workspace& ws) override;
  // As the original: the relevance below a Softmax is its output (the probabilities).
  void BackwardRelevance(const Blobs& bottom, const Blobs& top, const LayerRule& rule, Workspace& ws) override;
  // The toolbox's SoftMax has no backward of its own: identity (softmax_training.cc).
  void BackwardTraining(const Blobs& bottom, const Blobs& top, Workspace& ws) override;

 private:
  int axis_param_;
  bool log_ = false;
  int64_t outer_ = 0, channels_ = 0, inner_ = 0;
};

}  // namespace caffe_lrp
