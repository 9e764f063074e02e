// EngineError: every problem the engine detects (bad shapes, unsupported layers, invalid
// options, absurd sizes) is thrown as this type and turned into a JS Error at the N-API
// boundary; nothing in the engine aborts the process.
#pragma once
#include <stdexcept>
#include <string>

namespace caffe_lrp {

class EngineError : public std::runtime_error {
 public:
  explicit EngineError(const std::string& what) : std::runtime_error(what) {}
};

}  // namespace caffe_lrp
