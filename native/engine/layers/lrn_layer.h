// LRN: local response normalisation across channels (y = x * s^-beta,
// s = k + alpha/n * sum of x^2 over n neighbouring channels) or within a channel
// (s = 1 + alpha * mean of x^2 over an n x n window; Caffe ignores k there). The scale s is
// kept from the forward pass for the relevance and gradient passes.
#pragma once
#include <vector>

#include "engine/layer.h"

namespace caffe_lrp {

class LRNLayer : public Layer {
 public:
  explicit LRNLayer(const LayerDef& def);
  void Reshape(const Blobs& bottom, const Blobs& top) override;
  void Forward(const Blobs& bottom, const Blobs& top, Workspace& ws) override;
  void BackwardGradient(const Blobs& bottom, const Blobs& top, Workspace& ws) override;
  void BackwardRelevance(const Blobs& bottom, const Blobs& top, const LayerRule& rule, Workspace& ws) override;

 private:
  // Calls f(q) for every position q whose normalisation window contains position p of
  // a channel plane (within-channel mode) - the window relation is symmetric.
  void ForwardAcross(const Blob& bottom, Blob& top);
  void ForwardWithin(const Blob& bottom, Blob& top);
  void GradientAcross(const Blob& top, Blob& bottom) const;
  void GradientWithin(const Blob& top, Blob& bottom) const;

  int size_;
  float alpha_, beta_, k_;
  bool across_;
  int64_t channels_ = 0, height_ = 0, width_ = 0;
  std::vector<float> scale_;
};

}  // namespace caffe_lrp
