// The proxy's shared fault wrapper on a manual clock: validation naming the field, lifecycle (start
// delay, duration, removal), direction filtering, and the seeded probability draw.
#include "proxy/fault_table.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace chaos::proxy {
namespace {

using namespace std::chrono_literals;

class FakeProxy final : public ProxyControl {
 public:
  void hold_listener_down() override { ++holds; }
  void release_listener_down() override { --holds; }
  void drop_open_connections() override { ++drops; }
  void log(const std::string&) override {}
  int holds = 0, drops = 0;
};

class FaultTableTest : public ::testing::Test {
 protected:
  std::string rejects(const nlohmann::json& spec) {
    try {
      table.add(spec);
    } catch (const FaultSpecError& e) {
      return e.what();
    }
    return "accepted";
  }
  ManualClock clock;
  SequenceRandom rng{0.1, 0.9};
  FakeProxy proxy;
  ProxyFaultTable table{clock, rng, proxy};
};

TEST_F(FaultTableTest, BadSpecsAreRejectedWithTheFieldNamed) {
  EXPECT_NE(rejects({{"latency_ms", 5}}).find("'type'"), std::string::npos);
  EXPECT_NE(rejects({{"type", "lag"}}).find("'type' must be one of latency, bandwidth"), std::string::npos);
  EXPECT_NE(rejects({{"type", "latency"}}).find("'latency_ms'"), std::string::npos);
  EXPECT_NE(rejects({{"type", "latency"}, {"latency_ms", 1}, {"latncy", 2}}).find("'latncy'"), std::string::npos);
  EXPECT_NE(rejects({{"type", "latency"}, {"latency_ms", 1}, {"direction", "up"}}).find("'direction'"),
            std::string::npos);
  EXPECT_NE(rejects({{"type", "down"}, {"direction", "both"}}).find("'direction' is not supported by down"),
            std::string::npos);
  EXPECT_NE(rejects({{"type", "latency"}, {"latency_ms", 1}, {"match", "GET"}}).find("'match'"), std::string::npos);
  EXPECT_NE(rejects({{"type", "latency"}, {"latency_ms", 1}, {"probability", 1.5}}).find("'probability'"),
            std::string::npos);
  EXPECT_NE(rejects({{"type", "bandwidth"}, {"rate_kbps", 0}}).find("'rate_kbps'"), std::string::npos);
  EXPECT_NE(rejects({{"type", "slicer"}, {"average_size", 4}, {"size_variation", 4}}).find("'size_variation'"),
            std::string::npos);
  EXPECT_NE(rejects({{"type", "limit_data"}}).find("'bytes'"), std::string::npos);
  EXPECT_NE(rejects({{"type", "slow_close"}}).find("'delay_ms'"), std::string::npos);
  EXPECT_NE(rejects({{"type", "timeout"}, {"timeout_ms", -1}}).find("'timeout_ms'"), std::string::npos);
  EXPECT_NE(rejects({{"type", "latency"}, {"latency_ms", 1}, {"id", "a b"}}).find("'id'"), std::string::npos);
  EXPECT_NE(rejects(nlohmann::json::array()).find("JSON object"), std::string::npos);
  EXPECT_EQ(table.size(), 0u);
}

TEST_F(FaultTableTest, DuplicateIdsAreRejectedAndGeneratedIdsSkipTakenOnes) {
  EXPECT_EQ(table.add({{"type", "timeout"}, {"id", "f1"}}), "f1");
  EXPECT_NE(rejects({{"type", "timeout"}, {"id", "f1"}}).find("already exists"), std::string::npos);
  EXPECT_EQ(table.add({{"type", "timeout"}}), "f2");
}

TEST_F(FaultTableTest, DirectionSelectsWhichPipesSeeAFault) {
  table.add({{"type", "latency"}, {"latency_ms", 1}, {"direction", "upstream"}, {"id", "up"}});
  table.add({{"type", "latency"}, {"latency_ms", 1}, {"direction", "downstream"}, {"id", "down"}});
  table.add({{"type", "latency"}, {"latency_ms", 1}, {"id", "both"}});
  auto ids = [&](Direction d) {
    std::vector<std::string> v;
    for (const auto& f : table.active_for(d)) v.push_back(f.common->id);
    return v;
  };
  EXPECT_EQ(ids(Direction::kUpstream), (std::vector<std::string>{"up", "both"}));
  EXPECT_EQ(ids(Direction::kDownstream), (std::vector<std::string>{"down", "both"}));
}

TEST_F(FaultTableTest, StartDelayAndDurationDriveTheActiveSetAndItsGeneration) {
  table.add({{"type", "timeout"}, {"start_delay_ms", 100}, {"duration_ms", 200}});
  EXPECT_TRUE(table.active_for(Direction::kUpstream).empty());
  EXPECT_EQ(table.list()[0]["state"], "pending");
  uint64_t g0 = table.generation();
  auto next = table.update();
  ASSERT_TRUE(next);
  EXPECT_EQ(*next, clock.now() + 100ms);
  clock.advance(100ms);
  table.update();
  EXPECT_EQ(table.active_for(Direction::kUpstream).size(), 1u);
  EXPECT_GT(table.generation(), g0);
  EXPECT_EQ(table.list()[0]["remaining_ms"], 200);
  clock.advance(199ms);
  table.update();
  EXPECT_EQ(table.size(), 1u);
  clock.advance(1ms);
  EXPECT_FALSE(table.update());
  EXPECT_EQ(table.size(), 0u);
  EXPECT_TRUE(table.active_for(Direction::kUpstream).empty());
}

TEST_F(FaultTableTest, DownHoldsTheListenerWhileActiveAndDropsOpenLinks) {
  table.add({{"type", "down"}, {"id", "d"}});
  EXPECT_EQ(proxy.holds, 1);
  EXPECT_EQ(proxy.drops, 1);
  EXPECT_EQ(table.applied()[static_cast<size_t>(find_fault_kind("down"))], 1u);
  EXPECT_TRUE(table.remove("d"));
  EXPECT_EQ(proxy.holds, 0);
  EXPECT_FALSE(table.remove("d"));
}

TEST_F(FaultTableTest, DownWithAnUnluckyDrawDoesNothingAndReleasesNothing) {
  // rng yields 0.1 then 0.9: the first draw passes p = 0.5, the second does not.
  table.add({{"type", "down"}, {"probability", 0.5}, {"id", "lucky"}});
  table.add({{"type", "down"}, {"probability", 0.5}, {"id", "unlucky"}});
  EXPECT_EQ(proxy.holds, 1);
  table.clear();
  EXPECT_EQ(proxy.holds, 0);
}

TEST_F(FaultTableTest, DrawFollowsTheInjectedRandomSource) {
  EXPECT_TRUE(table.draw(0.5));   // 0.1
  EXPECT_FALSE(table.draw(0.5));  // 0.9
  EXPECT_TRUE(table.draw(1.0));
  EXPECT_FALSE(table.draw(0.0));
}

TEST_F(FaultTableTest, ListEchoesKindFieldsAndCommonFields) {
  table.add({{"type", "slicer"}, {"average_size", 8}, {"size_variation", 2}, {"delay_us", 10},
             {"direction", "downstream"}, {"probability", 0.25}});
  auto j = table.list()[0];
  EXPECT_EQ(j["type"], "slicer");
  EXPECT_EQ(j["average_size"], 8);
  EXPECT_EQ(j["size_variation"], 2);
  EXPECT_EQ(j["delay_us"], 10);
  EXPECT_EQ(j["direction"], "downstream");
  EXPECT_EQ(j["probability"], 0.25);
  EXPECT_TRUE(j["duration_ms"].is_null());
}

}  // namespace
}  // namespace chaos::proxy
