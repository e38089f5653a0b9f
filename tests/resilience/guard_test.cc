// The Guard composes fallback, shedding, deadline, retry, breaker and bulkhead for one dependency.
#include "resilience/guard.h"

#include <gtest/gtest.h>

#include "test_env.h"

namespace chaos::resilience {
namespace {

using namespace std::chrono_literals;
using testing::TestEnv;

struct GuardEnv : TestEnv {
  Environment genv() {
    Environment e = env();
    e.sleep = [this](Duration d) { scheduler.advance(d); };
    return e;
  }
};

GuardConfig config() {
  GuardConfig c;
  c.breaker->minimum_calls = 3;
  c.breaker->window_size = 3;
  c.breaker->wait_in_open = 5s;
  c.retry->max_attempts = 3;
  c.retry->initial_backoff = 100ms;
  c.bulkhead->max_concurrent = 2;
  c.timeouts.overall = 1s;
  return c;
}

TEST(GuardTest, SuccessPassesStraightThrough) {
  GuardEnv t;
  Guard<int> g("db", config(), t.genv());
  auto r = g.call([](const CallContext& ctx) -> Result<int> {
    EXPECT_EQ(ctx.attempt(), 1u);
    return 7;
  });
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.result.value(), 7);
  EXPECT_EQ(r.source, FallbackSource::kPrimary);
  EXPECT_EQ(r.attempts, 1u);
}

TEST(GuardTest, EachRetryIsAFreshBreakerDecision) {
  GuardEnv t;
  auto c = config();
  c.breaker->minimum_calls = 10;
  c.breaker->window_size = 10;
  Guard<int> g("db", c, t.genv());
  int calls = 0;
  auto r = g.call([&](const CallContext&) -> Result<int> {
    if (++calls < 3) return Error::server("503");
    return 1;
  });
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.attempts, 3u);
  auto m = g.breaker()->metrics();
  EXPECT_EQ(m.total_calls, 3u);
  EXPECT_EQ(m.failed_calls, 2u);
  EXPECT_EQ(t.recorder->count("retry.attempt"), 2u);
}

TEST(GuardTest, OpenBreakerIsNotRetriedAndTheFallbackServes) {
  GuardEnv t;
  auto c = config();
  c.retry->max_attempts = 1;
  Guard<std::string> g("db", c, t.genv());
  g.fallback().with_default("default");
  auto failing = [](const CallContext&) -> Result<std::string> { return Error::network("refused"); };
  for (int i = 0; i < 3; ++i) EXPECT_EQ(g.call(failing).source, FallbackSource::kDefault);
  ASSERT_EQ(g.breaker()->state(), BreakerState::kOpen);
  int calls = 0;
  auto r = g.call([&](const CallContext&) -> Result<std::string> {
    ++calls;
    return std::string("x");
  });
  EXPECT_EQ(calls, 0);
  EXPECT_EQ(r.attempts, 0u);
  EXPECT_EQ(r.source, FallbackSource::kDefault);
  EXPECT_EQ(r.result.value(), "default");
  auto fb = t.recorder->of_type("fallback").back();
  EXPECT_EQ(fb.fields["cause"], "CIRCUIT_OPEN: circuit breaker 'db' is OPEN");
}

TEST(GuardTest, ChildNeverOutlivesTheCallersDeadline) {
  GuardEnv t;
  Guard<int> g("db", config(), t.genv());
  Deadline parent = Deadline::after(t.clock, 300ms);
  auto r = g.call(
      [&](const CallContext& ctx) -> Result<int> {
        EXPECT_EQ(ctx.deadline().remaining(), 300ms);  // not the 1 s overall timeout
        EXPECT_EQ(ctx.budget(TimeoutOp::kConnect), 300ms);
        t.clock.advance(400ms);
        return 1;  // too late: the caller has given up
      },
      &parent);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.result.error().category, ErrorCategory::kTimeout);
  EXPECT_EQ(r.attempts, 1u);  // no time left to retry
  auto to = t.recorder->of_type("timeout");
  ASSERT_EQ(to.size(), 1u);
  EXPECT_EQ(to[0].fields["op"], "deadline");
  EXPECT_EQ(to[0].fields["limit_ms"], 300.0);
  EXPECT_EQ(t.recorder->of_type("retry.exhausted").at(0).fields["reason"], "deadline");
}

TEST(GuardTest, OverallTimeoutBoundsAllAttempts) {
  GuardEnv t;
  Guard<int> g("db", config(), t.genv());
  const TimePoint start = t.clock.now();
  auto r = g.call([&](const CallContext&) -> Result<int> {
    t.clock.advance(600ms);
    return Error::server("slow 503");
  });
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.attempts, 2u);  // 0-600 ms, wait 100 ms, 700-1300 ms: past the 1 s budget
  EXPECT_EQ(r.result.error().category, ErrorCategory::kTimeout);
  EXPECT_EQ(t.clock.now() - start, 1300ms);
  auto to = t.recorder->of_type("timeout");
  ASSERT_EQ(to.size(), 1u);
  EXPECT_EQ(to[0].fields["op"], "overall");
  EXPECT_EQ(to[0].fields["limit_ms"], 1000.0);
}

TEST(GuardTest, OperationTimeoutReportsItsOwnLimit) {
  GuardEnv t;
  auto c = config();
  c.timeouts.read = 200ms;
  c.retry->max_attempts = 1;
  Guard<int> g("cache", c, t.genv());
  auto r = g.call([&](const CallContext& ctx) -> Result<int> {
    EXPECT_EQ(ctx.budget(TimeoutOp::kRead), 200ms);
    return ctx.timed_out(TimeoutOp::kRead, "GET user:1");
  });
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.result.error().message, "read timeout: GET user:1");
  auto to = t.recorder->of_type("timeout");
  ASSERT_EQ(to.size(), 1u);
  EXPECT_EQ(to[0].name, "cache");
  EXPECT_EQ(to[0].fields["op"], "read");
  EXPECT_EQ(to[0].fields["limit_ms"], 200.0);
}

TEST(GuardTest, FullBulkheadGivesTheBreakerPermitBack) {
  GuardEnv t;
  auto c = config();
  c.bulkhead->max_concurrent = 1;
  c.retry->max_attempts = 1;
  Guard<int> g("db", c, t.genv());
  GuardResult<int> inner{Error::unknown("not run"), FallbackSource::kError, 0};
  auto outer = g.call([&](const CallContext&) -> Result<int> {
    inner = g.call([](const CallContext&) -> Result<int> { return 2; });
    return 1;
  });
  EXPECT_TRUE(outer.ok());
  ASSERT_FALSE(inner.ok());
  EXPECT_EQ(inner.result.error().category, ErrorCategory::kBulkheadFull);
  EXPECT_EQ(inner.attempts, 0u);
  auto m = g.breaker()->metrics();
  EXPECT_EQ(m.total_calls, 1u);
  EXPECT_EQ(m.failed_calls, 0u);
  EXPECT_EQ(g.bulkhead()->active(), 0u);
}

TEST(GuardTest, DegradedModeShedsBeforeAnyAttempt) {
  GuardEnv t;
  auto c = config();
  c.degraded = DegradedConfig{0.0, false};
  Guard<int> g("db", c, t.genv());
  g.fallback().with_default(-1);
  auto r = g.call([](const CallContext&) -> Result<int> { return 1; });
  EXPECT_EQ(r.attempts, 0u);
  EXPECT_EQ(r.source, FallbackSource::kDefault);
  EXPECT_EQ(t.recorder->count("degraded.shed"), 1u);
}

TEST(GuardTest, ThrowingOperationIsAnUnknownFailureNotACrash) {
  GuardEnv t;
  Guard<int> g("db", config(), t.genv());
  auto r = g.call([](const CallContext&) -> Result<int> { throw std::runtime_error("bug"); });
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.result.error().message, "bug");
  EXPECT_EQ(r.attempts, 1u);  // UNKNOWN is not retried by default
  EXPECT_EQ(g.breaker()->metrics().failed_calls, 1u);
}

TEST(GuardTest, LayersCanBeLeftOut) {
  GuardEnv t;
  GuardConfig c;
  c.breaker.reset();
  c.retry.reset();
  c.bulkhead.reset();
  Guard<int> g("db", c, t.genv());
  EXPECT_EQ(g.breaker(), nullptr);
  auto r = g.call([](const CallContext&) -> Result<int> { return Error::server("x"); });
  EXPECT_EQ(r.attempts, 1u);
  EXPECT_FALSE(r.ok());
}

}  // namespace
}  // namespace chaos::resilience
