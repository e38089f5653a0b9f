// Retry with exponential backoff and jitter, for transient failures only. max_attempts COUNTS THE
// FIRST CALL (as resilience4j's maxAttempts; Polly's MaxRetryAttempts does not): max_attempts = 3
// means one call plus at most two retries. Backoff waits go through Environment::sleep_for and never
// run past the caller's Deadline.
#pragma once

#include <chrono>
#include <cstdint>
#include <exception>
#include <functional>
#include <optional>
#include <string>

#include "deadline.h"
#include "environment.h"
#include "error.h"

namespace chaos::resilience {

enum class Jitter : uint8_t {
  kNone,          // exactly base(n)
  kFull,          // uniform in [0, base(n))
  kEqual,         // base(n)/2 + uniform in [0, base(n)/2)
  kDecorrelated,  // min(max_backoff, uniform in [initial, 3 * previous delay)) (AWS "decorrelated")
};

struct RetryConfig {
  uint32_t max_attempts = 3;  // includes the first call; 1 disables retrying
  // base(n) = min(max_backoff, initial_backoff * multiplier^(n-1)) after the n-th failed attempt.
  Duration initial_backoff = std::chrono::milliseconds(100);
  double multiplier = 2.0;
  Duration max_backoff = std::chrono::seconds(10);
  // Needs Environment::random; without one, every mode behaves as kNone.
  Jitter jitter = Jitter::kNone;
  // Categories worth retrying. Default: TIMEOUT, NETWORK, SERVER_ERROR, RATE_LIMIT.
  std::function<bool(const Error&)> retry_on = [](const Error& e) { return is_transient(e.category); };
  // Whether the guarded operation is idempotent. A non-idempotent operation is retried only after
  // errors that say the request never reached the server (Error::maybe_delivered == false).
  bool idempotent = true;
};

class Retry {
 public:
  Retry(std::string name, RetryConfig config, Environment env = {});

  // The wait after the `failed_attempt`-th attempt failed (1-based). `previous` is the previous wait
  // (for decorrelated jitter; pass zero for the first).
  Duration backoff(uint32_t failed_attempt, Duration previous) const;

  enum class Verdict { kRetry, kPermanent, kNotIdempotent, kExhausted, kDeadline };
  // Decides what to do after attempt `attempt` failed with `error`, sets `*delay` when retrying and
  // publishes the matching event (retry.attempt / retry.exhausted / retry.skipped).
  Verdict on_failure(const Error& error, uint32_t attempt, bool idempotent, const Deadline* deadline,
                     Duration* delay);
  // Publishes retry.success when a retry (not the first call) succeeded.
  void on_success(uint32_t attempts);

  // Runs `f` (returning Result<T>) until it succeeds or may not be retried. Exceptions thrown by `f`
  // become UNKNOWN errors (not retried by default).
  template <class F>
  auto execute(F&& f, const Deadline* deadline = nullptr) -> decltype(f()) {
    return execute_with(std::forward<F>(f), config_.idempotent, deadline);
  }
  template <class F>
  auto execute_with(F&& f, bool idempotent, const Deadline* deadline) -> decltype(f());

  const std::string& name() const { return name_; }
  const RetryConfig& config() const { return config_; }

 private:
  const std::string name_;
  const RetryConfig config_;
  const Environment env_;
};

template <class F>
auto Retry::execute_with(F&& f, bool idempotent, const Deadline* deadline) -> decltype(f()) {
  Duration previous = Duration::zero();
  for (uint32_t attempt = 1;; ++attempt) {
    std::optional<decltype(f())> r;
    try {
      r.emplace(f());
    } catch (const std::exception& ex) {
      r.emplace(Error::unknown(ex.what()));
    } catch (...) {
      r.emplace(Error::unknown("non-standard exception"));
    }
    if (r->ok()) {
      on_success(attempt);
      return std::move(*r);
    }
    Duration delay = previous;
    if (on_failure(r->error(), attempt, idempotent, deadline, &delay) != Verdict::kRetry)
      return std::move(*r);
    env_.sleep_for(delay);
    previous = delay;
  }
}

}  // namespace chaos::resilience
