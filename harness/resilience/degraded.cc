// Capacity-based shedding, and the names of fallback sources (see degraded.h, fallback.h).
#include "degraded.h"

#include <algorithm>
#include <cmath>

#include "fallback.h"

namespace chaos::resilience {

std::string_view to_string(FallbackSource s) {
  switch (s) {
    case FallbackSource::kPrimary: return "primary";
    case FallbackSource::kCache: return "cache";
    case FallbackSource::kLastGood: return "last_good";
    case FallbackSource::kDefault: return "default";
    case FallbackSource::kError: return "error";
  }
  return "error";
}

DegradedMode::DegradedMode(std::string name, DegradedConfig config, Environment env)
    : name_(std::move(name)),
      config_(config),
      env_(env),
      capacity_(std::clamp(config.capacity, 0.0, 1.0)) {}

void DegradedMode::set_capacity(double capacity, const std::string& reason) {
  capacity = std::clamp(capacity, 0.0, 1.0);
  double old = capacity_.exchange(capacity, std::memory_order_relaxed);
  if (old != capacity && env_.publishing()) {
    env_.events->publish("degraded.changed", name_,
                         EventFields{{"capacity", capacity}, {"reason", reason}});
  }
}

bool DegradedMode::admit() {
  const double c = capacity_.load(std::memory_order_relaxed);
  if (c >= 1.0) return true;
  bool ok;
  if (config_.random_shedding && env_.random) {
    ok = env_.random->uniform() < c;
  } else {
    // Call n is admitted when floor((n+1)c) > floor(nc): exactly round(N*c) of any N consecutive
    // calls (within one), evenly spread rather than in bursts.
    const uint64_t n = seq_.fetch_add(1, std::memory_order_relaxed);
    ok = std::floor(static_cast<double>(n + 1) * c) > std::floor(static_cast<double>(n) * c);
  }
  if (!ok) {
    shed_.fetch_add(1, std::memory_order_relaxed);
    if (env_.publishing()) env_.events->publish("degraded.shed", name_, EventFields::object());
  }
  return ok;
}

}  // namespace chaos::resilience
