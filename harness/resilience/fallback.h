// When the primary call fails, a fallback chain tries, in this order, a cache lookup, the last value
// the primary returned successfully, a static default, and finally gives up with the error. Each
// source is optional. The result says which one served, and a `fallback` event reports it.
#pragma once

#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "environment.h"
#include "error.h"

namespace chaos::resilience {

enum class FallbackSource : uint8_t { kPrimary, kCache, kLastGood, kDefault, kError };
// "primary", "cache", "last_good", "default", "error"
std::string_view to_string(FallbackSource s);

// By default client mistakes (CLIENT_ERROR, VALIDATION) are passed through: serving stale data would
// hide a bug in the request.
inline bool default_should_fallback(const Error& e) {
  return e.category != ErrorCategory::kClientError && e.category != ErrorCategory::kValidation;
}

template <class T>
struct Served {
  Result<T> result;
  FallbackSource source = FallbackSource::kPrimary;
  bool from_fallback() const { return source != FallbackSource::kPrimary; }
};

template <class T>
class FallbackChain {
 public:
  explicit FallbackChain(std::string name, Environment env = {}) : name_(std::move(name)), env_(env) {}

  FallbackChain& with_cache(std::function<std::optional<T>()> lookup) {
    cache_ = std::move(lookup);
    return *this;
  }
  FallbackChain& with_last_good(bool enabled = true) {
    use_last_good_ = enabled;
    return *this;
  }
  FallbackChain& with_default(T value) {
    default_ = std::move(value);
    return *this;
  }
  FallbackChain& with_predicate(std::function<bool(const Error&)> should_fallback) {
    should_fallback_ = std::move(should_fallback);
    return *this;
  }

  // Passes a success through (remembering it as the last good value) or serves a fallback.
  Served<T> apply(Result<T> primary) {
    if (primary.ok()) {
      if (use_last_good_) {
        std::lock_guard<std::mutex> lock(mu_);
        last_good_ = primary.value();
      }
      return {std::move(primary), FallbackSource::kPrimary};
    }
    const Error& err = primary.error();
    if (should_fallback_ && !should_fallback_(err)) return {std::move(primary), FallbackSource::kError};
    if (cache_) {
      std::optional<T> v;
      try {
        v = cache_();
      } catch (...) {
        // A broken cache is one more failed source, not a reason to fail the whole chain.
      }
      if (v) return served(std::move(*v), FallbackSource::kCache, err);
    }
    if (use_last_good_) {
      std::optional<T> v;
      {
        std::lock_guard<std::mutex> lock(mu_);
        v = last_good_;
      }
      if (v) return served(std::move(*v), FallbackSource::kLastGood, err);
    }
    if (default_) return served(*default_, FallbackSource::kDefault, err);
    announce(FallbackSource::kError, err);
    return {std::move(primary), FallbackSource::kError};
  }

  std::optional<T> last_good() const {
    std::lock_guard<std::mutex> lock(mu_);
    return last_good_;
  }
  const std::string& name() const { return name_; }

 private:
  Served<T> served(T v, FallbackSource s, const Error& cause) {
    announce(s, cause);
    return {Result<T>(std::move(v)), s};
  }
  void announce(FallbackSource s, const Error& cause) {
    if (env_.publishing())
      env_.events->publish("fallback", name_,
                           EventFields{{"source", to_string(s)}, {"cause", describe(cause)}});
  }

  const std::string name_;
  const Environment env_;
  std::function<std::optional<T>()> cache_;
  bool use_last_good_ = false;
  std::optional<T> default_;
  std::function<bool(const Error&)> should_fallback_ = default_should_fallback;
  mutable std::mutex mu_;
  std::optional<T> last_good_;
};

}  // namespace chaos::resilience
