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
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "gateway/config.h"
#include "resilience/guard.h"

namespace chaos::gateway {

class DependencyGuard {
 public:
  DependencyGuard(std::string name, const DependencySettings& settings, resilience::Environment env);

  // Runs `op(deadline) -> Result<T>` under the whole stack. `retry` false makes it a single attempt
  // through breaker and bulkhead (best-effort writes).
  template <class T, class F>
  resilience::Result<T> call(const resilience::Deadline& parent, F&& op, bool retry = true);

  resilience::CircuitBreaker& breaker() { return *guard_.breaker(); }
  resilience::Bulkhead& bulkhead() { return *guard_.bulkhead(); }
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
