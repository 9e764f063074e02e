// The one thread that runs every engine computation of the process.
//
// OpenMP keeps a team of worker threads per thread that starts parallel regions (OpenBLAS's
// OpenMP build included). libuv hands successive calls to any thread of its pool, so each
// pool thread grew its own team, and a call that landed on a team whose workers had gone to
// sleep paid for waking them (a first convolution up to twice as slow, at random). Running
// the computations on one thread keeps one team, always warm. Calls of different nets take
// turns, in order of arrival; each already uses every core.
#pragma once
#include <functional>

namespace caffe_lrp {

// Runs `task` on the engine thread and returns when it is done; an exception it throws is
// rethrown here. Called from libuv's pool threads (AsyncWorker::Execute), never from JS.
void RunOnEngineThread(const std::function<void()>& task);

}  // namespace caffe_lrp
