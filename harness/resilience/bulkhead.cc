// Concurrency slots: a lock-free fast path, a bounded wait on the injected clock (see bulkhead.h).
#include "bulkhead.h"

namespace chaos::resilience {

Bulkhead::Bulkhead(std::string name, BulkheadConfig config, Environment env)
    : name_(std::move(name)), config_(config), env_(env), slot_freed_(*env_.clock) {}

bool Bulkhead::try_take() {
  uint32_t cur = active_.load(std::memory_order_relaxed);
  while (cur < config_.max_concurrent) {
    if (active_.compare_exchange_weak(cur, cur + 1, std::memory_order_acquire)) return true;
  }
  return false;
}

bool Bulkhead::try_acquire() {
  if (try_take()) return true;
  if (config_.max_wait > Duration::zero()) {
    const TimePoint until = env_.clock->now() + config_.max_wait;
    std::unique_lock<std::mutex> lock(slot_freed_.mutex());
    waiters_.fetch_add(1);  // seq_cst: pairs with release()'s check
    bool got = false;
    // Bounded: each pass either takes a slot, sees the deadline passed, or blocks until a release or
    // the clock reaching `until` (a real deadline, or a ManualClock move) wakes it.
    while (!(got = try_take())) {
      if (env_.clock->now() >= until) break;
      slot_freed_.wait_until(lock, until);
    }
    waiters_.fetch_sub(1, std::memory_order_acq_rel);
    if (got) return true;
  }
  rejected_.fetch_add(1, std::memory_order_relaxed);
  if (env_.publishing()) {
    env_.events->publish("bulkhead.rejected", name_,
                         EventFields{{"active", active_.load(std::memory_order_relaxed)},
                                     {"max_concurrent", config_.max_concurrent}});
  }
  return false;
}

void Bulkhead::release() {
  active_.fetch_sub(1);  // seq_cst, so a waiter registering now sees the slot or gets notified
  if (waiters_.load() > 0) {
    // Taking the mutex orders this notify after a waiter's failed try_take(): it cannot be lost.
    std::lock_guard<std::mutex> lock(slot_freed_.mutex());
    slot_freed_.notify_one();
  }
}

}  // namespace chaos::resilience
