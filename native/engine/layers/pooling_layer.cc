#include "engine/layers/pooling_layer.h"

#include <algorithm>
#include <cfloat>
#include <climits>
#include <cmath>

#include "engine/math.h"

#include "engine/relevance/linear_rules.h"

namespace caffe_lrp {

// Max pooling: inputs within this fraction of the window's maximum (16 ulps of float32) are
// compared again in exact arithmetic (SettleNearTie).
constexpr float kNearTie = 0x1p-19f;

PoolingLayer::PoolingLayer(const LayerDef& def) : Layer(def) {
  if (def.type == "SumPool") {
    method_ = Method::kSum;
    is_max_ = global_ = ceil_mode_ = false;
    auto k = def.Pair("kernel"), s = def.Pair("stride");
    kh_ = k.first; kw_ = k.second; sh_ = s.first; sw_ = s.second; ph_ = pw_ = peh_ = pew_ = 0;
    if (kh_ <= 0 || kw_ <= 0) Fail("kernel size must be positive");
    if (sh_ <= 0 || sw_ <= 0) Fail("stride must be positive");
    const double scale = def.Number("scale", 1.0 / std::sqrt(static_cast<double>(kh_ * kw_)));
    if (!std::isfinite(scale)) Fail("scale must be finite");
    sum_scale_ = static_cast<float>(scale);
    return;
  }
  const std::string pool = def.String("pool", "MAX");
  if (pool == "STOCHASTIC") Fail("STOCHASTIC pooling is not supported (MAX and AVE are)");
  if (pool != "MAX" && pool != "AVE") Fail("unknown pooling method '" + pool + "'");
  is_max_ = pool == "MAX";
  method_ = is_max_ ? Method::kMax : Method::kAve;
  global_ = def.Bool("globalPooling", false);
  ceil_mode_ = def.String("roundMode", "CEIL") != "FLOOR";
  auto k = global_ && !def.Has("kernel") ? std::make_pair(1, 1) : def.Pair("kernel");
  auto s = def.Has("stride") ? def.Pair("stride") : std::make_pair(1, 1);
  auto p = def.Has("pad") ? def.Pair("pad") : std::make_pair(0, 0);
  kh_ = k.first; kw_ = k.second; sh_ = s.first; sw_ = s.second; ph_ = p.first; pw_ = p.second;
  auto pe = def.Has("padEnd") ? def.Pair("padEnd") : p;
  peh_ = pe.first; pew_ = pe.second;
  exclude_pad_ = def.Bool("excludePad", false);
  last_window_inside_ = def.Bool("lastWindowInside", false);
  if (peh_ < 0 || pew_ < 0) Fail("padEnd must not be negative");
  if (!global_ && (peh_ >= kh_ || pew_ >= kw_)) Fail("padEnd must be smaller than the kernel");
  if (!global_ && (kh_ <= 0 || kw_ <= 0)) Fail("kernel size must be positive");
  if (sh_ <= 0 || sw_ <= 0) Fail("stride must be positive");
  if (ph_ < 0 || pw_ < 0) Fail("pad must not be negative");
  if (!global_ && (ph_ >= kh_ || pw_ >= kw_)) Fail("pad must be smaller than the kernel");
}

void PoolingLayer::Reshape(const Blobs& bottom, const Blobs& top) {
  const Blob& b = *bottom[0];
  if (b.rank() != 4) Fail("input '" + b.name() + "' must be 4-D (N x C x H x W), got " + ShapeString(b.shape()));
  channels_ = b.shape(1); height_ = b.shape(2); width_ = b.shape(3);
  if (global_) {
    kh_ = height_; kw_ = width_; sh_ = sw_ = 1; ph_ = pw_ = peh_ = pew_ = 0;
  }
  if (height_ + ph_ + peh_ < kh_ || width_ + pw_ + pew_ < kw_)
    Fail("kernel " + std::to_string(kh_) + "x" + std::to_string(kw_) + " is larger than the padded input " +
         std::to_string(height_ + ph_ + peh_) + "x" + std::to_string(width_ + pw_ + pew_));
  auto out_size = [&](int64_t in, int64_t k, int64_t s) {
    const double steps = static_cast<double>(in - k) / static_cast<double>(s);
    return static_cast<int64_t>(ceil_mode_ ? std::ceil(steps) : std::floor(steps)) + 1;
  };
  out_h_ = out_size(height_ + ph_ + peh_, kh_, sh_);
  out_w_ = out_size(width_ + pw_ + pew_, kw_, sw_);
  // Caffe: the last window must start inside the image (or its left/top padding), checked
  // only when the pool is padded; ONNX (lastWindowInside) checks it on every ceil-mode pool.
  // Floor mode never has such a window (padding is smaller than the kernel).
  if (ph_ > 0 || pw_ > 0 || peh_ > 0 || pew_ > 0 || last_window_inside_) {
    if ((out_h_ - 1) * sh_ >= height_ + ph_) --out_h_;
    if ((out_w_ - 1) * sw_ >= width_ + pw_) --out_w_;
  }
  if (height_ * width_ > INT32_MAX) Fail("an input plane of " + std::to_string(height_) + "x" + std::to_string(width_) + " is too large to pool");
  top[0]->Reshape({b.num(), channels_, out_h_, out_w_});
}

PoolingLayer::Span PoolingLayer::AxisSpan(int64_t o, int64_t kernel, int64_t stride, int64_t pad, int64_t pad_end, int64_t size,
                                          bool exclude_pad) {
  const int64_t start = o * stride - pad;
  // AVE divides by the window size clipped to the padded input, before clipping to the image
  // (or, with exclude_pad, by the part inside the image).
  const int64_t stop = std::min(start + kernel, size + pad_end);
  const int64_t begin = std::max<int64_t>(start, 0), end = std::min(stop, size);
  return {begin, end, exclude_pad ? end - begin : stop - start};
}

std::vector<PoolingLayer::Span> PoolingLayer::AxisSpans(int64_t outputs, int64_t kernel, int64_t stride, int64_t pad, int64_t pad_end,
                                                        int64_t size, bool exclude_pad) {
  std::vector<Span> spans(static_cast<size_t>(outputs));
  for (int64_t o = 0; o < outputs; ++o) spans[o] = AxisSpan(o, kernel, stride, pad, pad_end, size, exclude_pad);
  return spans;
}

PoolingLayer::Window PoolingLayer::WindowAt(int64_t ph, int64_t pw) const {
  const Span r = AxisSpan(ph, kh_, sh_, ph_, peh_, height_, exclude_pad_), c = AxisSpan(pw, kw_, sw_, pw_, pew_, width_, exclude_pad_);
  return {r.begin, r.end, c.begin, c.end, r.padded * c.padded};
}

void PoolingLayer::Forward(const Blobs& bottom, const Blobs& top, Workspace&) {
  if (is_max_) argmax_.resize(static_cast<size_t>(top[0]->count()));
  const int64_t planes = bottom[0]->num() * channels_, in_plane = height_ * width_, out_plane = out_h_ * out_w_;
  // Windows are separable: their rows depend on the output row only, their columns on the
  // output column only.
  const std::vector<Span> rows = AxisSpans(out_h_, kh_, sh_, ph_, peh_, height_, exclude_pad_),
                          cols = AxisSpans(out_w_, kw_, sw_, pw_, pew_, width_, exclude_pad_);
  // Planes (image x channel) are independent.
#pragma omp parallel for schedule(static) if (planes * out_plane > kParallelGrain)
  for (int64_t pl = 0; pl < planes; ++pl) {
    const float* x = bottom[0]->data() + pl * in_plane;
    float* y = top[0]->data() + pl * out_plane;
    int32_t* arg_out = is_max_ ? argmax_.data() + pl * out_plane : nullptr;
    for (int64_t oh = 0; oh < out_h_; ++oh) {
      const Span r = rows[oh];
      for (int64_t ow = 0; ow < out_w_; ++ow) {
        const Span c = cols[ow];
        const int64_t o = oh * out_w_ + ow;
        if (is_max_) {
          // Selects, not branches: which input wins is data-dependent and would mispredict.
          // Strictly greater keeps the first maximum in row-major order (and skips NaN).
          float best = -FLT_MAX;
          int32_t arg = -1;
          for (int64_t h = r.begin; h < r.end; ++h)
            for (int64_t w = c.begin; w < c.end; ++w) {
              const float v = x[h * width_ + w];
              const bool better = v > best;
              best = better ? v : best;
              arg = better ? static_cast<int32_t>(h * width_ + w) : arg;
            }
          if (arg >= 0 && best > 0) arg = SettleNearTie(pl, x, r, c, best, arg);
          y[o] = best;
          arg_out[o] = arg;
        } else {
          float sum = 0;
          for (int64_t h = r.begin; h < r.end; ++h)
            for (int64_t w = c.begin; w < c.end; ++w) sum += x[h * width_ + w];
          y[o] = method_ == Method::kSum ? sum * sum_scale_ : sum / static_cast<float>(r.padded * c.padded);
        }
      }
    }
  }
}

// Max pooling's winner, where float32 cannot tell: inputs a few ulps below the maximum may
// be the larger ones in exact arithmetic (the layer below rounded them, and a different BLAS
// kernel or thread count rounds them the other way), so such candidates are compared by
// their exact values when the layer below can give them (a convolution, through ReLU,
// Identity, Dropout or Split). Exact ties keep the first in row-major order. Windows
// without such candidates (nearly all) cost one comparison each.
int32_t PoolingLayer::SettleNearTie(int64_t plane, const float* x, const Span& r, const Span& c, float best, int32_t arg) const {
  const float floor = best - best * kNearTie;
  int candidates = 0;
  for (int64_t h = r.begin; h < r.end; ++h)
    for (int64_t w = c.begin; w < c.end; ++w) candidates += x[h * width_ + w] >= floor;
  if (candidates < 2) return arg;
  const int64_t image = plane / channels_, base = (plane % channels_) * height_ * width_;
  double exact_best = 0;
  int32_t winner = -1;
  for (int64_t h = r.begin; h < r.end; ++h)
    for (int64_t w = c.begin; w < c.end; ++w) {
      if (x[h * width_ + w] < floor) continue;
      double v;
      if (!ExactBottom(0, image, base + h * width_ + w, &v)) return arg;
      if (winner < 0 || v > exact_best) {
        exact_best = v;
        winner = static_cast<int32_t>(h * width_ + w);
      }
    }
  return winner;
}

void PoolingLayer::BackwardGradient(const Blobs& bottom, const Blobs& top, Workspace&) {
  bottom[0]->ZeroDiff();
  const int64_t planes = bottom[0]->num() * channels_, in_plane = height_ * width_, out_plane = out_h_ * out_w_;
#pragma omp parallel for schedule(static) if (planes * out_plane > kParallelGrain)
  for (int64_t pl = 0; pl < planes; ++pl) {
    float* gx = bottom[0]->diff() + pl * in_plane;
    const float* gy = top[0]->diff() + pl * out_plane;
    for (int64_t oh = 0; oh < out_h_; ++oh)
      for (int64_t ow = 0; ow < out_w_; ++ow) {
        const int64_t o = oh * out_w_ + ow;
        if (is_max_) {
          const int32_t arg = argmax_[pl * out_plane + o];
          if (arg >= 0) gx[arg] += gy[o];
        } else {
          const Window w = WindowAt(oh, ow);
          const float share = method_ == Method::kSum ? gy[o] * sum_scale_ : gy[o] / static_cast<float>(w.divisor);
          for (int64_t h = w.h0; h < w.h1; ++h)
            for (int64_t c = w.w0; c < w.w1; ++c) gx[h * width_ + c] += share;
        }
      }
  }
}

// R_i += R_out * x_i / S over the window, S = sum of the window's inputs; for |S| < 1e-6
// the original adds the activations themselves (R_i += x_i) and drops R_out.
void PoolingLayer::ProportionalRelevance(const Blob& bottom, const Blob& top, float* rx) const {
  const int64_t planes = bottom.num() * channels_, in_plane = height_ * width_, out_plane = out_h_ * out_w_;
#pragma omp parallel for schedule(static) if (planes * out_plane > kParallelGrain)
  for (int64_t pl = 0; pl < planes; ++pl) {
    const float* x = bottom.data() + pl * in_plane;
    const float* r = top.diff() + pl * out_plane;
    float* out = rx + pl * in_plane;
    for (int64_t oh = 0; oh < out_h_; ++oh)
      for (int64_t ow = 0; ow < out_w_; ++ow) {
        const Window w = WindowAt(oh, ow);
        float sum = 0;
        for (int64_t h = w.h0; h < w.h1; ++h)
          for (int64_t c = w.w0; c < w.w1; ++c) sum += x[h * width_ + c];
        const float ro = r[oh * out_w_ + ow];
        const bool degenerate = std::fabs(sum) < 1e-6f;
        for (int64_t h = w.h0; h < w.h1; ++h)
          for (int64_t c = w.w0; c < w.w1; ++c) {
            const float xi = x[h * width_ + c];
            out[h * width_ + c] += degenerate ? xi : ro * xi / sum;
          }
      }
  }
}

template <typename F>
void PoolingLayer::ForEachWindow(const Blob& bottom, const Blob& top, F&& f) const {
  const int64_t planes = bottom.num() * channels_, in_plane = height_ * width_, out_plane = out_h_ * out_w_;
  // A window reads and writes only its own plane (image x channel): planes can go to
  // different threads.
#pragma omp parallel for schedule(static) if (planes * out_plane > kParallelGrain)
  for (int64_t pl = 0; pl < planes; ++pl)
    for (int64_t oh = 0; oh < out_h_; ++oh)
      for (int64_t ow = 0; ow < out_w_; ++ow) {
        const int64_t o = pl * out_plane + oh * out_w_ + ow;
        f(WindowAt(oh, ow), pl * in_plane, o, top.diff()[o]);
      }
}

// MAX: R_out to the remembered first maximum, or split equally among every position
// equal to the maximum (the stand-alone toolbox: ties are common after ReLU and around a
// constant image border).
void PoolingLayer::WinnerTakeAllRelevance(const Blob& bottom, const Blob& top, bool split_ties, float* rx) const {
  const float* x = bottom.data();
  const float* y = top.data();
  ForEachWindow(bottom, top, [&](const Window& w, int64_t base, int64_t o, float r) {
    if (!split_ties) {
      const int32_t arg = argmax_[o];
      if (arg >= 0) rx[base + arg] += r;
      return;
    }
    int64_t ties = 0;
    for (int64_t h = w.h0; h < w.h1; ++h)
      for (int64_t c = w.w0; c < w.w1; ++c) ties += x[base + h * width_ + c] == y[o];
    if (ties == 0) return;
    const float share = r / static_cast<float>(ties);
    for (int64_t h = w.h0; h < w.h1; ++h)
      for (int64_t c = w.w0; c < w.w1; ++c)
        if (x[base + h * width_ + c] == y[o]) rx[base + h * width_ + c] += share;
  });
}

// R_out / (number of window positions inside the image) to each of them.
void PoolingLayer::FlatRelevance(const Blob& bottom, const Blob& top, float* rx) const {
  ForEachWindow(bottom, top, [&](const Window& w, int64_t base, int64_t, float r) {
    const int64_t count = (w.h1 - w.h0) * (w.w1 - w.w0);
    if (count <= 0) return;
    const float share = r / static_cast<float>(count);
    for (int64_t h = w.h0; h < w.h1; ++h)
      for (int64_t c = w.w0; c < w.w1; ++c) rx[base + h * width_ + c] += share;
  });
}

// x_i R_out / (S +- eps), S = sum of the window (the scaling of AVE/SUM cancels).
void PoolingLayer::EpsilonRelevance(const Blob& bottom, const Blob& top, const LayerRule& rule, float* rx) const {
  const float* x = bottom.data();
  ForEachWindow(bottom, top, [&](const Window& w, int64_t base, int64_t, float r) {
    float sum = 0;
    for (int64_t h = w.h0; h < w.h1; ++h)
      for (int64_t c = w.w0; c < w.w1; ++c) sum += x[base + h * width_ + c];
    const float q = StabilizedQuotient(rule, r, sum, rule.epsilon);
    for (int64_t h = w.h0; h < w.h1; ++h)
      for (int64_t c = w.w0; c < w.w1; ++c) rx[base + h * width_ + c] += x[base + h * width_ + c] * q;
  });
}

// Alpha-beta over the window's inputs (every weight 1, no bias). compat_sum_pool_beta
// reproduces the toolbox's defect of multiplying the beta term by R_out once more.
void PoolingLayer::AlphaBetaRelevance(const Blob& bottom, const Blob& top, const LayerRule& rule, float* rx) const {
  const float* x = bottom.data();
  const float alpha = rule.Alpha(), beta = rule.beta, tiny = rule.Tiny();
  const bool squared = rule.compat_sum_pool_beta && alpha != 0.0f && beta != 0.0f;
  ForEachWindow(bottom, top, [&](const Window& w, int64_t base, int64_t, float r) {
    float zp = 0, zn = 0;
    for (int64_t h = w.h0; h < w.h1; ++h)
      for (int64_t c = w.w0; c < w.w1; ++c) {
        const float v = x[base + h * width_ + c];
        if (v > 0) zp += v; else zn += v;
      }
    for (int64_t h = w.h0; h < w.h1; ++h)
      for (int64_t c = w.w0; c < w.w1; ++c) {
        const float v = x[base + h * width_ + c];
        const float rr = squared && v < 0 ? r * r : r;
        rx[base + h * width_ + c] += AlphaBetaShare(v, rr, zp, zn, alpha, beta, tiny);
      }
  });
}

void PoolingLayer::BackwardRelevance(const Blobs& bottom, const Blobs& top, const LayerRule& rule, Workspace&) {
  const Blob& b = *bottom[0];
  const Blob& t = *top[0];
  float* rx = bottom[0]->diff();
  const int64_t n = bottom[0]->count();
#pragma omp parallel for schedule(static) if (n > kParallelGrain)
  for (int64_t i = 0; i < n; ++i) rx[i] = 0.0f;
  switch (rule.pool) {
    case PoolRule::kWinnerTakeAll:
      if (is_max_) return WinnerTakeAllRelevance(b, t, false, rx);
      return ProportionalRelevance(b, t, rx);
    case PoolRule::kProportional: return ProportionalRelevance(b, t, rx);
    case PoolRule::kWinnerTakeAllTies:
      if (!is_max_) Fail("the winner-take-all rule with ties applies to MAX pooling only");
      return WinnerTakeAllRelevance(b, t, true, rx);
    case PoolRule::kFlat: return FlatRelevance(b, t, rx);
    case PoolRule::kEpsilon:
      if (is_max_) Fail("the epsilon pooling rule applies to AVE and SUM pooling only");
      return EpsilonRelevance(b, t, rule, rx);
    case PoolRule::kAlphaBeta:
      if (is_max_) Fail("the alpha-beta pooling rule applies to AVE and SUM pooling only");
      return AlphaBetaRelevance(b, t, rule, rx);
  }
}

}  // namespace caffe_lrp
