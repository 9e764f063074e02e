// SoftMax in the LRP Toolbox's training loop: its module has no backward method and inherits
// the identity, so the error signal (prediction - target) passes unchanged.
#include <algorithm>

#include "engine/layers/structure_layers.h"

namespace caffe_lrp {

void SoftmaxLayer::BackwardTraining(const Blobs& bottom, const Blobs& top, Workspace&) {
  std::copy(top[0]->diff(), top[0]->diff() + top[0]->count(), bottom[0]->diff());
}

}  // namespace caffe_lrp
