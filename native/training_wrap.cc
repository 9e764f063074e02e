// N-API face of the training pass (engine/net_training.cc), used by lib/toolbox/train.ts:
//
//   trainBackward({ start, end, seed: Float32Array, layers: number[], factors?: number[][] })
//     Seeds start's top with `seed`, walks the toolbox's backward pass down to `end`, then for
//     every listed layer either adds factors[k][j] * gradient of blob j to the engine's own
//     weights (an SGD step; resolves undefined) or, without `factors`, resolves one array per
//     listed layer of fresh Float32Array gradients (one per learned blob).
//   learnedBlobs(layer) -> Float32Array[]: copies of a layer's learned blobs.
//
// Updates write the weights the engine owns; a net built with borrowed weights refuses them
// (the borrowed arrays belong to the caller).
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "engine_thread.h"
#include "net_wrap.h"

namespace caffe_lrp {
namespace {

struct TrainRequest {
  int start = 0, end = 0;
  std::vector<float> seed;
  std::vector<int> layers;
  bool update = false;
  std::vector<std::vector<float>> factors;  // per listed layer, per blob
};

class TrainWorker : public Napi::AsyncWorker {
 public:
  TrainWorker(Napi::Env env, NativeNet* owner, Napi::Object self, TrainRequest request)
      : Napi::AsyncWorker(env), owner_(owner), net_(owner->net()), request_(std::move(request)),
        deferred_(Napi::Promise::Deferred::New(env)) {
    self_ = Napi::Persistent(self);
    owner_->SetBusy(true);
  }
  Napi::Promise Promise() const { return deferred_.Promise(); }

 private:
  void Execute() override {
    try {
      RunOnEngineThread([this] { Run(); });
    } catch (const std::exception& e) {
      SetError(e.what());
    }
  }
  void Run() {
    const TrainRequest& r = request_;
    net_.BackwardTraining(r.start, r.end, r.seed.data(), static_cast<int64_t>(r.seed.size()));
    for (size_t k = 0; k < r.layers.size(); ++k) {
      const int i = r.layers[k];
      const std::vector<WeightBlob>& blobs = net_.layer(i).def().blobs;
      std::vector<float*> out;
      std::vector<float> factors;
      if (r.update) {
        factors = r.factors[k];
        for (size_t j = 0; j < blobs.size(); ++j) {
          float* w = net_.MutableBlob(i, j);
          if (!w) throw EngineError("training: layer '" + net_.layer(i).name() + "' holds borrowed weights, which an update may not change");
          out.push_back(w);
        }
      } else {
        gradients_.emplace_back();
        for (const WeightBlob& b : blobs) gradients_.back().emplace_back(b.data.size(), 0.0f);
        for (std::vector<float>& g : gradients_.back()) out.push_back(g.data());
        factors.assign(blobs.size(), 1.0f);
      }
      if (!net_.AccumulateBlobGradients(i, out, factors))
        throw EngineError("training: layer '" + net_.layer(i).name() + "' (" + net_.layer(i).type() + ") has no learned-blob gradients");
    }
  }
  void OnOK() override {
    owner_->SetBusy(false);
    Napi::Env env = Env();
    if (request_.update) {
      deferred_.Resolve(env.Undefined());
      return;
    }
    Napi::Array layers = Napi::Array::New(env, gradients_.size());
    for (size_t k = 0; k < gradients_.size(); ++k) {
      Napi::Array blobs = Napi::Array::New(env, gradients_[k].size());
      for (size_t j = 0; j < gradients_[k].size(); ++j) {
        Napi::Float32Array a = Napi::Float32Array::New(env, gradients_[k][j].size());
        if (!gradients_[k][j].empty()) std::memcpy(a.Data(), gradients_[k][j].data(), gradients_[k][j].size() * sizeof(float));
        blobs.Set(static_cast<uint32_t>(j), a);
      }
      layers.Set(static_cast<uint32_t>(k), blobs);
    }
    deferred_.Resolve(layers);
  }
  void OnError(const Napi::Error& e) override {
    owner_->SetBusy(false);
    deferred_.Reject(e.Value());
  }

  NativeNet* owner_;
  Net& net_;
  TrainRequest request_;
  std::vector<std::vector<std::vector<float>>> gradients_;
  Napi::Promise::Deferred deferred_;
  Napi::ObjectReference self_;
};

int LayerIndex(Napi::Env env, const Napi::Value& v, const std::string& what, int lo, int hi) {
  if (!v.IsNumber()) throw Napi::TypeError::New(env, "trainBackward: " + what + " must be a number");
  const double d = v.As<Napi::Number>().DoubleValue();
  if (d != std::floor(d) || d < lo || d > hi)
    throw Napi::RangeError::New(env, "trainBackward: " + what + " must be an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
  return static_cast<int>(d);
}

}  // namespace

Napi::Value NativeNet::TrainBackward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  EnsureIdle(env, "trainBackward");
  Net& n = net();
  if (info.Length() < 1 || !info[0].IsObject()) throw Napi::TypeError::New(env, "trainBackward(options): options must be an object");
  Napi::Object o = info[0].As<Napi::Object>();
  TrainRequest r;
  r.start = LayerIndex(env, o.Get("start"), "start", 0, n.num_layers() - 1);
  r.end = LayerIndex(env, o.Get("end"), "end", 0, r.start);
  Napi::Value seed = o.Get("seed");
  if (!seed.IsTypedArray() || seed.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
    throw Napi::TypeError::New(env, "trainBackward: seed must be a Float32Array");
  Napi::Float32Array s = seed.As<Napi::Float32Array>();
  r.seed.assign(s.Data(), s.Data() + s.ElementLength());  // copied now: the caller may reuse its array
  Napi::Value layers = o.Get("layers");
  if (!layers.IsArray()) throw Napi::TypeError::New(env, "trainBackward: layers must be an array of layer indices");
  Napi::Array la = layers.As<Napi::Array>();
  for (uint32_t k = 0; k < la.Length(); ++k) r.layers.push_back(LayerIndex(env, la.Get(k), "layers[" + std::to_string(k) + "]", r.end, r.start));
  Napi::Value factors = o.Get("factors");
  if (!factors.IsUndefined()) {
    if (!factors.IsArray() || factors.As<Napi::Array>().Length() != la.Length())
      throw Napi::TypeError::New(env, "trainBackward: factors must be an array with one entry per listed layer");
    Napi::Array fa = factors.As<Napi::Array>();
    r.update = true;
    for (uint32_t k = 0; k < fa.Length(); ++k) {
      Napi::Value row = fa.Get(k);
      const size_t blobs = n.layer(r.layers[k]).def().blobs.size();
      if (!row.IsArray() || row.As<Napi::Array>().Length() != blobs)
        throw Napi::TypeError::New(env, "trainBackward: factors[" + std::to_string(k) + "] must hold " + std::to_string(blobs) + " numbers (one per learned blob)");
      std::vector<float> f;
      for (uint32_t j = 0; j < blobs; ++j) {
        Napi::Value v = row.As<Napi::Array>().Get(j);
        if (!v.IsNumber() || !std::isfinite(v.As<Napi::Number>().DoubleValue()))
          throw Napi::TypeError::New(env, "trainBackward: factors[" + std::to_string(k) + "][" + std::to_string(j) + "] must be a finite number");
        f.push_back(static_cast<float>(v.As<Napi::Number>().DoubleValue()));
      }
      r.factors.push_back(std::move(f));
    }
  }
  auto* worker = new TrainWorker(env, this, info.This().As<Napi::Object>(), std::move(r));
  Napi::Promise p = worker->Promise();
  worker->Queue();
  return p;
}

Napi::Value NativeNet::LearnedBlobs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  EnsureIdle(env, "learnedBlobs");
  Net& n = net();
  if (info.Length() < 1 || !info[0].IsNumber()) throw Napi::TypeError::New(env, "learnedBlobs(layer): layer must be a number");
  const double d = info[0].As<Napi::Number>().DoubleValue();
  if (d != std::floor(d) || d < 0 || d >= n.num_layers())
    throw Napi::RangeError::New(env, "learnedBlobs(layer): layer must be an integer in [0, " + std::to_string(n.num_layers() - 1) + "]");
  const std::vector<WeightBlob>& blobs = n.layer(static_cast<int>(d)).def().blobs;
  Napi::Array out = Napi::Array::New(env, blobs.size());
  for (size_t j = 0; j < blobs.size(); ++j) {
    Napi::Float32Array a = Napi::Float32Array::New(env, blobs[j].data.size());
    if (!blobs[j].data.empty()) std::memcpy(a.Data(), blobs[j].data.data(), blobs[j].data.size() * sizeof(float));
    out.Set(static_cast<uint32_t>(j), a);
  }
  return out;
}

}  // namespace caffe_lrp
