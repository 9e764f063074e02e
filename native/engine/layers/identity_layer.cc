#include "engine/layers/identity_layer.h"

#include <algorithm>

namespace caffe_lrp {

// In-place use (bottom == top, as for Caffe's in-place BatchNorm/Scale) has nothing to copy.
void IdentityLayer::Forward(const Blobs& bottom, const Blobs& top, Workspace&) {
  if (bottom[0] != top[0]) std::copy(bottom[0]->data(), bottom[0]->data() + bottom[0]->count(), top[0]->data());
}

void IdentityLayer::BackwardGradient(const Blobs& bottom, const Blobs& top, Workspace&) {
  if (bottom[0] != top[0]) std::copy(top[0]->diff(), top[0]->diff() + top[0]->count(), bottom[0]->diff());
}

}  // namespace caffe_lrp
