// The /item request flow, /health and /metrics with fake dependencies on a manual clock: which
// dependency is asked, who serves the answer, and which events say so.
#include <gtest/gtest.h>

#include <memory>

#include "fakes.h"
#include "gateway/gateway.h"
#include "resilience/executor.h"
#include "resilience/scheduler.h"

namespace chaos::gateway {
namespace {

using nlohmann::json;
using resilience::Error;
using testing::FakeCache;
using testing::FakeDb;
using testing::FakeRpc;

struct Harness {
  ManualClock clock;
  resilience::ManualScheduler scheduler{clock};
  resilience::EventPublisher publisher{clock, "gateway"};
  resilience::InlineExecutor executor;  // checks and heals run on the test's thread
  std::shared_ptr<resilience::EventRecorder> recorder = std::make_shared<resilience::EventRecorder>();
  FakeCache* cache = nullptr;
  FakeDb* db = nullptr;
  FakeRpc* rpc = nullptr;
  std::unique_ptr<Gateway> gw;

  explicit Harness(bool with_cache = true, bool with_db = true, bool with_rpc = true,
                   GatewayConfig cfg = default_config()) {
    publisher.subscribe([r = recorder](const resilience::Event& e) { (*r)(e); });
    Dependencies deps;
    if (with_cache) {
      auto c = std::make_unique<FakeCache>();
      cache = c.get();
      deps.cache = std::move(c);
    }
    if (with_db) {
      auto d = std::make_unique<FakeDb>();
      db = d.get();
      deps.db = std::move(d);
    }
    if (with_rpc) {
      auto r = std::make_unique<FakeRpc>();
      rpc = r.get();
      deps.rpc = std::move(r);
    }
    resilience::Environment env;
    env.clock = &clock;
    env.scheduler = &scheduler;
    env.events = &publisher;
    // Retry backoff moves the manual clock instead of sleeping.
    env.sleep = [this](Duration d) { scheduler.advance(d); };
    gw = std::make_unique<Gateway>(cfg, std::move(deps), env, &executor);
  }

  json body(const HttpAnswer& a) { return json::parse(a.body); }
};

TEST(GatewayFlow, CacheHitIsServedByPrimaryWithoutAskingTheDatabase) {
  Harness h;
  h.cache->gets.push(std::optional<std::string>("cached-7"));
  HttpAnswer a = h.gw->get_item("7");
  EXPECT_EQ(a.status, 200);
  EXPECT_EQ(a.served_by, "primary");
  json b = h.body(a);
  EXPECT_EQ(b["value"], "cached-7");
  EXPECT_EQ(b["enrichment"]["tier"], "gold");
  EXPECT_EQ(b["served_by"], "primary");
  EXPECT_EQ(h.cache->keys, std::vector<std::string>{"item:7"});
  EXPECT_TRUE(h.db->sql.empty());
  ASSERT_EQ(h.rpc->params.size(), 1u);
  EXPECT_EQ(h.rpc->params[0]["method"], "enrich");
  EXPECT_EQ(h.rpc->params[0]["params"]["id"], "7");
}

TEST(GatewayFlow, CacheMissReadsTheDatabaseAndWritesTheValueBack) {
  Harness h;
  h.db->queries.push(std::optional<std::string>("value-3"));
  HttpAnswer a = h.gw->get_item("3");
  EXPECT_EQ(a.status, 200);
  EXPECT_EQ(a.served_by, "primary");
  EXPECT_EQ(h.body(a)["value"], "value-3");
  ASSERT_EQ(h.db->sql.size(), 1u);
  EXPECT_EQ(h.db->sql[0], "SELECT value FROM items WHERE id = '3'");
  ASSERT_EQ(h.cache->written.size(), 1u);
  EXPECT_EQ(h.cache->written[0], std::make_pair(std::string("item:3"), std::string("value-3")));
}

TEST(GatewayFlow, AFailedWriteBackNeitherFailsTheRequestNorIsRetried) {
  Harness h;
  h.db->queries.push(std::optional<std::string>("value-3"));
  h.cache->sets.set_default(Error::timeout("read timeout after 200 ms (cache)"));
  HttpAnswer a = h.gw->get_item("3");
  EXPECT_EQ(a.status, 200);
  EXPECT_EQ(a.served_by, "primary");
  EXPECT_EQ(h.cache->sets.calls(), 1);
  EXPECT_EQ(h.recorder->count("retry.attempt"), 0u);
  EXPECT_EQ(h.recorder->count("retry.exhausted"), 0u);
}

TEST(GatewayFlow, CacheBypassSkipsTheCacheEntirely) {
  Harness h;
  h.db->queries.push(std::optional<std::string>("value-3"));
  HttpAnswer a = h.gw->get_item("3", /*bypass_cache=*/true);
  EXPECT_EQ(a.served_by, "primary");
  EXPECT_TRUE(h.cache->keys.empty());
  EXPECT_TRUE(h.cache->written.empty());
  EXPECT_EQ(h.db->sql.size(), 1u);
}

TEST(GatewayFlow, CacheFailureServedByTheDatabaseCountsAsFallback) {
  Harness h;
  h.cache->gets.set_default(Error::network("connection reset"));
  h.db->queries.push(std::optional<std::string>("value-4"));
  HttpAnswer a = h.gw->get_item("4");
  EXPECT_EQ(a.status, 200);
  EXPECT_EQ(a.served_by, "fallback");
  EXPECT_EQ(h.body(a)["value"], "value-4");
  // Two attempts (max_attempts 2 counts the first call), then no write-back to a failing cache.
  EXPECT_EQ(h.cache->gets.calls(), 2);
  EXPECT_TRUE(h.cache->written.empty());
  EXPECT_EQ(h.recorder->count("retry.attempt"), 1u);
  EXPECT_EQ(h.recorder->count("retry.exhausted"), 1u);
}

TEST(GatewayFlow, DatabaseFailureServesTheLastKnownGoodValue) {
  Harness h(/*cache=*/false);
  h.db->queries.push(std::optional<std::string>("value-5"));
  ASSERT_EQ(h.gw->get_item("5").served_by, "primary");
  h.db->queries.set_default(Error::timeout("read timeout after 200 ms (db query)"));
  HttpAnswer a = h.gw->get_item("5");
  EXPECT_EQ(a.status, 200);
  EXPECT_EQ(a.served_by, "last_good");
  EXPECT_EQ(h.body(a)["value"], "value-5");
  auto fb = h.recorder->of_type("fallback");
  ASSERT_EQ(fb.size(), 1u);
  EXPECT_EQ(fb[0].name, "db");
  EXPECT_EQ(fb[0].fields["source"], "last_good");
  EXPECT_EQ(fb[0].fields["cause"], "TIMEOUT: read timeout after 200 ms (db query)");
  // Every timed-out attempt is reported with the limit that fired.
  auto to = h.recorder->of_type("timeout");
  ASSERT_EQ(to.size(), 2u);
  EXPECT_EQ(to[0].fields["op"], "read");
  EXPECT_EQ(to[0].fields["limit_ms"], 200);
}

TEST(GatewayFlow, DatabaseFailureWithNothingToFallBackOnIs503) {
  Harness h(/*cache=*/false);
  h.db->queries.set_default(Error::network("connection refused", false));
  HttpAnswer a = h.gw->get_item("6");
  EXPECT_EQ(a.status, 503);
  EXPECT_EQ(a.served_by, "error");
  EXPECT_NE(h.body(a)["db"].get<std::string>().find("connection refused"), std::string::npos);
  auto fb = h.recorder->of_type("fallback");
  ASSERT_EQ(fb.size(), 1u);
  EXPECT_EQ(fb[0].fields["source"], "error");
  EXPECT_TRUE(h.rpc->params.empty()) << "no enrichment for an answer that does not exist";
}

TEST(GatewayFlow, RpcFailureServesTheStaticDefaultEnrichment) {
  Harness h;
  h.cache->gets.push(std::optional<std::string>("v"));
  h.rpc->calls.set_default(Error::server("rpc POST /rpc/enrich: HTTP 500"));
  HttpAnswer a = h.gw->get_item("8");
  EXPECT_EQ(a.status, 200);
  EXPECT_EQ(a.served_by, "default");
  EXPECT_EQ(h.body(a)["enrichment"]["source"], "default");
  auto fb = h.recorder->of_type("fallback");
  ASSERT_EQ(fb.size(), 1u);
  EXPECT_EQ(fb[0].name, "rpc");
  EXPECT_EQ(fb[0].fields["source"], "default");
}

TEST(GatewayFlow, TwoFallbacksInOneAnswerAreReportedAsFallback) {
  Harness h(/*cache=*/false);
  h.db->queries.push(std::optional<std::string>("value-9"));
  h.gw->get_item("9");
  h.db->queries.set_default(Error::network("reset"));
  h.rpc->calls.set_default(Error::network("reset"));
  EXPECT_EQ(h.gw->get_item("9").served_by, "fallback");
}

TEST(GatewayFlow, InvalidIdIsRejectedBeforeAnyDependencyIsAsked) {
  Harness h;
  for (const std::string& id : std::vector<std::string>{"a'b", "1;DROP", "", std::string(65, 'x'), "a b"}) {
    HttpAnswer a = h.gw->get_item(id);
    EXPECT_EQ(a.status, 400) << id;
  }
  EXPECT_TRUE(h.cache->keys.empty());
  EXPECT_TRUE(h.db->sql.empty());
  EXPECT_TRUE(h.rpc->params.empty());
  EXPECT_TRUE(valid_item_id("Ab_9-z"));
}

TEST(GatewayFlow, MissingRowIs404) {
  Harness h;
  HttpAnswer a = h.gw->get_item("12345");
  EXPECT_EQ(a.status, 404);
  EXPECT_TRUE(h.cache->written.empty());
}

TEST(GatewayFlow, WithoutDatabaseTheBuiltInTableAnswers) {
  Harness h(/*cache=*/false, /*db=*/false, /*rpc=*/false);
  HttpAnswer a = h.gw->get_item("42");
  EXPECT_EQ(a.status, 200);
  EXPECT_EQ(a.served_by, "primary");
  EXPECT_EQ(h.body(a)["value"], "value-42");
  EXPECT_TRUE(h.body(a)["enrichment"].is_null());
  EXPECT_EQ(h.gw->get_item("101").status, 404);
  EXPECT_EQ(h.gw->get_item("007").status, 404);
}

TEST(GatewayFlow, PermanentDatabaseErrorIsNotRetried) {
  Harness h(/*cache=*/false);
  h.db->queries.set_default(Error::client("db SQLSTATE 42P01: relation \"items\" does not exist"));
  HttpAnswer a = h.gw->get_item("1");
  EXPECT_EQ(a.status, 503);
  EXPECT_EQ(h.db->queries.calls(), 1);
  EXPECT_EQ(h.recorder->count("retry.attempt"), 0u);
}

TEST(GatewayFlow, TransientFailureIsRetriedAfterBackoff) {
  Harness h(/*cache=*/false);
  h.db->queries.push(Error::network("reset"));
  h.db->queries.push(std::optional<std::string>("value-2"));
  TimePoint before = h.clock.now();
  HttpAnswer a = h.gw->get_item("2");
  EXPECT_EQ(a.served_by, "primary");
  EXPECT_EQ(h.db->queries.calls(), 2);
  EXPECT_EQ(h.recorder->count("retry.success"), 1u);
  // 20 ms backoff with equal jitter but no Random: exactly the base delay.
  EXPECT_EQ(h.clock.now() - before, std::chrono::milliseconds(20));
}

TEST(GatewayFlow, DatabaseBreakerOpensAndThenShieldsTheDatabase) {
  Harness h(/*cache=*/false, /*db=*/true, /*rpc=*/false);
  h.db->queries.set_default(Error::network("connection refused", false));
  // Each request makes 2 attempts: 3 requests fill the minimum of 5 calls at 100 % failure.
  for (int i = 0; i < 3; ++i) h.gw->get_item("1");
  auto transitions = h.recorder->of_type("breaker.state");
  ASSERT_EQ(transitions.size(), 1u);
  EXPECT_EQ(transitions[0].name, "db");
  EXPECT_EQ(transitions[0].fields["to"], "OPEN");
  int calls = h.db->queries.calls();
  EXPECT_EQ(calls, 5);
  HttpAnswer a = h.gw->get_item("1");
  EXPECT_EQ(a.status, 503);
  EXPECT_EQ(h.db->queries.calls(), calls) << "an open breaker must not call the database";
  EXPECT_GE(h.recorder->count("breaker.rejected"), 1u);
  // After the open wait the timer moves to HALF_OPEN; two good trial calls close it.
  h.scheduler.advance(std::chrono::milliseconds(1000));
  ASSERT_EQ(h.gw->guard("db")->breaker().state(), resilience::BreakerState::kHalfOpen);
  h.db->queries.set_default(std::optional<std::string>("value-1"));
  h.gw->get_item("1");
  h.gw->get_item("1");
  EXPECT_EQ(h.gw->guard("db")->breaker().state(), resilience::BreakerState::kClosed);
}

TEST(GatewayFlow, SeedingCreatesTheTableAndOneHundredRows) {
  Harness h;
  ASSERT_TRUE(h.gw->seed_database(Deadline::infinite(h.clock)).ok());
  ASSERT_EQ(h.db->sql.size(), 2u);
  EXPECT_EQ(h.db->sql[0], "CREATE TABLE IF NOT EXISTS items(id TEXT PRIMARY KEY, value TEXT)");
  EXPECT_NE(h.db->sql[1].find("('1','value-1')"), std::string::npos);
  EXPECT_NE(h.db->sql[1].find("('100','value-100')"), std::string::npos);
  EXPECT_EQ(h.db->sql[1].find("('101'"), std::string::npos);
  EXPECT_NE(h.db->sql[1].find("ON CONFLICT DO NOTHING"), std::string::npos);
  EXPECT_TRUE(h.gw->seeded());
}

TEST(GatewayHealth, AllHealthyIsRunningAnd200) {
  Harness h;
  h.gw->monitor().run_all();
  HttpAnswer a = h.gw->health();
  EXPECT_EQ(a.status, 200);
  json b = h.body(a);
  EXPECT_EQ(b["overall_status"], "HEALTHY");
  EXPECT_EQ(b["system_state"], "RUNNING");
  EXPECT_EQ(b["health_score"], 100);
  EXPECT_EQ(b["components"]["db"]["status"], "HEALTHY");
  EXPECT_EQ(b["components"]["db"]["breaker_state"], "CLOSED");
  EXPECT_EQ(b["components"]["db"]["last_check_ms_ago"], 0);
  EXPECT_TRUE(b["unhealthy"].empty());
}

TEST(GatewayHealth, TwoOfThreeUnhealthyIsCriticalAnd503AndHealsThem) {
  Harness h;
  h.db->dep.checks.set_default(Error::network("connection broken"));
  h.rpc->dep.checks.set_default(Error::timeout("read timeout"));
  h.db->dep.heals.set_default(Error::network("connect refused", false));
  h.gw->monitor().run_all();
  HttpAnswer a = h.gw->health();
  EXPECT_EQ(a.status, 503);
  json b = h.body(a);
  EXPECT_EQ(b["overall_status"], "UNHEALTHY");
  EXPECT_EQ(b["system_state"], "CRITICAL");
  EXPECT_EQ(b["health_score"], 33);
  EXPECT_EQ(b["unhealthy"], json::array({"db", "rpc"}));
  EXPECT_EQ(h.db->dep.heals.calls(), 1);
  EXPECT_EQ(h.rpc->dep.heals.calls(), 1);
  EXPECT_EQ(h.cache->dep.heals.calls(), 0);
  auto heals = h.recorder->of_type("heal.attempt");
  ASSERT_EQ(heals.size(), 2u);
  EXPECT_EQ(heals[0].name, "db");
  EXPECT_EQ(heals[0].fields["outcome"], "failure");
  EXPECT_EQ(heals[1].name, "rpc");
  EXPECT_EQ(heals[1].fields["outcome"], "success");
}

TEST(GatewayHealth, HealAttemptsBackOffUntilTheDependencyIsBack) {
  Harness h(/*cache=*/false, /*db=*/true, /*rpc=*/false);
  h.db->dep.checks.set_default(Error::network("connection broken"));
  h.db->dep.heals.set_default(Error::network("connect refused", false));
  h.gw->start();  // interval timers on the manual scheduler: the first round runs at once
  h.scheduler.advance(Duration::zero());
  ASSERT_EQ(h.db->dep.heals.calls(), 1);
  h.scheduler.advance(std::chrono::milliseconds(99));
  EXPECT_EQ(h.db->dep.heals.calls(), 1) << "the second attempt waits heal.backoff_ms";
  h.scheduler.advance(std::chrono::milliseconds(1));
  EXPECT_EQ(h.db->dep.heals.calls(), 2);
  auto attempts = h.recorder->of_type("heal.attempt");
  ASSERT_EQ(attempts.size(), 2u);
  EXPECT_EQ(attempts[0].name, "db");
  EXPECT_EQ(attempts[0].fields["outcome"], "failure");
  EXPECT_EQ(attempts[1].fields["attempt"], 2);
  // The dependency comes back, but (as with a broken pool) only a heal makes the check pass: the next
  // attempt, 200 ms later, succeeds and the check confirms it.
  h.db->dep.heals.set_default(std::string("reconnected"));
  h.db->dep.after_heal = [&h](bool ok) {
    if (ok) h.db->dep.checks.set_default(std::string("ok"));
  };
  h.scheduler.advance(std::chrono::milliseconds(199));
  EXPECT_EQ(h.db->dep.heals.calls(), 2);
  h.scheduler.advance(std::chrono::milliseconds(1));
  attempts = h.recorder->of_type("heal.attempt");
  ASSERT_EQ(attempts.size(), 3u);
  EXPECT_EQ(attempts[2].fields["outcome"], "success");
  json b = h.body(h.gw->health());
  EXPECT_EQ(b["components"]["db"]["status"], "HEALTHY");
  EXPECT_EQ(b["system_state"], "RUNNING");
  auto states = h.recorder->of_type("health.state");
  ASSERT_FALSE(states.empty());
  EXPECT_EQ(states.back().fields["state"], "RUNNING");
  h.gw->stop();
}

TEST(GatewayHealth, ASlowButAnsweringCheckIsDegraded) {
  Harness h(/*cache=*/false, /*db=*/true, /*rpc=*/false);
  h.db->dep.before_check = [&h] { h.clock.advance(std::chrono::milliseconds(170)); };  // > 80 % of 200 ms
  h.gw->monitor().run_all();
  json b = h.body(h.gw->health());
  EXPECT_EQ(b["components"]["db"]["status"], "DEGRADED");
  EXPECT_EQ(b["degraded"], json::array({"db"}));
  EXPECT_EQ(b["overall_status"], "DEGRADED");
  EXPECT_EQ(h.db->dep.heals.calls(), 0) << "degraded is not a reason to heal";
}

TEST(GatewayHealth, ADependencysOwnHealthTimeoutReplacesTheSharedOne) {
  GatewayConfig cfg = default_config();
  cfg.db.health_timeout = std::chrono::milliseconds(1000);  // e.g. a real PostgreSQL under load
  Harness h(/*cache=*/true, /*db=*/true, /*rpc=*/false, cfg);
  h.db->dep.before_check = [&h] { h.clock.advance(std::chrono::milliseconds(500)); };
  h.cache->dep.before_check = [&h] { h.clock.advance(std::chrono::milliseconds(250)); };
  h.gw->monitor().run_check("db");
  h.gw->monitor().run_check("cache");
  json b = h.body(h.gw->health());
  EXPECT_EQ(b["components"]["db"]["status"], "HEALTHY") << "500 ms is within the db's own 1000 ms";
  EXPECT_EQ(b["components"]["cache"]["status"], "UNHEALTHY") << "the cache keeps health.timeout_ms (200 ms)";
  h.db->dep.before_check = [&h] { h.clock.advance(std::chrono::milliseconds(1000)); };
  h.gw->monitor().run_check("db");
  b = h.body(h.gw->health());
  EXPECT_EQ(b["components"]["db"]["status"], "UNHEALTHY") << "at its own limit the check has failed";
}

// db.heal_after_failures: one slow SELECT 1 from a busy (not broken) PostgreSQL is reported as the
// failed check it is, but costs no heal; only the second failure in a row starts healing. The cache
// keeps the shared health.heal.after_failures (1).
TEST(GatewayHealth, ADependencysHealAfterFailuresHoldsItsHealBackUntilFailuresInARow) {
  GatewayConfig cfg = default_config();
  cfg.db.heal_after_failures = 2;
  Harness h(/*cache=*/true, /*db=*/true, /*rpc=*/false, cfg);
  h.db->dep.before_check = [&h] { h.clock.advance(std::chrono::milliseconds(250)); };  // > 200 ms
  h.db->dep.heals.set_default(Error::network("connect timed out"));  // no confirming re-check
  h.cache->dep.checks.set_default(Error::network("connection reset"));
  h.gw->monitor().run_check("db");
  h.gw->monitor().run_check("cache");
  json b = h.body(h.gw->health());
  EXPECT_EQ(b["components"]["db"]["status"], "UNHEALTHY");
  EXPECT_EQ(h.db->dep.heals.calls(), 0) << "one failed check of two needed";
  EXPECT_EQ(h.cache->dep.heals.calls(), 1) << "the cache heals on its first failure";
  h.db->dep.before_check = nullptr;  // answers in time again: the count starts over
  h.gw->monitor().run_check("db");
  h.db->dep.before_check = [&h] { h.clock.advance(std::chrono::milliseconds(250)); };
  h.gw->monitor().run_check("db");
  EXPECT_EQ(h.db->dep.heals.calls(), 0) << "failures with a success between are not in a row";
  h.gw->monitor().run_check("db");
  EXPECT_EQ(h.db->dep.heals.calls(), 1);
  auto db_checks = h.recorder->of_type("health.check");
  std::vector<int> counts;
  for (const auto& e : db_checks)
    if (e.name == "db") counts.push_back(e.fields.value("consecutive_failures", 0));
  EXPECT_EQ(counts, (std::vector<int>{1, 0, 1, 2}));
}

TEST(GatewayFlow, PrewarmOpensTheConfiguredConnectionsOfCacheAndDb) {
  GatewayConfig cfg = default_config();
  cfg.db.pool_prewarm = 8;
  Harness h(/*cache=*/true, /*db=*/true, /*rpc=*/false, cfg);
  h.db->dep.open_on_prewarm = 5;  // e.g. the deadline ran out after five
  auto lines = h.gw->prewarm_pools(Deadline::after(h.clock, std::chrono::seconds(2)));
  EXPECT_EQ(lines, (std::vector<std::string>{"db: 5 of 8 connections open"}));
  EXPECT_EQ(h.db->dep.prewarms, (std::vector<size_t>{8}));
  EXPECT_TRUE(h.cache->dep.prewarms.empty()) << "pool_prewarm 0 (the default) opens nothing ahead";
}

TEST(GatewayMetrics, ExposesBreakerStateCallsFallbacksAndRequests) {
  Harness h(/*cache=*/false);
  h.db->queries.set_default(std::optional<std::string>("v"));
  h.gw->get_item("1");
  h.rpc->calls.set_default(Error::server("HTTP 503"));
  h.gw->get_item("1");
  h.gw->record_request("/item", 200, "default", std::chrono::milliseconds(3));
  std::string m = h.gw->metrics().body;
  EXPECT_NE(m.find("gateway_breaker_state{name=\"db\"} 0\n"), std::string::npos) << m;
  EXPECT_NE(m.find("gateway_dependency_calls_total{name=\"rpc\",outcome=\"failure\"} 2\n"), std::string::npos) << m;
  EXPECT_NE(m.find("gateway_fallback_total{name=\"rpc\",source=\"default\"} 1\n"), std::string::npos) << m;
  EXPECT_NE(m.find("gateway_retry_events_total{name=\"rpc\",kind=\"exhausted\"} 1\n"), std::string::npos) << m;
  EXPECT_NE(m.find("gateway_requests_total{route=\"/item\",code=\"200\",served_by=\"default\"} 1\n"), std::string::npos) << m;
  EXPECT_NE(m.find("gateway_request_duration_seconds_bucket{le=\"0.005\"} 1\n"), std::string::npos) << m;
  EXPECT_NE(m.find("gateway_request_duration_seconds_bucket{le=\"0.0025\"} 0\n"), std::string::npos) << m;
  auto req = h.recorder->of_type("request");
  ASSERT_EQ(req.size(), 1u);
  EXPECT_EQ(req[0].fields["duration_us"], 3000);
}

}  // namespace
}  // namespace chaos::gateway
