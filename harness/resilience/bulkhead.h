// A bulkhead caps how many calls may be in flight to one dependency, so a slow dependency cannot take
// every thread of the service with it. A call over the cap waits up to max_wait for a slot (measured on
// the injected clock, through a ClockCondition: a plain condition-variable wait on the real clock, a
// wait that ManualClock::advance() wakes in tests), then is rejected with BULKHEAD_FULL.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <exception>
#include <string>

#include "environment.h"
#include "error.h"

namespace chaos::resilience {

struct BulkheadConfig {
  uint32_t max_concurrent = 25;
  // Zero: reject at once when full. A waiter gives up once clock.now() >= (start of wait + max_wait).
  Duration max_wait = Duration::zero();
};

class Bulkhead {
 public:
  Bulkhead(std::string name, BulkheadConfig config, Environment env = {});

  // Lock-free when a slot is free. Waits up to max_wait otherwise. False: rejected (counted, and a
  // `bulkhead.rejected` event).
  bool try_acquire();
  void release();

  template <class F>
  auto execute(F&& f) -> decltype(f()) {
    if (!try_acquire())
      return Error{ErrorCategory::kBulkheadFull,
                   "bulkhead '" + name_ + "' full (" + std::to_string(config_.max_concurrent) +
                       " concurrent calls)",
                   false};
    struct Releaser {
      Bulkhead* b;
      ~Releaser() { b->release(); }
    } releaser{this};
    return f();
  }

  uint32_t active() const { return active_.load(std::memory_order_relaxed); }
  // Calls currently blocked waiting for a slot.
  uint32_t waiting() const { return waiters_.load(std::memory_order_relaxed); }
  uint64_t rejected() const { return rejected_.load(std::memory_order_relaxed); }
  const std::string& name() const { return name_; }
  const BulkheadConfig& config() const { return config_; }

 private:
  bool try_take();
  const std::string name_;
  const BulkheadConfig config_;
  const Environment env_;
  std::atomic<uint32_t> active_{0};
  std::atomic<uint32_t> waiters_{0};
  std::atomic<uint64_t> rejected_{0};
  // Signalled by release() when a waiter may take the freed slot; declared after env_ (uses its clock).
  ClockCondition slot_freed_;
};

}  // namespace chaos::resilience
