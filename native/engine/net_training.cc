// The training pass of the LRP Toolbox's Sequential.train (spec: shared/spec/toolbox-training.md):
// a backward walk seeded with the error signal at one layer's top, then the gradients of the
// learned blobs, added into caller-chosen arrays (a gradient buffer, or the weights themselves
// for an SGD step). The toolbox's non-gradient scalings are per-layer constants and are applied
// by the caller through the factors (lib/toolbox/train.ts).
#include <algorithm>
#include <cmath>

#include "engine/net.h"

namespace caffe_lrp {

void Net::BackwardTraining(int start, int end, const float* seed, int64_t count) {
  if (!forward_done_) throw EngineError("no forward pass on the current input: run forward() before a training pass");
  const int n_layers = num_layers();
  if (start < 0 || start >= n_layers)
    throw EngineError("training: start layer index " + std::to_string(start) + " is outside the net (0.." + std::to_string(n_layers - 1) + ")");
  if (end < 0 || end > start)
    throw EngineError("training: lowest layer index " + std::to_string(end) + " must be between 0 and the start layer " + std::to_string(start));
  if (tops_[start].size() != 1) throw EngineError("training: start layer '" + layers_[start]->name() + "' must have one top");
  Blob* top = tops_[start][0];
  if (count != top->count())
    throw EngineError("training: the error signal has " + std::to_string(count) + " values but layer '" + layers_[start]->name() +
                      "' outputs " + std::to_string(top->count()) + " (" + ShapeString(top->shape()) + ")");
  for (int64_t i = 0; i < count; ++i)
    if (!std::isfinite(seed[i])) throw EngineError("training: the error signal has a non-finite value at index " + std::to_string(i));
  // Only a chain is walked: every layer in the range reads exactly the top of the one below.
  for (int i = end + 1; i <= start; ++i)
    if (bottoms_[i].size() != 1 || tops_[i - 1].size() != 1 || bottoms_[i][0] != tops_[i - 1][0])
      throw EngineError("training: layer '" + layers_[i]->name() + "' does not read the single output of the layer before it (training needs a chain)");
  if (!dedicated_diffs_) {
    // AccumulateBlobGradients reads the tops' diffs after the walk: no sharing from now on.
    DiffPlan plan = PlanDedicatedDiffs(DiffLifetimes());
    double bytes = plan.Bytes();
    for (const auto& b : blob_storage_) bytes += sizeof(float) * static_cast<double>(b->count());
    CheckBudget(bytes, batch_);
    dedicated_diffs_ = true;
    diff_plan_ = std::move(plan);
    diffs_bound_ = false;
  }
  BindDiffs();
  training_lowest_ = -1;
  std::copy(seed, seed + count, top->diff());
  for (int i = start; i > end; --i) layers_[i]->BackwardTraining(bottoms_[i], tops_[i], ws_);
  training_lowest_ = end;
}

bool Net::AccumulateBlobGradients(int i, const std::vector<float*>& out, const std::vector<float>& factors) {
  if (training_lowest_ < 0 || i < training_lowest_ || i >= num_layers())
    throw EngineError("training: layer " + std::to_string(i) + " was not reached by the last training pass");
  if (out.size() != factors.size() || out.size() != layers_[i]->def().blobs.size())
    throw EngineError("training: layer '" + layers_[i]->name() + "' has " + std::to_string(layers_[i]->def().blobs.size()) +
                      " learned blobs, got " + std::to_string(out.size()) + " targets and " + std::to_string(factors.size()) + " factors");
  return layers_[i]->AccumulateBlobGradients(bottoms_[i], tops_[i], out, factors, ws_);
}

}  // namespace caffe_lrp
