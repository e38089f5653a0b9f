// The proxy's control API routes and error messages, without sockets.
#include "proxy/control_api.h"

#include <gtest/gtest.h>

namespace chaos::proxy {
namespace {

class NullProxy final : public ProxyControl {
 public:
  void hold_listener_down() override {}
  void release_listener_down() override {}
  void drop_open_connections() override {}
  void log(const std::string&) override {}
};

class ControlApiTest : public ::testing::Test {
 protected:
  ManualClock clock;
  SeededRandom rng{1};
  NullProxy proxy;
  ProxyFaultTable table{clock, rng, proxy};
  ProxyStats stats;
  ControlApi api{"redis-a", "127.0.0.1:6379", table, stats};
};

TEST_F(ControlApiTest, AddListDeleteAndClearFaults) {
  auto r = api.handle("POST", "/faults", R"({"type":"latency","latency_ms":50,"id":"slow"})");
  EXPECT_EQ(r.status, 201);
  EXPECT_EQ(nlohmann::json::parse(r.body)["id"], "slow");
  auto list = nlohmann::json::parse(api.handle("GET", "/faults", "").body);
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0]["state"], "active");
  EXPECT_EQ(api.handle("DELETE", "/faults/slow", "").status, 200);
  EXPECT_EQ(api.handle("DELETE", "/faults/slow", "").status, 404);
  api.handle("POST", "/faults", R"({"type":"timeout"})");
  api.handle("POST", "/faults", R"({"type":"down"})");
  EXPECT_EQ(nlohmann::json::parse(api.handle("DELETE", "/faults", "").body)["cleared"], 2);
}

TEST_F(ControlApiTest, BadBodiesAre400WithTheFieldNamed) {
  auto r = api.handle("POST", "/faults", "not json");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("JSON fault object"), std::string::npos);
  r = api.handle("POST", "/faults", R"({"type":"bandwidth","rate_kbps":"fast"})");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(nlohmann::json::parse(r.body)["error"].get<std::string>().find("'rate_kbps'"), std::string::npos);
}

TEST_F(ControlApiTest, StatsReportCountersPerKindAndResetZeroesThemButKeepsTheGauge) {
  stats.connections_open = 3;
  stats.connections_accepted = 9;
  stats.bytes_upstream = 100;
  api.handle("POST", "/faults", R"({"type":"down"})");
  auto s = nlohmann::json::parse(api.handle("GET", "/stats", "").body);
  EXPECT_EQ(s["service"], "fault-proxy");
  EXPECT_EQ(s["upstream"], "127.0.0.1:6379");
  EXPECT_EQ(s["connections_accepted"], 9);
  EXPECT_EQ(s["bytes_upstream"], 100);
  EXPECT_EQ(s["faults_applied"]["down"], 1);
  EXPECT_EQ(s["faults_applied"]["latency"], 0);
  EXPECT_EQ(s["faults_registered"], 1);
  EXPECT_EQ(api.handle("POST", "/reset", "").status, 200);
  s = nlohmann::json::parse(api.handle("GET", "/stats", "").body);
  EXPECT_EQ(s["connections_accepted"], 0);
  EXPECT_EQ(s["connections_open"], 3);
  EXPECT_EQ(s["faults_applied"]["down"], 0);
  EXPECT_EQ(s["faults_registered"], 0);
}

TEST_F(ControlApiTest, UnknownRoutesAndMethodsAreExplained) {
  EXPECT_EQ(api.handle("GET", "/nope", "").status, 404);
  EXPECT_EQ(api.handle("PUT", "/faults", "").status, 405);
  EXPECT_EQ(api.handle("POST", "/health", "").status, 405);
  auto h = api.handle("GET", "/health?x=1", "");
  EXPECT_EQ(h.status, 200);
  EXPECT_EQ(nlohmann::json::parse(h.body)["status"], "ok");
}

}  // namespace
}  // namespace chaos::proxy
