// argv and --config parsing: defaults, overrides, and errors that name the JSON path.
#include <gtest/gtest.h>

#include "gateway/config.h"
#include "gateway/real_clients.h"

namespace chaos::gateway {
namespace {

using nlohmann::json;

std::string error_of(const json& doc) {
  GatewayConfig c = default_config();
  try {
    apply_config(doc, c);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(GatewayConfig, DefaultsSuitFastScenarios) {
  GatewayConfig c = default_config();
  for (const DependencySettings* d : {&c.cache, &c.db, &c.rpc}) {
    EXPECT_EQ(d->breaker.window_size, 10u);
    EXPECT_EQ(d->breaker.minimum_calls, 5u);
    EXPECT_DOUBLE_EQ(d->breaker.failure_rate_threshold, 50.0);
    EXPECT_EQ(d->breaker.wait_in_open, std::chrono::milliseconds(1000));
    EXPECT_EQ(d->breaker.permitted_calls_in_half_open, 2u);
    EXPECT_EQ(d->retry.max_attempts, 2u);
    EXPECT_EQ(d->retry.initial_backoff, std::chrono::milliseconds(20));
    EXPECT_EQ(d->timeout, std::chrono::milliseconds(200));
    EXPECT_EQ(d->bulkhead.max_concurrent, 16u);
    EXPECT_EQ(d->effective_pool_size(), 17u);
  }
  EXPECT_EQ(c.health.interval, std::chrono::milliseconds(100));
  EXPECT_EQ(c.health.heal.after_failures, 1u) << "heal on the first failed check";
}

TEST(GatewayConfig, OverridesApplyPerDependency) {
  GatewayConfig c = default_config();
  apply_config(json::parse(R"({"db": {"breaker": {"minimum_calls": 3, "wait_in_open_ms": 500, "window_type": "time"},
                                       "retry": {"max_attempts": 4, "jitter": "full"}, "timeout_ms": 50,
                                       "bulkhead": {"max_concurrent": 2, "max_wait_ms": 5}, "pool_size": 3,
                                       "health_timeout_ms": 750, "pool_prewarm": 3, "heal_after_failures": 3},
                               "health": {"interval_ms": 250, "heal": {"max_attempts": 7, "enabled": false, "after_failures": 2}},
                               "request_timeout_ms": 900})"),
               c);
  EXPECT_EQ(c.db.breaker.minimum_calls, 3u);
  EXPECT_EQ(c.db.breaker.wait_in_open, std::chrono::milliseconds(500));
  EXPECT_EQ(c.db.breaker.window_type, resilience::SlidingWindowType::kTimeBased);
  EXPECT_EQ(c.db.retry.max_attempts, 4u);
  EXPECT_EQ(c.db.retry.jitter, resilience::Jitter::kFull);
  EXPECT_EQ(c.db.timeout, std::chrono::milliseconds(50));
  EXPECT_EQ(c.db.bulkhead.max_concurrent, 2u);
  EXPECT_EQ(c.db.bulkhead.max_wait, std::chrono::milliseconds(5));
  EXPECT_EQ(c.db.effective_pool_size(), 3u);
  EXPECT_EQ(c.db.health_timeout, std::chrono::milliseconds(750));
  EXPECT_EQ(c.db.pool_prewarm, 3u);
  EXPECT_EQ(c.cache.pool_prewarm, 0u);
  EXPECT_EQ(c.cache.health_timeout, std::chrono::milliseconds(0)) << "0: the shared health.timeout_ms";
  EXPECT_EQ(c.cache.breaker.minimum_calls, 5u) << "other dependencies keep their defaults";
  EXPECT_EQ(c.health.interval, std::chrono::milliseconds(250));
  EXPECT_EQ(c.health.heal.max_attempts, 7u);
  EXPECT_EQ(c.health.heal.after_failures, 2u);
  EXPECT_EQ(c.db.heal_after_failures, 3u);
  EXPECT_EQ(c.cache.heal_after_failures, 0u) << "0: the shared health.heal.after_failures";
  EXPECT_FALSE(c.health.heal.enabled);
  EXPECT_EQ(c.request_timeout, std::chrono::milliseconds(900));
}

TEST(GatewayConfig, ClientsDropFailedProbesOnlyWhereTheHealWaitsForFailuresInARow) {
  GatewayConfig c = default_config();
  apply_config(json::parse(R"({"db": {"heal_after_failures": 3}})"), c);
  const Endpoint e{"127.0.0.1", 5432};
  ClientSettings db = client_settings(e, c.db, c.health);
  EXPECT_EQ(db.on_probe_failure, ProbeFailure::kDrop);
  EXPECT_EQ(db.pool_size, c.db.effective_pool_size());
  EXPECT_EQ(db.port, 5432);
  EXPECT_EQ(client_settings(e, c.cache, c.health).on_probe_failure, ProbeFailure::kBreak) << "heals on the first failure";
  apply_config(json::parse(R"({"health": {"heal": {"after_failures": 2}}})"), c);
  EXPECT_EQ(client_settings(e, c.cache, c.health).on_probe_failure, ProbeFailure::kDrop) << "the shared setting applies";
}

TEST(GatewayConfig, UnknownKeysAreErrorsNamingTheirPath) {
  EXPECT_NE(error_of(json::parse(R"({"dbb": {}})")).find("dbb: unknown key"), std::string::npos);
  EXPECT_NE(error_of(json::parse(R"({"db": {"breaker": {"minimum_call": 3}}})")).find("db.breaker.minimum_call: unknown key"),
            std::string::npos);
  EXPECT_NE(error_of(json::parse(R"({"health": {"heal": {"tries": 1}}})")).find("health.heal.tries: unknown key"),
            std::string::npos);
}

TEST(GatewayConfig, WrongTypesAndRangesAreErrors) {
  EXPECT_NE(error_of(json::parse(R"({"rpc": {"timeout_ms": "fast"}})")).find("rpc.timeout_ms: expected an integer"),
            std::string::npos);
  EXPECT_NE(error_of(json::parse(R"({"rpc": {"retry": {"max_attempts": 0}}})")).find("rpc.retry.max_attempts: 0 is out of range"),
            std::string::npos);
  EXPECT_NE(error_of(json::parse(R"({"cache": {"retry": {"jitter": "lots"}}})")).find("cache.retry.jitter: expected one of"),
            std::string::npos);
  EXPECT_NE(error_of(json::parse(R"({"db": {"breaker": {"minimum_calls": 20}}})")).find("db.breaker.minimum_calls: must be <= window_size"),
            std::string::npos);
  EXPECT_NE(error_of(json::parse(R"({"db": {"health_timeout_ms": 0}})")).find("db.health_timeout_ms: 0 is out of range"),
            std::string::npos);
  EXPECT_NE(error_of(json::parse(R"({"db": {"heal_after_failures": 0}})")).find("db.heal_after_failures: 0 is out of range"),
            std::string::npos);
  EXPECT_NE(error_of(json::parse(R"({"health": {"heal": {"after_failures": 0}}})")).find("health.heal.after_failures: 0 is out of range"),
            std::string::npos);
  EXPECT_NE(error_of(json::parse(R"({"db": {"pool_prewarm": 4, "pool_size": 3}})")).find("db.pool_prewarm: must be <= the pool size (3)"),
            std::string::npos);
  EXPECT_NE(error_of(json::parse(R"({"rpc": {"pool_prewarm": 1}})")).find("rpc.pool_prewarm: not supported for rpc"),
            std::string::npos);
  EXPECT_NE(error_of(json::parse(R"([1])")).find("top level: expected an object"), std::string::npos);
  EXPECT_EQ(error_of(json::parse(R"({})")), "");
}

TEST(GatewayConfig, DegradedModeIsOffByDefaultAndConfigurablePerDependency) {
  GatewayConfig c = default_config();
  for (const DependencySettings* d : {&c.cache, &c.db, &c.rpc}) {
    EXPECT_FALSE(d->degraded.enabled);
    EXPECT_DOUBLE_EQ(d->degraded.capacity, 0.5);
    EXPECT_FALSE(d->degraded.random_shedding);
  }
  apply_config(json::parse(R"({"cache": {"degraded": {"enabled": true, "capacity": 0.25, "random_shedding": true}}})"), c);
  EXPECT_TRUE(c.cache.degraded.enabled);
  EXPECT_DOUBLE_EQ(c.cache.degraded.capacity, 0.25);
  EXPECT_TRUE(c.cache.degraded.random_shedding);
  EXPECT_FALSE(c.db.degraded.enabled) << "degraded mode is per dependency";
}

TEST(GatewayConfig, DegradedCapacityMustShedSomethingAndKeysAreChecked) {
  EXPECT_NE(error_of(json::parse(R"({"rpc": {"degraded": {"capacity": 1}}})")).find("rpc.degraded.capacity: must be below 1"),
            std::string::npos);
  EXPECT_NE(error_of(json::parse(R"({"rpc": {"degraded": {"capacity": -0.1}}})")).find("rpc.degraded.capacity: -0.1 is out of range"),
            std::string::npos);
  EXPECT_NE(error_of(json::parse(R"({"db": {"degraded": {"fraction": 0.5}}})")).find("db.degraded.fraction: unknown key"),
            std::string::npos);
  EXPECT_NE(error_of(json::parse(R"({"db": {"degraded": {"enabled": 1}}})")).find("db.degraded.enabled: expected true or false"),
            std::string::npos);
  EXPECT_EQ(error_of(json::parse(R"({"db": {"degraded": {"enabled": true, "capacity": 0}}})")), "");
}

TEST(GatewayOptions, ParsesEveryFlag) {
  Options o = parse_options({"--port", "0", "--cache", "127.0.0.1:6379", "--db", "localhost:5432", "--rpc",
                             "127.0.0.1:8080", "--seed", "42"});
  EXPECT_EQ(o.port, 0);
  ASSERT_TRUE(o.cache && o.db && o.rpc);
  EXPECT_EQ(o.cache->port, 6379);
  EXPECT_EQ(o.db->host, "localhost");
  EXPECT_EQ(o.seed, 42u);
}

TEST(GatewayOptions, AbsentDependencyFlagsMeanUnused) {
  Options o = parse_options({"--port", "8080"});
  EXPECT_FALSE(o.cache || o.db || o.rpc);
}

TEST(GatewayOptions, BadArgumentsAreErrors) {
  auto fails = [](std::vector<std::string> args, const std::string& needle) {
    try {
      parse_options(args);
    } catch (const ConfigError& e) {
      return std::string(e.what()).find(needle) != std::string::npos;
    }
    return false;
  };
  EXPECT_TRUE(fails({}, "--port is required"));
  EXPECT_TRUE(fails({"--port", "70000"}, "--port: expected 0..65535"));
  EXPECT_TRUE(fails({"--port", "0", "--db", "nohost"}, "--db: expected HOST:PORT"));
  EXPECT_TRUE(fails({"--port", "0", "--cache", "h:0"}, "--cache: port must be 1..65535"));
  EXPECT_TRUE(fails({"--port", "0", "--verbose"}, "unknown argument \"--verbose\""));
  EXPECT_TRUE(fails({"--port", "0", "--seed", "-1"}, "--seed: expected a non-negative integer"));
  EXPECT_TRUE(fails({"--port", "0", "--config", "/nonexistent/gw.json"}, "--config: cannot read"));
  EXPECT_TRUE(fails({"--port"}, "--port: missing value"));
}

}  // namespace
}  // namespace chaos::gateway
