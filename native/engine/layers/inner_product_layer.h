// InnerProduct: y = W x + b over the flattened trailing axes (from `axis`). Relevance uses
// the shared linear rules with one column per image.
#pragma once
#include <vector>

#include "engine/layer.h"
#include "engine/relevance/linear_rules.h"

namespace caffe_lrp {

class InnerProductLayer : public Layer {
 public:
  explicit InnerProductLayer(const LayerDef& def);
  void CheckWeights() const override;
  void Reshape(const Blobs& bottom, const Blobs& top) override;
  void Forward(const Blobs& bottom, const Blobs& top, Workspace& ws) override;
  void BackwardGradient(const Blobs& bottom, const Blobs& top, Workspace& ws) override;
  void BackwardRelevance(const Blobs& bottom, const Blobs& top, const LayerRule& rule, Workspace& ws) override;
  bool AccumulateBlobGradients(const Blobs& bottom, const Blobs& top, const std::vector<float*>& out, const std::vector<float>& factors,
                               Workspace& ws) override;  // inner_product_training.cc

 private:
  // num_output x K weights: the stored blob, or its transpose when `transpose` is set.
  const float* W() const { return weights_.empty() ? def_.blobs[0].data.data() : weights_.data(); }

  int num_output_, axis_;
  bool bias_term_;
  int64_t outer_ = 0, k_ = 0;
  std::vector<float> weights_;  // only for `transpose`
  SignedWeights signed_;
};

}  // namespace caffe_lrp
