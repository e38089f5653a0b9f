// Degraded mode in the gateway, with fake dependencies on a manual clock: when a dependency's health
// or breaker turns bad it enters the library's degraded mode, only the configured fraction of calls
// reaches it and the rest are shed to the fallback, and it leaves once health and breaker are good.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "fakes.h"
#include "gateway/gateway.h"
#include "resilience/executor.h"
#include "resilience/scheduler.h"

namespace chaos::gateway {
namespace {

using nlohmann::json;
using resilience::BreakerState;
using resilience::Error;
using resilience::HealthStatus;
using testing::FakeCache;
using testing::FakeDb;
using testing::FakeRpc;

// Degraded mode on for `dep` at half capacity; healing off so that a failing check stays failing
// until the test says otherwise (a successful heal would re-run the check at once).
GatewayConfig degraded_config(DependencySettings GatewayConfig::*dep) {
  GatewayConfig c = default_config();
  (c.*dep).degraded.enabled = true;
  (c.*dep).degraded.capacity = 0.5;
  c.health.heal.enabled = false;
  return c;
}

struct Harness {
  ManualClock clock;
  resilience::ManualScheduler scheduler{clock};
  resilience::EventPublisher publisher{clock, "gateway"};
  resilience::InlineExecutor executor;
  std::shared_ptr<resilience::EventRecorder> recorder = std::make_shared<resilience::EventRecorder>();
  FakeCache* cache = nullptr;
  FakeDb* db = nullptr;
  std::unique_ptr<Gateway> gw;

  Harness(GatewayConfig cfg, bool with_cache) {
    publisher.subscribe([r = recorder](const resilience::Event& e) { (*r)(e); });
    Dependencies deps;
    if (with_cache) {
      auto c = std::make_unique<FakeCache>();
      cache = c.get();
      deps.cache = std::move(c);
    }
    auto d = std::make_unique<FakeDb>();
    db = d.get();
    deps.db = std::move(d);
    deps.rpc = std::make_unique<FakeRpc>();
    resilience::Environment env;
    env.clock = &clock;
    env.scheduler = &scheduler;
    env.events = &publisher;
    env.sleep = [this](Duration dur) { scheduler.advance(dur); };
    gw = std::make_unique<Gateway>(cfg, std::move(deps), env, &executor);
  }

  std::vector<resilience::Event> changes(const std::string& name) const {
    std::vector<resilience::Event> out;
    for (auto& e : recorder->of_type("degraded.changed"))
      if (e.name == name) out.push_back(e);
    return out;
  }
};

TEST(DegradedVerdict, BadHealthOrANonClosedBreakerDegradesAndOnlyBothGoodRecover) {
  DegradedSettings s;
  s.enabled = true;
  s.capacity = 0.3;
  EXPECT_DOUBLE_EQ(degraded_verdict(s, HealthStatus::kHealthy, BreakerState::kClosed).capacity, 1.0);
  EXPECT_DOUBLE_EQ(degraded_verdict(s, HealthStatus::kDegraded, BreakerState::kClosed).capacity, 0.3);
  EXPECT_DOUBLE_EQ(degraded_verdict(s, HealthStatus::kUnhealthy, BreakerState::kClosed).capacity, 0.3);
  EXPECT_DOUBLE_EQ(degraded_verdict(s, HealthStatus::kHealthy, BreakerState::kOpen).capacity, 0.3);
  EXPECT_DOUBLE_EQ(degraded_verdict(s, HealthStatus::kHealthy, BreakerState::kHalfOpen).capacity, 0.3);
  EXPECT_DOUBLE_EQ(degraded_verdict(s, HealthStatus::kHealthy, BreakerState::kForcedOpen).capacity, 0.3);
  // Not checked yet (or stale) is no evidence of trouble; a disabled breaker judges nothing.
  EXPECT_DOUBLE_EQ(degraded_verdict(s, HealthStatus::kUnknown, BreakerState::kClosed).capacity, 1.0);
  EXPECT_DOUBLE_EQ(degraded_verdict(s, HealthStatus::kHealthy, BreakerState::kDisabled).capacity, 1.0);
  EXPECT_EQ(degraded_verdict(s, HealthStatus::kUnhealthy, BreakerState::kOpen).reason, "health UNHEALTHY, breaker OPEN");
  EXPECT_EQ(degraded_verdict(s, HealthStatus::kHealthy, BreakerState::kClosed).reason,
            "recovered: health HEALTHY, breaker CLOSED");
  s.enabled = false;
  EXPECT_DOUBLE_EQ(degraded_verdict(s, HealthStatus::kUnhealthy, BreakerState::kOpen).capacity, 1.0);
}

TEST(GatewayDegradedMode, AnUnhealthyCacheCheckShedsHalfTheCacheReadsToTheDatabaseUntilItIsHealthy) {
  Harness h(degraded_config(&GatewayConfig::cache), /*with_cache=*/true);
  h.cache->gets.set_default(std::optional<std::string>("cached"));
  h.db->queries.set_default(std::optional<std::string>("from-db"));
  h.gw->monitor().run_all();
  for (int i = 0; i < 4; ++i) EXPECT_EQ(h.gw->get_item("5").served_by, "primary");
  EXPECT_EQ(h.cache->gets.calls(), 4);
  EXPECT_TRUE(h.changes("cache").empty()) << "healthy and closed: not degraded";

  // The fault: the cache's check fails (its reads still answer, so only health can tell).
  h.cache->dep.checks.set_default(Error::network("connection refused", false));
  h.gw->monitor().run_check("cache");
  auto entered = h.changes("cache");
  ASSERT_EQ(entered.size(), 1u);
  EXPECT_DOUBLE_EQ(entered[0].fields["capacity"].get<double>(), 0.5);
  EXPECT_EQ(entered[0].fields["reason"], "health UNHEALTHY, breaker CLOSED");

  int primary = 0, fallback = 0;
  for (int i = 0; i < 10; ++i) {
    HttpAnswer a = h.gw->get_item("5");
    EXPECT_EQ(a.status, 200);
    if (a.served_by == "primary") ++primary;
    if (a.served_by == "fallback") ++fallback;
  }
  // Deterministic shedding: exactly half of ten consecutive calls reach the cache.
  EXPECT_EQ(h.cache->gets.calls(), 4 + 5);
  EXPECT_EQ(primary, 5);
  EXPECT_EQ(fallback, 5) << "a shed cache read is answered by the database";
  EXPECT_EQ(h.db->sql.size(), 5u);
  EXPECT_EQ(h.recorder->count("degraded.shed"), 5u);
  EXPECT_EQ(h.gw->guard("cache")->breaker().metrics().total_calls, 4u + 5u) << "shed calls never reach the breaker";
  json health = json::parse(h.gw->health().body);
  EXPECT_DOUBLE_EQ(health["components"]["cache"]["degraded_capacity"].get<double>(), 0.5);
  EXPECT_EQ(health["components"]["cache"]["degraded_shed"], 5);
  EXPECT_FALSE(health["components"]["db"].contains("degraded_capacity")) << "degraded mode is off for the db";
  std::string metrics = h.gw->metrics().body;
  EXPECT_NE(metrics.find("gateway_degraded_capacity{name=\"cache\"} 0.5"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("gateway_degraded_shed_total{name=\"cache\"} 5\n"), std::string::npos) << metrics;

  // Recovery: the next healthy check ends degraded mode and every read reaches the cache again.
  h.cache->dep.checks.set_default(std::string("ok"));
  h.gw->monitor().run_check("cache");
  auto all = h.changes("cache");
  ASSERT_EQ(all.size(), 2u);
  EXPECT_DOUBLE_EQ(all[1].fields["capacity"].get<double>(), 1.0);
  EXPECT_EQ(all[1].fields["reason"], "recovered: health HEALTHY, breaker CLOSED");
  for (int i = 0; i < 4; ++i) EXPECT_EQ(h.gw->get_item("5").served_by, "primary");
  EXPECT_EQ(h.cache->gets.calls(), 9 + 4);
  EXPECT_EQ(h.recorder->count("degraded.shed"), 5u);
}

TEST(GatewayDegradedMode, AnOpenDbBreakerDegradesAndHalfOpenTrialsStillGetThroughToCloseIt) {
  Harness h(degraded_config(&GatewayConfig::db), /*with_cache=*/false);
  h.db->queries.set_default(Error::network("connection refused", false));
  // 2 attempts per request: 3 requests fill the minimum of 5 calls at 100 % failure and open it.
  for (int i = 0; i < 3; ++i) h.gw->get_item("1");
  ASSERT_EQ(h.gw->guard("db")->breaker().state(), BreakerState::kOpen);
  auto entered = h.changes("db");
  ASSERT_EQ(entered.size(), 1u);
  EXPECT_DOUBLE_EQ(entered[0].fields["capacity"].get<double>(), 0.5);
  EXPECT_NE(entered[0].fields["reason"].get<std::string>().find("breaker OPEN"), std::string::npos);

  h.scheduler.advance(std::chrono::milliseconds(1000));
  ASSERT_EQ(h.gw->guard("db")->breaker().state(), BreakerState::kHalfOpen);
  EXPECT_EQ(h.changes("db").size(), 1u) << "HALF_OPEN is still degraded: no change";
  h.db->queries.set_default(std::optional<std::string>("value-1"));
  const int queries_before = h.db->queries.calls();
  const size_t shed_before = h.recorder->count("degraded.shed");
  int requests = 0;
  for (; requests < 20 && h.gw->guard("db")->breaker().state() != BreakerState::kClosed; ++requests) h.gw->get_item("1");
  ASSERT_EQ(h.gw->guard("db")->breaker().state(), BreakerState::kClosed);
  EXPECT_EQ(h.db->queries.calls() - queries_before, 2) << "the two trial calls";
  EXPECT_EQ(requests, 4) << "half of the requests are shed, so two trials take four requests";
  EXPECT_EQ(h.recorder->count("degraded.shed") - shed_before, 2u);
  auto all = h.changes("db");
  ASSERT_EQ(all.size(), 2u);
  EXPECT_DOUBLE_EQ(all[1].fields["capacity"].get<double>(), 1.0);
  EXPECT_EQ(all[1].fields["reason"], "recovered: health UNKNOWN, breaker CLOSED");
}

TEST(GatewayDegradedMode, OffByDefaultAnUnhealthyDependencyStillGetsEveryCall) {
  GatewayConfig cfg = default_config();
  cfg.health.heal.enabled = false;
  Harness h(cfg, /*with_cache=*/true);
  h.cache->gets.set_default(std::optional<std::string>("cached"));
  h.cache->dep.checks.set_default(Error::network("connection refused", false));
  h.gw->monitor().run_all();
  for (int i = 0; i < 6; ++i) EXPECT_EQ(h.gw->get_item("5").served_by, "primary");
  EXPECT_EQ(h.cache->gets.calls(), 6);
  EXPECT_EQ(h.recorder->count("degraded.changed"), 0u);
  EXPECT_EQ(h.recorder->count("degraded.shed"), 0u);
  EXPECT_EQ(h.gw->guard("cache")->degraded(), nullptr);
}

}  // namespace
}  // namespace chaos::gateway
