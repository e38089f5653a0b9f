// Time is injected everywhere so that logic can be tested on a manual clock with no real sleeps.
// The real clock reads CLOCK_MONOTONIC, which every process on the machine shares: that is what lets
// the harness line up events from the system under test with its own fault timeline.
//
// Besides now(), a Clock offers two optional abilities with safe defaults:
//   - coarse_now(): a cheaper reading for hot paths that may lag now() by a bounded amount
//     (coarse_resolution()) but never runs ahead of it;
//   - timed waits through ClockCondition, so code that waits "until a deadline or a notify" waits on
//     the injected clock: a plain condition-variable wait on the real clock, and on a ManualClock a wait
//     that advance()/set() wake, so tests never wait for real time to pass.
#pragma once

#include <time.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <vector>

namespace chaos {

using Duration = std::chrono::nanoseconds;
// A point on the monotonic clock, in nanoseconds since an unspecified (machine-wide) epoch.
using TimePoint = std::chrono::time_point<std::chrono::steady_clock, Duration>;

class ClockCondition;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimePoint now() const = 0;

  // A reading that is cheaper than now() where the platform allows it. Contract: never later than a
  // now() read at the same moment, and no more than coarse_resolution() earlier. Default: now().
  virtual TimePoint coarse_now() const { return now(); }
  // How far coarse_now() may lag now(); zero when coarse_now() is now().
  virtual Duration coarse_resolution() const { return Duration::zero(); }

  // How a ClockCondition blocks (see below); `lock` holds the condition's mutex. May return early
  // (spurious wake-up): callers re-check their condition and the clock in a loop. This default is for
  // a clock that moves at real speed: it waits out the remaining time on the real clock.
  virtual void wait_until(std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
                          TimePoint deadline) const {
    const Duration left = deadline - now();
    if (left > Duration::zero()) cv.wait_for(lock, left);
  }

 protected:
  friend class ClockCondition;
  // A clock that can jump (ManualClock) keeps the conditions built on it, to wake them when it moves.
  virtual void attach(ClockCondition*) const {}
  virtual void detach(ClockCondition*) const {}
};

// A condition variable whose timed waits are measured on an injected Clock, with its mutex. Wait as
// with std::condition_variable, holding a lock on mutex():
//   std::unique_lock<std::mutex> lock(cond.mutex());
//   while (!ready() && clock.now() < deadline) cond.wait_until(lock, deadline);
// On the real clock this is one condition-variable wait until the deadline or a notify (no polling).
// On a ManualClock every move of the clock notifies all waiters, which then re-read it. The clock must
// outlive the condition, and must not be moved by a thread holding mutex() (it locks it to notify).
class ClockCondition {
 public:
  explicit ClockCondition(const Clock& clock) : clock_(clock) { clock_.attach(this); }
  ~ClockCondition() { clock_.detach(this); }
  ClockCondition(const ClockCondition&) = delete;
  ClockCondition& operator=(const ClockCondition&) = delete;

  std::mutex& mutex() { return mu_; }
  void wait_until(std::unique_lock<std::mutex>& lock, TimePoint deadline) {
    clock_.wait_until(lock, cv_, deadline);
  }
  // Call with or without mutex() held; to avoid a lost wake-up, change the awaited state under it or
  // (for atomics) make the change visible before taking it.
  void notify_one() { cv_.notify_one(); }
  void notify_all() { cv_.notify_all(); }

 private:
  friend class ManualClock;
  const Clock& clock_;
  std::mutex mu_;
  std::condition_variable cv_;
};

// CLOCK_MONOTONIC: std::chrono::steady_clock on Linux/glibc.
class SteadyClock final : public Clock {
 public:
  TimePoint now() const override { return std::chrono::steady_clock::now(); }
  // CLOCK_MONOTONIC_COARSE is the same clock as CLOCK_MONOTONIC, as of the last timer tick: a vDSO read
  // with no hardware counter access, never ahead of CLOCK_MONOTONIC, behind by at most one tick
  // (clock_getres reports it: 4 ms with CONFIG_HZ=250, 1 ms with HZ=1000).
  TimePoint coarse_now() const override {
#ifdef CLOCK_MONOTONIC_COARSE
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return TimePoint(Duration(int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec));
#else
    return now();
#endif
  }
  Duration coarse_resolution() const override {
#ifdef CLOCK_MONOTONIC_COARSE
    static const Duration resolution = [] {
      timespec ts{};
      if (clock_getres(CLOCK_MONOTONIC_COARSE, &ts) != 0) return Duration(std::chrono::milliseconds(10));
      return Duration(int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec);
    }();
    return resolution;
#else
    return Duration::zero();
#endif
  }
  void wait_until(std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
                  TimePoint deadline) const override {
    cv.wait_until(lock, std::chrono::time_point_cast<std::chrono::steady_clock::duration>(deadline));
  }
  static SteadyClock& instance() {
    static SteadyClock clock;
    return clock;
  }
};

// A clock that moves only when told to. Thread-safe: readers see a consistent value. coarse_now() is
// exactly now(), so code using the coarse reading behaves identically under test. Moving the clock
// wakes every ClockCondition built on it.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(TimePoint start = TimePoint(std::chrono::seconds(1000)))
      : ns_(start.time_since_epoch().count()) {}
  TimePoint now() const override { return TimePoint(Duration(ns_.load(std::memory_order_acquire))); }
  void advance(Duration d) {
    ns_.fetch_add(d.count(), std::memory_order_acq_rel);
    wake_waiters();
  }
  void set(TimePoint t) {
    ns_.store(t.time_since_epoch().count(), std::memory_order_release);
    wake_waiters();
  }
  // The deadline cannot pass without advance()/set(), which notify: wait for a notify only.
  void wait_until(std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
                  TimePoint deadline) const override {
    if (now() < deadline) cv.wait(lock);
  }

 protected:
  void attach(ClockCondition* c) const override {
    std::lock_guard<std::mutex> lock(conditions_mu_);
    conditions_.push_back(c);
  }
  void detach(ClockCondition* c) const override {
    std::lock_guard<std::mutex> lock(conditions_mu_);
    conditions_.erase(std::remove(conditions_.begin(), conditions_.end(), c), conditions_.end());
  }

 private:
  // Taking each condition's mutex before notifying closes the window in which a waiter has read the old
  // time but is not yet blocked. Holding conditions_mu_ throughout keeps a condition from being
  // destroyed mid-notify (detach waits for it).
  void wake_waiters() {
    std::lock_guard<std::mutex> lock(conditions_mu_);
    for (ClockCondition* c : conditions_) {
      std::lock_guard<std::mutex> waiter_lock(c->mu_);
      c->cv_.notify_all();
    }
  }

  std::atomic<int64_t> ns_;
  mutable std::mutex conditions_mu_;
  mutable std::vector<ClockCondition*> conditions_;
};

// Microseconds on the monotonic clock: the unit of the `ts_us` field of the event stream.
inline int64_t to_us(TimePoint t) {
  return std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
}
inline double to_ms(Duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

}  // namespace chaos
