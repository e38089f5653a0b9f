// Backoff schedules, jitter and the retry decision with its events (see retry.h).
#include "retry.h"

#include <algorithm>
#include <cmath>

namespace chaos::resilience {
namespace {

double ms(Duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

bool raised_by_library(ErrorCategory c) {
  return c == ErrorCategory::kCircuitOpen || c == ErrorCategory::kBulkheadFull ||
         c == ErrorCategory::kShed;
}

}  // namespace

Retry::Retry(std::string name, RetryConfig config, Environment env)
    : name_(std::move(name)), config_(std::move(config)), env_(env) {}

Duration Retry::backoff(uint32_t failed_attempt, Duration previous) const {
  const double max = static_cast<double>(config_.max_backoff.count());
  const double initial = static_cast<double>(config_.initial_backoff.count());
  const double exponent = static_cast<double>(std::max<uint32_t>(failed_attempt, 1) - 1);
  const double base = std::min(max, initial * std::pow(std::max(config_.multiplier, 1.0), exponent));
  const Jitter jitter = env_.random ? config_.jitter : Jitter::kNone;
  double d = base;
  switch (jitter) {
    case Jitter::kNone:
      break;
    case Jitter::kFull:
      d = env_.random->uniform() * base;
      break;
    case Jitter::kEqual:
      d = base / 2 + env_.random->uniform() * base / 2;
      break;
    case Jitter::kDecorrelated: {
      double prev = previous > Duration::zero() ? static_cast<double>(previous.count()) : initial;
      double hi = std::max(initial, prev * 3);
      d = std::min(max, initial + env_.random->uniform() * (hi - initial));
      break;
    }
  }
  return Duration(static_cast<int64_t>(d));
}

Retry::Verdict Retry::on_failure(const Error& error, uint32_t attempt, bool idempotent,
                                 const Deadline* deadline, Duration* delay) {
  const bool publishing = env_.publishing();
  auto skipped = [&](const char* reason) {
    if (publishing && !raised_by_library(error.category)) {
      env_.events->publish("retry.skipped", name_,
                           EventFields{{"error", to_string(error.category)}, {"reason", reason}});
    }
  };
  if (!(config_.retry_on ? config_.retry_on(error) : is_transient(error.category))) {
    skipped("permanent_error");
    return Verdict::kPermanent;
  }
  if (!idempotent && error.maybe_delivered) {
    skipped("not_idempotent");
    return Verdict::kNotIdempotent;
  }
  auto exhausted = [&](const char* reason) {
    if (publishing) {
      env_.events->publish("retry.exhausted", name_,
                           EventFields{{"attempts", attempt},
                                       {"error", to_string(error.category)},
                                       {"reason", reason}});
    }
  };
  if (attempt >= config_.max_attempts) {
    exhausted("max_attempts");
    return Verdict::kExhausted;
  }
  Duration wait = backoff(attempt, *delay);
  // Waiting past the deadline only to fail there would waste the caller's budget.
  if (deadline && !deadline->is_infinite() && deadline->remaining() <= wait) {
    exhausted("deadline");
    return Verdict::kDeadline;
  }
  *delay = wait;
  if (publishing) {
    env_.events->publish("retry.attempt", name_,
                         EventFields{{"attempt", attempt},
                                     {"error", to_string(error.category)},
                                     {"delay_ms", ms(wait)}});
  }
  return Verdict::kRetry;
}

void Retry::on_success(uint32_t attempts) {
  if (attempts > 1 && env_.publishing())
    env_.events->publish("retry.success", name_, EventFields{{"attempts", attempts}});
}

}  // namespace chaos::resilience
