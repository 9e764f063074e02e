// DiffPlan: which diff buffer each blob of a Net uses.
//
// Every backward walk (relevance, gradient, training) visits layers from the highest index
// down; layer i reads the diffs of its tops and overwrites the diffs of its bottoms. So the
// diff of a blob is live only from the step of the layer consuming it (which writes it) down
// to the step of the layer producing it (which reads it): the closed interval
// [producer, consumer] of layer indices, with producer -1 for a net input and consumer =
// number of layers for a blob nobody consumes (zeroed or seeded when a walk starts). Blobs
// whose intervals are disjoint can share one buffer in every walk, because a walk's live
// range of a blob is part of its interval. A shared diff holds whatever its last writer
// left; the net reads a diff only within its blob's interval (the layer's backward pass,
// the conservation sums right after it, the walk's result).
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace caffe_lrp {

struct DiffLifetime {
  int lo;         // producing layer (-1: a net input)
  int hi;         // consuming layer (number of layers: none)
  int64_t count;  // floats
};

struct DiffPlan {
  std::vector<size_t> buffer_of;  // per blob: index into sizes
  std::vector<int64_t> sizes;     // per buffer: floats
  double Bytes() const {
    double floats = 0;
    for (int64_t s : sizes) floats += static_cast<double>(s);
    return floats * sizeof(float);
  }
};

// Buffers shared by blobs with disjoint lifetimes (a greedy interval colouring in walk
// order, reusing the best-fitting free buffer).
DiffPlan PlanSharedDiffs(const std::vector<DiffLifetime>& blobs);
// One buffer per blob: what training needs (its gradients read every top's diff after the walk).
DiffPlan PlanDedicatedDiffs(const std::vector<DiffLifetime>& blobs);

}  // namespace caffe_lrp
