// compact_repeat(): what a passing --repeat run keeps of its timeline.
#include <gtest/gtest.h>

#include "expect/compact.h"

namespace chaos::expect {
namespace {

TimelineEvent ev(double t, const std::string& type) {
  return TimelineEvent{t, "sut", type, nlohmann::json{{"type", type}, {"name", "db"}}};
}

ScenarioResult run_with_events() {
  ScenarioResult r;
  r.verdict = Verdict::kPassed;
  for (const auto& [t, type] : std::vector<std::pair<double, std::string>>{{0, "scenario.start"},
                                                                           {1, "breaker.call"},
                                                                           {2, "health.check"},
                                                                           {3, "breaker.state"},
                                                                           {4, "breaker.call"},
                                                                           {5, "custom.event"},
                                                                           {6, "heal.attempt"}}) {
    r.timeline.events.push_back(ev(t, type));
  }
  ExpectationResult x;
  x.id = "expect[0]";
  x.passed = true;
  x.evidence = {4};  // the second breaker.call
  r.expectations.push_back(x);
  r.timeline.requests.push_back(RequestSample{});
  return r;
}

TEST(CompactRepeat, KeepsCitedAndPictureEventsWithTheirOriginalPositions) {
  ScenarioResult r = run_with_events();
  compact_repeat(r, "see repeat 1");
  const Timeline& tl = r.timeline;
  ASSERT_TRUE(tl.compacted());
  EXPECT_EQ(tl.observed_events, 7u);
  std::vector<std::string> types;
  for (const auto& e : tl.events) types.push_back(e.type);
  EXPECT_EQ(types, (std::vector<std::string>{"scenario.start", "breaker.state", "breaker.call", "custom.event",
                                             "heal.attempt"}))
      << "per-call and per-check events go unless cited; unknown types stay";
  EXPECT_EQ(tl.event_index, (std::vector<size_t>{0, 3, 4, 5, 6}));
  ASSERT_NE(tl.find(4), nullptr);
  EXPECT_EQ(tl.find(4)->t_ms, 4) << "evidence still resolves by its original index";
  EXPECT_EQ(tl.find(1), nullptr);
  EXPECT_EQ(tl.find(2), nullptr);
  EXPECT_EQ(tl.find(7), nullptr);
  EXPECT_EQ(tl.original_index(1), 3u);
  EXPECT_EQ(tl.omitted_note, "see repeat 1");
  EXPECT_EQ(tl.requests.size(), 1u) << "request samples are untouched";
  EXPECT_EQ(r.expectations.at(0).evidence, (std::vector<size_t>{4}));
}

TEST(CompactRepeat, IsIdempotentAndAWholeTimelineFindsByPosition) {
  ScenarioResult r = run_with_events();
  ASSERT_FALSE(r.timeline.compacted());
  EXPECT_EQ(r.timeline.find(1)->type, "breaker.call");
  EXPECT_EQ(r.timeline.find(7), nullptr);
  compact_repeat(r, "first");
  auto kept = r.timeline.event_index;
  compact_repeat(r, "second");
  EXPECT_EQ(r.timeline.event_index, kept);
  EXPECT_EQ(r.timeline.omitted_note, "first");
}

TEST(CompactRepeat, ATimelineOfOnlyBulkEventsKeepsNoneButStaysMarked) {
  ScenarioResult r;
  r.timeline.events = {ev(1, "request"), ev(2, "fallback")};
  compact_repeat(r, "note");
  EXPECT_TRUE(r.timeline.events.empty());
  EXPECT_TRUE(r.timeline.compacted());
  EXPECT_EQ(r.timeline.observed_events, 2u);
  EXPECT_EQ(r.timeline.find(0), nullptr);
}

}  // namespace
}  // namespace chaos::expect
