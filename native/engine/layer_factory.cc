// Maps Caffe type names to layer classes and holds the shared Layer helpers.
#include <functional>
#include <map>

#include "engine/layer.h"
#include "engine/layers/activation_layers.h"
#include "engine/layers/affine_layers.h"
#include "engine/layers/clip_layer.h"
#include "engine/layers/convolution_layer.h"
#include "engine/layers/identity_layer.h"
#include "engine/layers/inner_product_layer.h"
#include "engine/layers/lrn_layer.h"
#include "engine/layers/pooling_layer.h"
#include "engine/layers/structure_layers.h"

namespace caffe_lrp {
namespace {

using Factory = std::function<std::unique_ptr<Layer>(const LayerDef&)>;

template <typename T>
Factory Make() {
  return [](const LayerDef& d) { return std::unique_ptr<Layer>(new T(d)); };
}

const std::map<std::string, Factory>& Registry() {
  static const std::map<std::string, Factory> registry = {
      {"AbsVal", Make<AbsValLayer>()},       {"BatchNorm", Make<BatchNormLayer>()},
      {"Bias", Make<BiasLayer>()},           {"Concat", Make<ConcatLayer>()},
      {"Convolution", Make<ConvolutionLayer>()}, {"Dropout", Make<DropoutLayer>()},
      {"Eltwise", Make<EltwiseLayer>()},     {"Flatten", Make<FlattenLayer>()},
      {"InnerProduct", Make<InnerProductLayer>()}, {"LRN", Make<LRNLayer>()},
      {"Permute", Make<PermuteLayer>()},     {"Pooling", Make<PoolingLayer>()},
      {"Power", Make<PowerLayer>()},         {"PReLU", Make<PReLULayer>()},
      {"ReLU", Make<ReLULayer>()},           {"Reshape", Make<ReshapeLayer>()},
      {"Scale", Make<ScaleLayer>()},         {"Sigmoid", Make<SigmoidLayer>()},
      {"Slice", Make<SliceLayer>()},         {"Softmax", Make<SoftmaxLayer>()},
      {"Split", Make<SplitLayer>()},         {"SumPool", Make<PoolingLayer>()},
      {"TanH", Make<TanHLayer>()},
      {"Clip", Make<ClipLayer>()},  // ONNX Clip / ReLU6
      {"Identity", Make<IdentityLayer>()},  // a layer a canonizer merged away (lib/canonize)
  };
  return registry;
}

}  // namespace

std::string SupportedLayerTypes() {
  std::string out;
  for (const auto& kv : Registry()) out += (out.empty() ? "" : ", ") + kv.first;
  return out;
}

std::unique_ptr<Layer> CreateLayer(const LayerDef& def) {
  auto it = Registry().find(def.type);
  if (it == Registry().end())
    throw EngineError(def.Where() + ": unsupported layer type '" + def.type + "'; supported types: " + SupportedLayerTypes());
  std::unique_ptr<Layer> layer = it->second(def);
  auto check_count = [&](int expected, size_t got, const char* what) {
    if (expected >= 0 && got != static_cast<size_t>(expected))
      throw EngineError(def.Where() + ": expects " + std::to_string(expected) + " " + what + ", got " + std::to_string(got));
    if (got == 0) throw EngineError(def.Where() + ": has no " + what);
  };
  check_count(layer->ExactBottoms(), def.bottoms.size(), "bottom blob(s)");
  check_count(layer->ExactTops(), def.tops.size(), "top blob(s)");
  layer->CheckWeights();
  return layer;
}

void Layer::ExpectBlobCount(size_t n) const {
  if (def_.blobs.size() != n)
    Fail("expects " + std::to_string(n) + " learned blob(s), got " + std::to_string(def_.blobs.size()));
  for (size_t i = 0; i < n; ++i)
    if (static_cast<int64_t>(def_.blobs[i].data.size()) != Count(def_.blobs[i].shape))
      Fail("learned blob " + std::to_string(i) + " holds " + std::to_string(def_.blobs[i].data.size()) +
           " values for shape " + ShapeString(def_.blobs[i].shape));
}

void Layer::ExpectBlobShape(size_t index, const Shape& expected) const {
  if (Count(def_.blobs[index].shape) != Count(expected))
    Fail("learned blob " + std::to_string(index) + " has shape " + ShapeString(def_.blobs[index].shape) + ", expected " +
         ShapeString(expected));
}

}  // namespace caffe_lrp
