// Converts the JS side's NetSpec and backward options into engine structures, checking
// every value at the boundary (types, lengths, ranges) so the engine never sees garbage.
#pragma once
#include <napi.h>

#include <vector>

#include "engine/net.h"

namespace caffe_lrp {

// References that keep borrowed weight arrays alive (and unmoved) while a net reads them.
using BorrowedArrays = std::vector<Napi::Reference<Napi::Float32Array>>;

// Reads a NetSpec. With `borrowed`, large weight arrays are not copied: the layers read the
// arrays' memory and `borrowed` receives references that must outlive the net. Only for
// arrays nobody else holds (Net.load's own): a change to them would change the net.
void ReadNetSpec(const Napi::Object& spec, std::vector<InputDef>* inputs, std::vector<LayerDef>* layers,
                 BorrowedArrays* borrowed = nullptr);
BackwardRequest ReadBackwardRequest(const Napi::Object& opts, int num_layers);

}  // namespace caffe_lrp
