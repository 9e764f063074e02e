// Blob: a float32 tensor with Caffe's row-major N x C x H x W layout and two arrays:
// `data` (forward values, owned) and `diff` (relevance or gradient during a backward pass,
// memory the Net lends: blobs whose backward lifetimes do not overlap share it, see
// diff_plan.h).
#pragma once
#include <algorithm>
#include <string>
#include <vector>

#include "engine/shape.h"

namespace caffe_lrp {

class Blob {
 public:
  explicit Blob(std::string name) : name_(std::move(name)) {}

  const std::string& name() const { return name_; }
  const Shape& shape() const { return shape_; }
  int64_t shape(int axis) const { return shape_[CanonicalAxis(axis, shape_.size(), "blob '" + name_ + "'")]; }
  size_t rank() const { return shape_.size(); }
  int64_t count() const { return count_; }
  int64_t num() const { return shape_.empty() ? 1 : shape_[0]; }
  // Elements per image (everything after axis 0).
  int64_t per_image() const { return shape_.empty() ? 1 : count() / shape_[0]; }
  int64_t CountFrom(int axis) const { return CountRange(shape_, axis, shape_.size()); }
  int64_t CountTo(int axis) const { return CountRange(shape_, 0, axis); }

  // Sets the shape only; memory comes with Allocate(), so a net can add up what it needs
  // and refuse absurd sizes before anything is allocated.
  void Reshape(const Shape& shape) {
    count_ = Count(shape);
    shape_ = shape;
  }
  void Allocate() { data_.assign(static_cast<size_t>(count_), 0.0f); }
  bool allocated() const { return static_cast<int64_t>(data_.size()) == count_; }
  // The diff: count() floats the Net keeps alive (nullptr: none bound yet).
  void BindDiff(float* diff) { diff_ = diff; }
  bool has_diff() const { return diff_ != nullptr; }

  float* data() { return data_.data(); }
  const float* data() const { return data_.data(); }
  float* diff() { return diff_; }
  const float* diff() const { return diff_; }
  void ZeroDiff() { std::fill(diff_, diff_ + count_, 0.0f); }

 private:
  std::string name_;
  Shape shape_;
  int64_t count_ = 0;
  std::vector<float> data_;
  float* diff_ = nullptr;
};

using Blobs = std::vector<Blob*>;

}  // namespace caffe_lrp
