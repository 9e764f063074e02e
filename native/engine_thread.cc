#include "engine_thread.h"

#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <thread>

namespace caffe_lrp {
namespace {

struct Job {
  const std::function<void()>* task = nullptr;
  std::exception_ptr error;
  bool done = false;
};

class EngineThread {
 public:
  EngineThread() : thread_([this] { Loop(); }) { thread_.detach(); }

  void Run(const std::function<void()>& task) {
    Job job;
    job.task = &task;
    std::unique_lock<std::mutex> lock(mutex_);
    queue_.push_back(&job);
    work_.notify_one();
    finished_.wait(lock, [&] { return job.done; });
    if (job.error) std::rethrow_exception(job.error);
  }

 private:
  void Loop() {
    for (;;) {
      Job* job = nullptr;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        work_.wait(lock, [&] { return !queue_.empty(); });
        job = queue_.front();
        queue_.pop_front();
      }
      try {
        (*job->task)();
      } catch (...) {
        job->error = std::current_exception();
      }
      {
        std::lock_guard<std::mutex> lock(mutex_);
        job->done = true;
      }
      finished_.notify_all();
    }
  }

  std::mutex mutex_;
  std::condition_variable work_, finished_;
  std::deque<Job*> queue_;
  std::thread thread_;
};

}  // namespace

void RunOnEngineThread(const std::function<void()>& task) {
  // Created on first use and never destroyed: the thread ends with the process, which may
  // exit while a computation runs (joining it in a static destructor could hold the exit up).
  static EngineThread* engine = new EngineThread();
  engine->Run(task);
}

}  // namespace caffe_lrp
