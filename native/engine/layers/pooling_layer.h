// Pooling: MAX and AVE with Caffe's geometry (ceil or floor output size, the rule that a
// last window starting in the padding is dropped, windows clipped to the image, AVE
// divisor counting padding). MAX remembers its argmax for the relevance and gradient.
#pragma once
#include <vector>

#include "engine/layer.h"

namespace caffe_lrp {

class PoolingLayer : public Layer {
 public:
  explicit PoolingLayer(const LayerDef& def);
  void Reshape(const Blobs& bottom, const Blobs& top) override;
  void Forward(const Blobs& bottom, const Blobs& top, Workspace& ws) override;
  void BackwardGradient(const Blobs& bottom, const Blobs& top, Workspace& ws) override;
  void BackwardRelevance(const Blobs& bottom, const Blobs& top, const LayerRule& rule, Workspace& ws) override;

 private:
  struct Window { int64_t h0, h1, w0, w1, divisor; };
  Window WindowAt(int64_t ph, int64_t pw) const;
  void ProportionalRelevance(const Blob& bottom, const Blob& top, float* rx) const;

  bool is_max_, global_, ceil_mode_;
  int64_t kh_, kw_, sh_, sw_, ph_, pw_;
  int64_t channels_ = 0, height_ = 0, width_ = 0, out_h_ = 0, out_w_ = 0;
  std::vector<int64_t> argmax_;  // MAX: flat index within the image plane, -1 if none
};

}  // namespace caffe_lrp
