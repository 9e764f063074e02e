#include "engine/layers/structure_layers.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>

namespace caffe_lrp {
namespace {

void CopyData(const Blob& from, Blob& to) { std::copy(from.data(), from.data() + from.count(), to.data()); }
void CopyDiff(const Blob& from, Blob& to) { std::copy(from.diff(), from.diff() + from.count(), to.diff()); }

// Moves chunks between one "whole" blob and its "parts" along an axis.
// to_whole: parts -> whole (Concat forward, Slice backward), else whole -> parts.
void MoveAlongAxis(Blob& whole, const Blobs& parts, int axis, bool to_whole, bool use_diff) {
  const int64_t outer = whole.CountTo(axis), inner = whole.CountFrom(axis + 1), whole_axis = whole.shape(axis);
  int64_t offset = 0;
  for (Blob* part : parts) {
    const int64_t part_axis = part->shape(axis), chunk = part_axis * inner;
    for (int64_t o = 0; o < outer; ++o) {
      float* w = (use_diff ? whole.diff() : whole.data()) + (o * whole_axis + offset) * inner;
      float* p = (use_diff ? part->diff() : part->data()) + o * chunk;
      if (to_whole) std::memcpy(w, p, sizeof(float) * chunk);
      else std::memcpy(p, w, sizeof(float) * chunk);
    }
    offset += part_axis;
  }
}

}  // namespace

// ---- Split ----
void SplitLayer::Reshape(const Blobs& bottom, const Blobs& top) {
  for (Blob* t : top) t->Reshape(bottom[0]->shape());
}
void SplitLayer::Forward(const Blobs& bottom, const Blobs& top, Workspace&) {
  for (Blob* t : top) CopyData(*bottom[0], *t);
}
void SplitLayer::BackwardGradient(const Blobs& bottom, const Blobs& top, Workspace&) {
  Blob& b = *bottom[0];
  CopyDiff(*top[0], b);
  for (size_t i = 1; i < top.size(); ++i)
    for (int64_t j = 0; j < b.count(); ++j) b.diff()[j] += top[i]->diff()[j];
}
void SplitLayer::BackwardRelevance(const Blobs& bottom, const Blobs& top, const LayerRule&, Workspace& ws) {
  BackwardGradient(bottom, top, ws);
}

// ---- Concat ----
ConcatLayer::ConcatLayer(const LayerDef& def) : Layer(def) { axis_param_ = def.Int("axis", 1); }

void ConcatLayer::Reshape(const Blobs& bottom, const Blobs& top) {
  const Shape& first = bottom[0]->shape();
  axis_ = CanonicalAxis(axis_param_, first.size(), def_.Where());
  Shape out = first;
  out[axis_] = 0;
  for (Blob* b : bottom) {
    const Shape& s = b->shape();
    bool fits = s.size() == first.size();
    for (size_t i = 0; fits && i < s.size(); ++i) fits = static_cast<int>(i) == axis_ || s[i] == first[i];
    if (!fits)
      Fail("cannot concatenate '" + b->name() + "' (" + ShapeString(s) + ") with '" + bottom[0]->name() + "' (" +
           ShapeString(first) + ") along axis " + std::to_string(axis_));
    out[axis_] += s[axis_];
  }
  top[0]->Reshape(out);
}
void ConcatLayer::Forward(const Blobs& bottom, const Blobs& top, Workspace&) { MoveAlongAxis(*top[0], bottom, axis_, true, false); }
void ConcatLayer::BackwardGradient(const Blobs& bottom, const Blobs& top, Workspace&) { MoveAlongAxis(*top[0], bottom, axis_, false, true); }
void ConcatLayer::BackwardRelevance(const Blobs& bottom, const Blobs& top, const LayerRule&, Workspace&) {
  MoveAlongAxis(*top[0], bottom, axis_, false, true);
}

// ---- Slice ----
SliceLayer::SliceLayer(const LayerDef& def) : Layer(def) {
  axis_param_ = def.Int("axis", 1);
  slice_points_ = def.IntList("slicePoints");
}

void SliceLayer::Reshape(const Blobs& bottom, const Blobs& top) {
  const Shape& in = bottom[0]->shape();
  axis_ = CanonicalAxis(axis_param_, in.size(), def_.Where());
  const int64_t total = in[axis_];
  std::vector<int64_t> sizes;
  if (!slice_points_.empty()) {
    if (slice_points_.size() + 1 != top.size()) Fail("needs " + std::to_string(top.size() - 1) + " slice points for " + std::to_string(top.size()) + " tops");
    int64_t prev = 0;
    for (int sp : slice_points_) {
      if (sp <= prev || sp >= total) Fail("slice points must increase strictly within (0, " + std::to_string(total) + ")");
      sizes.push_back(sp - prev);
      prev = sp;
    }
    sizes.push_back(total - prev);
  } else {
    if (total % static_cast<int64_t>(top.size()) != 0)
      Fail("axis size " + std::to_string(total) + " does not split evenly into " + std::to_string(top.size()) + " tops");
    sizes.assign(top.size(), total / static_cast<int64_t>(top.size()));
  }
  for (size_t i = 0; i < top.size(); ++i) {
    Shape s = in;
    s[axis_] = sizes[i];
    top[i]->Reshape(s);
  }
}
void SliceLayer::Forward(const Blobs& bottom, const Blobs& top, Workspace&) { MoveAlongAxis(*bottom[0], top, axis_, false, false); }
void SliceLayer::BackwardGradient(const Blobs& bottom, const Blobs& top, Workspace&) { MoveAlongAxis(*bottom[0], top, axis_, true, true); }
void SliceLayer::BackwardRelevance(const Blobs& bottom, const Blobs& top, const LayerRule&, Workspace&) {
  MoveAlongAxis(*bottom[0], top, axis_, true, true);
}

// ---- Flatten / Reshape ----
void ReshapeLikeLayer::Forward(const Blobs& bottom, const Blobs& top, Workspace&) { CopyData(*bottom[0], *top[0]); }
void ReshapeLikeLayer::BackwardGradient(const Blobs& bottom, const Blobs& top, Workspace&) { CopyDiff(*top[0], *bottom[0]); }
void ReshapeLikeLayer::BackwardRelevance(const Blobs& bottom, const Blobs& top, const LayerRule&, Workspace&) {
  CopyDiff(*top[0], *bottom[0]);
}

void FlattenLayer::Reshape(const Blobs& bottom, const Blobs& top) {
  const Shape& in = bottom[0]->shape();
  const int start = CanonicalAxis(def_.Int("axis", 1), in.size(), def_.Where());
  const int end = CanonicalAxis(def_.Int("endAxis", -1), in.size(), def_.Where());
  if (end < start) Fail("end_axis is before axis");
  Shape out(in.begin(), in.begin() + start);
  out.push_back(CountRange(in, start, end + 1));
  out.insert(out.end(), in.begin() + end + 1, in.end());
  top[0]->Reshape(out);
}

void ReshapeLayer::Reshape(const Blobs& bottom, const Blobs& top) {
  const Shape& in = bottom[0]->shape();
  const int rank = static_cast<int>(in.size());
  int axis = def_.Int("axis", 0);
  if (axis < -rank - 1 || axis > rank) Fail("axis " + std::to_string(axis) + " is out of range");
  const int start = axis >= 0 ? axis : rank + axis + 1;
  const int num_axes = def_.Int("numAxes", -1);
  const int end = num_axes == -1 ? rank : start + num_axes;
  if (num_axes < -1 || end > rank) Fail("num_axes " + std::to_string(num_axes) + " is out of range");
  const std::vector<int> spec = def_.IntList("shape");
  Shape out(in.begin(), in.begin() + start);
  int infer = -1;
  for (size_t i = 0; i < spec.size(); ++i) {
    if (spec[i] == 0) {
      if (start + static_cast<int>(i) >= rank) Fail("shape dim 0 copies an axis the input does not have");
      out.push_back(in[start + i]);
    } else if (spec[i] == -1) {
      if (infer >= 0) Fail("at most one shape dim may be -1");
      infer = static_cast<int>(out.size());
      out.push_back(1);
    } else if (spec[i] > 0) {
      out.push_back(spec[i]);
    } else {
      Fail("shape dim " + std::to_string(spec[i]) + " is invalid");
    }
  }
  out.insert(out.end(), in.begin() + end, in.end());
  const int64_t total = Count(in), known = Count(out);
  if (infer >= 0) {
    if (total % known != 0) Fail("cannot reshape " + ShapeString(in) + " to " + ShapeString(out) + " with an inferred dim");
    out[infer] = total / known;
  }
  if (Count(out) != total) Fail("cannot reshape " + ShapeString(in) + " (" + std::to_string(total) + " values) to " + ShapeString(out));
  top[0]->Reshape(out);
}

// ---- Permute ----
PermuteLayer::PermuteLayer(const LayerDef& def) : Layer(def) { order_ = def.IntList("order"); }

void PermuteLayer::Reshape(const Blobs& bottom, const Blobs& top) {
  const Shape& in = bottom[0]->shape();
  const int rank = static_cast<int>(in.size());
  std::vector<bool> used(rank, false);
  resolved_.clear();
  for (int a : order_) {
    if (a < 0 || a >= rank || used[a]) Fail("order must list distinct axes below " + std::to_string(rank));
    used[a] = true;
    resolved_.push_back(a);
  }
  for (int a = 0; a < rank; ++a) if (!used[a]) resolved_.push_back(a);
  Shape out(rank);
  for (int i = 0; i < rank; ++i) out[i] = in[resolved_[i]];
  top[0]->Reshape(out);
  source_.clear();  // rebuilt by the next Forward, after the net has checked its memory budget
}

// For each top element, the index of its bottom element.
void PermuteLayer::BuildSource(const Shape& in, const Shape& out) {
  const int rank = static_cast<int>(in.size());
  std::vector<int64_t> in_stride(rank, 1);
  for (int i = rank - 2; i >= 0; --i) in_stride[i] = in_stride[i + 1] * in[i + 1];
  source_.assign(static_cast<size_t>(Count(out)), 0);
  std::vector<int64_t> idx(rank, 0);
  for (int64_t t = 0; t < static_cast<int64_t>(source_.size()); ++t) {
    int64_t src = 0;
    for (int i = 0; i < rank; ++i) src += idx[i] * in_stride[resolved_[i]];
    source_[t] = src;
    for (int i = rank - 1; i >= 0; --i) {  // advance the top index odometer
      if (++idx[i] < out[i]) break;
      idx[i] = 0;
    }
  }
}

void PermuteLayer::Forward(const Blobs& bottom, const Blobs& top, Workspace&) {
  if (source_.empty()) BuildSource(bottom[0]->shape(), top[0]->shape());
  for (size_t t = 0; t < source_.size(); ++t) top[0]->data()[t] = bottom[0]->data()[source_[t]];
}
void PermuteLayer::BackwardGradient(const Blobs& bottom, const Blobs& top, Workspace&) {
  for (size_t t = 0; t < source_.size(); ++t) bottom[0]->diff()[source_[t]] = top[0]->diff()[t];
}
void PermuteLayer::BackwardRelevance(const Blobs& bottom, const Blobs& top, const LayerRule&, Workspace& ws) {
  BackwardGradient(bottom, top, ws);
}

// ---- Softmax ----
SoftmaxLayer::SoftmaxLayer(const LayerDef& def) : Layer(def) {
  axis_param_ = def.Int("axis", 1);
  log_ = def.Bool("log", false);
}

void SoftmaxLayer::Reshape(const Blobs& bottom, const Blobs& top) {
  const Blob& b = *bottom[0];
  const int axis = CanonicalAxis(axis_param_, b.rank(), def_.Where());
  outer_ = b.CountTo(axis);
  channels_ = b.shape(axis);
  inner_ = b.CountFrom(axis + 1);
  top[0]->Reshape(b.shape());
}

void SoftmaxLayer::Forward(const Blobs& bottom, const Blobs& top, Workspace&) {
  for (int64_t o = 0; o < outer_; ++o)
    for (int64_t i = 0; i < inner_; ++i) {
      const float* x = bottom[0]->data() + o * channels_ * inner_ + i;
      float* y = top[0]->data() + o * channels_ * inner_ + i;
      float mx = x[0];
      for (int64_t c = 1; c < channels_; ++c) mx = std::max(mx, x[c * inner_]);
      float sum = 0;
      for (int64_t c = 0; c < channels_; ++c) sum += (y[c * inner_] = std::exp(x[c * inner_] - mx));
      if (log_) {
        // log softmax = x - max - log(sum): no log of a rounded-to-zero probability.
        const float shift = mx + std::log(sum);
        for (int64_t c = 0; c < channels_; ++c) y[c * inner_] = x[c * inner_] - shift;
        continue;
      }
      for (int64_t c = 0; c < channels_; ++c) y[c * inner_] /= sum;
    }
}

void SoftmaxLayer::BackwardGradient(const Blobs& bottom, const Blobs& top, Workspace&) {
  for (int64_t o = 0; o < outer_; ++o)
    for (int64_t i = 0; i < inner_; ++i) {
      const int64_t base = o * channels_ * inner_ + i;
      const float* y = top[0]->data() + base;
      const float* g = top[0]->diff() + base;
      float* gx = bottom[0]->diff() + base;
      if (log_) {  // d/dx_i of log softmax_j = [i == j] - softmax_i
        float total = 0;
        for (int64_t c = 0; c < channels_; ++c) total += g[c * inner_];
        for (int64_t c = 0; c < channels_; ++c) gx[c * inner_] = g[c * inner_] - std::exp(y[c * inner_]) * total;
        continue;
      }
      float dot = 0;
      for (int64_t c = 0; c < channels_; ++c) dot += g[c * inner_] * y[c * inner_];
      for (int64_t c = 0; c < channels_; ++c) gx[c * inner_] = (g[c * inner_] - dot) * y[c * inner_];
    }
}

void SoftmaxLayer::BackwardRelevance(const Blobs& bottom, const Blobs& top, const LayerRule&, Workspace&) {
  const float* y = top[0]->data();
  float* r = bottom[0]->diff();
  // A log softmax gives the probabilities too (its output is their logarithm).
  if (log_) std::transform(y, y + top[0]->count(), r, [](float v) { return std::exp(v); });
  else std::copy(y, y + top[0]->count(), r);
}

}  // namespace caffe_lrp
