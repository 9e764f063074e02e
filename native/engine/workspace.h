// Workspace: scratch buffers shared by the layers of one Net, grown on demand and reused
// across the layers of a pass, so hot paths do not allocate (Net decides when to free them).
#pragma once
#include <cstddef>
#include <memory>

namespace caffe_lrp {

class Workspace {
 public:
  static constexpr int kSlots = 6;
  // A buffer of at least n floats in slot i (contents unspecified). Growing allocates exactly
  // n floats, neither copied nor cleared: a vector's resize would double the capacity (a
  // slot that grows from 2.9 M to 3.9 M floats would keep 5.8 M) and touch every page.
  float* Get(int slot, std::size_t n) {
    Buffer& b = buffers_[slot];
    if (b.size < n) {
      b.data.reset();  // the old block goes first: the peak is the new size, not both
      b.size = 0;
      b.data.reset(new float[n]);
      b.size = n;
    }
    return b.data.get();
  }
  // Floats held per slot, for the engine's memory accounting.
  std::size_t Floats(int slot) const { return buffers_[slot].size; }
  void Release() {
    for (auto& b : buffers_) {
      b.data.reset();
      b.size = 0;
    }
  }

 private:
  struct Buffer {
    std::unique_ptr<float[]> data;
    std::size_t size = 0;
  };
  Buffer buffers_[kSlots];
};

}  // namespace caffe_lrp
