// Pooling: MAX and AVE with Caffe's geometry (ceil or floor output size, the rule that a
// last window starting in the padding is dropped, windows clipped to the image, AVE
// divisor counting padding). MAX remembers its argmax for the relevance and gradient.
//
// The same class implements the layer type "SumPool", the stand-alone LRP Toolbox's sum
// pooling (not a Caffe type): y = scale * (sum of the window), scale = 1/sqrt(kh*kw) by
// default (the toolbox's normalisation), floor-mode output size, no padding. Parameters:
// kernel [h, w], stride [h, w], optional scale.
//
// For ONNX models three optional parameters: padEnd [h, w] (bottom/right padding when it differs
// from pad, which is then the top/left padding), excludePad (AVE divides by the pixels of
// the image inside the window, ONNX's count_include_pad = 0) and lastWindowInside (ceil mode
// drops a last window starting past the image and its top/left padding even when the pool
// has no padding; Caffe checks that only for padded pools).
#pragma once
#include <cstdint>
#include <vector>

#include "engine/layer.h"

namespace caffe_lrp {

class PoolingLayer : public Layer {
 public:
  explicit PoolingLayer(const LayerDef& def);
  void Reshape(const Blobs& bottom, const Blobs& top) override;
  void Forward(const Blobs& bottom, const Blobs& top, Workspace& ws) override;
  void BackwardGradient(const Blobs& bottom, const Blobs& top, Workspace& ws) override;
  void BackwardRelevance(const Blobs& bottom, const Blobs& top, const LayerRule& rule, Workspace& ws) override;
  void BackwardTraining(const Blobs& bottom, const Blobs& top, Workspace& ws) override;  // pooling_training.cc

 private:
  enum class Method { kMax, kAve, kSum };
  struct Window { int64_t h0, h1, w0, w1, divisor; };
  Window WindowAt(int64_t ph, int64_t pw) const;
  // One axis of a window: [begin, end) inside the image, and its extent in the padded input
  // (AVE's divisor is the product of the two axes' extents).
  struct Span { int64_t begin, end, padded; };
  static Span AxisSpan(int64_t o, int64_t kernel, int64_t stride, int64_t pad, int64_t pad_end, int64_t size, bool exclude_pad);
  static std::vector<Span> AxisSpans(int64_t outputs, int64_t kernel, int64_t stride, int64_t pad, int64_t pad_end, int64_t size,
                                     bool exclude_pad);
  int32_t SettleNearTie(int64_t plane, const float* x, const Span& r, const Span& c, float best, int32_t arg) const;
  void ProportionalRelevance(const Blob& bottom, const Blob& top, float* rx) const;
  // Visits every (plane, output position, window) with the window's inputs and R_out.
  template <typename F>
  void ForEachWindow(const Blob& bottom, const Blob& top, F&& f) const;
  void WinnerTakeAllRelevance(const Blob& bottom, const Blob& top, bool split_ties, float* rx) const;
  void FlatRelevance(const Blob& bottom, const Blob& top, float* rx) const;
  void EpsilonRelevance(const Blob& bottom, const Blob& top, const LayerRule& rule, float* rx) const;
  void AlphaBetaRelevance(const Blob& bottom, const Blob& top, const LayerRule& rule, float* rx) const;

  Method method_;
  bool is_max_, global_, ceil_mode_;
  float sum_scale_ = 1.0f;
  int64_t kh_, kw_, sh_, sw_, ph_, pw_;
  int64_t peh_ = 0, pew_ = 0;  // bottom/right padding (= ph_/pw_ unless padEnd is given)
  bool exclude_pad_ = false;
  bool last_window_inside_ = false;
  int64_t channels_ = 0, height_ = 0, width_ = 0, out_h_ = 0, out_w_ = 0;
  std::vector<int32_t> argmax_;  // MAX: flat index within the image plane, -1 if none
};

}  // namespace caffe_lrp
