// The timeline picture's lanes are derived from events; these check the derivation, not the pixels.
#include "report/timeline_svg.h"

#include "fixtures.h"

#include <gtest/gtest.h>

namespace chaos::report {
namespace {

using testing::passing_scenario;

TEST(TimelinePicture, OneLanePerBreakerInOrderOfFirstAppearance) {
  auto pic = build_picture(passing_scenario());
  ASSERT_EQ(pic.breakers.size(), 2u);
  EXPECT_EQ(pic.breakers[0].name, "db");
  EXPECT_EQ(pic.breakers[1].name, "cache");
  EXPECT_DOUBLE_EQ(pic.end_ms, 6000);
}

TEST(TimelinePicture, BreakerSegmentsAreContiguousAndFollowTheEvents) {
  auto pic = build_picture(passing_scenario());
  const auto& db = pic.breakers[0].segments;
  std::vector<std::string> states;
  for (const auto& s : db) states.push_back(s.state);
  EXPECT_EQ(states, (std::vector<std::string>{"CLOSED", "OPEN", "HALF_OPEN", "OPEN", "HALF_OPEN", "CLOSED"}));
  EXPECT_DOUBLE_EQ(db.front().from_ms, 0);
  EXPECT_DOUBLE_EQ(db[1].from_ms, 1180);
  EXPECT_EQ(db[1].reason, "failure rate 100.0% >= 50.0% over 5 calls");
  EXPECT_DOUBLE_EQ(db.back().to_ms, 6000);
  for (size_t i = 1; i < db.size(); ++i) EXPECT_DOUBLE_EQ(db[i - 1].to_ms, db[i].from_ms);
}

TEST(TimelinePicture, HealthLaneStartsFromThePreviousStateOfItsFirstEvent) {
  auto pic = build_picture(passing_scenario());
  ASSERT_EQ(pic.health.size(), 1u);
  const auto& h = pic.health[0].segments;
  ASSERT_EQ(h.size(), 3u);
  EXPECT_EQ(h[0].state, "RUNNING");
  EXPECT_EQ(h[1].state, "DEGRADED");
  EXPECT_EQ(h[2].state, "RUNNING");
}

TEST(TimelinePicture, HealAttemptsKeepTheirOutcome) {
  auto pic = build_picture(passing_scenario());
  ASSERT_EQ(pic.heals.size(), 1u);
  const auto& marks = pic.heals[0].marks;
  ASSERT_EQ(marks.size(), 3u);
  EXPECT_FALSE(marks[0].success);
  EXPECT_FALSE(marks[1].success);
  EXPECT_TRUE(marks[2].success);
  EXPECT_EQ(marks[2].attempt, 3);
  EXPECT_DOUBLE_EQ(marks[2].t_ms, 3120);
}

TEST(TimelinePicture, EventsMissingFieldsAreSkippedNotGuessed) {
  expect::ScenarioResult s;
  s.timeline.duration_ms = 100;
  s.timeline.add({10, "sut", "breaker.state", {{"type", "breaker.state"}, {"to", "OPEN"}}});  // no name
  s.timeline.add({20, "sut", "breaker.state", nlohmann::json::array()});                    // not an object
  s.timeline.add({30, "sut", "breaker.state", {{"type", "breaker.state"}, {"name", "x"}, {"to", "OPEN"}}});
  auto pic = build_picture(s);
  ASSERT_EQ(pic.breakers.size(), 1u);
  ASSERT_EQ(pic.breakers[0].segments.size(), 2u);
  EXPECT_EQ(pic.breakers[0].segments[0].state, "UNKNOWN");  // no `from`: not assumed CLOSED
  EXPECT_EQ(pic.breakers[0].segments[1].state, "OPEN");
}

TEST(TimelinePicture, SimultaneousTransitionsLeaveNoEmptySegments) {
  expect::ScenarioResult s;
  s.timeline.duration_ms = 100;
  for (auto [from, to] : {std::pair{"CLOSED", "OPEN"}, std::pair{"OPEN", "HALF_OPEN"}}) {
    s.timeline.add({50, "sut", "breaker.state", {{"type", "breaker.state"}, {"name", "b"}, {"from", from}, {"to", to}}});
  }
  auto pic = build_picture(s);
  ASSERT_EQ(pic.breakers[0].segments.size(), 2u);
  EXPECT_EQ(pic.breakers[0].segments[1].state, "HALF_OPEN");
}

TEST(TimelineSvg, DrawsEveryLaneFaultAndHealMark) {
  std::string svg = render_timeline_svg(passing_scenario(), "t");
  EXPECT_EQ(svg.rfind("<svg", 0), 0u);
  EXPECT_NE(svg.find("breaker db"), std::string::npos);
  EXPECT_NE(svg.find("breaker cache"), std::string::npos);
  EXPECT_NE(svg.find("system health"), std::string::npos);
  EXPECT_NE(svg.find("db-down"), std::string::npos);
  EXPECT_NE(svg.find("cache-slow"), std::string::npos);
  EXPECT_NE(svg.find("class=\"heal-ok\""), std::string::npos);
  EXPECT_NE(svg.find("class=\"heal-fail\""), std::string::npos);
  EXPECT_NE(svg.find(state_colour("FORCED_OPEN")), std::string::npos);
  EXPECT_NE(svg.find(">6 s<"), std::string::npos) << "time axis reaches the end in seconds";
}

TEST(TimelineSvg, ShortScenariosUseMillisecondTicks) {
  std::string svg = render_timeline_svg(testing::failing_scenario(), "t");
  EXPECT_NE(svg.find(">1000 ms<"), std::string::npos);
  EXPECT_NE(svg.find("class=\"failed-window\""), std::string::npos);
}

}  // namespace
}  // namespace chaos::report

namespace chaos::report {
namespace {

TEST(TimelinePicture, ProcessExitsAreMarkedAndCrashesFlagged) {
  auto pic = build_picture(testing::errored_scenario());
  ASSERT_EQ(pic.processes.size(), 1u);
  EXPECT_TRUE(pic.processes[0].exit);
  EXPECT_TRUE(pic.processes[0].abnormal);
  EXPECT_EQ(pic.processes[0].status, "exited 1");
  EXPECT_NE(render_timeline_svg(testing::errored_scenario(), "e").find("class=\"proc-crash\""), std::string::npos);
  auto ok = build_picture(testing::passing_scenario());
  ASSERT_EQ(ok.processes.size(), 1u);
  EXPECT_FALSE(ok.processes[0].exit);
}

}  // namespace
}  // namespace chaos::report

namespace chaos::report {
namespace {

TEST(TimelineSvg, LongLaneNamesAreCutButKeptWholeInTheTooltip) {
  expect::ScenarioResult s;
  s.timeline.duration_ms = 100;
  const std::string name(60, 'n');
  s.timeline.add({10, "sut", "breaker.state", {{"type", "breaker.state"}, {"name", name}, {"from", "CLOSED"}, {"to", "OPEN"}}});
  std::string svg = render_timeline_svg(s, "x");
  EXPECT_NE(svg.find("<title>breaker " + name + "</title>"), std::string::npos);
  EXPECT_NE(svg.find("</title>breaker " + std::string(13, 'n') + "\xE2\x80\xA6</text>"), std::string::npos);
}

}  // namespace
}  // namespace chaos::report
