// The shared fault wrapper on a manual clock and a scripted RNG: scope, probability, start delay,
// duration, lifecycle hooks and spec validation, with no sockets and no real time.
#include "core/control_api.h"
#include "core/fault_table.h"
#include "core/glob.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace chaos::mocks {
namespace {

using namespace std::chrono_literals;

class FakeService : public ServiceControl {
 public:
  void drop_open_connections(bool reset, const std::function<bool()>&) override {
    events.push_back(reset ? "drop-rst" : "drop");
  }
  void hold_listener_down() override { ++holds; events.push_back("down"); }
  void release_listener_down() override { --holds; events.push_back("up"); }
  void break_open_connections(BrokenMode, const std::function<bool()>&) override { events.push_back("break"); }
  void crash(int code) override { events.push_back("crash " + std::to_string(code)); }
  void log(const std::string&) override {}
  std::vector<std::string> events;
  int holds = 0;
};

class FaultTableTest : public ::testing::Test {
 protected:
  ManualClock clock;
  SequenceRandom rng{0.1, 0.9};
  FakeService svc;
  FaultTable table{clock, rng, svc};
};

TEST(GlobTest, MatchesStarsAndQuestionMarksCaseInsensitively) {
  EXPECT_TRUE(glob_match("GET", "get"));
  EXPECT_TRUE(glob_match("*", ""));
  EXPECT_TRUE(glob_match("SELECT * FROM items*", "select value from items where id = '1'"));
  EXPECT_TRUE(glob_match("us?r.*", "user.get"));
  EXPECT_FALSE(glob_match("us?r.*", "usr.get"));
  EXPECT_FALSE(glob_match("GET", "GETSET"));
  EXPECT_FALSE(glob_match("a*b*c", "aXbXd"));
}

TEST_F(FaultTableTest, NoFaultMeansAnEmptyEffect) {
  EXPECT_TRUE(table.evaluate("GET").empty());
}

TEST_F(FaultTableTest, MatchScopesAFaultToItsRequests) {
  table.add({{"type", "error"}, {"match", "GET"}, {"message", "boom"}});
  RequestEffect hit = table.evaluate("GET");
  EXPECT_EQ(hit.terminal, RequestEffect::Terminal::kError);
  EXPECT_EQ(hit.error.message, "boom");
  EXPECT_TRUE(table.evaluate("SET").empty());
}

TEST_F(FaultTableTest, ProbabilityDrawsFromTheInjectedRandom) {
  // The sequence alternates 0.1, 0.9: with p = 0.5 the first request fails, the second does not.
  table.add({{"type", "error"}, {"probability", 0.5}});
  EXPECT_FALSE(table.evaluate("x").empty());
  EXPECT_TRUE(table.evaluate("x").empty());
  EXPECT_FALSE(table.evaluate("x").empty());
}

TEST_F(FaultTableTest, StartDelayAndDurationBoundTheActiveWindow) {
  table.add({{"type", "latency"}, {"latency_ms", 100}, {"start_delay_ms", 500}, {"duration_ms", 1000}});
  EXPECT_TRUE(table.evaluate("x").empty());
  auto next = table.update();
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(*next, clock.now() + 500ms);
  EXPECT_EQ(table.list()[0]["state"], "pending");
  clock.advance(500ms);
  next = table.update();
  EXPECT_EQ(table.evaluate("x").delay, std::chrono::milliseconds(100));
  EXPECT_EQ(*next, clock.now() + 1000ms);
  EXPECT_EQ(table.list()[0]["remaining_ms"], 1000);
  clock.advance(999ms);
  table.update();
  EXPECT_FALSE(table.evaluate("x").empty());
  clock.advance(1ms);
  EXPECT_FALSE(table.update().has_value());
  EXPECT_TRUE(table.evaluate("x").empty());
  EXPECT_EQ(table.size(), 0u);  // expired faults leave the list
}

TEST_F(FaultTableTest, DownHoldsTheListenerOnlyWhileActive) {
  std::string id = table.add({{"type", "down"}});
  EXPECT_EQ(svc.holds, 1);
  EXPECT_TRUE(table.remove(id));
  EXPECT_EQ(svc.holds, 0);
  EXPECT_FALSE(table.remove(id));
}

TEST_F(FaultTableTest, FlapTogglesEveryPeriodAndEndsUp) {
  table.add({{"type", "flap"}, {"period_ms", 100}, {"duration_ms", 350}});
  EXPECT_EQ(svc.holds, 1);
  for (int i = 0; i < 3; ++i) {
    clock.advance(100ms);
    table.update();
  }
  EXPECT_EQ(svc.events, (std::vector<std::string>{"down", "up", "down", "up"}));
  clock.advance(50ms);
  table.update();
  EXPECT_EQ(svc.holds, 0);
}

TEST_F(FaultTableTest, UnscopedDisconnectDropsOpenAndNewConnections) {
  std::string id = table.add({{"type", "disconnect"}, {"reset", true}});
  EXPECT_EQ(svc.events, std::vector<std::string>{"drop-rst"});
  bool reset = false;
  EXPECT_TRUE(table.drop_new_connection(&reset));
  EXPECT_TRUE(reset);
  EXPECT_TRUE(table.evaluate("x").empty());  // connection-level only
  table.remove(id);
  EXPECT_FALSE(table.drop_new_connection(&reset));
}

TEST_F(FaultTableTest, ScopedDisconnectDropsOnlyMatchingRequests) {
  table.add({{"type", "disconnect"}, {"match", "GET"}});
  EXPECT_TRUE(svc.events.empty());
  bool reset = false;
  EXPECT_FALSE(table.drop_new_connection(&reset));
  EXPECT_EQ(table.evaluate("GET").terminal, RequestEffect::Terminal::kDrop);
  EXPECT_TRUE(table.evaluate("SET").empty());
}

TEST_F(FaultTableTest, CrashAndExhaustActOnStart) {
  table.add({{"type", "exhaust"}});
  table.add({{"type", "crash"}, {"exit_code", 7}, {"start_delay_ms", 10}});
  EXPECT_EQ(svc.events, std::vector<std::string>{"break"});
  clock.advance(10ms);
  table.update();
  EXPECT_EQ(svc.events.back(), "crash 7");
}

TEST_F(FaultTableTest, LatencyJitterIsBoundedAndReplaysForASeed) {
  SeededRandom r1(42), r2(42);
  FaultTable t1(clock, r1, svc), t2(clock, r2, svc);
  nlohmann::json spec = {{"type", "latency"}, {"latency_ms", 100}, {"jitter_ms", 20}};
  t1.add(spec);
  t2.add(spec);
  for (int i = 0; i < 200; ++i) {
    Duration d = t1.evaluate("x").delay;
    EXPECT_EQ(d, t2.evaluate("x").delay);
    EXPECT_GE(d, 80ms);
    EXPECT_LE(d, 120ms);
  }
}

TEST_F(FaultTableTest, NormalJitterHasTheRequestedMeanAndSpread) {
  SeededRandom seeded(7);
  FaultTable t(clock, seeded, svc);
  t.add({{"type", "latency"}, {"latency_ms", 100}, {"jitter_ms", 10}, {"distribution", "normal"}});
  constexpr int kN = 4000;
  double sum = 0, sq = 0;
  for (int i = 0; i < kN; ++i) {
    double ms = std::chrono::duration<double, std::milli>(t.evaluate("x").delay).count();
    sum += ms;
    sq += ms * ms;
  }
  double mean = sum / kN, sd = std::sqrt(sq / kN - mean * mean);
  EXPECT_NEAR(mean, 100.0, 1.0);  // standard error 0.16 ms
  EXPECT_NEAR(sd, 10.0, 1.0);
}

TEST_F(FaultTableTest, ZeroDurationDisconnectIsAOneShotDrop) {
  table.add({{"type", "disconnect"}, {"duration_ms", 0}});
  EXPECT_EQ(svc.events, std::vector<std::string>{"drop"});
  bool reset = false;
  EXPECT_FALSE(table.drop_new_connection(&reset));
  EXPECT_EQ(table.size(), 0u);
}

TEST_F(FaultTableTest, InvalidSpecsAreRejectedWithTheFieldNamed) {
  auto message = [&](const nlohmann::json& spec) -> std::string {
    try {
      table.add(spec);
    } catch (const FaultSpecError& e) {
      return e.what();
    }
    return "accepted";
  };
  EXPECT_NE(message({{"latency_ms", 1}}).find("'type' is required"), std::string::npos);
  EXPECT_NE(message({{"type", "nope"}}).find("must be one of latency"), std::string::npos);
  EXPECT_NE(message({{"type", "latency"}}).find("'latency_ms' is required"), std::string::npos);
  EXPECT_NE(message({{"type", "latency"}, {"latency_ms", "5"}}).find("'latency_ms' must be a number"), std::string::npos);
  EXPECT_NE(message({{"type", "latency"}, {"latency_ms", 5}, {"latncy", 1}}).find("unknown field 'latncy'"), std::string::npos);
  EXPECT_NE(message({{"type", "error"}, {"probability", 1.5}}).find("'probability' must be in [0, 1]"), std::string::npos);
  EXPECT_NE(message({{"type", "error"}, {"status", 200}}).find("'status' must be in [400, 599]"), std::string::npos);
  EXPECT_NE(message({{"type", "error"}, {"sqlstate", "abc"}}).find("'sqlstate'"), std::string::npos);
  EXPECT_NE(message({{"type", "down"}, {"match", "GET"}}).find("'match' is not supported by down"), std::string::npos);
  EXPECT_NE(message({{"type", "flap"}, {"period_ms", 0}}).find("'period_ms' must be in [1,"), std::string::npos);
  EXPECT_NE(message({{"type", "partial"}, {"bytes", 1}, {"fraction", 0.5}}).find("either"), std::string::npos);
  EXPECT_NE(message({{"type", "latency"}, {"latency_ms", 1}, {"distribution", "pareto"}}).find("'distribution' must be one of"),
            std::string::npos);
  EXPECT_NE(message(nlohmann::json::array()).find("must be a JSON object"), std::string::npos);
  table.add({{"type", "hang"}, {"id", "h"}});
  EXPECT_NE(message({{"type", "hang"}, {"id", "h"}}).find("already exists"), std::string::npos);
  EXPECT_EQ(table.size(), 1u);
}

TEST_F(FaultTableTest, ControlApiRoutesAndReportsErrorsAsJson) {
  Stats stats;
  ControlApi api("mock-test", table, stats);
  EXPECT_EQ(api.handle("GET", "/health", "").status, 200);
  ControlResponse bad = api.handle("POST", "/faults", "{not json");
  EXPECT_EQ(bad.status, 400);
  EXPECT_TRUE(nlohmann::json::parse(bad.body).contains("error"));
  ControlResponse added = api.handle("POST", "/faults", R"({"type":"hang","id":"x"})");
  EXPECT_EQ(added.status, 201);
  EXPECT_EQ(nlohmann::json::parse(added.body)["id"], "x");
  EXPECT_EQ(nlohmann::json::parse(api.handle("GET", "/faults", "").body).size(), 1u);
  EXPECT_EQ(api.handle("DELETE", "/faults/nope", "").status, 404);
  EXPECT_EQ(api.handle("DELETE", "/faults/x", "").status, 200);
  EXPECT_EQ(api.handle("GET", "/nowhere", "").status, 404);
  EXPECT_EQ(api.handle("PUT", "/faults", "").status, 405);
  stats.requests_received = 5;
  stats.connections_open = 2;
  EXPECT_EQ(api.handle("POST", "/reset", "").status, 200);
  nlohmann::json s = nlohmann::json::parse(api.handle("GET", "/stats", "").body);
  EXPECT_EQ(s["requests_received"], 0);
  EXPECT_EQ(s["connections_open"], 2);  // a gauge survives reset
  EXPECT_TRUE(s["requests_failed_by_fault"].contains("latency"));
}

}  // namespace
}  // namespace chaos::mocks
