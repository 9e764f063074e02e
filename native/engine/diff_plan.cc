#include "engine/diff_plan.h"

#include <algorithm>
#include <numeric>

namespace caffe_lrp {

DiffPlan PlanSharedDiffs(const std::vector<DiffLifetime>& blobs) {
  DiffPlan plan;
  plan.buffer_of.assign(blobs.size(), 0);
  // Walk order: the blob written first (highest consumer) first. A buffer's occupants then
  // come in descending, disjoint intervals, so the last one's producer says when it is free.
  std::vector<size_t> order(blobs.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return blobs[a].hi > blobs[b].hi; });
  std::vector<int> free_below;  // per buffer: the last occupant's producer
  for (size_t b : order) {
    const DiffLifetime& life = blobs[b];
    // Among the buffers free at this blob's first write: the smallest that is large
    // enough, else the largest (grown); a new buffer only when none is free.
    size_t best = plan.sizes.size();
    for (size_t k = 0; k < plan.sizes.size(); ++k) {
      if (free_below[k] <= life.hi) continue;
      if (best == plan.sizes.size()) { best = k; continue; }
      const bool fits = plan.sizes[k] >= life.count, best_fits = plan.sizes[best] >= life.count;
      if (fits != best_fits ? fits : (fits ? plan.sizes[k] < plan.sizes[best] : plan.sizes[k] > plan.sizes[best])) best = k;
    }
    if (best == plan.sizes.size()) {
      plan.sizes.push_back(0);
      free_below.push_back(life.lo);
    }
    plan.sizes[best] = std::max(plan.sizes[best], life.count);
    free_below[best] = life.lo;
    plan.buffer_of[b] = best;
  }
  return plan;
}

DiffPlan PlanDedicatedDiffs(const std::vector<DiffLifetime>& blobs) {
  DiffPlan plan;
  for (size_t b = 0; b < blobs.size(); ++b) {
    plan.buffer_of.push_back(b);
    plan.sizes.push_back(blobs[b].count);
  }
  return plan;
}

}  // namespace caffe_lrp
