// The gateway's whole configuration as plain data, validated once at start (argv + the optional
// --config JSON file). Nothing downstream re-checks raw JSON: an unknown key or a wrong type is an
// error here, with the JSON path, and the process exits 2 before opening any socket.
#pragma once

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "resilience/bulkhead.h"
#include "resilience/circuit_breaker.h"
#include "resilience/retry.h"

namespace chaos::gateway {

// Thrown for bad argv or configuration; main() prints it and exits 2.
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Degraded mode (the library's DegradedMode): while the dependency's health check is DEGRADED or
// UNHEALTHY, or its breaker is not CLOSED, only `capacity` of the calls to it are attempted and the
// rest are shed straight to the request flow's fallback (a `degraded.shed` event each), so a
// struggling dependency gets a trickle of traffic to recover on instead of the full load. Entering and
// leaving are `degraded.changed` events (capacity < 1, then 1). Off by default: the suite's other
// scenarios are tuned to every call reaching the breaker.
struct DegradedSettings {
  bool enabled = false;
  double capacity = 0.5;        // fraction attempted while degraded, [0, 1)
  bool random_shedding = false;  // false: exactly `capacity` of consecutive calls, evenly spread
};

struct DependencySettings {
  resilience::CircuitBreakerConfig breaker;
  resilience::RetryConfig retry;  // max_attempts counts the first call
  std::chrono::milliseconds timeout{200};          // one attempt (read/write of one command)
  std::chrono::milliseconds connect_timeout{200};  // opening one connection
  std::chrono::milliseconds overall_timeout{450};  // the whole guarded call, retries included
  resilience::BulkheadConfig bulkhead;
  DegradedSettings degraded;
  uint32_t pool_size = 0;  // 0: bulkhead.max_concurrent + 1 (one spare for the health check)
  // This dependency's health-check budget (0: health.timeout). A Redis PING and a SELECT 1 to a
  // process-per-connection PostgreSQL need not share one limit.
  std::chrono::milliseconds health_timeout{0};
  // This dependency's consecutive failed health checks before it is healed (0: health.heal.after_failures).
  uint32_t heal_after_failures = 0;
  // Connections opened at start, before the ready line (cache and db; httplib connects lazily). A
  // server that forks per connection (PostgreSQL) then pays that cost before the load, not inside it.
  uint32_t pool_prewarm = 0;
  uint32_t effective_pool_size() const { return pool_size ? pool_size : bulkhead.max_concurrent + 1; }
};

struct HealSettings {
  bool enabled = true;
  // Per unhealthy episode. The library's HealthMonitor stops healing after the last one until the
  // check is HEALTHY again, and broken cache/db connections are only replaced by healing: the default
  // covers about a minute of outage with the backoff below.
  uint32_t max_attempts = 60;
  // Failed checks in a row before an episode's first attempt (the library's heal_after_failures).
  uint32_t after_failures = 1;
  std::chrono::milliseconds backoff{100};
  double multiplier = 2.0;
  std::chrono::milliseconds max_backoff{1000};
};

struct HealthSettings {
  std::chrono::milliseconds interval{100};
  std::chrono::milliseconds timeout{200};
  // A component whose last result is older than this is reported UNKNOWN (0: 3 * interval).
  std::chrono::milliseconds stale_after{0};
  double running_threshold = 0.9;   // availability >= this: RUNNING
  double degraded_threshold = 0.5;  // availability >= this: DEGRADED, below: CRITICAL
  HealSettings heal;
};

// The dependency's heal_after_failures, or health.heal.after_failures where it has none.
inline uint32_t heal_after_failures(const DependencySettings& d, const HealthSettings& h) {
  return d.heal_after_failures ? d.heal_after_failures : h.heal.after_failures;
}

struct GatewayConfig {
  DependencySettings cache;
  DependencySettings db;
  DependencySettings rpc;
  HealthSettings health;
  std::chrono::milliseconds request_timeout{800};  // budget of one /item request, all dependencies
  uint32_t server_threads = 32;
};

// Defaults tuned for fast scenarios (breaker: window 10, minimum 5 calls, 50 %, 1 s open, 2 trials).
GatewayConfig default_config();

// Applies a --config document on top of `base`. Throws ConfigError naming the JSON path of the first
// problem (unknown key, wrong type, out-of-range value).
void apply_config(const nlohmann::json& doc, GatewayConfig& base);

struct Endpoint {
  std::string host;
  int port = 0;
  std::string text() const { return host + ":" + std::to_string(port); }
};

struct Options {
  int port = 0;
  std::optional<Endpoint> cache;
  std::optional<Endpoint> db;
  std::optional<Endpoint> rpc;
  std::string config_file;
  uint64_t seed = 1;
  GatewayConfig config = default_config();
};

// argv -> Options, reading and applying --config. Throws ConfigError.
Options parse_options(const std::vector<std::string>& args);
Endpoint parse_endpoint(const std::string& flag, const std::string& text);

std::string usage();

}  // namespace chaos::gateway
