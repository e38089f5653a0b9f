// The breaker state machine: lock-free CLOSED fast paths, everything else under one mutex, events
// published after the mutex is released (see circuit_breaker.h).
#include "circuit_breaker.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace chaos::resilience {
namespace {

constexpr uint8_t u8(BreakerState s) { return static_cast<uint8_t>(s); }

std::string fmt(const char* format, double a, double b = 0, double c = 0) {
  char buf[160];
  std::snprintf(buf, sizeof buf, format, a, b, c);
  return buf;
}

double ms(Duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

}  // namespace

std::string_view to_string(BreakerState s) {
  switch (s) {
    case BreakerState::kClosed: return "CLOSED";
    case BreakerState::kOpen: return "OPEN";
    case BreakerState::kHalfOpen: return "HALF_OPEN";
    case BreakerState::kForcedOpen: return "FORCED_OPEN";
    case BreakerState::kDisabled: return "DISABLED";
  }
  return "UNKNOWN";
}

ErrorDecision default_error_classifier(const Error& e) {
  switch (e.category) {
    case ErrorCategory::kClientError:
    case ErrorCategory::kValidation:
    case ErrorCategory::kCircuitOpen:
    case ErrorCategory::kBulkheadFull:
    case ErrorCategory::kShed:
      return ErrorDecision::kIgnore;
    default:
      return ErrorDecision::kRecord;
  }
}

struct CircuitBreaker::Pending {
  std::vector<Event> events;
};

CircuitBreaker::CircuitBreaker(std::string name, CircuitBreakerConfig config, Environment env)
    : name_(std::move(name)),
      config_(std::move(config)),
      env_(env),
      slow_enabled_(config_.slow_call_duration > Duration::zero() &&
                    config_.slow_call_rate_threshold <= 100.0),
      successes_to_close_(std::clamp<uint32_t>(
          config_.successes_to_close == 0 ? config_.permitted_calls_in_half_open
                                          : config_.successes_to_close,
          1, std::max<uint32_t>(1, config_.permitted_calls_in_half_open))),
      steady_clock_(dynamic_cast<const SteadyClock*>(env_.clock)),
      count_window_(config_.window_type == SlidingWindowType::kCountBased ? config_.window_size : 1),
      time_window_(config_.window_type == SlidingWindowType::kTimeBased ? config_.window_size : 1) {}

CircuitBreaker::~CircuitBreaker() {
  anchor_.detach();
  if (env_.scheduler) {
    std::lock_guard<std::mutex> lock(mu_);
    if (open_timer_) env_.scheduler->cancel(open_timer_);
    if (half_open_timer_) env_.scheduler->cancel(half_open_timer_);
  }
}

// ---------------------------------------------------------------- acquiring

bool CircuitBreaker::try_acquire() {
  uint8_t st = load_state();
  if (st == u8(BreakerState::kClosed) || st == u8(BreakerState::kDisabled)) [[likely]]
    return true;
  if (st == u8(BreakerState::kOpen)) {
    // Next-call mode: the coarse reading never runs ahead of now(), so while it is before open_until
    // the wait has certainly not elapsed and rejecting is exact; at worst the transition comes one
    // coarse tick late. Only once it reaches open_until does open_acquire_slow() read the precise
    // clock (under the mutex) to decide.
    if (!(config_.automatic_transition && env_.scheduler) &&
        coarse_now().time_since_epoch().count() >=
            open_until_ns_.load(std::memory_order_acquire)) {
      return open_acquire_slow();
    }
    reject(BreakerState::kOpen);
    return false;
  }
  if (st == u8(BreakerState::kHalfOpen)) return half_open_acquire();
  reject(static_cast<BreakerState>(st));
  return false;
}

bool CircuitBreaker::open_acquire_slow() {
  Pending p;
  {
    std::lock_guard<std::mutex> lock(mu_);
    TimePoint now = env_.clock->now();
    if (load_state() == u8(BreakerState::kOpen) &&
        now.time_since_epoch().count() >= open_until_ns_.load(std::memory_order_relaxed)) {
      transition_locked(BreakerState::kHalfOpen,
                        fmt("open wait of %.0f ms elapsed", ms(current_open_wait_)), now, p);
    }
  }
  publish(p);
  uint8_t st = load_state();
  if (st == u8(BreakerState::kClosed) || st == u8(BreakerState::kDisabled)) return true;
  if (st == u8(BreakerState::kHalfOpen)) return half_open_acquire();
  reject(static_cast<BreakerState>(st));
  return false;
}

bool CircuitBreaker::half_open_acquire() {
  int64_t deadline = half_open_deadline_ns_.load(std::memory_order_acquire);
  if (deadline != 0 && env_.clock->now().time_since_epoch().count() >= deadline) {
    Pending p;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (load_state() == u8(BreakerState::kHalfOpen) &&
          half_open_deadline_ns_.load(std::memory_order_relaxed) == deadline) {
        transition_locked(BreakerState::kOpen,
                          fmt("max wait in HALF_OPEN of %.0f ms exceeded",
                              ms(config_.max_wait_in_half_open)),
                          env_.clock->now(), p);
      }
    }
    publish(p);
    reject(state());
    return false;
  }
  int32_t permits = half_open_permits_.load(std::memory_order_acquire);
  while (permits > 0) {
    if (half_open_permits_.compare_exchange_weak(permits, permits - 1, std::memory_order_acq_rel))
      return true;
  }
  reject(BreakerState::kHalfOpen);
  return false;
}

void CircuitBreaker::reject(BreakerState st) {
  rejected_.add();
  if (env_.publishing()) {
    env_.events->publish("breaker.rejected", name_, EventFields{{"state", to_string(st)}});
  }
}

void CircuitBreaker::release() {
  if (load_state() == u8(BreakerState::kHalfOpen))
    half_open_permits_.fetch_add(1, std::memory_order_acq_rel);
}

// ---------------------------------------------------------------- recording

// Under mu_ (or, for the time window, from the lock-free success path too).
void CircuitBreaker::record_window(uint8_t bits, TimePoint now) {
  if (config_.window_type == SlidingWindowType::kCountBased) {
    count_window_.record_marked(bits);
  } else {
    records_.fetch_add(1, std::memory_order_relaxed);
    time_window_.record(now_sec(now), bits);
  }
}

internal::WindowCounts CircuitBreaker::window_counts(TimePoint now) const {
  return config_.window_type == SlidingWindowType::kCountBased ? count_window_.counts()
                                                               : time_window_.counts(now_sec(now));
}

void CircuitBreaker::on_success(Duration d) {
  const uint8_t st = load_state();
  const bool slow = slow_enabled_ && d >= config_.slow_call_duration;
  if (st == u8(BreakerState::kClosed) && !slow) [[likely]] {
    if (config_.window_type == SlidingWindowType::kCountBased) {
      count_window_.record_success();
    } else {
      record_window(internal::kSlotRecorded, env_.clock->now());
    }
    if (consecutive_failures_.load(std::memory_order_relaxed) != 0)
      consecutive_failures_.store(0, std::memory_order_relaxed);
    if (pending_eval_.load(std::memory_order_relaxed)) [[unlikely]] {
      Pending p;
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (load_state() == u8(BreakerState::kClosed)) evaluate_locked(env_.clock->now(), p);
      }
      publish(p);
    }
    if (config_.emit_call_events && env_.publishing()) publish_call("success", d);
    return;
  }
  if (st == u8(BreakerState::kDisabled)) return;
  slow_path_success(slow, d);
}

void CircuitBreaker::slow_path_success(bool slow, Duration d) {
  Pending p;
  {
    std::lock_guard<std::mutex> lock(mu_);
    TimePoint now = env_.clock->now();
    const auto st = static_cast<BreakerState>(load_state());
    if (slow) ++slow_total_;
    switch (st) {
      case BreakerState::kClosed:
        record_window(internal::kSlotRecorded | (slow ? internal::kSlotSlow : 0), now);
        consecutive_failures_.store(0, std::memory_order_relaxed);
        evaluate_locked(now, p);
        break;
      case BreakerState::kHalfOpen: {
        ++other_records_;
        // A slow trial is not the evidence of recovery we wait for: it counts against closing.
        if (slow) {
          ++half_open_failures_;
        } else {
          ++half_open_successes_;
        }
        const uint32_t permitted = std::max<uint32_t>(1, config_.permitted_calls_in_half_open);
        if (half_open_failures_ > permitted - successes_to_close_) {
          transition_locked(BreakerState::kOpen,
                            fmt("%.0f of %.0f trial calls slow or failed in HALF_OPEN",
                                half_open_failures_, permitted),
                            now, p);
        } else if (half_open_successes_ >= successes_to_close_) {
          transition_locked(BreakerState::kClosed,
                            fmt("%.0f trial calls succeeded in HALF_OPEN (needed %.0f)",
                                half_open_successes_, successes_to_close_),
                            now, p);
        }
        break;
      }
      case BreakerState::kDisabled:
        return;
      default:  // a call let through before the breaker opened, finishing late
        ++other_records_;
        break;
    }
  }
  if (config_.emit_call_events && env_.publishing()) publish_call(slow ? "slow_success" : "success", d);
  publish(p);
}

void CircuitBreaker::on_error(const Error& error, Duration d) {
  ErrorDecision decision =
      config_.classifier ? config_.classifier(error) : default_error_classifier(error);
  switch (decision) {
    case ErrorDecision::kIgnore:
      on_ignored();
      return;
    case ErrorDecision::kSuccess:
      on_success(d);
      return;
    case ErrorDecision::kRecord:
      record_failure(slow_enabled_ && d >= config_.slow_call_duration, d);
      return;
  }
}

void CircuitBreaker::on_ignored() {
  const uint8_t st = load_state();
  if (st == u8(BreakerState::kDisabled)) return;
  ignored_.fetch_add(1, std::memory_order_relaxed);
  if (st == u8(BreakerState::kHalfOpen)) half_open_permits_.fetch_add(1, std::memory_order_acq_rel);
  if (config_.emit_call_events && env_.publishing()) publish_call("ignored", Duration::zero());
}

void CircuitBreaker::record_failure(bool slow, Duration d) {
  Pending p;
  {
    std::lock_guard<std::mutex> lock(mu_);
    TimePoint now = env_.clock->now();
    const auto st = static_cast<BreakerState>(load_state());
    if (st == BreakerState::kDisabled) return;
    ++failed_total_;
    if (slow) ++slow_total_;
    switch (st) {
      case BreakerState::kClosed:
        record_window(internal::kSlotRecorded | internal::kSlotFailed |
                          (slow ? internal::kSlotSlow : 0),
                      now);
        consecutive_failures_.fetch_add(1, std::memory_order_relaxed);
        if (config_.failures_within_count > 0) {
          recent_failures_.push_back(now);
          while (!recent_failures_.empty() &&
                 recent_failures_.front() <= now - config_.failures_within_period)
            recent_failures_.pop_front();
        }
        evaluate_locked(now, p);
        break;
      case BreakerState::kHalfOpen: {
        ++other_records_;
        ++half_open_failures_;
        const uint32_t permitted = std::max<uint32_t>(1, config_.permitted_calls_in_half_open);
        if (half_open_failures_ > permitted - successes_to_close_) {
          transition_locked(BreakerState::kOpen,
                            fmt("%.0f of %.0f trial calls slow or failed in HALF_OPEN",
                                half_open_failures_, permitted),
                            now, p);
        }
        break;
      }
      default:
        ++other_records_;
        break;
    }
  }
  if (config_.emit_call_events && env_.publishing()) publish_call(slow ? "slow_failure" : "failure", d);
  publish(p);
}

void CircuitBreaker::evaluate_locked(TimePoint now, Pending& out) {
  const uint32_t consecutive = consecutive_failures_.load(std::memory_order_relaxed);
  if (config_.consecutive_failure_threshold > 0 &&
      consecutive >= config_.consecutive_failure_threshold) {
    transition_locked(BreakerState::kOpen,
                      fmt("%.0f consecutive failures >= %.0f", consecutive,
                          config_.consecutive_failure_threshold),
                      now, out);
    return;
  }
  if (config_.failures_within_count > 0 &&
      recent_failures_.size() >= config_.failures_within_count) {
    transition_locked(BreakerState::kOpen,
                      fmt("%.0f failures within %.0f ms >= %.0f",
                          static_cast<double>(recent_failures_.size()),
                          ms(config_.failures_within_period), config_.failures_within_count),
                      now, out);
    return;
  }
  const internal::WindowCounts c = window_counts(now);
  uint32_t minimum = std::max<uint32_t>(1, config_.minimum_calls);
  if (config_.window_type == SlidingWindowType::kCountBased)
    minimum = std::min(minimum, count_window_.size());
  if (c.calls < minimum) {
    pending_eval_.store(c.failed > 0 || c.slow > 0, std::memory_order_relaxed);
    return;
  }
  pending_eval_.store(false, std::memory_order_relaxed);
  const double failure_rate = 100.0 * c.failed / c.calls;
  if (failure_rate >= config_.failure_rate_threshold) {
    transition_locked(BreakerState::kOpen,
                      fmt("failure rate %.1f%% >= %.1f%% over %.0f calls", failure_rate,
                          config_.failure_rate_threshold, c.calls),
                      now, out);
    return;
  }
  if (slow_enabled_) {
    const double slow_rate = 100.0 * c.slow / c.calls;
    if (slow_rate >= config_.slow_call_rate_threshold) {
      transition_locked(BreakerState::kOpen,
                        fmt("slow call rate %.1f%% >= %.1f%% over %.0f calls", slow_rate,
                            config_.slow_call_rate_threshold, c.calls),
                        now, out);
    }
  }
}

// ---------------------------------------------------------------- transitions

void CircuitBreaker::transition_locked(BreakerState to, std::string reason, TimePoint now,
                                       Pending& out) {
  const auto from = static_cast<BreakerState>(load_state());
  if (from == to) return;
  ++generation_;
  if (env_.scheduler) {
    if (open_timer_) env_.scheduler->cancel(open_timer_);
    if (half_open_timer_) env_.scheduler->cancel(half_open_timer_);
  }
  open_timer_ = half_open_timer_ = 0;
  half_open_deadline_ns_.store(0, std::memory_order_relaxed);

  switch (to) {
    case BreakerState::kOpen: {
      ++consecutive_opens_;
      double factor = std::pow(std::max(1.0, config_.open_wait_multiplier),
                               static_cast<double>(consecutive_opens_ - 1));
      auto wait = Duration(static_cast<int64_t>(
          std::min(static_cast<double>(config_.wait_in_open.count()) * factor, 9.0e18)));
      if (config_.max_wait_in_open > Duration::zero() && config_.open_wait_multiplier > 1.0)
        wait = std::min(wait, std::max(config_.max_wait_in_open, config_.wait_in_open));
      current_open_wait_ = wait;
      open_until_ns_.store((now + wait).time_since_epoch().count(), std::memory_order_release);
      if (config_.automatic_transition && env_.scheduler) {
        const uint64_t gen = generation_;
        open_timer_ = env_.scheduler->schedule_after(
            wait, anchor_.bind([gen](CircuitBreaker& self) { self.on_open_timer(gen); }));
      }
      break;
    }
    case BreakerState::kHalfOpen:
      half_open_successes_ = half_open_failures_ = 0;
      half_open_permits_.store(static_cast<int32_t>(config_.permitted_calls_in_half_open),
                               std::memory_order_release);
      if (config_.max_wait_in_half_open > Duration::zero()) {
        half_open_deadline_ns_.store((now + config_.max_wait_in_half_open).time_since_epoch().count(),
                                     std::memory_order_release);
        if (env_.scheduler) {
          const uint64_t gen = generation_;
          half_open_timer_ = env_.scheduler->schedule_after(
              config_.max_wait_in_half_open,
              anchor_.bind([gen](CircuitBreaker& self) { self.on_half_open_timer(gen); }));
        }
      }
      break;
    case BreakerState::kClosed:
      count_window_.reset();
      time_window_.reset();
      recent_failures_.clear();
      consecutive_failures_.store(0, std::memory_order_relaxed);
      pending_eval_.store(false, std::memory_order_relaxed);
      consecutive_opens_ = 0;
      current_open_wait_ = Duration::zero();
      break;
    case BreakerState::kForcedOpen:
    case BreakerState::kDisabled:
      break;
  }
  state_.store(u8(to), std::memory_order_release);

  transitions_.push_back({from, to, reason, now});
  while (transitions_.size() > 64) transitions_.pop_front();

  if (env_.events) {
    Event e;
    e.type = "breaker.state";
    e.name = name_;
    e.ts_us = to_us(now);
    e.fields = EventFields{{"from", to_string(from)}, {"to", to_string(to)}, {"reason", reason}};
    if (to == BreakerState::kOpen) e.fields["open_wait_ms"] = ms(current_open_wait_);
    out.events.push_back(std::move(e));
  }
}

void CircuitBreaker::on_open_timer(uint64_t generation) {
  Pending p;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (generation != generation_ || load_state() != u8(BreakerState::kOpen)) return;
    open_timer_ = 0;
    transition_locked(BreakerState::kHalfOpen,
                      fmt("open wait of %.0f ms elapsed (timer)", ms(current_open_wait_)),
                      env_.clock->now(), p);
  }
  publish(p);
}

void CircuitBreaker::on_half_open_timer(uint64_t generation) {
  Pending p;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (generation != generation_ || load_state() != u8(BreakerState::kHalfOpen)) return;
    half_open_timer_ = 0;
    transition_locked(
        BreakerState::kOpen,
        fmt("max wait in HALF_OPEN of %.0f ms exceeded", ms(config_.max_wait_in_half_open)),
        env_.clock->now(), p);
  }
  publish(p);
}

void CircuitBreaker::force_open(std::string reason) {
  Pending p;
  {
    std::lock_guard<std::mutex> lock(mu_);
    transition_locked(BreakerState::kForcedOpen, std::move(reason), env_.clock->now(), p);
  }
  publish(p);
}

void CircuitBreaker::disable(std::string reason) {
  Pending p;
  {
    std::lock_guard<std::mutex> lock(mu_);
    transition_locked(BreakerState::kDisabled, std::move(reason), env_.clock->now(), p);
  }
  publish(p);
}

void CircuitBreaker::reset(std::string reason) {
  Pending p;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (load_state() == u8(BreakerState::kClosed)) {
      count_window_.reset();
      time_window_.reset();
      recent_failures_.clear();
      consecutive_failures_.store(0, std::memory_order_relaxed);
      pending_eval_.store(false, std::memory_order_relaxed);
    } else {
      transition_locked(BreakerState::kClosed, std::move(reason), env_.clock->now(), p);
    }
  }
  publish(p);
}

void CircuitBreaker::transition_to_half_open(std::string reason) {
  Pending p;
  {
    std::lock_guard<std::mutex> lock(mu_);
    transition_locked(BreakerState::kHalfOpen, std::move(reason), env_.clock->now(), p);
  }
  publish(p);
}

// ---------------------------------------------------------------- observing

void CircuitBreaker::publish_call(const char* outcome, Duration d) {
  env_.events->publish(
      "breaker.call", name_,
      EventFields{{"outcome", outcome},
                  {"duration_us", std::chrono::duration_cast<std::chrono::microseconds>(d).count()}});
}

void CircuitBreaker::publish(Pending& p) {
  if (!env_.events) return;
  for (auto& e : p.events) env_.events->publish(std::move(e));
}

CircuitBreakerMetrics CircuitBreaker::metrics() const {
  std::lock_guard<std::mutex> lock(mu_);
  CircuitBreakerMetrics m;
  m.state = state();
  m.total_calls = (config_.window_type == SlidingWindowType::kCountBased
                       ? count_window_.total()
                       : records_.load(std::memory_order_relaxed)) +
                  other_records_;
  m.failed_calls = failed_total_;
  m.successful_calls = m.total_calls >= failed_total_ ? m.total_calls - failed_total_ : 0;
  m.slow_calls = slow_total_;
  m.rejected_calls = rejected_.sum();
  m.ignored_calls = ignored_.load(std::memory_order_relaxed);
  const internal::WindowCounts c = window_counts(env_.clock->now());
  m.window_calls = c.calls;
  m.window_failed = c.failed;
  m.window_slow = c.slow;
  uint32_t minimum = std::max<uint32_t>(1, config_.minimum_calls);
  if (config_.window_type == SlidingWindowType::kCountBased)
    minimum = std::min(minimum, count_window_.size());
  if (c.calls >= minimum && c.calls > 0) {
    m.failure_rate = 100.0 * c.failed / c.calls;
    m.slow_call_rate = 100.0 * c.slow / c.calls;
  }
  m.consecutive_failures = consecutive_failures_.load(std::memory_order_relaxed);
  m.consecutive_opens = consecutive_opens_;
  m.current_open_wait = current_open_wait_;
  m.transitions.assign(transitions_.begin(), transitions_.end());
  return m;
}

}  // namespace chaos::resilience
