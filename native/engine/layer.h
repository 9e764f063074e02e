// Layer: the base of every layer class, one class per Caffe layer type (as in Caffe).
// A layer reshapes its tops from its bottoms, runs forward, and runs two backward passes:
// the true gradient (formula types 11/99) and the relevance rule the walk hands it.
// Backward passes read top diffs and overwrite bottom diffs.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "engine/blob.h"
#include "engine/layer_def.h"
#include "engine/relevance/layer_rule.h"
#include "engine/workspace.h"

namespace caffe_lrp {

class Layer {
 public:
  explicit Layer(const LayerDef& def) : def_(def) {}
  virtual ~Layer() = default;
  Layer(const Layer&) = delete;
  Layer& operator=(const Layer&) = delete;

  const std::string& name() const { return def_.name; }
  const std::string& type() const { return def_.type; }
  const LayerDef& def() const { return def_; }

  virtual void Reshape(const Blobs& bottom, const Blobs& top) = 0;
  virtual void Forward(const Blobs& bottom, const Blobs& top, Workspace& ws) = 0;
  virtual void BackwardGradient(const Blobs& bottom, const Blobs& top, Workspace& ws) = 0;
  virtual void BackwardRelevance(const Blobs& bottom, const Blobs& top, const LayerRule& rule, Workspace& ws) = 0;

  // Training (net_training.cc): the backward pass of the LRP Toolbox's training loop. Same as
  // the gradient except where the toolbox differs (MaxPool: every tied maximum gets the full
  // gradient; SoftMax: identity).
  virtual void BackwardTraining(const Blobs& bottom, const Blobs& top, Workspace& ws) { BackwardGradient(bottom, top, ws); }
  // Adds factors[j] * (gradient of learned blob j) to out[j], from the bottom data of the last
  // forward and the top diffs of the last backward pass; false for layers without learned blobs.
  virtual bool AccumulateBlobGradients(const Blobs& bottom, const Blobs& top, const std::vector<float*>& out,
                                       const std::vector<float>& factors, Workspace& ws) {
    (void)bottom; (void)top; (void)out; (void)factors; (void)ws;
    return false;
  }
  // Learned blob j for in-place updates (nullptr when the values are borrowed or j is out of range).
  float* MutableBlob(size_t j) { return j < def_.blobs.size() ? def_.blobs[j].data.MutableData() : nullptr; }

  // Checks learned blobs: count and shapes. Called once after construction.
  virtual void CheckWeights() const {}

  // Exact values, for max pooling's near-ties: the value top 0 holds at (image, flat index
  // within the image) computed in double precision from the stored values of the inputs this
  // layer computes from (a convolution's input blob) or from the exact values of its own
  // bottoms (elementwise layers that pass values on). False: this layer cannot say.
  virtual bool ExactTopValue(const Blobs& bottom, int64_t image, int64_t index, double* value) const {
    (void)bottom; (void)image; (void)index; (void)value;
    return false;
  }
  // The net's way to the exact values of this layer's bottoms (set once by Net).
  using ExactBottomFn = std::function<bool(size_t bottom, int64_t image, int64_t index, double* value)>;
  void SetExactBottom(ExactBottomFn f) { exact_bottom_ = std::move(f); }

  // Number of bottoms/tops this type accepts (-1: any number >= 1).
  virtual int ExactBottoms() const { return 1; }
  virtual int ExactTops() const { return 1; }

 protected:
  bool ExactBottom(size_t bottom, int64_t image, int64_t index, double* value) const {
    return exact_bottom_ && exact_bottom_(bottom, image, index, value);
  }
  [[noreturn]] void Fail(const std::string& msg) const { throw EngineError(def_.Where() + ": " + msg); }
  void ExpectBlobCount(size_t n) const;
  void ExpectBlobShape(size_t index, const Shape& expected) const;

  LayerDef def_;
  ExactBottomFn exact_bottom_;
};

std::unique_ptr<Layer> CreateLayer(const LayerDef& def);
// Comma-separated list of the supported type names (for error messages).
std::string SupportedLayerTypes();

}  // namespace caffe_lrp
