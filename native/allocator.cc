#include "allocator.h"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace caffe_lrp {

Napi::Value TuneAllocator(const Napi::CallbackInfo& info) {
#if defined(__GLIBC__)
  // glibc raises its mmap threshold to the size of each large block freed (up to 32 MB), after
  // which multi-megabyte buffers (relevance copies, scratch, image and text buffers) come from
  // the heap and the per-thread arenas and stay resident there after they are freed. A fixed
  // 4 MiB threshold keeps those mmapped, returned to the system on free (128 KiB, glibc's
  // start value, saved a little more but re-faulted so many pages that the 100-photo run
  // took ~15 % longer). The threads of sharp, libuv and OpenMP would each get an arena of
  // their own (up to 8 per core), every one keeping freed memory; two are enough here.
  // Measured on the 100-photo CaffeNet run: peak RSS ~-75 MB, no change in its time.
  const bool ok = mallopt(M_MMAP_THRESHOLD, 4 * 1024 * 1024) == 1 && mallopt(M_ARENA_MAX, 2) == 1;
  return Napi::Boolean::New(info.Env(), ok);
#else
  return Napi::Boolean::New(info.Env(), false);
#endif
}

}  // namespace caffe_lrp
