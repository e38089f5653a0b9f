// Where health checks and heal functions run. Checks must run concurrently in production (one slow
// check must not delay the others), but deterministically in tests: ThreadPoolExecutor for the
// first, InlineExecutor for the second.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace chaos::resilience {

class Executor {
 public:
  virtual ~Executor() = default;
  virtual void submit(std::function<void()> task) = 0;
};

// Runs the task immediately on the caller's thread.
class InlineExecutor final : public Executor {
 public:
  void submit(std::function<void()> task) override { task(); }
};

// A fixed set of worker threads. The destructor runs every queued task, then joins: a task that never
// returns blocks it, so check and heal functions must honour their own timeouts eventually.
class ThreadPoolExecutor final : public Executor {
 public:
  explicit ThreadPoolExecutor(unsigned threads = 4);
  ~ThreadPoolExecutor() override;
  ThreadPoolExecutor(const ThreadPoolExecutor&) = delete;
  ThreadPoolExecutor& operator=(const ThreadPoolExecutor&) = delete;
  void submit(std::function<void()> task) override;

 private:
  void work();
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  bool stop_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace chaos::resilience
