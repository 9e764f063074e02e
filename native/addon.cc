// Module entry: exports the NativeNet class, the supported layer list, the sgemm probe and the
// demonstrators' allocator settings.
#include <napi.h>

#include "allocator.h"
#include "engine/layer.h"
#include "net_wrap.h"
#include "text_writer.h"

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("NativeNet", caffe_lrp::NativeNet::Define(env));
  exports.Set("supportedLayerTypes", Napi::String::New(env, caffe_lrp::SupportedLayerTypes()));
  exports.Set("sgemmGflops", Napi::Function::New(env, caffe_lrp::SgemmGflops));
  exports.Set("readBandwidthGBps", Napi::Function::New(env, caffe_lrp::ReadBandwidthGBps));
  exports.Set("blasInfo", Napi::Function::New(env, caffe_lrp::DescribeBlas));
  exports.Set("formatRawhm", Napi::Function::New(env, caffe_lrp::FormatRawhm));
  exports.Set("tuneAllocator", Napi::Function::New(env, caffe_lrp::TuneAllocator));
  return exports;
}

}  // namespace

NODE_API_MODULE(caffe_lrp, Init)
