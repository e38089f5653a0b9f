// The wrapper's non-template half: the Guard's configuration, the single-attempt path, the mapping
// from a client's timeout message to the limit that fired, and the degraded-mode rule.
#include "gateway/guard.h"

namespace chaos::gateway {

namespace {
resilience::GuardConfig guard_config(const DependencySettings& s) {
  resilience::GuardConfig g;
  g.breaker = s.breaker;
  g.retry = s.retry;
  g.bulkhead = s.bulkhead;
  g.timeouts = resilience::TimeoutConfig{s.connect_timeout, s.timeout, s.timeout, s.overall_timeout};
  // Starts at full capacity: the dependency is degraded only once its health or breaker says so.
  if (s.degraded.enabled) g.degraded = resilience::DegradedConfig{1.0, s.degraded.random_shedding};
  return g;
}
}  // namespace

DegradedVerdict degraded_verdict(const DegradedSettings& settings, resilience::HealthStatus health,
                                 resilience::BreakerState breaker) {
  using resilience::BreakerState;
  using resilience::HealthStatus;
  // UNKNOWN (not checked yet, or stale) is no evidence of trouble: it neither enters nor keeps
  // degraded mode. A DISABLED breaker judges nothing, so it counts as closed.
  const bool health_bad = health == HealthStatus::kDegraded || health == HealthStatus::kUnhealthy;
  const bool breaker_bad = breaker != BreakerState::kClosed && breaker != BreakerState::kDisabled;
  const std::string state = "health " + std::string(resilience::to_string(health)) + ", breaker " +
                            std::string(resilience::to_string(breaker));
  if (!settings.enabled || (!health_bad && !breaker_bad)) return {1.0, "recovered: " + state};
  return {settings.capacity, state};
}

DependencyGuard::DependencyGuard(std::string name, const DependencySettings& settings, resilience::Environment env)
    : settings_(settings),
      env_(env),
      timeouts_{settings.connect_timeout, settings.timeout, settings.timeout, settings.overall_timeout},
      guard_(std::move(name), guard_config(settings), env) {
  // The request flow serves fallbacks itself (per item); the Guard's chain must stay silent.
  guard_.fallback().with_predicate([](const resilience::Error&) { return false; });
}

resilience::TimeoutOp DependencyGuard::timeout_op(const resilience::Error& e) {
  std::string_view m = e.message;
  if (m.rfind("connect timeout", 0) == 0) return resilience::TimeoutOp::kConnect;
  if (m.rfind("write timeout", 0) == 0) return resilience::TimeoutOp::kWrite;
  return resilience::TimeoutOp::kRead;
}

void DependencyGuard::reassess_degraded(resilience::HealthStatus health) {
  resilience::DegradedMode* mode = degraded();
  if (!mode) return;
  std::lock_guard<std::mutex> lock(degraded_mu_);
  DegradedVerdict v = degraded_verdict(settings_.degraded, health, breaker().state());
  mode->set_capacity(v.capacity, v.reason);
}

resilience::Result<resilience::Unit> DependencyGuard::single_attempt(
    const resilience::Deadline& parent,
    const std::function<resilience::Result<resilience::Unit>(const resilience::CallContext&)>& op) {
  const resilience::Deadline overall = parent.child(settings_.overall_timeout);
  if (overall.expired()) return resilience::Error::timeout("deadline: no time left for " + name());
  resilience::CallContext ctx(overall, 1, timeouts_, env_, name(), env_.clock->now());
  return breaker().execute([&] { return bulkhead().execute([&] { return op(ctx); }); });
}

}  // namespace chaos::gateway
