#include "engine/net.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cmath>
#include <map>
#include <unordered_map>

#include <time.h>
#include <unistd.h>

#include "engine/math.h"

namespace caffe_lrp {
namespace {

double SumOf(const float* v, int64_t n) {
  double s = 0;
  for (int64_t i = 0; i < n; ++i) s += v[i];
  return s;
}

// With CAFFE_LRP_PROFILE set, prints each layer's wall time and the calling thread's CPU
// time (the latter is less disturbed by other processes on a shared machine).
class LayerTimer {
 public:
  LayerTimer(const char* pass, const Layer& layer) : pass_(pass), layer_(layer) {
    if (!Enabled()) return;
    wall_ = std::chrono::steady_clock::now();
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu_);
  }
  ~LayerTimer() {
    if (!Enabled()) return;
    timespec now{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
    const double cpu = (now.tv_sec - cpu_.tv_sec) * 1e3 + (now.tv_nsec - cpu_.tv_nsec) / 1e6;
    const double wall = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - wall_).count();
    std::fprintf(stderr, "%-9s %-14s %-12s wall %8.3f ms  cpu %8.3f ms\n", pass_, layer_.name().c_str(), layer_.type().c_str(), wall, cpu);
  }

 private:
  static bool Enabled() {
    static const bool on = std::getenv("CAFFE_LRP_PROFILE") != nullptr;
    return on;
  }
  const char* pass_;
  const Layer& layer_;
  std::chrono::steady_clock::time_point wall_;
  timespec cpu_{};
};

// 80% of physical memory: beyond that the process would swap or be killed (the fallback when
// the caller gives no budget; lib/memory-budget.ts also knows cgroup and RLIMIT_AS limits).
double PhysicalMemoryBudgetBytes() {
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
  if (pages <= 0 || page <= 0) return 64.0 * (1 << 30);
  return 0.8 * static_cast<double>(pages) * static_cast<double>(page);
}

std::string GiB(double bytes) {
  char text[32];
  std::snprintf(text, sizeof text, "%.2f GiB", bytes / (1 << 30));
  return text;
}

}  // namespace

Net::Net(const std::vector<InputDef>& inputs, const std::vector<LayerDef>& layers, MemoryBudget budget) : budget_(std::move(budget)) {
  if (!(budget_.bytes > 0)) budget_ = {PhysicalMemoryBudgetBytes(), "80 % of physical memory"};
  if (inputs.empty()) throw EngineError("the net declares no input");
  std::unordered_map<std::string, Blob*> current;
  auto make_blob = [&](const std::string& name) {
    blob_storage_.push_back(std::make_unique<Blob>(name));
    return blob_storage_.back().get();
  };
  for (const InputDef& in : inputs) {
    if (current.count(in.name)) throw EngineError("input '" + in.name + "' is declared twice");
    if (in.shape.empty()) throw EngineError("input '" + in.name + "' has no shape");
    Count(in.shape);  // validates positivity and size
    Blob* b = make_blob(in.name);
    b->Reshape(in.shape);
    inputs_.push_back(b);
    current[in.name] = b;
  }
  for (const LayerDef& def : layers) {
    layers_.push_back(CreateLayer(def));
    Blobs bottoms, tops;
    for (const std::string& name : def.bottoms) {
      auto it = current.find(name);
      if (it == current.end()) throw EngineError(def.Where() + ": bottom blob '" + name + "' is not produced by any earlier layer or input");
      bottoms.push_back(it->second);
    }
    // Every top is a new blob, also for in-place layers: the previous version keeps the
    // values the rules of lower layers need.
    for (const std::string& name : def.tops) tops.push_back(current[name] = make_blob(name));
    for (Blob* t : tops) producer_[t] = static_cast<int>(layers_.size() - 1);
    bottoms_.push_back(bottoms);
    tops_.push_back(tops);
  }
  for (size_t i = 0; i < layers_.size(); ++i)
    layers_[i]->SetExactBottom([this, i](size_t k, int64_t image, int64_t index, double* value) {
      return k < bottoms_[i].size() && ExactBlobValue(bottoms_[i][k], image, index, value);
    });
  for (size_t i = 0; i < layers_.size(); ++i)
    for (Blob* b : bottoms_[i]) {
      int& c = consumer_.emplace(b, -1).first->second;
      if (c >= 0)
        throw EngineError(layers[i].Where() + ": blob '" + b->name() + "' is also consumed by layer '" + layers[c].name +
                          "'; a blob feeding several layers needs a Split layer (loadNetSpec inserts them)");
      c = static_cast<int>(i);
    }
  for (auto& kv : current) latest_.emplace_back(kv.first, kv.second);
  Reshape(inputs_[0]->num());
}

std::vector<Blob*> Net::outputs() const {
  std::vector<Blob*> out;
  for (size_t i = inputs_.size(); i < blob_storage_.size(); ++i)
    if (ConsumerOf(blob_storage_[i].get()) < 0) out.push_back(blob_storage_[i].get());
  return out;
}

Blob* Net::FindBlob(const std::string& name) const {
  for (const auto& kv : latest_)
    if (kv.first == name) return kv.second;
  return nullptr;
}

void Net::Reshape(int64_t batch) {
  if (batch <= 0) throw EngineError("batch size must be positive, got " + std::to_string(batch));
  const int64_t previous = batch_;
  try {
    ReshapeTo(batch);
  } catch (...) {
    // Leave the net as it was: shapes back to the previous batch (memory is still there).
    if (previous > 0) ReshapeTo(previous);
    throw;
  }
}

void Net::ReshapeTo(int64_t batch) {
  forward_done_ = false;
  training_lowest_ = -1;  // the diffs are rebound below
  for (Blob* in : inputs_) {
    Shape s = in->shape();
    s[0] = batch;
    in->Reshape(s);
  }
  // Shapes first, memory second: refuse absurd sizes before allocating anything.
  for (size_t i = 0; i < layers_.size(); ++i) layers_[i]->Reshape(bottoms_[i], tops_[i]);
  DiffPlan plan = PlanDiffs();
  double bytes = plan.Bytes();
  for (const auto& b : blob_storage_) bytes += sizeof(float) * static_cast<double>(b->count());
  CheckBudget(bytes, batch);
  for (const auto& b : blob_storage_)
    if (!b->allocated()) b->Allocate();
  // The diffs follow at the first backward pass at this size (forward-only use never pays for them).
  diff_plan_ = std::move(plan);
  diffs_bound_ = false;
  for (const auto& b : blob_storage_) b->BindDiff(nullptr);
  batch_ = batch;
}

void Net::CheckBudget(double bytes, int64_t batch) const {
  if (bytes > budget_.bytes)
    throw MemoryBudgetError("the net needs " + GiB(bytes) + " for its blobs at batch size " + std::to_string(batch) + ", more than the " +
                      GiB(budget_.bytes) + " allowed (" + budget_.source + "); use a smaller batch or input, or set CAFFE_LRP_MEMORY_LIMIT");
}

std::vector<DiffLifetime> Net::DiffLifetimes() const {
  std::vector<DiffLifetime> lives;
  lives.reserve(blob_storage_.size());
  for (const auto& b : blob_storage_) {
    auto p = producer_.find(b.get());
    const int consumer = ConsumerOf(b.get());
    lives.push_back({p == producer_.end() ? -1 : p->second, consumer < 0 ? num_layers() : consumer, b->count()});
  }
  return lives;
}

DiffPlan Net::PlanDiffs() const { return dedicated_diffs_ ? PlanDedicatedDiffs(DiffLifetimes()) : PlanSharedDiffs(DiffLifetimes()); }

void Net::BindDiffs() {
  if (diffs_bound_) return;
  diff_buffers_.resize(diff_plan_.sizes.size());
  for (size_t k = 0; k < diff_buffers_.size(); ++k) {
    const size_t n = static_cast<size_t>(diff_plan_.sizes[k]);
    // Exactly the planned size: a larger old buffer gives its memory back.
    if (diff_buffers_[k].size() != n) std::vector<float>(n, 0.0f).swap(diff_buffers_[k]);
  }
  for (size_t i = 0; i < blob_storage_.size(); ++i) blob_storage_[i]->BindDiff(diff_buffers_[diff_plan_.buffer_of[i]].data());
  diffs_bound_ = true;
}

Net::MemoryStats Net::Memory() const {
  MemoryStats m;
  for (const auto& b : blob_storage_) m.data_bytes += sizeof(float) * static_cast<double>(b->count());
  m.unshared_diff_bytes = m.data_bytes;
  m.diff_bytes = diff_plan_.Bytes();
  m.diff_buffers = diff_plan_.sizes.size();
  m.diffs_allocated = diffs_bound_;
  m.dedicated = dedicated_diffs_;
  for (int k = 0; k < Workspace::kSlots; ++k) m.workspace_bytes.push_back(sizeof(float) * static_cast<double>(ws_.Floats(k)));
  return m;
}

void Net::SetInput(size_t index, const float* data, int64_t count) {
  if (index >= inputs_.size()) throw EngineError("the net has " + std::to_string(inputs_.size()) + " input(s), not " + std::to_string(index + 1));
  Blob* in = inputs_[index];
  if (count != in->count())
    throw EngineError("input '" + in->name() + "' needs " + std::to_string(in->count()) + " values (" + ShapeString(in->shape()) +
                      "), got " + std::to_string(count));
  const int64_t per_image = in->per_image();
  for (int64_t i = 0; i < count; ++i)
    if (!std::isfinite(data[i]))
      throw EngineError("input '" + in->name() + "': image " + std::to_string(i / per_image) + " has a non-finite value (" +
                        std::to_string(data[i]) + ") at index " + std::to_string(i % per_image));
  std::copy(data, data + count, in->data());
  forward_done_ = false;
}

void Net::Forward() {
  for (size_t i = 0; i < layers_.size(); ++i) {
    LayerTimer timer("forward", *layers_[i]);
    layers_[i]->Forward(bottoms_[i], tops_[i], ws_);
  }
  forward_done_ = true;
  AfterPass(&forward_ran_, backward_ran_);
}

void Net::AfterPass(bool* mine_ran, bool other_ran) {
  // The forward pass and the relevance walk share only slot 0 (the convolutions' columns);
  // the walk's other slots (batch layout copies, the rules' quotients and sums) and the
  // forward pass's output slot would each stay allocated while the other kind of pass runs
  // and while the caller works between passes. So once both kinds of pass have run, scratch
  // lives for one pass only. Growing it again costs ~10,000 page faults per batch of 10: on
  // the busy Zen 3 host of 2026-12-02 an interleaved A/B put that at roughly 4-8 % of the
  // epsilon row's time, for a saving within the end-to-end run's RSS spread (see README).
  // Forward-only use keeps its scratch (nothing to gain from freeing it).
  *mine_ran = true;
  if (other_ran) ws_.Release();
}

bool Net::ExactBlobValue(const Blob* b, int64_t image, int64_t index, double* value) const {
  auto it = producer_.find(b);
  if (it == producer_.end()) return false;
  const size_t p = static_cast<size_t>(it->second);
  if (tops_[p].empty() || tops_[p][0] != b) return false;  // (only top 0 is described)
  return layers_[p]->ExactTopValue(bottoms_[p], image, index, value);
}

int Net::ConsumerOf(const Blob* b) const {
  auto it = consumer_.find(b);
  return it == consumer_.end() ? -1 : it->second;
}

void Net::ZeroUnreachedDiffs(const BackwardRequest& r) {
  // A top whose consumer is not visited receives no relevance from above: make it zero
  // instead of whatever an earlier call left there.
  for (int i = r.end; i <= r.start; ++i)
    for (Blob* t : tops_[i]) {
      const int c = ConsumerOf(t);
      if (i == r.start || c < 0 || c > r.start) t->ZeroDiff();
    }
}

void Net::Seed(const BackwardRequest& r) {
  const Blobs& tops = tops_[r.start];
  if (r.seeds.classes.size() > static_cast<size_t>(batch_))
    throw EngineError("got class lists for " + std::to_string(r.seeds.classes.size()) + " images but the batch holds " + std::to_string(batch_));
  for (Blob* t : tops) {
    const int64_t per_image = t->per_image();
    for (size_t n = 0; n < r.seeds.classes.size(); ++n) {
      const std::vector<int64_t>& cls = r.seeds.classes[n];
      const bool explicit_values = n < r.seeds.values.size() && !r.seeds.values[n].empty();
      if (explicit_values && r.seeds.values[n].size() != cls.size())
        throw EngineError("image " + std::to_string(n) + ": " + std::to_string(cls.size()) + " classes but " +
                          std::to_string(r.seeds.values[n].size()) + " seed values");
      for (size_t k = 0; k < cls.size(); ++k) {
        if (cls[k] < 0 || cls[k] >= per_image)
          throw EngineError("class index " + std::to_string(cls[k]) + " is out of range: layer '" + layers_[r.start]->name() +
                            "' has " + std::to_string(per_image) + " outputs per image");
        const int64_t at = static_cast<int64_t>(n) * per_image + cls[k];
        t->diff()[at] = explicit_values ? r.seeds.values[n][k] : t->data()[at];
      }
    }
  }
}

BackwardResult Net::Backward(const BackwardRequest& r) {
  if (!forward_done_) throw EngineError("no forward pass on the current input: run forward() before a backward pass");
  const int n_layers = num_layers();
  if (r.start < 0 || r.start >= n_layers)
    throw EngineError("start layer index " + std::to_string(r.start) + " is outside the net (0.." + std::to_string(n_layers - 1) + ")");
  if (r.end < 0 || r.end > r.start)
    throw EngineError("first layer index " + std::to_string(r.end) + " must be between 0 and the start layer index " + std::to_string(r.start));
  if (!r.gradient && r.rules.size() != static_cast<size_t>(n_layers))
    throw EngineError("internal: expected one rule per layer");
  BindDiffs();
  ZeroUnreachedDiffs(r);
  Seed(r);
  BackwardResult result;
  for (int i = r.start; i >= r.end; --i) {
    Layer& layer = *layers_[i];
    {
      LayerTimer timer(r.gradient ? "gradient" : "relevance", layer);
      if (r.gradient || r.rules[i].gradient) layer.BackwardGradient(bottoms_[i], tops_[i], ws_);
      else layer.BackwardRelevance(bottoms_[i], tops_[i], r.rules[i], ws_);
    }
    if (r.conservation) {
      LayerConservation lc{i, std::vector<double>(batch_, 0.0), std::vector<double>(batch_, 0.0)};
      for (int64_t n = 0; n < batch_; ++n) {
        for (Blob* t : tops_[i]) lc.in[n] += SumOf(t->diff() + n * t->per_image(), t->per_image());
        for (Blob* b : bottoms_[i]) lc.out[n] += SumOf(b->diff() + n * b->per_image(), b->per_image());
      }
      result.conservation.push_back(std::move(lc));
    }
  }
  AfterPass(&backward_ran_, forward_ran_);
  const Blob& out = *bottoms_[r.end][0];
  result.shape = out.shape();
  result.data.assign(out.diff(), out.diff() + out.count());
  return result;
}

std::vector<std::string> Net::NonFiniteWeights() const {
  std::vector<std::string> names;
  for (const auto& l : layers_) {
    bool bad = false;
    for (const WeightBlob& b : l->def().blobs) bad = bad || !AllFinite(b.data.data(), static_cast<int64_t>(b.data.size()));
    if (bad) names.push_back(l->name());
  }
  return names;
}

}  // namespace caffe_lrp
