// A circuit breaker stops calling a dependency that is failing, gives it time to recover, then lets a
// few trial calls through before trusting it again. Semantics follow resilience4j (see
// docs/RESILIENCE.md for every threshold and whether it compares with >= or >).
//
//   CLOSED --(rate / consecutive / N-within-T rule)--> OPEN --(wait elapsed)--> HALF_OPEN
//     ^                                                 ^                          |
//     +--------------(enough trial successes)-----------|-----(trial failure or ---+
//                                                           max wait in half-open)
//   FORCED_OPEN and DISABLED are entered and left only by explicit calls.
//
// Hot path: in CLOSED, try_acquire() is one atomic load and on_success() a relaxed load and store
// on a counter private to the calling thread; nothing locks, allocates, does a locked
// read-modify-write or reads the clock (unless slow-call detection or a time window is configured).
// Rejection in OPEN is the same: a state load and a thread-private counter; it never throws. In the
// default next-call mode it also reads Clock::coarse_now() (CLOCK_MONOTONIC_COARSE on the real clock,
// no hardware counter read), so the OPEN -> HALF_OPEN move can come up to one coarse tick late.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "environment.h"
#include "error.h"
#include "internal/anchor.h"
#include "internal/call_window.h"
#include "internal/sharded_counter.h"

namespace chaos::resilience {

enum class BreakerState : uint8_t { kClosed, kOpen, kHalfOpen, kForcedOpen, kDisabled };
std::string_view to_string(BreakerState s);

enum class SlidingWindowType : uint8_t { kCountBased, kTimeBased };

// What a failed call means to the breaker.
enum class ErrorDecision : uint8_t {
  kRecord,   // a failure: counts against the thresholds
  kIgnore,   // neither success nor failure (e.g. our own bad request); frees a half-open permit
  kSuccess,  // the dependency answered correctly even though the caller sees an error
};

// Default classification: CLIENT_ERROR, VALIDATION and the library's own rejections (CIRCUIT_OPEN,
// BULKHEAD_FULL, SHED) are ignored; every other category is recorded as a failure.
ErrorDecision default_error_classifier(const Error& e);

struct CircuitBreakerConfig {
  SlidingWindowType window_type = SlidingWindowType::kCountBased;
  // Calls (count-based) or whole seconds (time-based).
  uint32_t window_size = 100;
  // Rates are judged only once the window holds >= this many calls.
  uint32_t minimum_calls = 10;
  // Percent; opens when failure rate >= threshold. > 100 disables the rule.
  double failure_rate_threshold = 50.0;
  // A call is slow when its duration >= slow_call_duration. Zero disables slow-call detection (and
  // keeps the clock off the CLOSED hot path).
  Duration slow_call_duration = Duration::zero();
  // Percent; opens when slow-call rate >= threshold (only with slow_call_duration > 0).
  double slow_call_rate_threshold = 100.0;
  // Opens when this many failures in a row are recorded (>=). 0 disables the rule.
  uint32_t consecutive_failure_threshold = 0;
  // Absolute rule: opens when >= failures_within_count failures were recorded within the last
  // failures_within_period (a failure exactly `period` old no longer counts). 0 disables it.
  uint32_t failures_within_count = 0;
  Duration failures_within_period = std::chrono::seconds(10);
  // Wait in OPEN before HALF_OPEN is allowed. Each consecutive re-open (without closing in between)
  // multiplies it by open_wait_multiplier, capped at max_wait_in_open.
  Duration wait_in_open = std::chrono::seconds(60);
  double open_wait_multiplier = 1.0;
  Duration max_wait_in_open = std::chrono::minutes(5);
  // true: a timer moves OPEN -> HALF_OPEN when the wait elapses (needs Environment::scheduler) and the
  // OPEN rejection path never reads the clock. false: the first call after the wait does it; that call
  // is recognised with Clock::coarse_now(), so it may be late by up to clock->coarse_resolution() (one
  // kernel tick on the real clock; zero on a ManualClock).
  bool automatic_transition = false;
  // Trial calls let through in HALF_OPEN; further calls are rejected until results come back.
  uint32_t permitted_calls_in_half_open = 10;
  // Successes that close the breaker (0 = all permitted calls). It re-opens as soon as failures make
  // that impossible, i.e. when failures > permitted - successes_to_close; with the default any trial
  // failure re-opens. Slow calls count as failures here when slow-call detection is on.
  uint32_t successes_to_close = 0;
  // Longest stay in HALF_OPEN before going back to OPEN (e.g. trial calls never reported). Zero
  // disables it. Enforced by timer when a scheduler exists, and always checked on the next call.
  Duration max_wait_in_half_open = std::chrono::seconds(60);
  std::function<ErrorDecision(const Error&)> classifier = default_error_classifier;
  // Publish one `breaker.call` event per call (only when the publisher has subscribers).
  bool emit_call_events = true;
};

struct BreakerTransition {
  BreakerState from;
  BreakerState to;
  std::string reason;
  TimePoint at;
};

struct CircuitBreakerMetrics {
  BreakerState state = BreakerState::kClosed;
  // Cumulative since construction. total = successful + failed; slow overlaps both.
  uint64_t total_calls = 0;
  uint64_t successful_calls = 0;
  uint64_t failed_calls = 0;
  uint64_t slow_calls = 0;
  uint64_t rejected_calls = 0;
  uint64_t ignored_calls = 0;
  // Over the current window; -1 while it holds fewer than minimum_calls.
  double failure_rate = -1;
  double slow_call_rate = -1;
  uint32_t window_calls = 0;
  uint32_t window_failed = 0;
  uint32_t window_slow = 0;
  uint32_t consecutive_failures = 0;
  uint32_t consecutive_opens = 0;
  Duration current_open_wait = Duration::zero();
  std::vector<BreakerTransition> transitions;  // oldest first, the last 64
};

class CircuitBreaker {
 public:
  CircuitBreaker(std::string name, CircuitBreakerConfig config, Environment env = {});
  ~CircuitBreaker();
  CircuitBreaker(const CircuitBreaker&) = delete;
  CircuitBreaker& operator=(const CircuitBreaker&) = delete;

  // Asks to make a call. False means rejected (counted, and a `breaker.rejected` event). Every true
  // must be followed by exactly one of on_success / on_error / on_ignored / release.
  bool try_acquire();
  void on_success(Duration duration = Duration::zero());
  void on_error(const Error& error, Duration duration = Duration::zero());
  void on_ignored();
  // Gives back a permit that was not used (the call was never made).
  void release();

  // Whether on_success/on_error want a measured duration (slow-call detection or call events on).
  bool wants_duration() const {
    return slow_enabled_ || (config_.emit_call_events && env_.publishing());
  }

  // try_acquire + call + record. `f` returns Result<T>; exceptions it throws become UNKNOWN errors
  // (recorded, then returned as an error). A rejection returns a CIRCUIT_OPEN error.
  template <class F>
  auto execute(F&& f) -> decltype(f());

  // Manual control, as in resilience4j.
  void force_open(std::string reason = "forced open");
  void disable(std::string reason = "disabled");
  // Back to CLOSED with an empty window (also leaves FORCED_OPEN / DISABLED).
  void reset(std::string reason = "reset");
  void transition_to_half_open(std::string reason = "manual");

  BreakerState state() const { return static_cast<BreakerState>(state_.load(std::memory_order_acquire)); }
  CircuitBreakerMetrics metrics() const;
  const std::string& name() const { return name_; }
  const CircuitBreakerConfig& config() const { return config_; }

 private:
  struct Pending;  // events to publish after the lock is released
  void record_failure(bool slow, Duration d);
  void slow_path_success(bool slow, Duration d);
  void evaluate_locked(TimePoint now, Pending& out);
  void transition_locked(BreakerState to, std::string reason, TimePoint now, Pending& out);
  bool half_open_acquire();
  bool open_acquire_slow();
  void reject(BreakerState st);
  void on_open_timer(uint64_t generation);
  void on_half_open_timer(uint64_t generation);
  void publish_call(const char* outcome, Duration d);
  void publish(Pending& p);
  int64_t now_sec(TimePoint t) const {
    return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
  }
  void record_window(uint8_t bits, TimePoint now);
  internal::WindowCounts window_counts(TimePoint now) const;
  uint8_t load_state() const { return state_.load(std::memory_order_acquire); }
  // The default OPEN rejection path's clock reading. The real clock's is called directly (SteadyClock
  // is final: no virtual dispatch, about 1 ns of a ~10 ns budget); any other clock through Clock.
  TimePoint coarse_now() const {
    return steady_clock_ ? steady_clock_->coarse_now() : env_.clock->coarse_now();
  }

  const std::string name_;
  const CircuitBreakerConfig config_;
  const Environment env_;
  const bool slow_enabled_;
  const uint32_t successes_to_close_;
  const SteadyClock* const steady_clock_;  // env_.clock when it is the real clock, else null

  // --- hot fields (lock-free). Read-mostly fields share one cache line; each counter written on
  // every call gets its own, so writers do not evict the line every caller reads. ---
  alignas(64) std::atomic<uint8_t> state_{static_cast<uint8_t>(BreakerState::kClosed)};
  std::atomic<bool> pending_eval_{false};  // a success may complete the minimum-calls requirement
  std::atomic<uint32_t> consecutive_failures_{0};  // written only by failures (and the next success)
  alignas(64) std::atomic<uint64_t> records_{0};  // calls recorded in CLOSED, time window only
  internal::ShardedCounter rejected_;
  std::atomic<int32_t> half_open_permits_{0};
  std::atomic<int64_t> open_until_ns_{0};
  std::atomic<int64_t> half_open_deadline_ns_{0};  // 0 = none

  // --- everything below is guarded by mu_ ---
  alignas(64) mutable std::mutex mu_;
  internal::CountWindow count_window_;
  internal::TimeWindow time_window_;
  std::deque<TimePoint> recent_failures_;  // for the N-within-T rule
  uint64_t failed_total_ = 0;
  uint64_t slow_total_ = 0;
  uint64_t other_records_ = 0;  // calls recorded outside CLOSED (half-open trials, late results)
  uint32_t half_open_successes_ = 0;
  uint32_t half_open_failures_ = 0;
  uint32_t consecutive_opens_ = 0;
  Duration current_open_wait_ = Duration::zero();
  uint64_t generation_ = 0;  // bumps on every transition; timers check it to stay relevant
  Scheduler::TaskId open_timer_ = 0;
  Scheduler::TaskId half_open_timer_ = 0;
  std::deque<BreakerTransition> transitions_;
  std::atomic<uint64_t> ignored_{0};
  internal::Anchor<CircuitBreaker> anchor_{this};  // last: timers die first
};

template <class F>
auto CircuitBreaker::execute(F&& f) -> decltype(f()) {
  if (!try_acquire()) {
    return Error{ErrorCategory::kCircuitOpen,
                 "circuit breaker '" + name_ + "' is " + std::string(to_string(state())), false};
  }
  const bool timed = wants_duration();
  TimePoint start = timed ? env_.clock->now() : TimePoint{};
  try {
    auto r = f();
    Duration d = timed ? env_.clock->now() - start : Duration::zero();
    if (r.ok()) {
      on_success(d);
    } else {
      on_error(r.error(), d);
    }
    return r;
  } catch (const std::exception& ex) {
    Error e = Error::unknown(ex.what());
    on_error(e, timed ? env_.clock->now() - start : Duration::zero());
    return e;
  } catch (...) {
    Error e = Error::unknown("non-standard exception");
    on_error(e, timed ? env_.clock->now() - start : Duration::zero());
    return e;
  }
}

}  // namespace chaos::resilience
