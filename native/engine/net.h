// Net: the layers of a NetSpec in Caffe's order, their blobs, and the three passes:
// forward, the relevance walk (a LayerRule per layer, from the start layer down to the
// first layer) and the gradient walk. In-place layers get a fresh blob internally, so
// the forward values every rule needs (z before an in-place ReLU) stay available.
#pragma once
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "engine/blob.h"
#include "engine/diff_plan.h"
#include "engine/layer.h"

namespace caffe_lrp {

struct InputDef {
  std::string name;
  Shape shape;
};

// Seeds of the backward walk: for image n, top element classes[n][k] of the start layer
// gets values[n][k] (or, when values is empty, its own forward value: the class logit).
struct Seeds {
  std::vector<std::vector<int64_t>> classes;
  std::vector<std::vector<float>> values;
};

struct BackwardRequest {
  int start = 0;       // highest layer visited (seeded at its tops)
  int end = 0;         // lowest layer visited; the result is the relevance of its bottom 0
  bool gradient = false;
  bool conservation = false;
  std::vector<LayerRule> rules;  // indexed by layer; ignored for the gradient walk
  Seeds seeds;
};

struct LayerConservation {
  int index;
  std::vector<double> in;   // per image: sum of relevance on the layer's tops
  std::vector<double> out;  // per image: sum of relevance on its bottoms
};

struct BackwardResult {
  Shape shape;               // shape of the result blob (N x ...)
  std::vector<float> data;   // its diff
  std::vector<LayerConservation> conservation;
};

// Computed by lib/memory-budget.ts (cgroup limits, RLIMIT_AS, physical memory, the user's
// setting); `source` names the bound in the error. bytes 0: 80 % of physical memory.
struct MemoryBudget {
  double bytes = 0;
  std::string source;
};

class Net {
 public:
  // The memory budget bounds the blobs' bytes (refused before anything is allocated).
  Net(const std::vector<InputDef>& inputs, const std::vector<LayerDef>& layers, MemoryBudget budget = MemoryBudget());

  int num_layers() const { return static_cast<int>(layers_.size()); }
  const Layer& layer(int i) const { return *layers_[i]; }
  const Blobs& tops(int i) const { return tops_[i]; }
  const Blobs& bottoms(int i) const { return bottoms_[i]; }
  const std::vector<Blob*>& inputs() const { return inputs_; }
  // Blobs no layer consumes (the net's outputs), in order of production.
  std::vector<Blob*> outputs() const;
  // The latest version of a named blob (after all in-place layers).
  Blob* FindBlob(const std::string& name) const;

  int64_t batch() const { return batch_; }
  void Reshape(int64_t batch);
  // Copies one input (count must equal the input blob's count).
  void SetInput(size_t index, const float* data, int64_t count);
  void Forward();
  BackwardResult Backward(const BackwardRequest& request);
  // Names of layers with NaN or Inf among their learned values.
  std::vector<std::string> NonFiniteWeights() const;
  void ReleaseScratch() { ws_.Release(); }

  // Bytes of the blobs' forward values and of their diff buffers (planned at the current
  // batch size, allocated at the first backward pass; `dedicated`: every blob its own diff,
  // as after a training pass), and what one diff per blob would take.
  struct MemoryStats {
    double data_bytes = 0;
    double diff_bytes = 0;
    double unshared_diff_bytes = 0;
    size_t diff_buffers = 0;
    std::vector<double> workspace_bytes;  // per scratch slot, as grown by the last passes
    bool diffs_allocated = false;
    bool dedicated = false;
  };
  MemoryStats Memory() const;

  // Training (net_training.cc). The toolbox's backward pass: start's top 0 diff becomes
  // `seed` (count values), then BackwardTraining from start down to layer `end`.
  void BackwardTraining(int start, int end, const float* seed, int64_t count);
  // Adds factors[j] * gradient of layer i's learned blob j to out[j] (after BackwardTraining
  // reached the layer's tops); false when the layer has no learned blobs.
  bool AccumulateBlobGradients(int i, const std::vector<float*>& out, const std::vector<float>& factors);
  // Learned blob j of layer i, writable (nullptr when borrowed).
  float* MutableBlob(int i, size_t j) { return layers_.at(static_cast<size_t>(i))->MutableBlob(j); }

 private:
  void ReshapeTo(int64_t batch);
  // Diff memory (diff_plan.h): the plan for the current shapes, and binding it to the blobs.
  std::vector<DiffLifetime> DiffLifetimes() const;
  DiffPlan PlanDiffs() const;
  void CheckBudget(double bytes, int64_t batch) const;
  void BindDiffs();
  // Scratch after a pass (net.cc): freed once both a forward pass and a backward walk have run.
  bool forward_ran_ = false, backward_ran_ = false;
  void AfterPass(bool* mine_ran, bool other_ran);
  void Seed(const BackwardRequest& request);
  void ZeroUnreachedDiffs(const BackwardRequest& request);
  int ConsumerOf(const Blob* b) const;  // -1: no consumer
  // Blob b's value at (image, index) in exact arithmetic, from the layer that produced it (Layer::ExactTopValue).
  bool ExactBlobValue(const Blob* b, int64_t image, int64_t index, double* value) const;

  MemoryBudget budget_;
  std::vector<std::unique_ptr<Blob>> blob_storage_;
  std::vector<Blob*> inputs_;
  std::vector<std::unique_ptr<Layer>> layers_;
  std::vector<Blobs> bottoms_, tops_;
  // The layer consuming each blob (blobs nobody consumes are absent: the net's outputs).
  std::unordered_map<const Blob*, int> consumer_;
  std::unordered_map<const Blob*, int> producer_;  // layer index; net inputs are absent
  std::vector<std::pair<std::string, Blob*>> latest_;  // name -> latest version
  int64_t batch_ = 0;
  bool forward_done_ = false;
  int training_lowest_ = -1;  // lowest layer whose tops hold training diffs (-1: none)
  // Training reads diffs after its walk: from the first training pass on, every blob keeps its own.
  bool dedicated_diffs_ = false;
  DiffPlan diff_plan_;
  std::vector<std::vector<float>> diff_buffers_;
  bool diffs_bound_ = false;
  Workspace ws_;
};

}  // namespace caffe_lrp
