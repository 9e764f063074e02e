// LayerDef: one layer of the NetSpec as the engine receives it from JS: identity, wiring,
// normalised parameters and learned blobs. Parameter lookups are typed and report the
// layer and parameter name when something is missing or of the wrong kind.
#pragma once
#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "engine/error.h"
#include "engine/shape.h"

namespace caffe_lrp {

struct ParamValue {
  enum class Kind { kNumber, kBool, kString, kNumberList } kind = Kind::kNumber;
  double number = 0;
  bool boolean = false;
  std::string text;
  std::vector<double> list;
};

// The values of a learned blob: owned (shared by copies of the LayerDef, so building layers
// from definitions copies no weights), or borrowed from memory the caller keeps alive and
// unchanged for the net's lifetime (a net loaded from files reads the JS arrays it decoded
// instead of copying hundreds of MB).
class WeightData {
 public:
  WeightData() = default;
  explicit WeightData(std::vector<float> values)
      : owned_(std::make_shared<std::vector<float>>(std::move(values))), ptr_(owned_->data()), size_(owned_->size()) {}
  static WeightData Borrowed(const float* values, std::size_t n) {
    WeightData d;
    d.ptr_ = values;
    d.size_ = n;
    return d;
  }
  const float* data() const { return ptr_; }
  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  const float& operator[](std::size_t i) const { return ptr_[i]; }
  const float* begin() const { return ptr_; }
  const float* end() const { return ptr_ + size_; }
  // Owned values for in-place training updates; nullptr for borrowed memory (the caller's).
  float* MutableData() { return owned_ ? owned_->data() : nullptr; }

 private:
  std::shared_ptr<std::vector<float>> owned_;
  const float* ptr_ = nullptr;
  std::size_t size_ = 0;
};

struct WeightBlob {
  Shape shape;
  WeightData data;
};

struct LayerDef {
  std::string name;
  std::string type;
  std::vector<std::string> bottoms;
  std::vector<std::string> tops;
  std::map<std::string, ParamValue> params;
  std::vector<WeightBlob> blobs;

  std::string Where() const { return "layer '" + name + "' (" + type + ")"; }

  const ParamValue& Get(const std::string& key) const {
    auto it = params.find(key);
    if (it == params.end()) throw EngineError(Where() + ": missing parameter '" + key + "'");
    return it->second;
  }
  bool Has(const std::string& key) const { return params.count(key) > 0; }
  double Number(const std::string& key) const {
    const ParamValue& v = Get(key);
    if (v.kind == ParamValue::Kind::kBool) return v.boolean ? 1 : 0;
    if (v.kind != ParamValue::Kind::kNumber) throw EngineError(Where() + ": parameter '" + key + "' must be a number");
    return v.number;
  }
  double Number(const std::string& key, double fallback) const { return Has(key) ? Number(key) : fallback; }
  int Int(const std::string& key) const {
    double d = Number(key);
    if (d != static_cast<double>(static_cast<int64_t>(d)) || d < -2147483648.0 || d > 2147483647.0)
      throw EngineError(Where() + ": parameter '" + key + "' must be an integer");
    return static_cast<int>(d);
  }
  int Int(const std::string& key, int fallback) const { return Has(key) ? Int(key) : fallback; }
  bool Bool(const std::string& key, bool fallback) const {
    if (!Has(key)) return fallback;
    const ParamValue& v = Get(key);
    if (v.kind == ParamValue::Kind::kBool) return v.boolean;
    if (v.kind == ParamValue::Kind::kNumber) return v.number != 0;
    throw EngineError(Where() + ": parameter '" + key + "' must be a boolean");
  }
  std::string String(const std::string& key, const std::string& fallback) const {
    if (!Has(key)) return fallback;
    const ParamValue& v = Get(key);
    if (v.kind != ParamValue::Kind::kString) throw EngineError(Where() + ": parameter '" + key + "' must be a string");
    return v.text;
  }
  std::vector<int> IntList(const std::string& key) const {
    std::vector<int> out;
    if (!Has(key)) return out;
    const ParamValue& v = Get(key);
    if (v.kind == ParamValue::Kind::kNumber) return {Int(key)};
    if (v.kind != ParamValue::Kind::kNumberList) throw EngineError(Where() + ": parameter '" + key + "' must be a list of integers");
    for (double d : v.list) {
      if (d != static_cast<double>(static_cast<int64_t>(d)) || d < -2147483648.0 || d > 2147483647.0)
        throw EngineError(Where() + ": parameter '" + key + "' must contain integers");
      out.push_back(static_cast<int>(d));
    }
    return out;
  }
  std::vector<float> FloatList(const std::string& key) const {
    std::vector<float> out;
    if (!Has(key)) return out;
    const ParamValue& v = Get(key);
    if (v.kind == ParamValue::Kind::kNumber) return {static_cast<float>(v.number)};
    if (v.kind != ParamValue::Kind::kNumberList) throw EngineError(Where() + ": parameter '" + key + "' must be a list of numbers");
    for (double d : v.list) out.push_back(static_cast<float>(d));
    return out;
  }
  // [h, w] pairs such as kernel, stride, pad.
  std::pair<int, int> Pair(const std::string& key) const {
    std::vector<int> v = IntList(key);
    if (v.size() != 2) throw EngineError(Where() + ": parameter '" + key + "' must be an [h, w] pair");
    return {v[0], v[1]};
  }
};

}  // namespace caffe_lrp
