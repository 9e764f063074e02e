#include "net_wrap.h"

#include <cstring>
#include <string>
#include <vector>

#include "engine/bandwidth.h"
#include "engine/math.h"
#include "engine_thread.h"
#include "spec_reader.h"

namespace caffe_lrp {
namespace {

Napi::Array ShapeArray(Napi::Env env, const Shape& s) {
  Napi::Array a = Napi::Array::New(env, s.size());
  for (size_t i = 0; i < s.size(); ++i) a.Set(static_cast<uint32_t>(i), Napi::Number::New(env, static_cast<double>(s[i])));
  return a;
}

Napi::Float32Array CopyToJs(Napi::Env env, const float* data, size_t n) {
  Napi::Float32Array out = Napi::Float32Array::New(env, n);
  if (n) std::memcpy(out.Data(), data, n * sizeof(float));
  return out;
}

Napi::Array Names(Napi::Env env, const std::vector<std::string>& names) {
  Napi::Array a = Napi::Array::New(env, names.size());
  for (size_t i = 0; i < names.size(); ++i) a.Set(static_cast<uint32_t>(i), names[i]);
  return a;
}

// Base for the Promise-returning workers: keeps the JS object alive while running and
// clears the net's busy flag when done.
class NetWorker : public Napi::AsyncWorker {
 public:
  NetWorker(Napi::Env env, NativeNet* owner, Napi::Object self)
      : Napi::AsyncWorker(env), owner_(owner), deferred_(Napi::Promise::Deferred::New(env)) {
    self_ = Napi::Persistent(self);
    owner_->SetBusy(true);
  }
  Napi::Promise Promise() const { return deferred_.Promise(); }

 protected:
  void Execute() override {
    try {
      RunOnEngineThread([this] { Run(); });
    } catch (const std::exception& e) {
      SetError(e.what());
    }
  }
  virtual void Run() = 0;
  virtual Napi::Value Result(Napi::Env env) = 0;
  void OnOK() override {
    owner_->SetBusy(false);
    Napi::Env env = Env();
    Napi::Value result;
    try {
      result = Result(env);
    } catch (const Napi::Error& e) {
      deferred_.Reject(e.Value());
      return;
    }
    deferred_.Resolve(result);
  }
  void OnError(const Napi::Error& e) override {
    owner_->SetBusy(false);
    deferred_.Reject(e.Value());
  }

  NativeNet* owner_;
  Napi::Promise::Deferred deferred_;
  Napi::ObjectReference self_;
};

class ForwardWorker : public NetWorker {
 public:
  ForwardWorker(Napi::Env env, NativeNet* owner, Napi::Object self, std::vector<std::vector<float>> inputs)
      : NetWorker(env, owner, self), net_(owner->net()), inputs_(std::move(inputs)) {}

 private:
  void Run() override {
    for (size_t i = 0; i < inputs_.size(); ++i) net_.SetInput(i, inputs_[i].data(), static_cast<int64_t>(inputs_[i].size()));
    net_.Forward();
    for (Blob* b : net_.outputs()) outputs_.push_back({b->name(), b->shape(), std::vector<float>(b->data(), b->data() + b->count())});
  }
  Napi::Value Result(Napi::Env env) override {
    Napi::Array out = Napi::Array::New(env, outputs_.size());
    for (size_t i = 0; i < outputs_.size(); ++i) {
      Napi::Object o = Napi::Object::New(env);
      o.Set("name", outputs_[i].name);
      o.Set("shape", ShapeArray(env, outputs_[i].shape));
      o.Set("data", CopyToJs(env, outputs_[i].data.data(), outputs_[i].data.size()));
      out.Set(static_cast<uint32_t>(i), o);
    }
    return out;
  }
  struct Output {
    std::string name;
    Shape shape;
    std::vector<float> data;
  };
  Net& net_;
  std::vector<std::vector<float>> inputs_;
  std::vector<Output> outputs_;
};

class BackwardWorker : public NetWorker {
 public:
  BackwardWorker(Napi::Env env, NativeNet* owner, Napi::Object self, BackwardRequest request)
      : NetWorker(env, owner, self), net_(owner->net()), request_(std::move(request)) {}

 private:
  void Run() override { result_ = net_.Backward(request_); }
  Napi::Value Result(Napi::Env env) override {
    Napi::Object o = Napi::Object::New(env);
    o.Set("shape", ShapeArray(env, result_.shape));
    o.Set("data", CopyToJs(env, result_.data.data(), result_.data.size()));
    if (request_.conservation) {
      Napi::Array rows = Napi::Array::New(env, result_.conservation.size());
      for (size_t i = 0; i < result_.conservation.size(); ++i) {
        const LayerConservation& lc = result_.conservation[i];
        Napi::Object row = Napi::Object::New(env);
        row.Set("index", lc.index);
        Napi::Array in = Napi::Array::New(env, lc.in.size()), out = Napi::Array::New(env, lc.out.size());
        for (size_t n = 0; n < lc.in.size(); ++n) {
          in.Set(static_cast<uint32_t>(n), lc.in[n]);
          out.Set(static_cast<uint32_t>(n), lc.out[n]);
        }
        row.Set("in", in);
        row.Set("out", out);
        rows.Set(static_cast<uint32_t>(i), row);
      }
      o.Set("conservation", rows);
    }
    return o;
  }
  Net& net_;
  BackwardRequest request_;
  BackwardResult result_;
};

// Runs `body`, turning engine errors into JS exceptions.
template <typename F>
auto Guard(Napi::Env env, F body) -> decltype(body()) {
  try {
    return body();
  } catch (const Napi::Error&) {
    throw;
  } catch (const std::bad_alloc&) {
    Napi::Error error = Napi::Error::New(env, "out of memory");
    error.Set("code", Napi::String::New(env, "MEMORY"));
    throw error;
  } catch (const MemoryBudgetError& e) {
    Napi::Error error = Napi::Error::New(env, e.what());
    error.Set("code", Napi::String::New(env, "MEMORY"));
    throw error;
  } catch (const std::exception& e) {
    throw Napi::Error::New(env, e.what());
  }
}

}  // namespace

Napi::Function NativeNet::Define(Napi::Env env) {
  return DefineClass(env, "NativeNet",
                     {InstanceMethod<&NativeNet::Layers>("layers"), InstanceMethod<&NativeNet::Inputs>("inputs"),
                      InstanceMethod<&NativeNet::Outputs>("outputs"), InstanceMethod<&NativeNet::Reshape>("reshape"),
                      InstanceMethod<&NativeNet::Forward>("forward"), InstanceMethod<&NativeNet::Backward>("backward"),
                      InstanceMethod<&NativeNet::BlobData>("blobData"),
                      InstanceMethod<&NativeNet::Memory>("memory"),
                      InstanceMethod<&NativeNet::NonFiniteWeights>("nonFiniteWeights"),
                      InstanceMethod<&NativeNet::Dispose>("dispose"),
                      InstanceMethod<&NativeNet::TrainBackward>("trainBackward"),
                      InstanceMethod<&NativeNet::LearnedBlobs>("learnedBlobs")});
}

NativeNet::NativeNet(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NativeNet>(info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) throw Napi::TypeError::New(env, "NativeNet(spec[, {borrowWeights}]): spec must be an object");
  const bool borrow = info.Length() > 1 && info[1].IsObject() && info[1].As<Napi::Object>().Get("borrowWeights").ToBoolean().Value();
  MemoryBudget budget;
  if (info.Length() > 1 && info[1].IsObject()) {
    Napi::Object o = info[1].As<Napi::Object>();
    if (o.Get("memoryBudget").IsNumber()) budget.bytes = o.Get("memoryBudget").As<Napi::Number>().DoubleValue();
    if (o.Get("memoryBudgetSource").IsString()) budget.source = o.Get("memoryBudgetSource").As<Napi::String>().Utf8Value();
  }
  Guard(env, [&] {
    std::vector<InputDef> inputs;
    std::vector<LayerDef> layers;
    ReadNetSpec(info[0].As<Napi::Object>(), &inputs, &layers, borrow ? &borrowed_ : nullptr);
    net_ = std::make_unique<Net>(inputs, layers, budget);
    return 0;
  });
}

Net& NativeNet::net() {
  if (!net_) throw Napi::Error::New(Env(), "this net has been disposed");
  return *net_;
}

void NativeNet::EnsureIdle(Napi::Env env, const char* what) {
  if (busy_) throw Napi::Error::New(env, std::string("net is busy: ") + what + " must wait for the running call to finish");
}

Napi::Value NativeNet::Layers(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Net& n = net();
  Napi::Array out = Napi::Array::New(env, n.num_layers());
  for (int i = 0; i < n.num_layers(); ++i) {
    Napi::Object o = Napi::Object::New(env);
    o.Set("index", i);
    o.Set("name", n.layer(i).name());
    o.Set("type", n.layer(i).type());
    o.Set("bottoms", Names(env, n.layer(i).def().bottoms));
    o.Set("tops", Names(env, n.layer(i).def().tops));
    Napi::Array shapes = Napi::Array::New(env, n.tops(i).size());
    for (size_t t = 0; t < n.tops(i).size(); ++t) shapes.Set(static_cast<uint32_t>(t), ShapeArray(env, n.tops(i)[t]->shape()));
    o.Set("topShapes", shapes);
    out.Set(static_cast<uint32_t>(i), o);
  }
  return out;
}

Napi::Value NativeNet::Inputs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Net& n = net();
  Napi::Array out = Napi::Array::New(env, n.inputs().size());
  for (size_t i = 0; i < n.inputs().size(); ++i) {
    Napi::Object o = Napi::Object::New(env);
    o.Set("name", n.inputs()[i]->name());
    o.Set("shape", ShapeArray(env, n.inputs()[i]->shape()));
    out.Set(static_cast<uint32_t>(i), o);
  }
  return out;
}

Napi::Value NativeNet::Outputs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::vector<Blob*> outs = net().outputs();
  Napi::Array out = Napi::Array::New(env, outs.size());
  for (size_t i = 0; i < outs.size(); ++i) {
    Napi::Object o = Napi::Object::New(env);
    o.Set("name", outs[i]->name());
    o.Set("shape", ShapeArray(env, outs[i]->shape()));
    out.Set(static_cast<uint32_t>(i), o);
  }
  return out;
}

Napi::Value NativeNet::Reshape(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  EnsureIdle(env, "reshape");
  if (info.Length() < 1 || !info[0].IsNumber()) throw Napi::TypeError::New(env, "reshape(batch): batch must be a number");
  double b = info[0].As<Napi::Number>().DoubleValue();
  if (b != static_cast<double>(static_cast<int64_t>(b)) || b < 1 || b > 1e6)
    throw Napi::RangeError::New(env, "reshape(batch): batch must be an integer in [1, 1000000]");
  Guard(env, [&] {
    net().Reshape(static_cast<int64_t>(b));
    return 0;
  });
  return env.Undefined();
}

Napi::Value NativeNet::Forward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  EnsureIdle(env, "forward");
  Net& n = net();
  if (info.Length() < 1 || !info[0].IsArray()) throw Napi::TypeError::New(env, "forward(inputs): inputs must be an array of Float32Array");
  Napi::Array arr = info[0].As<Napi::Array>();
  if (arr.Length() != n.inputs().size())
    throw Napi::Error::New(env, "forward: the net has " + std::to_string(n.inputs().size()) + " input(s), got " + std::to_string(arr.Length()));
  std::vector<std::vector<float>> inputs;
  for (uint32_t i = 0; i < arr.Length(); ++i) {
    Napi::Value v = arr.Get(i);
    if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
      throw Napi::TypeError::New(env, "forward: input " + std::to_string(i) + " must be a Float32Array");
    Napi::Float32Array f = v.As<Napi::Float32Array>();
    const Blob* blob = n.inputs()[i];
    if (static_cast<int64_t>(f.ElementLength()) != blob->count())
      throw Napi::Error::New(env, "forward: input '" + blob->name() + "' needs " + std::to_string(blob->count()) + " values (" +
                                      ShapeString(blob->shape()) + "), got " + std::to_string(f.ElementLength()));
    inputs.emplace_back(f.Data(), f.Data() + f.ElementLength());  // copied now: the caller may reuse its array
  }
  auto* worker = new ForwardWorker(env, this, info.This().As<Napi::Object>(), std::move(inputs));
  Napi::Promise p = worker->Promise();
  worker->Queue();
  return p;
}

Napi::Value NativeNet::Backward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  EnsureIdle(env, "backward");
  Net& n = net();
  if (info.Length() < 1 || !info[0].IsObject()) throw Napi::TypeError::New(env, "backward(options): options must be an object");
  BackwardRequest request = Guard(env, [&] { return ReadBackwardRequest(info[0].As<Napi::Object>(), n.num_layers()); });
  auto* worker = new BackwardWorker(env, this, info.This().As<Napi::Object>(), std::move(request));
  Napi::Promise p = worker->Promise();
  worker->Queue();
  return p;
}

Napi::Value NativeNet::BlobData(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  EnsureIdle(env, "blobData");
  if (info.Length() < 1 || !info[0].IsString()) throw Napi::TypeError::New(env, "blobData(name): name must be a string");
  const std::string name = info[0].As<Napi::String>().Utf8Value();
  const Blob* b = net().FindBlob(name);
  if (!b) throw Napi::Error::New(env, "no blob named '" + name + "'");
  Napi::Object o = Napi::Object::New(env);
  o.Set("shape", ShapeArray(env, b->shape()));
  o.Set("data", CopyToJs(env, b->data(), static_cast<size_t>(b->count())));
  // Diffs are shared between blobs by lifetime (diff_plan.h): after a relevance walk only a
  // blob of its last layer's bottoms is sure to hold its own; zeros before any backward pass.
  const size_t n = static_cast<size_t>(b->count());
  o.Set("diff", b->has_diff() ? CopyToJs(env, b->diff(), n) : Napi::Float32Array::New(env, n));
  return o;
}

Napi::Value NativeNet::Memory(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  EnsureIdle(env, "memory");
  const Net::MemoryStats m = net().Memory();
  Napi::Object o = Napi::Object::New(env);
  o.Set("dataBytes", m.data_bytes);
  o.Set("diffBytes", m.diff_bytes);
  o.Set("unsharedDiffBytes", m.unshared_diff_bytes);
  o.Set("diffBuffers", static_cast<double>(m.diff_buffers));
  o.Set("diffsAllocated", m.diffs_allocated);
  o.Set("dedicatedDiffs", m.dedicated);
  Napi::Array ws = Napi::Array::New(env, m.workspace_bytes.size());
  for (size_t k = 0; k < m.workspace_bytes.size(); ++k) ws.Set(static_cast<uint32_t>(k), m.workspace_bytes[k]);
  o.Set("workspaceBytes", ws);
  return o;
}

Napi::Value NativeNet::NonFiniteWeights(const Napi::CallbackInfo& info) { return Names(info.Env(), net().NonFiniteWeights()); }

Napi::Value NativeNet::Dispose(const Napi::CallbackInfo& info) {
  EnsureIdle(info.Env(), "dispose");
  net_.reset();
  borrowed_.clear();  // the arrays may be collected now
  return info.Env().Undefined();
}

Napi::Value DescribeBlas(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const caffe_lrp::BlasInfo b = GetBlasInfo();
  Napi::Object o = Napi::Object::New(env);
  o.Set("coreName", b.core_name);
  o.Set("threads", b.threads);
  o.Set("threading", b.threading == 2 ? "openmp" : b.threading == 1 ? "pthreads" : "sequential");
  o.Set("skinnyKernels", b.skinny_kernels);
  return o;
}

Napi::Value SgemmGflops(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int size = info.Length() > 0 && info[0].IsNumber() ? info[0].As<Napi::Number>().Int32Value() : 1024;
  int repeats = info.Length() > 1 && info[1].IsNumber() ? info[1].As<Napi::Number>().Int32Value() : 5;
  if (size < 16 || size > 8192 || repeats < 1 || repeats > 100) throw Napi::RangeError::New(env, "sgemmGflops(size 16..8192, repeats 1..100)");
  return Napi::Number::New(env, MeasureSgemmGflops(size, repeats));
}

Napi::Value ReadBandwidthGBps(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int megabytes = info.Length() > 0 && info[0].IsNumber() ? info[0].As<Napi::Number>().Int32Value() : 256;
  int repeats = info.Length() > 1 && info[1].IsNumber() ? info[1].As<Napi::Number>().Int32Value() : 5;
  if (megabytes < 1 || megabytes > 4096 || repeats < 1 || repeats > 100)
    throw Napi::RangeError::New(env, "readBandwidthGBps(megabytes 1..4096, repeats 1..100)");
  return Napi::Number::New(env, MeasureReadBandwidthGBps(megabytes, repeats));
}

}  // namespace caffe_lrp
