// Layer: the base of every layer class, one class per Caffe layer type (as in Caffe).
// A layer reshapes its tops from its bottoms, runs forward, and runs two backward passes:
// the true gradient (formula types 11/99) and the relevance rule the walk hands it.
// Backward passes read top diffs and overwrite bottom diffs.
#pragma once
#include <memory>
#include <string>

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

  // Checks learned blobs: count and shapes. Called once after construction.
  virtual void CheckWeights() const {}

  // Number of bottoms/tops this type accepts (-1: any number >= 1).
  virtual int ExactBottoms() const { return 1; }
  virtual int ExactTops() const { return 1; }

 protected:
  [[noreturn]] void Fail(const std::string& msg) const { throw EngineError(def_.Where() + ": " + msg); }
  void ExpectBlobCount(size_t n) const;
  void ExpectBlobShape(size_t index, const Shape& expected) const;

  LayerDef def_;
};

std::unique_ptr<Layer> CreateLayer(const LayerDef& def);
// Comma-separated list of the supported type names (for error messages).
std::string SupportedLayerTypes();

}  // namespace caffe_lrp
