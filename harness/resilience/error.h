// Every pattern in the library speaks one error vocabulary: a category that decides whether a failure
// is transient (worth retrying, counts against a breaker) or permanent, plus a message. Operations
// return Result<T> instead of throwing so that the hot path never pays for exceptions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace chaos::resilience {

enum class ErrorCategory : uint8_t {
  kTimeout,       // the dependency did not answer in time
  kNetwork,       // connect refused, reset, unreachable
  kServerError,   // the dependency answered with a server-side failure (5xx)
  kRateLimit,     // the dependency asked us to slow down (429)
  kClientError,   // our request was wrong (4xx): retrying cannot help
  kValidation,    // the answer or the input failed validation
  kUnknown,       // anything else, e.g. an exception thrown by the operation
  // Raised by the library itself, never by a dependency:
  kCircuitOpen,   // the breaker rejected the call
  kBulkheadFull,  // no concurrency slot within the bulkhead's max wait
  kShed,          // degraded mode shed the call
};

// Upper-case names as they appear in the event stream (`TIMEOUT`, `NETWORK`, ...).
std::string_view to_string(ErrorCategory c);
std::optional<ErrorCategory> error_category_from_string(std::string_view s);

// TIMEOUT, NETWORK, SERVER_ERROR and RATE_LIMIT: the categories retried by default.
constexpr bool is_transient(ErrorCategory c) {
  return c == ErrorCategory::kTimeout || c == ErrorCategory::kNetwork ||
         c == ErrorCategory::kServerError || c == ErrorCategory::kRateLimit;
}

struct Error {
  ErrorCategory category = ErrorCategory::kUnknown;
  std::string message;
  // False only when the request certainly never left this process or was refused before the server
  // could act on it (e.g. connect refused). Non-idempotent operations are retried only then.
  bool maybe_delivered = true;

  static Error timeout(std::string m) { return {ErrorCategory::kTimeout, std::move(m), true}; }
  static Error network(std::string m, bool maybe_delivered = true) {
    return {ErrorCategory::kNetwork, std::move(m), maybe_delivered};
  }
  static Error server(std::string m) { return {ErrorCategory::kServerError, std::move(m), true}; }
  static Error rate_limit(std::string m) { return {ErrorCategory::kRateLimit, std::move(m), false}; }
  static Error client(std::string m) { return {ErrorCategory::kClientError, std::move(m), true}; }
  static Error validation(std::string m) { return {ErrorCategory::kValidation, std::move(m), true}; }
  static Error unknown(std::string m) { return {ErrorCategory::kUnknown, std::move(m), true}; }
};

// "CATEGORY: message", for logs and event `cause` fields.
std::string describe(const Error& e);

// A value or an Error. Small on purpose: just what the patterns need.
template <class T>
class Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
  Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}  // NOLINT
  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

// For operations with no value.
struct Unit {
  bool operator==(const Unit&) const = default;
};

}  // namespace chaos::resilience
