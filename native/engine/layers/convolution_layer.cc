#include "engine/layers/convolution_layer.h"

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "engine/layers/depthwise_convolution.h"
#include "engine/relevance/linear_rules.h"
#include "engine/relevance/zennit_rules.h"

namespace caffe_lrp {

ConvolutionLayer::ConvolutionLayer(const LayerDef& def) : Layer(def) {
  num_output_ = def.Int("numOutput");
  group_ = def.Int("group", 1);
  bias_term_ = def.Bool("biasTerm", true);
  auto k = def.Pair("kernel"), s = def.Pair("stride"), p = def.Pair("pad");
  auto d = def.Has("dilation") ? def.Pair("dilation") : std::make_pair(1, 1);
  // ONNX's asymmetric pads: padEnd is the bottom/right padding, pad then the top/left one.
  auto pe = def.Has("padEnd") ? def.Pair("padEnd") : p;
  if (def.Int("axis", 1) != 1) Fail("only axis 1 (channels) is supported");
  if (num_output_ <= 0) Fail("num_output must be positive");
  if (group_ <= 0 || num_output_ % group_ != 0) Fail("group must divide num_output");
  if (k.first <= 0 || k.second <= 0) Fail("kernel size must be positive");
  if (s.first <= 0 || s.second <= 0) Fail("stride must be positive");
  if (p.first < 0 || p.second < 0) Fail("pad must not be negative");
  if (pe.first < 0 || pe.second < 0) Fail("padEnd must not be negative");
  if (d.first <= 0 || d.second <= 0) Fail("dilation must be positive");
  geom_.kernel_h = k.first; geom_.kernel_w = k.second;
  geom_.stride_h = s.first; geom_.stride_w = s.second;
  geom_.pad_h = p.first; geom_.pad_w = p.second;
  geom_.pad_b = pe.first; geom_.pad_r = pe.second;
  geom_.dilation_h = d.first; geom_.dilation_w = d.second;
}

void ConvolutionLayer::CheckWeights() const {
  ExpectBlobCount(bias_term_ ? 2 : 1);
  const Shape& w = def_.blobs[0].shape;
  if (w.size() != 4 || w[0] != num_output_ || w[2] != geom_.kernel_h || w[3] != geom_.kernel_w)
    Fail("weight blob has shape " + ShapeString(w) + ", expected " + std::to_string(num_output_) + "x(C/group)x" +
         std::to_string(geom_.kernel_h) + "x" + std::to_string(geom_.kernel_w));
  if (bias_term_) ExpectBlobShape(1, {num_output_});
}

void ConvolutionLayer::Reshape(const Blobs& bottom, const Blobs& top) {
  const Blob& b = *bottom[0];
  if (b.rank() != 4) Fail("input '" + b.name() + "' must be 4-D (N x C x H x W), got " + ShapeString(b.shape()));
  geom_.channels = b.shape(1); geom_.height = b.shape(2); geom_.width = b.shape(3);
  if (geom_.channels % group_ != 0) Fail("group " + std::to_string(group_) + " does not divide the " + std::to_string(geom_.channels) + " input channels");
  const int64_t cg = geom_.channels / group_;
  if (def_.blobs[0].shape[1] != cg)
    Fail("weights expect " + std::to_string(def_.blobs[0].shape[1]) + " channels per group but the input has " + std::to_string(cg));
  const int64_t ext_h = geom_.dilation_h * (geom_.kernel_h - 1) + 1, ext_w = geom_.dilation_w * (geom_.kernel_w - 1) + 1;
  const int64_t padded_h = geom_.height + geom_.pad_h + geom_.pad_b, padded_w = geom_.width + geom_.pad_w + geom_.pad_r;
  if (padded_h < ext_h || padded_w < ext_w)
    Fail("kernel " + std::to_string(ext_h) + "x" + std::to_string(ext_w) + " is larger than the padded input " +
         std::to_string(padded_h) + "x" + std::to_string(padded_w));
  geom_.out_h = (padded_h - ext_h) / geom_.stride_h + 1;
  geom_.out_w = (padded_w - ext_w) / geom_.stride_w + 1;
  top[0]->Reshape({b.num(), num_output_, geom_.out_h, geom_.out_w});
}

// Images are processed in blocks: one image per block when an image has many output
// positions (its column matrix is large enough for an efficient sgemm, and its Z/R are
// the blob's own memory, so no layout copies), the whole batch for small outputs (one
// wide sgemm instead of many thin ones). Within a block, groups go one at a time: a
// group's columns are made just before its product (and scattered back just after it),
// so the column buffer is one group's size and still in cache.
int64_t ConvolutionLayer::BlockSize(int64_t n) const { return geom_.positions() >= kPerImagePositions ? 1 : n; }

ConvGeometry ConvolutionLayer::GroupGeometry() const {
  ConvGeometry g = geom_;
  g.channels = geom_.channels / group_;
  return g;
}

void ConvolutionLayer::Forward(const Blobs& bottom, const Blobs& top, Workspace& ws) {
  if (Depthwise()) {
    DepthwiseForward(bottom[0]->data(), geom_, bottom[0]->num(), def_.blobs[0].data.data(), bias_term_ ? def_.blobs[1].data.data() : nullptr,
                     top[0]->data());
    return;
  }
  const int64_t n = bottom[0]->num(), p = geom_.positions(), block = BlockSize(n);
  const int64_t kg = geom_.taps() / group_, mg = num_output_ / group_;
  const ConvGeometry gg = GroupGeometry();
  const int64_t image_size = geom_.channels * geom_.height * geom_.width, group_size = gg.channels * geom_.height * geom_.width;
  const float* w = def_.blobs[0].data.data();
  const float* b = bias_term_ ? def_.blobs[1].data.data() : nullptr;
  for (int64_t first = 0; first < n; first += block) {
    const int64_t count = std::min(block, n - first), cp = count * p;
    float* out = count == 1 ? top[0]->data() + first * num_output_ * p : ws.Get(1, static_cast<size_t>(num_output_ * cp));
    // The output starts as the bias and the products add onto it (beta 1): OpenBLAS would
    // otherwise make a pass to clear it and we another to add the bias.
    if (b) FillRows(b, num_output_, cp, out);
    float* cols = ws.Get(0, static_cast<size_t>(kg * cp));
    const float* images = bottom[0]->data() + first * image_size;
    for (int g = 0; g < group_; ++g) {
      Im2Col(images + g * group_size, gg, cols, cp, count, image_size);
      Gemm(false, false, mg, cp, kg, 1.0f, w + g * mg * kg, kg, cols, cp, b ? 1.0f : 0.0f, out + g * mg * cp, cp);
    }
    if (count > 1) ChannelMajorToBatch(out, count, num_output_, p, top[0]->data() + first * num_output_ * p);
  }
}

// One output as a float64 sum over its taps (and the bias) of the stored float inputs and
// weights: what sgemm computes, without its float32 rounding.
bool ConvolutionLayer::ExactTopValue(const Blobs& bottom, int64_t image, int64_t index, double* value) const {
  const int64_t p = geom_.positions(), c = index / p, y = (index % p) / geom_.out_w, x = index % geom_.out_w;
  if (image < 0 || image >= bottom[0]->num() || c < 0 || c >= num_output_) return false;
  const int64_t mg = num_output_ / group_, cg = geom_.channels / group_, g = c / mg;
  const float* w = def_.blobs[0].data.data() + c * cg * geom_.kernel_h * geom_.kernel_w;
  const float* in = bottom[0]->data() + image * bottom[0]->per_image();
  double sum = bias_term_ ? static_cast<double>(def_.blobs[1].data.data()[c]) : 0.0;
  for (int64_t ci = 0; ci < cg; ++ci)
    for (int64_t kh = 0; kh < geom_.kernel_h; ++kh) {
      const int64_t iy = y * geom_.stride_h - geom_.pad_h + kh * geom_.dilation_h;
      if (iy < 0 || iy >= geom_.height) continue;
      for (int64_t kw = 0; kw < geom_.kernel_w; ++kw) {
        const int64_t ix = x * geom_.stride_w - geom_.pad_w + kw * geom_.dilation_w;
        if (ix < 0 || ix >= geom_.width) continue;
        const float wv = w[(ci * geom_.kernel_h + kh) * geom_.kernel_w + kw];
        sum += static_cast<double>(wv) * in[((g * cg + ci) * geom_.height + iy) * geom_.width + ix];
      }
    }
  *value = sum;
  return true;
}

void ConvolutionLayer::BackwardGradient(const Blobs& bottom, const Blobs& top, Workspace& ws) {
  if (Depthwise()) {
    DepthwiseTransposed(top[0]->diff(), geom_, bottom[0]->num(), def_.blobs[0].data.data(), bottom[0]->diff());
    return;
  }
  const int64_t n = bottom[0]->num(), p = geom_.positions(), block = BlockSize(n);
  const int64_t kg = geom_.taps() / group_, mg = num_output_ / group_;
  const ConvGeometry gg = GroupGeometry();
  const int64_t image_size = geom_.channels * geom_.height * geom_.width, group_size = gg.channels * geom_.height * geom_.width;
  const float* w = def_.blobs[0].data.data();
  for (int64_t first = 0; first < n; first += block) {
    const int64_t count = std::min(block, n - first), cp = count * p;
    const float* g = top[0]->diff() + first * num_output_ * p;
    if (count > 1) {
      float* gm = ws.Get(1, static_cast<size_t>(num_output_ * cp));
      BatchToChannelMajor(g, count, num_output_, p, gm);
      g = gm;
    }
    float* diff = bottom[0]->diff() + first * image_size;
    std::fill(diff, diff + count * image_size, 0.0f);
    float* cols = ws.Get(0, static_cast<size_t>(kg * cp));
    for (int grp = 0; grp < group_; ++grp) {
      Gemm(true, false, kg, cp, mg, 1.0f, w + grp * mg * kg, kg, g + grp * mg * cp, cp, 0.0f, cols, cp);
      Col2Im(cols, cp, gg, diff + grp * group_size, count, image_size);
    }
  }
}

// The column form (all groups, group-major) of `count` images whose channel c is the
// constant values[c] (values of size 1: one value for every channel); 0 at padding.
std::vector<float> ConvolutionLayer::ConstantColumns(const std::vector<float>& values, int64_t count, int64_t cp, const char* what) const {
  const int64_t plane = geom_.height * geom_.width, image_size = geom_.channels * plane;
  if (values.size() != 1 && static_cast<int64_t>(values.size()) != geom_.channels)
    Fail(std::string("zennit rule: '") + what + "' has " + std::to_string(values.size()) + " values; give one or one per input channel (" +
         std::to_string(geom_.channels) + ")");
  std::vector<float> images(static_cast<size_t>(count * image_size));
  for (int64_t n = 0; n < count; ++n)
    for (int64_t c = 0; c < geom_.channels; ++c)
      std::fill_n(images.begin() + n * image_size + c * plane, plane, values.size() == 1 ? values[0] : values[c]);
  const ConvGeometry gg = GroupGeometry();
  const int64_t kg = geom_.taps() / group_, group_size = gg.channels * plane;
  std::vector<float> cols(static_cast<size_t>(group_ * kg * cp));
  for (int g = 0; g < group_; ++g) Im2Col(images.data() + g * group_size, gg, cols.data() + g * kg * cp, cp, count, image_size);
  return cols;
}

void ConvolutionLayer::BackwardRelevance(const Blobs& bottom, const Blobs& top, const LayerRule& rule, Workspace& ws) {
  if (Depthwise() && rule.linear == LinearRule::kEpsilon) {
    // epsilon: R_x = x * (W^T S) with S = R / (z +- eps), as Epsilon() in linear_rules.cc;
    // image by image, so that S needs one image's outputs of workspace.
    const int64_t per_out = top[0]->per_image(), per_in = bottom[0]->per_image();
    float* s = ws.Get(0, static_cast<size_t>(per_out));
    for (int64_t img = 0; img < bottom[0]->num(); ++img) {
      EpsilonQuotients(rule, top[0]->diff() + img * per_out, top[0]->data() + img * per_out, per_out, s);
      float* diff = bottom[0]->diff() + img * per_in;
      DepthwiseTransposed(s, geom_, 1, def_.blobs[0].data.data(), diff);
      MultiplyInPlace(diff, bottom[0]->data() + img * per_in, per_in);
    }
    return;
  }
  const int64_t n = bottom[0]->num(), p = geom_.positions(), block = BlockSize(n);
  const int64_t kg = geom_.taps() / group_, mg = num_output_ / group_;
  const ConvGeometry gg = GroupGeometry();
  const int64_t image_size = geom_.channels * geom_.height * geom_.width, group_size = gg.channels * geom_.height * geom_.width;
  const float* w = def_.blobs[0].data.data();
  const float* b = bias_term_ ? def_.blobs[1].data.data() : nullptr;
  const bool ab = rule.linear == LinearRule::kAlphaBeta;
  if (ab) signed_.Prepare(w, static_cast<int64_t>(def_.blobs[0].data.size()), group_);
  for (int64_t first = 0; first < n; first += block) {
    const int64_t count = std::min(block, n - first), cp = count * p;
    // Z (forward output incl. bias) and R, channel-major over the block's images.
    const float* z = top[0]->data() + first * num_output_ * p;
    const float* r = top[0]->diff() + first * num_output_ * p;
    if (count > 1) {
      float* zr = ws.Get(1, static_cast<size_t>(2 * num_output_ * cp));
      BatchToChannelMajor(z, count, num_output_, p, zr);
      BatchToChannelMajor(r, count, num_output_, p, zr + num_output_ * cp);
      z = zr;
      r = zr + num_output_ * cp;
    }
    // Only alpha-beta looks at the inputs in column form: epsilon applies x after col2im,
    // and flat, w^2 and the transposed rule do not use x at all.
    const bool zennit = rule.linear == LinearRule::kZennit;
    float* cols = ab || zennit ? ws.Get(0, static_cast<size_t>(kg * cp)) : nullptr;
    // Zennit's padding-aware rules: the column form of constant images (ones, ZBox's bounds).
    std::vector<float> ones_cols, low_cols, high_cols;
    if (ZennitNeedsOnes(rule)) ones_cols = ConstantColumns(std::vector<float>{1.0f}, count, cp, "ones");
    if (ZennitNeedsBounds(rule)) {
      low_cols = ConstantColumns(rule.low, count, cp, "low");
      high_cols = ConstantColumns(rule.high, count, cp, "high");
    }
    // Slot 0 holds the forward pass's columns; rules that do not read x in column form put
    // their relevance columns there, so that a net keeps one column buffer, not two.
    float* rcols = ws.Get(cols != nullptr ? 2 : 0, static_cast<size_t>(kg * cp));
    const float* xb = bottom[0]->data() + first * image_size;
    float* diff = bottom[0]->diff() + first * image_size;
    std::fill(diff, diff + count * image_size, 0.0f);
    // The input factor x can wait until after col2im when every group surely defers it.
    const bool defer = rule.linear == LinearRule::kEpsilon ||
                       (ab && !(rule.bias_treatment == 1 && b) && std::none_of(xb, xb + count * image_size, [](float v) { return v < 0; }));
    bool deferred = false;
    for (int g = 0; g < group_; ++g) {
      if (cols) Im2Col(xb + g * group_size, gg, cols, cp, count, image_size);
      LinearProblem lp;
      lp.m = mg; lp.k = kg; lp.p = cp;
      lp.w = w + g * mg * kg;
      lp.x = cols;
      lp.z = z + g * mg * cp;
      // The original's alpha-beta reads group 0's biases for every group (compat only).
      const bool group0_bias = rule.compat_group_bias && ab;
      lp.bias = b ? (group0_bias ? b : b + g * mg) : nullptr;
      lp.z_bias = b ? b + g * mg : nullptr;
      lp.r = r + g * mg * cp;
      lp.rx = rcols;
      if (ab) {
        lp.w_pos = signed_.pos(g);
        lp.w_neg = signed_.neg(g);
      }
      lp.flat_divisor = rule.flat_over_depth ? static_cast<double>(kg) : static_cast<double>(geom_.kernel_h * geom_.kernel_w);
      lp.may_defer_input_factor = defer;
      const int64_t group_cols = g * kg * cp;
      if (!ones_cols.empty()) lp.ones = ones_cols.data() + group_cols;
      if (!low_cols.empty()) {
        lp.low = low_cols.data() + group_cols;
        lp.high = high_cols.data() + group_cols;
      }
      deferred = ApplyLinearRule(rule, lp, ws);
      if (deferred != defer) Fail("internal: groups disagree on the deferred input factor");
      Col2Im(rcols, cp, gg, diff + g * group_size, count, image_size);
    }
    if (deferred) MultiplyInPlace(diff, xb, count * image_size);
  }
}

}  // namespace caffe_lrp
