// Pooling's backward pass for training. MAX follows the LRP Toolbox (maxpool.py backward):
// every input equal to its window's maximum receives the window's full gradient (ties are
// neither split nor broken) and overlapping windows add up. AVE and SUM are their gradient.
#include "engine/layers/pooling_layer.h"

namespace caffe_lrp {

void PoolingLayer::BackwardTraining(const Blobs& bottom, const Blobs& top, Workspace& ws) {
  if (!is_max_) {
    BackwardGradient(bottom, top, ws);
    return;
  }
  bottom[0]->ZeroDiff();
  const int64_t planes = bottom[0]->num() * channels_, in_plane = height_ * width_, out_plane = out_h_ * out_w_;
  for (int64_t pl = 0; pl < planes; ++pl) {
    const float* x = bottom[0]->data() + pl * in_plane;
    const float* y = top[0]->data() + pl * out_plane;
    const float* gy = top[0]->diff() + pl * out_plane;
    float* gx = bottom[0]->diff() + pl * in_plane;
    for (int64_t oh = 0; oh < out_h_; ++oh)
      for (int64_t ow = 0; ow < out_w_; ++ow) {
        const int64_t o = oh * out_w_ + ow;
        const Window w = WindowAt(oh, ow);
        for (int64_t h = w.h0; h < w.h1; ++h)
          for (int64_t c = w.w0; c < w.w1; ++c)
            if (x[h * width_ + c] == y[o]) gx[h * width_ + c] += gy[o];
      }
  }
}

}  // namespace caffe_lrp
