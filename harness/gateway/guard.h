// One dependency's protection: the resilience library's Guard, which composes (outermost first)
//
//   overall deadline -> Retry -> CircuitBreaker -> Bulkhead -> operation
//
// - the deadline is the caller's budget cut to the dependency's overall_timeout; clients cut every
//   connect / command to min(their own limit, what is left), so no call outlives its parent;
// - a breaker rejection (CIRCUIT_OPEN) and a bulkhead rejection (BULKHEAD_FULL) are not retried;
// - every TIMEOUT an attempt hits is published as a `timeout` event naming the limit that fired
//   (CallContext::timed_out).
// This wrapper exists because the library's Guard<T> is typed by its result while one dependency
// answers several types (a cache GET and a SET share one breaker): it runs a Guard<Unit> and carries
// the typed value beside it. Fallbacks stay with the request flow, which knows the item being served
// (the Guard's FallbackChain keeps a single last-good value, not one per item).
//
// With `degraded.enabled`, the Guard's degraded-mode layer sits in front of the retry: a shed call
// fails at once with a SHED error, which the request flow answers with its fallback like any other
// failure. reassess_degraded() moves the dependency in and out of degraded mode (see config.h).
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "gateway/config.h"
#include "resilience/guard.h"
#include "resilience/health_monitor.h"

namespace chaos::gateway {

// What degraded mode should be given the dependency's health and breaker: `capacity` 1 means not
// degraded. Pure, so the rule is tested on its own.
struct DegradedVerdict {
  double capacity = 1.0;
  std::string reason;
};
DegradedVerdict degraded_verdict(const DegradedSettings& settings, resilience::HealthStatus health,
                                 resilience::BreakerState breaker);

class DependencyGuard {
 public:
  DependencyGuard(std::string name, const DependencySettings& settings, resilience::Environment env);

  // Runs `op(deadline) -> Result<T>` under the whole stack. `retry` false makes it a single attempt
  // through breaker and bulkhead (best-effort writes).
  template <class T, class F>
  resilience::Result<T> call(const resilience::Deadline& parent, F&& op, bool retry = true);

  resilience::CircuitBreaker& breaker() { return *guard_.breaker(); }
  resilience::Bulkhead& bulkhead() { return *guard_.bulkhead(); }
  // Null unless settings().degraded.enabled.
  resilience::DegradedMode* degraded() { return guard_.degraded(); }
  // Applies degraded_verdict() for `health` and the breaker's current state (a `degraded.changed`
  // event when the capacity changes). Serialised, so concurrent callers cannot apply stale verdicts
  // out of order: each reads the breaker inside the lock. No-op when degraded mode is off.
  void reassess_degraded(resilience::HealthStatus health);
  const std::string& name() const { return guard_.name(); }
  const DependencySettings& settings() const { return settings_; }

 private:
  // The TimeoutOp a client's TIMEOUT message names ("connect timeout ...", "write timeout ...").
  static resilience::TimeoutOp timeout_op(const resilience::Error& e);
  resilience::Result<resilience::Unit> single_attempt(const resilience::Deadline& parent,
                                                      const std::function<resilience::Result<resilience::Unit>(
                                                          const resilience::CallContext&)>& op);

  const DependencySettings settings_;
  const resilience::Environment env_;
  const resilience::TimeoutConfig timeouts_;
  resilience::Guard<resilience::Unit> guard_;
  std::mutex degraded_mu_;
};

template <class T, class F>
resilience::Result<T> DependencyGuard::call(const resilience::Deadline& parent, F&& op, bool retry) {
  using resilience::Result;
  using resilience::Unit;
  std::optional<T> value;
  auto unit_op = [&](const resilience::CallContext& ctx) -> Result<Unit> {
    Result<T> r = op(ctx.deadline());
    if (!r.ok()) {
      // Publishes the `timeout` event; the client's own message says more than the generic one.
      if (r.error().category == resilience::ErrorCategory::kTimeout) (void)ctx.timed_out(timeout_op(r.error()));
      return r.error();
    }
    value = std::move(r.value());
    return Unit{};
  };
  Result<Unit> r = retry ? guard_.call(unit_op, &parent).result : single_attempt(parent, unit_op);
  if (!r.ok()) return r.error();
  return std::move(*value);
}

}  // namespace chaos::gateway
