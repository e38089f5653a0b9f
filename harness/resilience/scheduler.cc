// The real timer thread and the manual, test-driven scheduler (see scheduler.h).
#include "scheduler.h"

namespace chaos::resilience {

RealScheduler::RealScheduler() : thread_([this] { loop(); }) {}

RealScheduler::~RealScheduler() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
    queue_.clear();
    due_of_.clear();
  }
  cv_.notify_all();
  thread_.join();
}

Scheduler::TaskId RealScheduler::schedule_after(Duration delay, std::function<void()> fn) {
  if (delay < Duration::zero()) delay = Duration::zero();
  TaskId id;
  {
    std::lock_guard<std::mutex> lock(mu_);
    id = next_id_++;
    TimePoint due = clock().now() + delay;
    queue_.emplace(std::make_pair(due, id), std::move(fn));
    due_of_.emplace(id, due);
  }
  cv_.notify_all();
  return id;
}

bool RealScheduler::cancel(TaskId id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = due_of_.find(id);
  if (it == due_of_.end()) return false;
  queue_.erase({it->second, id});
  due_of_.erase(it);
  return true;
}

size_t RealScheduler::pending() const {
  std::lock_guard<std::mutex> lock(mu_);
  return queue_.size();
}

void RealScheduler::loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    if (queue_.empty()) {
      cv_.wait(lock);
      continue;
    }
    auto it = queue_.begin();
    TimePoint due = it->first.first;
    if (std::chrono::steady_clock::now() < due) {
      cv_.wait_until(lock, std::chrono::time_point_cast<std::chrono::steady_clock::duration>(due));
      continue;
    }
    auto fn = std::move(it->second);
    due_of_.erase(it->first.second);
    queue_.erase(it);
    lock.unlock();
    try {
      fn();
    } catch (...) {
      // A throwing task must not kill the timer thread that every other timer depends on.
    }
    lock.lock();
  }
}

Scheduler::TaskId ManualScheduler::schedule_after(Duration delay, std::function<void()> fn) {
  if (delay < Duration::zero()) delay = Duration::zero();
  std::lock_guard<std::mutex> lock(mu_);
  TaskId id = next_id_++;
  TimePoint due = clock_.now() + delay;
  queue_.emplace(std::make_pair(due, id), std::move(fn));
  due_of_.emplace(id, due);
  return id;
}

bool ManualScheduler::cancel(TaskId id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = due_of_.find(id);
  if (it == due_of_.end()) return false;
  queue_.erase({it->second, id});
  due_of_.erase(it);
  return true;
}

bool ManualScheduler::pop_due(TimePoint limit, std::function<void()>* fn, TimePoint* at) {
  std::lock_guard<std::mutex> lock(mu_);
  if (queue_.empty()) return false;
  auto it = queue_.begin();
  if (it->first.first > limit) return false;
  *at = it->first.first;
  *fn = std::move(it->second);
  due_of_.erase(it->first.second);
  queue_.erase(it);
  return true;
}

void ManualScheduler::advance(Duration d) {
  TimePoint target = clock_.now() + d;
  std::function<void()> fn;
  TimePoint at;
  while (pop_due(target, &fn, &at)) {
    if (at > clock_.now()) clock_.set(at);
    fn();
  }
  if (target > clock_.now()) clock_.set(target);
}

size_t ManualScheduler::run_due() {
  size_t n = 0;
  std::function<void()> fn;
  TimePoint at;
  while (pop_due(clock_.now(), &fn, &at)) {
    fn();
    ++n;
  }
  return n;
}

size_t ManualScheduler::pending() const {
  std::lock_guard<std::mutex> lock(mu_);
  return queue_.size();
}

bool ManualScheduler::next_due(Duration* out) const {
  std::lock_guard<std::mutex> lock(mu_);
  if (queue_.empty()) return false;
  *out = queue_.begin()->first.first - clock_.now();
  return true;
}

}  // namespace chaos::resilience
