#include "text_writer.h"

#include "float_format.h"

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

namespace caffe_lrp {
namespace {

class FormatRawhmWorker : public Napi::AsyncWorker {
 public:
  FormatRawhmWorker(Napi::Env env, std::vector<float> data, int64_t channels, int64_t height, int64_t width)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), data_(std::move(data)),
        channels_(channels), height_(height), width_(width) {}
  Napi::Promise Promise() const { return deferred_.Promise(); }

 protected:
  void Execute() override {
    const std::string header = std::to_string(channels_) + "\n" + std::to_string(height_) + " " + std::to_string(width_) + "\n";
    // Every number takes at most kFloatTextMax bytes and its space, every row its newline.
    out_.resize(header.size() + data_.size() * (kFloatTextMax + 1) + static_cast<size_t>(channels_ * height_));
    char* p = out_.data();
    std::memcpy(p, header.data(), header.size());
    p += header.size();
    const float* v = data_.data();
    for (int64_t row = 0; row < channels_ * height_; ++row) {
      for (int64_t x = 0; x < width_; ++x) {
        // As `std::cout << v << " "`: the value promoted to double, printf's %g with
        // precision 6.
        p = FormatFloatG6(*v++, p);
        *p++ = ' ';
      }
      *p++ = '\n';
    }
    out_.resize(static_cast<size_t>(p - out_.data()));
  }
  void OnOK() override { deferred_.Resolve(Napi::Buffer<char>::Copy(Env(), out_.data(), out_.size())); }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  std::vector<float> data_;
  int64_t channels_, height_, width_;
  std::string out_;
};

}  // namespace

Napi::Value FormatRawhm(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 4 || !info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
    throw Napi::TypeError::New(env, "formatRawhm(data: Float32Array, channels, height, width)");
  int64_t dims[3];
  for (int k = 0; k < 3; ++k) {
    if (!info[k + 1].IsNumber()) throw Napi::TypeError::New(env, "formatRawhm: channels, height and width must be numbers");
    const double d = info[k + 1].As<Napi::Number>().DoubleValue();
    if (d < 1 || d > 1e7 || d != static_cast<double>(static_cast<int64_t>(d)))
      throw Napi::RangeError::New(env, "formatRawhm: channels, height and width must be positive integers");
    dims[k] = static_cast<int64_t>(d);
  }
  Napi::Float32Array a = info[0].As<Napi::Float32Array>();
  if (static_cast<int64_t>(a.ElementLength()) != dims[0] * dims[1] * dims[2])
    throw Napi::RangeError::New(env, "formatRawhm: data length does not match channels x height x width");
  auto* worker = new FormatRawhmWorker(env, std::vector<float>(a.Data(), a.Data() + a.ElementLength()), dims[0], dims[1], dims[2]);
  Napi::Promise p = worker->Promise();
  worker->Queue();
  return p;
}

}  // namespace caffe_lrp
