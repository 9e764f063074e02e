// Converts the JS side's NetSpec and backward options into engine structures, checking
// every value at the boundary (types, lengths, ranges) so the engine never sees garbage.
#pragma once
#include <napi.h>

#include <vector>

#include "engine/net.h"

namespace caffe_lrp {

void ReadNetSpec(const Napi::Object& spec, std::vector<InputDef>* inputs, std::vector<LayerDef>* layers);
BackwardRequest ReadBackwardRequest(const Napi::Object& opts, int num_layers);

}  // namespace caffe_lrp
