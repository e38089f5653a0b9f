// The non-template parts of Guard: per-operation budgets and timeout events (see guard.h).
#include "guard.h"

namespace chaos::resilience {
namespace {
double ms(Duration d) { return std::chrono::duration<double, std::milli>(d).count(); }
}  // namespace

Duration CallContext::budget(TimeoutOp op) const {
  switch (op) {
    case TimeoutOp::kConnect: return deadline_.budget_for(timeouts_.connect);
    case TimeoutOp::kRead: return deadline_.budget_for(timeouts_.read);
    case TimeoutOp::kWrite: return deadline_.budget_for(timeouts_.write);
    case TimeoutOp::kOverall:
    case TimeoutOp::kDeadline: return deadline_.remaining();
  }
  return deadline_.remaining();
}

Error CallContext::timed_out(TimeoutOp op, std::string what) const {
  Duration limit = Duration::zero();
  switch (op) {
    case TimeoutOp::kConnect: limit = timeouts_.connect; break;
    case TimeoutOp::kRead: limit = timeouts_.read; break;
    case TimeoutOp::kWrite: limit = timeouts_.write; break;
    case TimeoutOp::kOverall: limit = timeouts_.overall; break;
    case TimeoutOp::kDeadline: break;
  }
  // The op's own limit is reported unless the deadline was the tighter bound.
  const TimeoutOp binding = deadline_.binding(op, limit);
  if (binding == TimeoutOp::kDeadline && !deadline_.is_infinite())
    limit = deadline_.when() - started_;  // the budget this attempt was given
  if (env_.publishing())
    env_.events->publish("timeout", name_,
                         EventFields{{"op", to_string(binding)}, {"limit_ms", ms(limit)}});
  // A connect that timed out never delivered the request: safe to retry even when not idempotent.
  return Error{ErrorCategory::kTimeout,
               std::string(to_string(binding)) + " timeout" + (what.empty() ? "" : ": " + what),
               op != TimeoutOp::kConnect};
}

namespace internal {

GuardCore::GuardCore(std::string n, const GuardConfig& c, Environment e)
    : name(std::move(n)), config(c), env(e) {
  if (config.breaker) breaker = std::make_unique<CircuitBreaker>(name, *config.breaker, env);
  if (config.retry) retry = std::make_unique<Retry>(name, *config.retry, env);
  if (config.bulkhead) bulkhead = std::make_unique<Bulkhead>(name, *config.bulkhead, env);
  if (config.degraded) degraded = std::make_unique<DegradedMode>(name, *config.degraded, env);
}

Error GuardCore::deadline_passed(const Deadline& d, const Deadline* parent, TimePoint call_start) const {
  // Which limit ran out: the caller's deadline, or this dependency's overall timeout.
  const bool parents = parent && !parent->is_infinite() && parent->when() <= d.when();
  const TimeoutOp op = parents ? TimeoutOp::kDeadline : TimeoutOp::kOverall;
  const double limit = parents ? ms(parent->when() - call_start) : ms(config.timeouts.overall);
  if (env.publishing())
    env.events->publish("timeout", name, EventFields{{"op", to_string(op)}, {"limit_ms", limit}});
  return Error{ErrorCategory::kTimeout, name + ": " + std::string(to_string(op)) + " timeout", true};
}

Error GuardCore::shed_error() const {
  return Error{ErrorCategory::kShed, "degraded mode shed the call to '" + name + "'", false};
}

}  // namespace internal
}  // namespace chaos::resilience
