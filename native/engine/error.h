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

// A request that would need more memory than the budget allows: refused before allocating.
// Reaches JavaScript as an Error whose `code` is 'MEMORY'.
class MemoryBudgetError : public EngineError {
 public:
  explicit MemoryBudgetError(const std::string& what) : EngineError(what) {}
};

}  // namespace caffe_lrp
