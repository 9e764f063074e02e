// Process-wide malloc settings for applications (the demonstrators), never applied by the
// library on its own: they change how every allocation of the host process behaves.
#pragma once
#include <napi.h>

namespace caffe_lrp {

// tuneAllocator(): on glibc, a fixed 4 MiB mmap threshold and at most two malloc arenas;
// returns whether the settings were applied (false elsewhere).
Napi::Value TuneAllocator(const Napi::CallbackInfo& info);

}  // namespace caffe_lrp
