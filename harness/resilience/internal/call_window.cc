// Sliding-window bookkeeping for the circuit breaker (see call_window.h).
#include "internal/call_window.h"

#include <algorithm>

namespace chaos::resilience::internal {

void CountWindow::record_marked(uint8_t bits) {
  ++marked_total_;
  const uint64_t number = total();
  if (bits & (kSlotFailed | kSlotSlow)) marked_.push_back({number, bits});
  while (!marked_.empty() && (marked_.front().number + size_ <= number || marked_.front().number <= base_))
    marked_.pop_front();
}

WindowCounts CountWindow::counts() const {
  const uint64_t t = total();
  WindowCounts c;
  c.calls = static_cast<uint32_t>(std::min<uint64_t>(t - base_, size_));
  for (const auto& m : marked_) {
    if (m.number <= base_ || m.number + size_ <= t) continue;
    if (m.bits & kSlotFailed) ++c.failed;
    if (m.bits & kSlotSlow) ++c.slow;
  }
  return c;
}

void CountWindow::reset() {
  base_ = total();
  marked_.clear();
}

TimeWindow::TimeWindow(uint32_t seconds)
    : size_(seconds == 0 ? 1 : seconds), buckets_(new Bucket[size_]) {}

void TimeWindow::record(int64_t now_sec, uint8_t bits) {
  Bucket& b = buckets_[static_cast<uint64_t>(now_sec) % size_];
  if (b.epoch.load(std::memory_order_acquire) != now_sec) {
    std::lock_guard<std::mutex> lock(roll_mu_);
    if (b.epoch.load(std::memory_order_relaxed) < now_sec) {
      b.calls.store(0, std::memory_order_relaxed);
      b.failed.store(0, std::memory_order_relaxed);
      b.slow.store(0, std::memory_order_relaxed);
      b.epoch.store(now_sec, std::memory_order_release);
    } else if (b.epoch.load(std::memory_order_relaxed) > now_sec) {
      return;  // a call that finished a whole window ago, seen late: it no longer counts
    }
  }
  b.calls.fetch_add(1, std::memory_order_relaxed);
  if (bits & kSlotFailed) b.failed.fetch_add(1, std::memory_order_relaxed);
  if (bits & kSlotSlow) b.slow.fetch_add(1, std::memory_order_relaxed);
}

WindowCounts TimeWindow::counts(int64_t now_sec) const {
  WindowCounts c;
  for (uint32_t i = 0; i < size_; ++i) {
    const Bucket& b = buckets_[i];
    int64_t e = b.epoch.load(std::memory_order_acquire);
    if (e < 0 || e > now_sec || e <= now_sec - static_cast<int64_t>(size_)) continue;
    c.calls += b.calls.load(std::memory_order_relaxed);
    c.failed += b.failed.load(std::memory_order_relaxed);
    c.slow += b.slow.load(std::memory_order_relaxed);
  }
  return c;
}

void TimeWindow::reset() {
  std::lock_guard<std::mutex> lock(roll_mu_);
  for (uint32_t i = 0; i < size_; ++i) {
    buckets_[i].epoch.store(-1, std::memory_order_relaxed);
    buckets_[i].calls.store(0, std::memory_order_relaxed);
    buckets_[i].failed.store(0, std::memory_order_relaxed);
    buckets_[i].slow.store(0, std::memory_order_relaxed);
  }
}

}  // namespace chaos::resilience::internal
