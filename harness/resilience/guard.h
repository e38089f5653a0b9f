// A Guard wraps every call to one dependency in the usual stack, outermost first:
//
//   fallback -> degraded-mode shedding -> overall deadline -> retry -> circuit breaker -> bulkhead -> op
//
// so a retry is a fresh breaker decision and a fresh bulkhead slot, no attempt outlives the overall
// budget (or the caller's Deadline), and whatever still fails is offered to the fallback chain. Each
// layer is optional (a nullopt config leaves it out). The operation receives a CallContext with its
// deadline and per-operation budgets. Example (see docs/RESILIENCE.md):
//
//   Guard<std::string> db("db", GuardConfig{}, env);
//   db.fallback().with_last_good().with_default("{}");
//   GuardResult<std::string> r = db.call([&](const CallContext& ctx) -> Result<std::string> {
//     return client.get(key, ctx.budget(TimeoutOp::kRead));
//   });
//   if (r.source != FallbackSource::kPrimary) ...   // served by a fallback
#pragma once

#include <exception>
#include <memory>
#include <optional>
#include <string>

#include "bulkhead.h"
#include "circuit_breaker.h"
#include "deadline.h"
#include "degraded.h"
#include "environment.h"
#include "error.h"
#include "fallback.h"
#include "retry.h"

namespace chaos::resilience {

struct GuardConfig {
  std::optional<CircuitBreakerConfig> breaker = CircuitBreakerConfig{};
  std::optional<RetryConfig> retry = RetryConfig{};
  std::optional<BulkheadConfig> bulkhead = BulkheadConfig{};
  std::optional<DegradedConfig> degraded;  // off unless given
  TimeoutConfig timeouts;                  // overall bounds the whole call, retries included
};

// What the operation gets for one attempt.
class CallContext {
 public:
  CallContext(const Deadline& deadline, uint32_t attempt, const TimeoutConfig& timeouts,
              const Environment& env, const std::string& name, TimePoint started)
      : deadline_(deadline),
        attempt_(attempt),
        timeouts_(timeouts),
        env_(env),
        name_(name),
        started_(started) {}

  const Deadline& deadline() const { return deadline_; }
  uint32_t attempt() const { return attempt_; }  // 1-based
  // min(the op's configured limit, what is left of the deadline): use it for socket timeouts.
  Duration budget(TimeoutOp op) const;
  // Call when the op's own timeout fired: publishes a `timeout` event and returns a TIMEOUT error.
  Error timed_out(TimeoutOp op, std::string what = "") const;

 private:
  const Deadline& deadline_;
  uint32_t attempt_;
  const TimeoutConfig& timeouts_;
  const Environment& env_;
  const std::string& name_;
  const TimePoint started_;
};

template <class T>
struct GuardResult {
  Result<T> result;
  FallbackSource source = FallbackSource::kPrimary;
  uint32_t attempts = 0;  // calls the op actually received
  bool ok() const { return result.ok(); }
};

namespace internal {
// The non-template part of Guard: owns the patterns and runs the deadline bookkeeping.
class GuardCore {
 public:
  GuardCore(std::string name, const GuardConfig& config, Environment env);
  const std::string name;
  const GuardConfig config;
  const Environment env;
  std::unique_ptr<CircuitBreaker> breaker;
  std::unique_ptr<Retry> retry;
  std::unique_ptr<Bulkhead> bulkhead;
  std::unique_ptr<DegradedMode> degraded;
  // Publishes `timeout` and builds the error for an attempt that ran past `d`.
  Error deadline_passed(const Deadline& d, const Deadline* parent, TimePoint call_start) const;
  Error shed_error() const;
};
}  // namespace internal

template <class T>
class Guard {
 public:
  Guard(std::string name, GuardConfig config, Environment env = {})
      : core_(std::move(name), config, env), fallback_(core_.name, env) {}

  FallbackChain<T>& fallback() { return fallback_; }
  CircuitBreaker* breaker() { return core_.breaker.get(); }
  Retry* retry() { return core_.retry.get(); }
  Bulkhead* bulkhead() { return core_.bulkhead.get(); }
  DegradedMode* degraded() { return core_.degraded.get(); }
  const std::string& name() const { return core_.name; }

  // `op(const CallContext&)` returns Result<T>; exceptions it throws become UNKNOWN errors.
  // `parent`: the caller's deadline, if any; the call never outlives it.
  template <class F>
  GuardResult<T> call(F&& op, const Deadline* parent = nullptr);

 private:
  internal::GuardCore core_;
  FallbackChain<T> fallback_;
};

template <class T>
template <class F>
GuardResult<T> Guard<T>::call(F&& op, const Deadline* parent) {
  const Clock& clock = *core_.env.clock;
  const Deadline base = parent ? *parent : Deadline::infinite(clock);
  const Deadline overall = base.child(core_.config.timeouts.overall);
  // Only a finite deadline needs the clock; an unbounded call skips every read.
  const bool bounded = !overall.is_infinite();
  const TimePoint call_start = bounded ? clock.now() : TimePoint{};
  uint32_t attempts = 0;

  auto attempt = [&]() -> Result<T> {
    const TimePoint attempt_start = bounded ? clock.now() : TimePoint{};
    if (bounded && attempt_start >= overall.when())
      return core_.deadline_passed(overall, parent, call_start);
    CircuitBreaker* cb = core_.breaker.get();
    if (cb && !cb->try_acquire())
      return Error{ErrorCategory::kCircuitOpen,
                   "circuit breaker '" + core_.name + "' is " + std::string(to_string(cb->state())),
                   false};
    Bulkhead* bh = core_.bulkhead.get();
    if (bh && !bh->try_acquire()) {
      if (cb) cb->release();
      return Error{ErrorCategory::kBulkheadFull, "bulkhead '" + core_.name + "' full", false};
    }
    struct Slot {
      Bulkhead* b;
      ~Slot() {
        if (b) b->release();
      }
    } slot{bh};
    ++attempts;
    const bool timed = cb && cb->wants_duration();
    const TimePoint start = timed ? (bounded ? attempt_start : clock.now()) : TimePoint{};
    CallContext ctx(overall, attempts, core_.config.timeouts, core_.env, core_.name, attempt_start);
    std::optional<Result<T>> r;
    try {
      r.emplace(op(ctx));
    } catch (const std::exception& ex) {
      r.emplace(Error::unknown(ex.what()));
    } catch (...) {
      r.emplace(Error::unknown("non-standard exception"));
    }
    // An answer after the deadline is useless to the caller, who has given up: a TIMEOUT.
    if (bounded && overall.expired() &&
        (r->ok() || r->error().category != ErrorCategory::kTimeout))
      r.emplace(core_.deadline_passed(overall, parent, call_start));
    if (cb) {
      const Duration d = timed ? clock.now() - start : Duration::zero();
      if (r->ok()) {
        cb->on_success(d);
      } else {
        cb->on_error(r->error(), d);
      }
    }
    return std::move(*r);
  };

  std::optional<Result<T>> primary;
  if (core_.degraded && !core_.degraded->admit()) {
    primary.emplace(core_.shed_error());
  } else if (core_.retry) {
    primary.emplace(core_.retry->execute(attempt, &overall));
  } else {
    primary.emplace(attempt());
  }
  Served<T> s = fallback_.apply(std::move(*primary));
  return GuardResult<T>{std::move(s.result), s.source, attempts};
}

}  // namespace chaos::resilience
