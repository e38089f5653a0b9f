// Timers are injected like the clock: a breaker's OPEN -> HALF_OPEN timer, the half-open max wait,
// health-check intervals and heal backoff all go through a Scheduler. Production uses RealScheduler
// (one thread, a timer queue on the steady clock); tests use ManualScheduler, which runs due tasks
// only when the test advances its ManualClock, so timing logic is tested with no real sleeps.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <thread>
#include <utility>

#include "common/clock.h"

namespace chaos::resilience {

class Scheduler {
 public:
  using TaskId = uint64_t;  // never 0
  virtual ~Scheduler() = default;
  // Runs `fn` once, no earlier than `delay` from now on clock(). Tasks due at the same instant run in
  // scheduling order. Tasks must not block for long: they share one thread.
  virtual TaskId schedule_after(Duration delay, std::function<void()> fn) = 0;
  // True when the task had not started and now never will.
  virtual bool cancel(TaskId id) = 0;
  virtual const Clock& clock() const = 0;
};

// A timer thread on the steady clock. Destruction cancels pending tasks and joins the thread (a task
// already running finishes first).
class RealScheduler final : public Scheduler {
 public:
  RealScheduler();
  ~RealScheduler() override;
  RealScheduler(const RealScheduler&) = delete;
  RealScheduler& operator=(const RealScheduler&) = delete;

  TaskId schedule_after(Duration delay, std::function<void()> fn) override;
  bool cancel(TaskId id) override;
  const Clock& clock() const override { return SteadyClock::instance(); }
  size_t pending() const;

 private:
  void loop();
  mutable std::mutex mu_;
  std::condition_variable cv_;
  // Keyed by (due time, id): ordered by time, then by scheduling order.
  std::map<std::pair<TimePoint, TaskId>, std::function<void()>> queue_;
  std::map<TaskId, TimePoint> due_of_;
  TaskId next_id_ = 1;
  bool stop_ = false;
  std::thread thread_;  // last: starts after everything above is initialised
};

// Runs tasks only from advance()/run_due(), on the calling thread. Thread-safe: tasks may be scheduled
// from other threads (they run at the next advance).
class ManualScheduler final : public Scheduler {
 public:
  explicit ManualScheduler(ManualClock& clock) : clock_(clock) {}

  TaskId schedule_after(Duration delay, std::function<void()> fn) override;
  bool cancel(TaskId id) override;
  const Clock& clock() const override { return clock_; }

  // Moves the clock forward by `d`, stopping at each task's due time to run it with the clock showing
  // exactly that time (so a task scheduled by a task runs too if it falls within `d`).
  void advance(Duration d);
  // Runs every task due at the current time. Returns how many ran.
  size_t run_due();
  size_t pending() const;
  // Time until the next pending task, if any.
  bool next_due(Duration* out) const;

 private:
  bool pop_due(TimePoint limit, std::function<void()>* fn, TimePoint* at);
  ManualClock& clock_;
  mutable std::mutex mu_;
  std::map<std::pair<TimePoint, TaskId>, std::function<void()>> queue_;
  std::map<TaskId, TimePoint> due_of_;
  TaskId next_id_ = 1;
};

}  // namespace chaos::resilience
