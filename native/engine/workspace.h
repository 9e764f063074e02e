// Workspace: scratch buffers shared by the layers of one Net, grown on demand and reused
// across layers and calls, so hot paths do not allocate.
#pragma once
#include <cstddef>
#include <vector>

namespace caffe_lrp {

class Workspace {
 public:
  static constexpr int kSlots = 6;
  // A buffer of at least n floats in slot i (contents unspecified).
  float* Get(int slot, std::size_t n) {
    std::vector<float>& b = buffers_[slot];
    if (b.size() < n) b.resize(n);
    return b.data();
  }
  // Floats held per slot (their capacity), for the engine's memory accounting.
  std::size_t Floats(int slot) const { return buffers_[slot].capacity(); }
  void Release() {
    for (auto& b : buffers_) std::vector<float>().swap(b);
  }

 private:
  std::vector<float> buffers_[kSlots];
};

}  // namespace caffe_lrp
