// The expectation engine on synthetic timelines: every kind passing and failing, tolerance edges
// (exactly at the boundary passes, just beyond fails), anchors that never happened, and evidence.
#include "expect/evaluate.h"
#include "scenario/parser.h"

#include <gtest/gtest.h>

using namespace chaos;
using expect::ExpectationResult;
using expect::RequestOutcome;
using expect::Timeline;
using nlohmann::json;

namespace {

// A valid scenario around the given expectations; tolerance 100 ms unless an element overrides it.
// Faults: "db-down" at 1000 ms for 2000 ms on db; "cache-slow" at 500 ms, cleared by "cache-ok".
// `sut` replaces the system under test (e.g. to add health polling).
scenario::Scenario make(const std::string& expect_json, const std::string& extra = "",
                        const std::string& sut = R"({"builtin": "gateway"})") {
  std::string text = R"({"name": "t", "timeout_ms": 20000, "tolerance_ms": 100, )" + extra + R"(
    "services": {"db": {"mock": "mock-db"}, "cache": {"mock": "mock-cache"}},
    "system_under_test": )" + sut + R"(,
    "workload": {"rate_rps": 10, "duration_ms": 10000},
    "phases": [{"name": "outage", "from": "db-down", "to": "db-down.end"},
               {"name": "late", "from": {"after": "db-down.end", "offset_ms": 1000}, "to": "end"}],
    "faults": [{"label": "db-down", "at_ms": 1000, "target": "db", "duration_ms": 2000, "fault": {"type": "down"}},
               {"label": "cache-slow", "at_ms": 500, "target": "cache", "fault": {"type": "latency", "latency_ms": 100}},
               {"label": "cache-ok", "at_ms": 4000, "target": "cache", "action": "clear"}],
    "expect": [)" + expect_json + "]}";
  auto r = scenario::parse_scenario_text(text, "t.json");
  EXPECT_TRUE(r.ok()) << scenario::format_errors(r.errors);
  return r.ok() ? *r.scenario : scenario::Scenario{};
}

struct TL {
  Timeline tl;
  TL() {
    tl.duration_ms = 10000;
  }
  TL& ev(double t, const std::string& type, json data) {
    data["type"] = type;
    tl.add({t, "sut", type, data});
    return *this;
  }
  TL& fault(double start, double end, const std::string& label) {
    ev(start, "fault.start", {{"label", label}, {"target", "db"}});
    if (end >= 0) ev(end, "fault.end", {{"label", label}, {"target", "db"}});
    return *this;
  }
  TL& breaker(double t, const std::string& name, const std::string& from, const std::string& to) {
    return ev(t, "breaker.state", {{"name", name}, {"from", from}, {"to", to}, {"reason", "test"}});
  }
  TL& req(double t, double latency, RequestOutcome o) {
    tl.requests.push_back({t, latency, o, o == RequestOutcome::kError ? 503 : 200, "/"});
    return *this;
  }
};

ExpectationResult one(const std::string& expect_json, const Timeline& tl, const std::string& extra = "",
                      const std::string& sut = R"({"builtin": "gateway"})") {
  auto s = make(expect_json, extra, sut);
  auto rs = expect::evaluate(s, tl);
  EXPECT_EQ(rs.size(), 1u);
  return rs.empty() ? ExpectationResult{} : rs[0];
}

bool contains(const std::string& s, const std::string& f) { return s.find(f) != std::string::npos; }

// Standard outage: db-down 1000..3000; db breaker opens, probes, closes.
TL outage(double open_at = 1300, double half_at = 2400, double closed_at = 3500) {
  TL t;
  t.fault(1000, 3000, "db-down");
  t.breaker(open_at, "db", "CLOSED", "OPEN");
  t.breaker(half_at, "db", "OPEN", "HALF_OPEN");
  t.breaker(closed_at, "db", "HALF_OPEN", "CLOSED");
  return t;
}

const char* kSeq = R"({"breaker": "db", "transitions": [
    {"to": "OPEN", "after": "db-down", "within_ms": 500},
    {"to": "HALF_OPEN"},
    {"to": "CLOSED", "after": "db-down.end", "within_ms": 1000}]})";

// ------------------------------------------------------------------ anchors
TEST(ResolveAnchor, UsesFaultEventsAndOffsets) {
  TL t = outage();
  scenario::Anchor a{scenario::Anchor::Kind::kFaultEnd, "db-down", 250};
  auto r = expect::resolve_anchor(a, t.tl);
  ASSERT_TRUE(r.t_ms);
  EXPECT_DOUBLE_EQ(*r.t_ms, 3250);
  ASSERT_TRUE(r.event);
  EXPECT_EQ(t.tl.events[*r.event].type, "fault.end");
  EXPECT_DOUBLE_EQ(*expect::resolve_anchor({scenario::Anchor::Kind::kEnd, "", -500}, t.tl).t_ms, 9500);
  auto missing = expect::resolve_anchor({scenario::Anchor::Kind::kFaultStart, "nope", 0}, t.tl);
  EXPECT_FALSE(missing.t_ms);
  EXPECT_TRUE(contains(missing.error, "never started"));
}

// ------------------------------------------------------------------ breaker transitions
TEST(BreakerTransitions, PassesWhenTheSequenceFitsItsWindows) {
  TL t = outage();
  auto r = one(kSeq, t.tl);
  EXPECT_TRUE(r.passed) << r.explanation;
  EXPECT_EQ(r.kind, "breaker_transitions");
  EXPECT_EQ(r.evidence.size(), 5u);  // two anchors + three transitions
  EXPECT_TRUE(contains(r.explanation, "OPEN at 1300.0 ms"));
}

TEST(BreakerTransitions, AnEventExactlyAtWindowPlusTolerancePasses) {
  // OPEN window: [1000 - 100, 1000 + 500 + 100] = [900, 1600]
  EXPECT_TRUE(one(kSeq, outage(1600).tl).passed);
  auto late = one(kSeq, outage(1600.5).tl);
  EXPECT_FALSE(late.passed);
  EXPECT_TRUE(contains(late.explanation, "step 1 (OPEN within 500 ms after db-down (tolerance 100 ms)) found no match in the allowed window 900.0 ms .. 1600.0 ms")) << late.explanation;
  EXPECT_TRUE(contains(late.explanation, "outside it: breaker.state db CLOSED -> OPEN at 1600.5 ms")) << late.explanation;
  EXPECT_DOUBLE_EQ(late.window_from_ms, 900);
  EXPECT_DOUBLE_EQ(late.window_to_ms, 1600);
  EXPECT_FALSE(late.evidence.empty());
}

TEST(BreakerTransitions, FailsWhenAStepIsMissingAndSaysWhich) {
  TL t;
  t.fault(1000, 3000, "db-down");
  t.breaker(1300, "db", "CLOSED", "OPEN");
  t.breaker(2400, "db", "OPEN", "HALF_OPEN");
  t.breaker(2450, "db", "HALF_OPEN", "OPEN");
  auto r = one(kSeq, t.tl);
  EXPECT_FALSE(r.passed);
  EXPECT_TRUE(contains(r.explanation, "step 3 (CLOSED")) << r.explanation;
  EXPECT_TRUE(contains(r.explanation, "no later transition to CLOSED")) << r.explanation;
  EXPECT_TRUE(contains(r.observed, "CLOSED->OPEN at 1300.0 ms, OPEN->HALF_OPEN at 2400.0 ms, HALF_OPEN->OPEN at 2450.0 ms"));
}

TEST(BreakerTransitions, IgnoresOtherBreakersAndRequiresOrder) {
  TL t;
  t.fault(1000, 3000, "db-down");
  t.breaker(1100, "cache", "CLOSED", "OPEN");
  t.breaker(3100, "db", "HALF_OPEN", "CLOSED");  // CLOSED before OPEN: out of order
  t.breaker(3200, "db", "CLOSED", "OPEN");
  auto r = one(R"({"breaker": "db", "transitions": [{"to": "OPEN"}, {"to": "CLOSED"}]})", t.tl);
  EXPECT_FALSE(r.passed);
  EXPECT_TRUE(contains(r.explanation, "step 2")) << r.explanation;
}

TEST(BreakerTransitions, SearchesPastAnEarlyMatchThatWouldBreakARelativeWindow) {
  // Greedy would take OPEN@100, whose HALF_OPEN window (not before 1000 ms, within 1500 ms of the
  // OPEN) misses HALF_OPEN@2000; the OPEN@900 after a blip makes the sequence hold.
  TL t;
  t.fault(0, 5000, "db-down");
  t.breaker(100, "db", "CLOSED", "OPEN");
  t.breaker(600, "db", "OPEN", "CLOSED");
  t.breaker(900, "db", "CLOSED", "OPEN");
  t.breaker(2000, "db", "OPEN", "HALF_OPEN");
  auto r = one(R"({"breaker": "db", "transitions": [{"to": "OPEN"}, {"to": "HALF_OPEN", "not_before_ms": 1000, "within_ms": 1050}]})", t.tl);
  EXPECT_TRUE(r.passed) << r.explanation;
  EXPECT_TRUE(contains(r.explanation, "OPEN at 900.0 ms")) << r.explanation;
}

TEST(BreakerTransitions, NotBeforeUsesTheToleranceAsALowerSlack) {
  // HALF_OPEN not before 1000 ms after the OPEN at 1300: allowed from 2300 - 100 = 2200.
  const char* e = R"({"breaker": "db", "transitions": [{"to": "OPEN"}, {"to": "HALF_OPEN", "not_before_ms": 1000}]})";
  EXPECT_TRUE(one(e, outage(1300, 2200).tl).passed);
  EXPECT_FALSE(one(e, outage(1300, 2199).tl).passed);
}

TEST(BreakerTransitions, FailsClearlyWhenTheAnchorNeverHappened) {
  TL t;
  t.breaker(1300, "db", "CLOSED", "OPEN");
  auto r = one(kSeq, t.tl);
  EXPECT_FALSE(r.passed);
  EXPECT_TRUE(contains(r.explanation, "fault \"db-down\" never started")) << r.explanation;
}

// ------------------------------------------------------------------ heal attempts
TL heals(std::vector<std::pair<double, std::string>> attempts) {
  TL t;
  t.fault(1000, 3000, "db-down");
  int n = 0;
  for (auto& [at, outcome] : attempts) t.ev(at, "heal.attempt", {{"check", "db"}, {"name", "db"}, {"attempt", ++n}, {"outcome", outcome}});
  return t;
}
const char* kHeal = R"({"heal": {"check": "db", "after": "db-down", "within_ms": 2000, "min": 1, "max": 2, "outcome": "success"}})";

TEST(HealAttempts, PassesWithinCountAndLastSucceeded) {
  auto r = one(kHeal, heals({{1500, "failure"}, {2000, "success"}}).tl);
  EXPECT_TRUE(r.passed) << r.explanation;
  EXPECT_EQ(r.kind, "heal_attempts");
  EXPECT_EQ(r.evidence.size(), 3u);
}

TEST(HealAttempts, CountsAnAttemptAtTheWidenedEdgeForMin) {
  // window [900, 3100]: an attempt at 3100 counts, at 3100.1 it does not.
  EXPECT_TRUE(one(kHeal, heals({{3100, "success"}}).tl).passed);
  auto r = one(kHeal, heals({{3100.1, "success"}}).tl);
  EXPECT_FALSE(r.passed);
  EXPECT_TRUE(contains(r.explanation, "expected at least 1 attempts in 900.0 ms .. 3100.0 ms, saw 0")) << r.explanation;
}

TEST(HealAttempts, FailsWhenTheLastAttemptFailedOrTooManyAttempts) {
  auto r = one(kHeal, heals({{1500, "success"}, {2000, "failure"}}).tl);
  EXPECT_FALSE(r.passed);
  EXPECT_TRUE(contains(r.explanation, "expected the last attempt to succeed, but it was heal.attempt db #2 failure")) << r.explanation;
  auto many = one(kHeal, heals({{1200, "failure"}, {1500, "failure"}, {2000, "success"}}).tl);
  EXPECT_FALSE(many.passed);
  EXPECT_TRUE(contains(many.explanation, "expected at most 2 attempts")) << many.explanation;
}

TEST(HealAttempts, MaxIgnoresAttemptsWithinToleranceOfTheEdges) {
  // Narrowed window for max: [1100, 2900]; attempts at 1050 and 2950 are forgiven.
  auto r = one(kHeal, heals({{1050, "failure"}, {1500, "failure"}, {2000, "failure"}, {2950, "success"}}).tl);
  EXPECT_TRUE(r.passed) << r.explanation;
}

// ------------------------------------------------------------------ recovery
const char* kRecovery = R"({"recovery": {"after": "db-down.end", "until": {"breaker": "db", "state": "CLOSED"}, "max_ms": 1000}})";

TEST(Recovery, MeasuresFromTheAnchorToTheCondition) {
  auto r = one(kRecovery, outage(1300, 2400, 3500).tl);
  EXPECT_TRUE(r.passed) << r.explanation;
  EXPECT_TRUE(contains(r.observed, "recovered after 500.0 ms")) << r.observed;
}

TEST(Recovery, ExactlyMaxPlusTolerancePassesAndBeyondFails) {
  EXPECT_TRUE(one(kRecovery, outage(1300, 2400, 4100).tl).passed);
  auto r = one(kRecovery, outage(1300, 2400, 4100.5).tl);
  EXPECT_FALSE(r.passed);
  EXPECT_TRUE(contains(r.explanation, "recovery took 1100.5 ms, more than 1000 ms + 100 ms tolerance")) << r.explanation;
}

TEST(Recovery, FailsWhenItNeverRecoversAndShowsTheLastState) {
  TL t;
  t.fault(1000, 3000, "db-down");
  t.breaker(1300, "db", "CLOSED", "OPEN");
  auto r = one(kRecovery, t.tl);
  EXPECT_FALSE(r.passed);
  EXPECT_TRUE(contains(r.observed, "state after db-down.end: OPEN")) << r.observed;
  EXPECT_TRUE(contains(r.explanation, "last relevant event: breaker.state db CLOSED -> OPEN at 1300.0 ms")) << r.explanation;
}

TEST(Recovery, ConditionAlreadyHoldingAtTheAnchorIsZero) {
  auto r = one(kRecovery, outage(1300, 2400, 2900).tl);
  EXPECT_TRUE(r.passed);
  EXPECT_TRUE(contains(r.observed, "recovered after 0.0 ms")) << r.observed;
}

TEST(Recovery, TracksHealthChecksAndSystemState) {
  TL t;
  t.fault(1000, 3000, "db-down");
  t.ev(2000, "health.check", {{"check", "db"}, {"status", "UNHEALTHY"}});
  t.ev(3800, "health.check", {{"check", "db"}, {"status", "HEALTHY"}});
  t.ev(3900, "health.state", {{"state", "RUNNING"}, {"previous", "DEGRADED"}});
  EXPECT_TRUE(one(R"({"recovery": {"after": "db-down.end", "until": {"health": "HEALTHY", "check": "db"}, "max_ms": 800}})", t.tl).passed);
  EXPECT_FALSE(one(R"({"recovery": {"after": "db-down.end", "until": {"health": "HEALTHY", "check": "db"}, "max_ms": 600}})", t.tl).passed);
  EXPECT_TRUE(one(R"({"recovery": {"after": "db-down.end", "until": {"system_state": "RUNNING"}, "max_ms": 800}})", t.tl).passed);
}

// ------------------------------------------------------------------ rates
TL traffic() {
  TL t;
  t.fault(1000, 3000, "db-down");
  for (int i = 0; i < 100; ++i) t.req(i * 10.0, 5, RequestOutcome::kOk);                        // 0..990: baseline
  for (int i = 0; i < 200; ++i) t.req(1000 + i * 10.0, 20 + i % 10, i % 4 == 0 ? RequestOutcome::kError : RequestOutcome::kFallback);
  return t;
}

TEST(Rates, ComputesPhaseMetricsOnTheTrimmedWindow) {
  auto r = one(R"({"rates": {"phase": "outage", "error_rate": {"max": 0.25}, "fallback_rate": {"min": 0.75}, "p99_ms": {"max": 29}}})", traffic().tl);
  EXPECT_TRUE(r.passed) << r.explanation << " / " << r.observed;
  EXPECT_DOUBLE_EQ(r.window_from_ms, 1100);
  EXPECT_DOUBLE_EQ(r.window_to_ms, 2900);
  EXPECT_TRUE(contains(r.observed, "180 requests")) << r.observed;
}

TEST(Rates, FailsNamingEveryViolatedBound) {
  auto r = one(R"({"rates": {"phase": "outage", "success_rate": {"min": 0.5}, "p50_ms": {"max": 10}}})", traffic().tl);
  EXPECT_FALSE(r.passed);
  EXPECT_TRUE(contains(r.explanation, "success_rate 0.000 < min 0.500")) << r.explanation;
  EXPECT_TRUE(contains(r.explanation, "p50_ms 24.0 > max 10.0")) << r.explanation;
}

TEST(Rates, BoundsAreInclusive) {
  // Exactly 25% errors in the outage phase's trimmed window: max 0.25 passes, max 0.24 fails.
  EXPECT_TRUE(one(R"({"rates": {"phase": "outage", "error_rate": {"max": 0.25}}})", traffic().tl).passed);
  EXPECT_FALSE(one(R"({"rates": {"phase": "outage", "error_rate": {"max": 0.24}}})", traffic().tl).passed);
}

TEST(Rates, RefusesToJudgeTooFewRequests) {
  auto r = one(R"({"rates": {"phase": "late", "success_rate": {"min": 0.9}, "min_requests": 5}})", traffic().tl);
  EXPECT_FALSE(r.passed);
  EXPECT_TRUE(contains(r.explanation, "only 0 requests in the window, fewer than min_requests 5")) << r.explanation;
}

TEST(Rates, ComputePhasesReportsAllAndDeclaredPhases) {
  auto s = make(R"({"never": {"breaker": "db", "state": "OPEN"}})");
  auto ph = expect::compute_phases(s, traffic().tl);
  ASSERT_EQ(ph.size(), 3u);
  EXPECT_EQ(ph[0].name, "all");
  EXPECT_EQ(ph[0].requests, 300u);
  EXPECT_EQ(ph[1].name, "outage");
  EXPECT_EQ(ph[1].requests, 200u);
  EXPECT_EQ(ph[1].errors, 50u);
  EXPECT_DOUBLE_EQ(ph[1].throughput_rps, 100);
  EXPECT_DOUBLE_EQ(ph[1].p50_ms, 24);
  EXPECT_DOUBLE_EQ(ph[1].max_ms, 29);
}

// ------------------------------------------------------------------ never, max_transitions, events
TEST(Never, FailsOnAMatchingEventAndPointsAtIt) {
  TL t = outage();
  auto r = one(R"({"never": {"breaker": "db", "state": "OPEN"}})", t.tl);
  EXPECT_FALSE(r.passed);
  EXPECT_TRUE(contains(r.explanation, "first at 1300.0 ms: breaker.state db CLOSED -> OPEN")) << r.explanation;
  ASSERT_EQ(r.evidence.size(), 1u);
  EXPECT_EQ(t.tl.events[r.evidence[0]].data["to"], "OPEN");
  EXPECT_TRUE(one(R"({"never": {"breaker": "cache", "state": "OPEN"}})", t.tl).passed);
}

TEST(Never, ForgivesEventsWithinToleranceOfTheWindowEdges) {
  // Window db-down .. db-down.end = [1000, 3000], trimmed to [1100, 2900].
  const char* e = R"({"never": {"breaker": "db", "state": "OPEN", "from": "db-down", "to": "db-down.end"}})";
  EXPECT_TRUE(one(e, outage(1099.9, 5000, 6000).tl).passed);
  EXPECT_FALSE(one(e, outage(1100, 5000, 6000).tl).passed);
  EXPECT_FALSE(one(e, outage(2900, 5000, 6000).tl).passed);
  EXPECT_TRUE(one(e, outage(2900.1, 5000, 6000).tl).passed);
}

TEST(Never, MatchesGenericEventsWithFieldFilters) {
  TL t = heals({{1500, "failure"}});
  EXPECT_FALSE(one(R"({"never": {"event": "heal.attempt", "name": "db", "where": {"outcome": "failure"}}})", t.tl).passed);
  EXPECT_TRUE(one(R"({"never": {"event": "heal.attempt", "name": "db", "where": {"outcome": "success"}}})", t.tl).passed);
  EXPECT_TRUE(one(R"({"never": {"event": "heal.attempt", "name": "cache"}})", t.tl).passed);
}

TEST(EventCount, WhereMatchesByValueRangeAndSet) {
  TL t;
  t.fault(1000, 3000, "db-down");
  t.ev(1500, "timeout", {{"name", "db"}, {"op", "read"}, {"limit_ms", 200.0}});
  t.ev(1600, "timeout", {{"name", "db"}, {"op", "connect"}, {"limit_ms", 450}});
  t.ev(1700, "timeout", {{"name", "db"}, {"op", "overall"}});
  auto count = [&](const std::string& where, int n) {
    std::string e = R"({"events": {"type": "timeout", "where": )" + where +
                    R"(, "min": )" + std::to_string(n) + R"(, "max": )" + std::to_string(n) + "}}";
    auto r = one(e.c_str(), t.tl);
    EXPECT_TRUE(r.passed) << where << ": " << r.explanation;
  };
  count(R"({"limit_ms": 200})", 1);                          // an integer equals the same float
  count(R"({"limit_ms": {"min": 150, "max": 250}})", 1);
  count(R"({"limit_ms": {"min": 200}})", 2);                 // inclusive
  count(R"({"limit_ms": {"max": 1000}})", 2);                // a missing field never matches
  count(R"({"op": {"in": ["read", "connect"]}})", 2);
  count(R"({"op": {"in": ["write"]}})", 0);
  count(R"({"op": {"min": 0}})", 0);                         // a range never matches a string
}

TEST(MaxTransitions, DetectsFlapping) {
  TL t = outage();
  t.breaker(4000, "db", "CLOSED", "OPEN");
  t.breaker(5000, "db", "OPEN", "HALF_OPEN");
  EXPECT_TRUE(one(R"({"max_transitions": {"breaker": "db", "max": 5}})", t.tl).passed);
  auto r = one(R"({"max_transitions": {"breaker": "db", "max": 4}})", t.tl);
  EXPECT_FALSE(r.passed);
  EXPECT_TRUE(contains(r.explanation, "changed state 5 times, more than 4: it is flapping")) << r.explanation;
  EXPECT_EQ(r.evidence.size(), 5u);
}

TEST(EventCount, UsesTheWidenedWindowForMinAndTheTrimmedOneForMax) {
  TL t;
  t.fault(1000, 3000, "db-down");
  t.ev(905, "retry.attempt", {{"name", "rpc"}, {"attempt", 1}});   // only inside the widened window
  t.ev(2000, "retry.attempt", {{"name", "rpc"}, {"attempt", 1}});
  t.ev(2000, "retry.attempt", {{"name", "db"}, {"attempt", 1}});
  const char* min2 = R"({"events": {"type": "retry.attempt", "name": "rpc", "min": 2, "from": "db-down", "to": "db-down.end"}})";
  const char* max1 = R"({"events": {"type": "retry.attempt", "where": {"name": "rpc"}, "max": 1, "from": "db-down", "to": "db-down.end"}})";
  const char* min3 = R"({"events": {"type": "retry.attempt", "name": "rpc", "min": 3, "from": "db-down", "to": "db-down.end"}})";
  EXPECT_TRUE(one(min2, t.tl).passed);
  EXPECT_TRUE(one(max1, t.tl).passed);
  auto r = one(min3, t.tl);
  EXPECT_FALSE(r.passed);
  EXPECT_TRUE(contains(r.explanation, "expected at least 3 in 900.0 ms .. 3100.0 ms, saw 2")) << r.explanation;
  EXPECT_EQ(r.evidence.size(), 4u);  // two anchors + two matching events
}

// ------------------------------------------------------------------ system state, steady state
TEST(SystemState, LooksAtTheStateInEffectAroundTheAnchor) {
  TL t;
  t.ev(500, "health.state", {{"state", "RUNNING"}});
  t.ev(2000, "health.state", {{"state", "DEGRADED"}, {"previous", "RUNNING"}});
  t.ev(9950, "health.state", {{"state", "RUNNING"}, {"previous", "DEGRADED"}});
  // at end (10000) +- 100: DEGRADED at 9900, RUNNING from 9950.
  EXPECT_TRUE(one(R"({"system_state": {"state": "RUNNING"}})", t.tl).passed);
  EXPECT_TRUE(one(R"({"system_state": {"state": "DEGRADED"}})", t.tl).passed);
  auto r = one(R"({"system_state": {"state": "CRITICAL"}})", t.tl);
  EXPECT_FALSE(r.passed);
  EXPECT_TRUE(contains(r.explanation, "expected CRITICAL at 10000.0 ms, observed DEGRADED, RUNNING")) << r.explanation;
  // Right at the tolerance edge: a change at exactly at - tol is the state in effect.
  TL u;
  u.ev(1000, "health.state", {{"state", "CRITICAL"}});
  u.ev(9900, "health.state", {{"state", "RUNNING"}});
  EXPECT_FALSE(one(R"({"system_state": {"state": "CRITICAL"}})", u.tl).passed);
  TL v;
  v.ev(1000, "health.state", {{"state", "CRITICAL"}});
  v.ev(9899.9, "health.state", {{"state", "RUNNING"}});
  EXPECT_FALSE(one(R"({"system_state": {"state": "CRITICAL"}})", v.tl).passed);
  EXPECT_TRUE(one(R"({"system_state": {"state": "CRITICAL", "at": {"after": "end", "offset_ms": -200}}})", v.tl).passed);
}

TEST(SystemState, FailsWithoutAnyHealthStateEvent) {
  auto r = one(R"({"system_state": {"state": "RUNNING"}})", TL().tl);
  EXPECT_FALSE(r.passed);
  EXPECT_TRUE(contains(r.explanation, "no health.state event")) << r.explanation;
}

TEST(SteadyState, PassesOnAHealthyBaseline) {
  auto s = make(R"({"never": {"breaker": "db", "state": "OPEN"}})");
  TL t = traffic();
  t.ev(100, "health.check", {{"check", "db"}, {"status", "HEALTHY"}});
  auto r = expect::evaluate_steady_state(s, t.tl);
  EXPECT_TRUE(r.passed) << r.explanation;
  EXPECT_EQ(r.kind, "steady_state");
  // until defaults to the first fault.start on the timeline (1000 ms), so the outage's errors are out.
  EXPECT_DOUBLE_EQ(r.window_to_ms, 1000);
}

TEST(SteadyState, FailsOnErrorsOrABreakerAlreadyOpen) {
  auto s = make(R"({"never": {"breaker": "db", "state": "OPEN"}})");
  TL t = traffic();
  t.breaker(400, "cache", "CLOSED", "OPEN");
  t.ev(100, "health.check", {{"check", "db"}, {"status", "DEGRADED"}});
  for (int i = 0; i < 5; ++i) t.req(500 + i, 5, RequestOutcome::kError);
  auto r = expect::evaluate_steady_state(s, t.tl);
  EXPECT_FALSE(r.passed);
  EXPECT_TRUE(contains(r.explanation, "success rate 0.952 < 0.990")) << r.explanation;
  EXPECT_TRUE(contains(r.explanation, "breaker left CLOSED before the first fault: breaker.state cache CLOSED -> OPEN")) << r.explanation;
  EXPECT_TRUE(contains(r.explanation, "health check \"db\" was DEGRADED, expected HEALTHY")) << r.explanation;
}

TEST(SteadyState, DisabledAlwaysPassesAndSaysSo) {
  auto s = make(R"({"never": {"breaker": "db", "state": "OPEN"}})", R"("steady_state": false,)");
  auto r = expect::evaluate_steady_state(s, TL().tl);
  EXPECT_TRUE(r.passed);
  EXPECT_TRUE(contains(r.explanation, "disabled"));
}

TEST(Evaluate, ReturnsOneResultPerExpectationInOrderWithIds) {
  auto s = make(std::string(kSeq) + "," + kRecovery + R"(, {"never": {"breaker": "db", "state": "FORCED_OPEN"}})");
  auto rs = expect::evaluate(s, outage().tl);
  ASSERT_EQ(rs.size(), 3u);
  EXPECT_EQ(rs[0].id, "expect[0]");
  EXPECT_EQ(rs[2].id, "expect[2]");
  for (const auto& r : rs) {
    EXPECT_TRUE(r.passed) << r.id << ": " << r.explanation;
    EXPECT_FALSE(r.expected.empty());
    EXPECT_FALSE(r.observed.empty());
    EXPECT_FALSE(r.description.empty());
  }
}

}  // namespace

// ------------------------------------------------------------------ health observed by polling
namespace {

const char* kPolledSut = R"({"builtin": "gateway", "health": {"url": "http://127.0.0.1:${sut.port}/health", "interval_ms": 100}})";

// One harness health poll, shaped like the gateway's GET /health: overall status, system state and
// the db component with its check status and breaker state.
TL& poll(TL& t, double at, const std::string& overall, const std::string& system, const std::string& db_status,
         const std::string& db_breaker) {
  json ev = {{"http_status", 200}, {"overall_status", overall}, {"system_state", system},
             {"components", {{"db", {{"status", db_status}, {"breaker_state", db_breaker},
                                      {"breaker", {{"failure_rate", db_breaker == "OPEN" ? 100.0 : 0.0}}}}}}}};
  ev["type"] = "health.poll";
  t.tl.add({at, "harness", "health.poll", ev});
  return t;
}

// db-down 1000..3000; polls every 200 ms; the polled /health recovers at 3400 ms.
TL polled_outage() {
  TL t;
  t.fault(1000, 3000, "db-down");
  for (double at = 0; at < 5000; at += 200) {
    bool down = at >= 1200 && at < 3400;
    poll(t, at, down ? "DEGRADED" : "HEALTHY", down ? "DEGRADED" : "RUNNING", down ? "UNHEALTHY" : "HEALTHY",
         down ? "OPEN" : "CLOSED");
  }
  return t;
}

}  // namespace

TEST(HealthPolling, RecoveryOfTheOverallHealthIsJudgedOnPolledOverallStatus) {
  const char* until = R"({"recovery": {"after": "db-down.end", "until": {"health": "HEALTHY"}, "max_ms": %d}})";
  char buf[256];
  std::snprintf(buf, sizeof buf, until, 400);
  auto r = one(buf, polled_outage().tl, "", kPolledSut);
  EXPECT_TRUE(r.passed) << r.explanation;
  EXPECT_TRUE(contains(r.observed, "recovered after 400.0 ms")) << r.observed;
  EXPECT_TRUE(contains(r.observed, "health.poll overall_status")) << r.observed;
  std::snprintf(buf, sizeof buf, until, 200);  // 400 > 200 + 100 tolerance
  r = one(buf, polled_outage().tl, "", kPolledSut);
  EXPECT_FALSE(r.passed);
  EXPECT_TRUE(contains(r.explanation, "recovery took 400.0 ms")) << r.explanation;
}

TEST(HealthPolling, CheckAndBreakerRecoveryUsePolledComponentsWhenTheStreamHasNoEvents) {
  TL t = polled_outage();
  auto check = one(R"({"recovery": {"after": "db-down.end", "until": {"health": "HEALTHY", "check": "db"}, "max_ms": 400}})", t.tl, "", kPolledSut);
  EXPECT_TRUE(check.passed) << check.explanation;
  EXPECT_TRUE(contains(check.observed, "health.poll components.db.status")) << check.observed;
  auto breaker = one(R"({"recovery": {"after": "db-down.end", "until": {"breaker": "db", "state": "CLOSED"}, "max_ms": 200}})", t.tl, "", kPolledSut);
  EXPECT_FALSE(breaker.passed) << "polls show the breaker OPEN until 3400 ms, 400 ms > 200 + 100 tolerance";
  EXPECT_TRUE(contains(breaker.observed, "components.db.breaker_state")) << breaker.observed;
}

TEST(HealthPolling, StreamEventsTakePrecedenceOverPollsForTheSameCondition) {
  TL t = polled_outage();  // polls: HEALTHY again at 3400
  t.ev(2000, "health.check", {{"check", "db"}, {"status", "UNHEALTHY"}});
  t.ev(4500, "health.check", {{"check", "db"}, {"status", "HEALTHY"}});  // the stream: only at 4500
  auto r = one(R"({"recovery": {"after": "db-down.end", "until": {"health": "HEALTHY", "check": "db"}, "max_ms": 1500}})", t.tl, "", kPolledSut);
  EXPECT_TRUE(r.passed) << r.explanation;
  EXPECT_TRUE(contains(r.observed, "recovered after 1500.0 ms")) << r.observed;
  EXPECT_TRUE(contains(r.observed, "health.check events")) << r.observed;
}

TEST(HealthPolling, SystemStateExpectationUsesPolledSystemState) {
  TL t = polled_outage();
  EXPECT_TRUE(one(R"({"system_state": {"state": "DEGRADED", "at": {"after": "db-down", "offset_ms": 1000}}})", t.tl, "", kPolledSut).passed);
  auto r = one(R"({"system_state": {"state": "RUNNING", "at": {"after": "db-down", "offset_ms": 1000}}})", t.tl, "", kPolledSut);
  EXPECT_FALSE(r.passed);
  EXPECT_TRUE(contains(r.observed, "health.poll system_state")) << r.observed;
}

TEST(HealthPolling, SteadyStateJudgesTheLastPollWhenTheStreamHasNoHealthChecks) {
  auto s = make(R"({"never": {"breaker": "db", "state": "OPEN"}})", "", kPolledSut);
  TL healthy = traffic();
  poll(healthy, 500, "HEALTHY", "RUNNING", "HEALTHY", "CLOSED");
  auto ok = expect::evaluate_steady_state(s, healthy.tl);
  EXPECT_TRUE(ok.passed) << ok.explanation;
  EXPECT_TRUE(contains(ok.observed, "health observed by polling")) << ok.observed;
  TL degraded = traffic();
  poll(degraded, 300, "HEALTHY", "RUNNING", "HEALTHY", "CLOSED");
  poll(degraded, 900, "DEGRADED", "DEGRADED", "UNHEALTHY", "OPEN");
  auto bad = expect::evaluate_steady_state(s, degraded.tl);
  EXPECT_FALSE(bad.passed);
  EXPECT_TRUE(contains(bad.explanation, "overall_status DEGRADED, expected HEALTHY")) << bad.explanation;
}

TEST(WhereDottedPath, MatchesNestedEventFieldsAndPrefersAnExactTopLevelName) {
  TL t = polled_outage();
  auto open = one(R"({"events": {"type": "health.poll", "where": {"components.db.breaker_state": "OPEN"}, "min": 10, "phase": "outage"}})", t.tl, "", kPolledSut);
  EXPECT_TRUE(open.passed) << open.explanation << " / " << open.observed;
  auto rate = one(R"({"events": {"type": "health.poll", "where": {"components.db.breaker.failure_rate": {"min": 50}}, "max": 0}})", t.tl, "", kPolledSut);
  EXPECT_FALSE(rate.passed) << "nested numbers match ranges too";
  auto missing = one(R"({"events": {"type": "health.poll", "where": {"components.rpc.breaker_state": "OPEN"}, "min": 1}})", t.tl, "", kPolledSut);
  EXPECT_FALSE(missing.passed) << "an absent nested field never matches";
  TL literal;
  literal.ev(100, "custom", {{"a.b", "top"}, {"a", {{"b", "nested"}}}});
  EXPECT_TRUE(one(R"({"events": {"type": "custom", "where": {"a.b": "top"}, "min": 1}})", literal.tl).passed);
  EXPECT_FALSE(one(R"({"events": {"type": "custom", "where": {"a.b": "nested"}, "min": 1}})", literal.tl).passed);
}

TEST(PhaseWindow, NeverAndMaxTransitionsCanBeScopedToANamedPhase) {
  // "outage" is db-down .. db-down.end (1000 .. 3000), narrowed by 100 ms of tolerance.
  auto in_outage = one(R"({"never": {"breaker": "db", "state": "OPEN", "phase": "outage"}})", outage(1300).tl);
  EXPECT_FALSE(in_outage.passed);
  EXPECT_TRUE(contains(in_outage.expected, "in phase \"outage\" (db-down .. db-down.end)")) << in_outage.expected;
  EXPECT_DOUBLE_EQ(in_outage.window_from_ms, 1100);
  EXPECT_DOUBLE_EQ(in_outage.window_to_ms, 2900);
  EXPECT_TRUE(one(R"({"never": {"breaker": "db", "state": "OPEN", "phase": "late"}})", outage(1300).tl).passed);
  auto flapping = one(R"({"max_transitions": {"breaker": "db", "max": 1, "phase": "outage"}})", outage(1300, 2400, 3500).tl);
  EXPECT_FALSE(flapping.passed) << "OPEN and HALF_OPEN are both inside the outage";
  EXPECT_TRUE(one(R"({"max_transitions": {"breaker": "db", "max": 0, "phase": "late"}})", outage().tl).passed);
}

TEST(EventAnchor, ResolvesToTheFirstMatchingEventPlusOffset) {
  TL t = outage();
  t.ev(2000, "heal.attempt", {{"check", "db"}, {"outcome", "failure"}});
  t.ev(2600, "heal.attempt", {{"check", "db"}, {"outcome", "success"}});
  scenario::Anchor a{scenario::Anchor::Kind::kEvent};
  a.event_type = "heal.attempt";
  a.where = {{"outcome", "success"}};
  a.offset_ms = 100;
  auto r = expect::resolve_anchor(a, t.tl);
  ASSERT_TRUE(r.t_ms.has_value()) << r.error;
  EXPECT_DOUBLE_EQ(*r.t_ms, 2700);
  ASSERT_TRUE(r.event.has_value());
  EXPECT_EQ(t.tl.events[*r.event].data["outcome"], "success");
  a.where = {{"outcome", "timeout"}};
  EXPECT_FALSE(expect::resolve_anchor(a, t.tl).t_ms.has_value());
  // As a window anchor: the breaker must close within 1000 ms of the successful heal.
  auto closes = one(R"({"breaker": "db", "transitions": [{"to": "CLOSED",
      "after": {"after_event": {"type": "heal.attempt", "where": {"outcome": "success"}}}, "within_ms": 1000}]})", t.tl);
  EXPECT_TRUE(closes.passed) << closes.explanation;
  auto never_healed = one(R"({"never": {"breaker": "db", "state": "OPEN",
      "from": {"after_event": {"type": "heal.attempt", "where": {"outcome": "timeout"}}}}})", t.tl);
  EXPECT_FALSE(never_healed.passed);
  EXPECT_TRUE(contains(never_healed.explanation, "cannot judge: no heal.attempt event")) << never_healed.explanation;
}
