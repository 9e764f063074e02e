// The memory read bandwidth this process reaches (GB/s), for the benchmarks: the fully
// connected layers at small batches stream their weights once per pass, so their speed is
// judged against this figure rather than against the sgemm rate.
#pragma once

namespace caffe_lrp {

// Best of `repeats` passes summing a buffer of `megabytes` MB (well beyond the caches) on
// all threads, as wide loads do.
double MeasureReadBandwidthGBps(int megabytes, int repeats);

}  // namespace caffe_lrp
