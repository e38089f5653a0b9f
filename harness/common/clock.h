// Time is injected everywhere so that logic can be tested on a manual clock with no real sleeps.
// The real clock reads CLOCK_MONOTONIC, which every process on the machine shares: that is what lets
// the harness line up events from the system under test with its own fault timeline.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace chaos {

using Duration = std::chrono::nanoseconds;
// A point on the monotonic clock, in nanoseconds since an unspecified (machine-wide) epoch.
using TimePoint = std::chrono::time_point<std::chrono::steady_clock, Duration>;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimePoint now() const = 0;
};

// CLOCK_MONOTONIC: std::chrono::steady_clock on Linux/glibc.
class SteadyClock final : public Clock {
 public:
  TimePoint now() const override { return std::chrono::steady_clock::now(); }
  static SteadyClock& instance() {
    static SteadyClock clock;
    return clock;
  }
};

// A clock that moves only when told to. Thread-safe: readers see a consistent value.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(TimePoint start = TimePoint(std::chrono::seconds(1000)))
      : ns_(start.time_since_epoch().count()) {}
  TimePoint now() const override { return TimePoint(Duration(ns_.load(std::memory_order_acquire))); }
  void advance(Duration d) { ns_.fetch_add(d.count(), std::memory_order_acq_rel); }
  void set(TimePoint t) { ns_.store(t.time_since_epoch().count(), std::memory_order_release); }

 private:
  std::atomic<int64_t> ns_;
};

// Microseconds on the monotonic clock: the unit of the `ts_us` field of the event stream.
inline int64_t to_us(TimePoint t) {
  return std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
}
inline double to_ms(Duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

}  // namespace chaos
