// NativeNet: the N-API face of one engine Net. Heavy calls (forward, backward) run as
// AsyncWorkers that hand the computation to the engine thread (engine_thread.h) and settle a
// Promise; results are copied into fresh
// JS arrays, so nothing the caller holds aliases engine memory. One call at a time per
// net (the JS layer queues calls; a second concurrent call here is refused, not raced).
#pragma once
#include <napi.h>

#include <memory>

#include "engine/net.h"
#include "spec_reader.h"

namespace caffe_lrp {

class NativeNet : public Napi::ObjectWrap<NativeNet> {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit NativeNet(const Napi::CallbackInfo& info);

  Net& net();          // throws a JS error when disposed
  void SetBusy(bool busy) { busy_ = busy; }

 private:
  Napi::Value Layers(const Napi::CallbackInfo& info);
  Napi::Value Inputs(const Napi::CallbackInfo& info);
  Napi::Value Outputs(const Napi::CallbackInfo& info);
  Napi::Value Reshape(const Napi::CallbackInfo& info);
  Napi::Value Forward(const Napi::CallbackInfo& info);
  Napi::Value Backward(const Napi::CallbackInfo& info);
  Napi::Value BlobData(const Napi::CallbackInfo& info);
  // The engine's own byte accounting of blob memory (Net::MemoryStats).
  Napi::Value Memory(const Napi::CallbackInfo& info);
  Napi::Value NonFiniteWeights(const Napi::CallbackInfo& info);
  Napi::Value Dispose(const Napi::CallbackInfo& info);
  void EnsureIdle(Napi::Env env, const char* what);
  // Training (training_wrap.cc): the toolbox's backward pass with learned-blob gradients or an
  // in-place update, and copies of a layer's learned blobs.
  Napi::Value TrainBackward(const Napi::CallbackInfo& info);
  Napi::Value LearnedBlobs(const Napi::CallbackInfo& info);

  // Declared before net_ so that the net, which reads these arrays, is destroyed first.
  BorrowedArrays borrowed_;
  std::unique_ptr<Net> net_;
  bool busy_ = false;
};

Napi::Value SgemmGflops(const Napi::CallbackInfo& info);
Napi::Value ReadBandwidthGBps(const Napi::CallbackInfo& info);
Napi::Value DescribeBlas(const Napi::CallbackInfo& info);

}  // namespace caffe_lrp
