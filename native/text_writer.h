// Text output of relevance maps in the original demonstrator's `_rawhm.txt` format,
// formatted by the C library's %g exactly as the original's C++ streams did (default
// precision 6), on the thread pool: a 3x227x227 map is 150k numbers.
#pragma once
#include <napi.h>

namespace caffe_lrp {

// formatRawhm(data: Float32Array, channels, height, width) -> Promise<Buffer>
Napi::Value FormatRawhm(const Napi::CallbackInfo& info);

}  // namespace caffe_lrp
