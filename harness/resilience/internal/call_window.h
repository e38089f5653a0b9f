// The sliding windows a circuit breaker judges rates over, kept apart from the state logic. Recording
// a success is lock-free (a thread-private counter for the count window, one atomic add for the time
// window); reading a snapshot walks the window. The breaker only reads on failures, slow calls and the
// rare success that completes the minimum number of calls, which keeps its CLOSED success path cheap.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "sharded_counter.h"

namespace chaos::resilience::internal {

struct WindowCounts {
  uint32_t calls = 0;
  uint32_t failed = 0;
  uint32_t slow = 0;
};

enum : uint8_t { kSlotRecorded = 1, kSlotFailed = 2, kSlotSlow = 4 };

// The last N recorded calls. Successes are only counted, on a per-thread shard that only its own
// thread writes (a relaxed load and store: no locked read-modify-write, no shared cache line).
// Failures and slow calls, which are rare and already take the breaker's lock, are numbered after
// every call counted so far and kept in a list; the window is "the calls numbered above total - N".
// record_success() is lock-free and may run concurrently with anything; every other member must be
// called under the owner's lock.
class CountWindow {
 public:
  explicit CountWindow(uint32_t size) : size_(size == 0 ? 1 : size) {}

  void record_success() { successes_.add(); }
  // A call carrying kSlotFailed and/or kSlotSlow (a plain success is also accepted).
  void record_marked(uint8_t bits);
  WindowCounts counts() const;
  void reset();
  uint32_t size() const { return size_; }
  // Every call ever recorded (not reset by reset()).
  uint64_t total() const { return marked_total_ + successes_.sum(); }

 private:
  struct Marked {
    uint64_t number;  // 1-based call number
    uint8_t bits;
  };
  const uint32_t size_;
  ShardedCounter successes_;
  uint64_t marked_total_ = 0;  // calls recorded through record_marked
  uint64_t base_ = 0;          // total() at the last reset
  std::deque<Marked> marked_;  // failures / slow calls still possibly inside the window
};

// Calls in the last N whole seconds, one bucket per second. A bucket is recycled (zeroed) the first
// time a call lands in it in a new second; that rare step takes a mutex.
class TimeWindow {
 public:
  explicit TimeWindow(uint32_t seconds);
  void record(int64_t now_sec, uint8_t bits);
  WindowCounts counts(int64_t now_sec) const;
  void reset();
  uint32_t size() const { return size_; }

 private:
  struct Bucket {
    std::atomic<int64_t> epoch{-1};  // the second this bucket currently counts
    std::atomic<uint32_t> calls{0};
    std::atomic<uint32_t> failed{0};
    std::atomic<uint32_t> slow{0};
  };
  uint32_t size_;
  std::unique_ptr<Bucket[]> buckets_;
  std::mutex roll_mu_;
};

}  // namespace chaos::resilience::internal
