// Every state and edge of the circuit breaker, on a manual clock and scheduler.
#include "resilience/circuit_breaker.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "test_env.h"

namespace chaos::resilience {
namespace {

using namespace std::chrono_literals;
using testing::TestEnv;

const Error kServer = Error::server("boom");

CircuitBreakerConfig small_config() {
  CircuitBreakerConfig c;
  c.window_size = 10;
  c.minimum_calls = 5;
  c.failure_rate_threshold = 50;
  c.wait_in_open = 1s;
  c.permitted_calls_in_half_open = 2;
  return c;
}

void fail(CircuitBreaker& b, int n = 1) {
  for (int i = 0; i < n; ++i) {
    ASSERT_TRUE(b.try_acquire());
    b.on_error(kServer);
  }
}
void succeed(CircuitBreaker& b, int n = 1) {
  for (int i = 0; i < n; ++i) {
    ASSERT_TRUE(b.try_acquire());
    b.on_success();
  }
}

TEST(CircuitBreakerTest, StaysClosedUntilMinimumCallsReached) {
  TestEnv t;
  CircuitBreaker b("db", small_config(), t.env());
  fail(b, 4);
  EXPECT_EQ(b.state(), BreakerState::kClosed);
  EXPECT_EQ(b.metrics().failure_rate, -1);
  fail(b);
  EXPECT_EQ(b.state(), BreakerState::kOpen);
  auto ev = t.recorder->of_type("breaker.state");
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].name, "db");
  EXPECT_EQ(ev[0].fields["from"], "CLOSED");
  EXPECT_EQ(ev[0].fields["to"], "OPEN");
  EXPECT_EQ(ev[0].fields["reason"], "failure rate 100.0% >= 50.0% over 5 calls");
  EXPECT_EQ(ev[0].fields["open_wait_ms"], 1000.0);
  EXPECT_EQ(ev[0].ts_us, to_us(t.clock.now()));
}

TEST(CircuitBreakerTest, RateEqualToThresholdOpensWhenASuccessCompletesMinimumCalls) {
  TestEnv t;
  auto c = small_config();
  c.minimum_calls = 4;
  CircuitBreaker b("db", c, t.env());
  fail(b, 2);
  succeed(b, 1);
  EXPECT_EQ(b.state(), BreakerState::kClosed);
  succeed(b, 1);  // 2 of 4 = 50% >= 50%
  EXPECT_EQ(b.state(), BreakerState::kOpen);
  EXPECT_EQ(b.metrics().transitions.back().reason, "failure rate 50.0% >= 50.0% over 4 calls");
}

TEST(CircuitBreakerTest, RateBelowThresholdStaysClosed) {
  TestEnv t;
  CircuitBreaker b("db", small_config(), t.env());
  succeed(b, 6);
  fail(b, 4);
  EXPECT_EQ(b.state(), BreakerState::kClosed);
  auto m = b.metrics();
  EXPECT_DOUBLE_EQ(m.failure_rate, 40.0);
  EXPECT_EQ(m.total_calls, 10u);
  EXPECT_EQ(m.failed_calls, 4u);
  EXPECT_EQ(m.successful_calls, 6u);
}

TEST(CircuitBreakerTest, CountWindowForgetsCallsOlderThanItsSize) {
  TestEnv t;
  auto c = small_config();
  c.window_size = 4;
  c.minimum_calls = 4;
  CircuitBreaker b("db", c, t.env());
  fail(b, 1);
  succeed(b, 5);  // the failure slid out
  fail(b, 1);     // 1 of 4 = 25%
  EXPECT_EQ(b.state(), BreakerState::kClosed);
  EXPECT_DOUBLE_EQ(b.metrics().failure_rate, 25.0);
  fail(b, 1);  // 2 of 4
  EXPECT_EQ(b.state(), BreakerState::kOpen);
}

TEST(CircuitBreakerTest, TimeWindowExpiresOldCalls) {
  TestEnv t;
  auto c = small_config();
  c.window_type = SlidingWindowType::kTimeBased;
  c.window_size = 2;  // seconds
  c.minimum_calls = 3;
  CircuitBreaker b("db", c, t.env());
  fail(b, 2);
  t.clock.advance(3s);
  fail(b, 1);
  EXPECT_EQ(b.state(), BreakerState::kClosed);
  EXPECT_EQ(b.metrics().window_calls, 1u);
  t.clock.advance(1s);
  fail(b, 1);
  EXPECT_EQ(b.state(), BreakerState::kClosed);
  fail(b, 1);
  EXPECT_EQ(b.state(), BreakerState::kOpen);
}

TEST(CircuitBreakerTest, OpenRejectsWithoutThrowingAndCountsRejections) {
  TestEnv t;
  CircuitBreaker b("db", small_config(), t.env());
  fail(b, 5);
  EXPECT_FALSE(b.try_acquire());
  EXPECT_FALSE(b.try_acquire());
  EXPECT_EQ(b.metrics().rejected_calls, 2u);
  auto rej = t.recorder->of_type("breaker.rejected");
  ASSERT_EQ(rej.size(), 2u);
  EXPECT_EQ(rej[0].fields["state"], "OPEN");
  auto r = b.execute([] { return Result<int>(1); });
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().category, ErrorCategory::kCircuitOpen);
}

TEST(CircuitBreakerTest, GoesHalfOpenOnTheFirstCallAfterTheWait) {
  TestEnv t;
  CircuitBreaker b("db", small_config(), t.env(/*with_scheduler=*/false));
  fail(b, 5);
  t.clock.advance(999ms);
  EXPECT_FALSE(b.try_acquire());
  EXPECT_EQ(b.state(), BreakerState::kOpen);
  t.clock.advance(1ms);  // exactly the wait: allowed (>=)
  EXPECT_EQ(b.state(), BreakerState::kOpen);  // nothing happens without a call
  EXPECT_TRUE(b.try_acquire());
  EXPECT_EQ(b.state(), BreakerState::kHalfOpen);
  EXPECT_EQ(b.metrics().transitions.back().reason, "open wait of 1000 ms elapsed");
}

// The default (next-call) mode rejects on Clock::coarse_now(); a ManualClock's coarse reading is its
// precise one, so the first call at exactly the end of the wait still goes through.
TEST(CircuitBreakerTest, NextCallModeIsExactOnAManualClockDespiteTheCoarseReading) {
  TestEnv t;
  ASSERT_EQ(t.clock.coarse_now(), t.clock.now());
  ASSERT_EQ(t.clock.coarse_resolution(), Duration::zero());
  CircuitBreaker b("db", small_config(), t.env(/*with_scheduler=*/false));
  fail(b, 5);
  const TimePoint opened = t.clock.now();
  t.clock.advance(1s - 1ns);
  EXPECT_FALSE(b.try_acquire()) << "admitted 1 ns before the wait elapsed";
  t.clock.advance(1ns);
  EXPECT_TRUE(b.try_acquire()) << "first call after the wait was rejected";
  EXPECT_EQ(b.state(), BreakerState::kHalfOpen);
  EXPECT_EQ(b.metrics().transitions.back().at - opened, 1s);
}

// A clock whose coarse reading lags like the kernel's CLOCK_MONOTONIC_COARSE: the precise time as of
// the last `tick` boundary. Never ahead of now(), at most one tick behind.
class TickingCoarseClock final : public Clock {
 public:
  explicit TickingCoarseClock(Duration tick) : tick_(tick) {}
  TimePoint now() const override { return precise.now(); }
  TimePoint coarse_now() const override {
    const auto ns = precise.now().time_since_epoch();
    return TimePoint(ns - ns % tick_);
  }
  Duration coarse_resolution() const override { return tick_; }
  ManualClock precise;

 private:
  const Duration tick_;
};

TEST(CircuitBreakerTest, LaggingCoarseClockDelaysHalfOpenByAtMostOneTick) {
  TickingCoarseClock clock(4ms);
  Environment env;
  env.clock = &clock;
  CircuitBreaker b("db", small_config(), env);
  clock.precise.advance(1ms);  // open off a tick boundary, so the coarse reading lags at the deadline
  fail(b, 5);
  ASSERT_EQ(b.state(), BreakerState::kOpen);
  const TimePoint open_until = clock.now() + 1s;
  clock.precise.set(open_until);
  ASSERT_LT(clock.coarse_now(), open_until);
  EXPECT_FALSE(b.try_acquire()) << "coarse reading still before the deadline: rejection expected";
  EXPECT_EQ(b.state(), BreakerState::kOpen);
  // Step 100 us at a time: the first admitted call must come within one tick of the deadline.
  TimePoint admitted_at{};
  for (int step = 0; step < 1000 && admitted_at == TimePoint{}; ++step) {
    clock.precise.advance(100us);
    if (b.try_acquire()) admitted_at = clock.now();
  }
  ASSERT_NE(admitted_at, TimePoint{}) << "never left OPEN";
  EXPECT_EQ(b.state(), BreakerState::kHalfOpen);
  EXPECT_GT(admitted_at - open_until, Duration::zero());
  EXPECT_LE(admitted_at - open_until, clock.coarse_resolution());
  EXPECT_EQ(admitted_at, open_until + 3ms);  // the next tick boundary after the deadline
  EXPECT_EQ(b.metrics().transitions.back().at, admitted_at);
}

TEST(CircuitBreakerTest, GoesHalfOpenByTimerWhenAutomatic) {
  TestEnv t;
  auto c = small_config();
  c.automatic_transition = true;
  CircuitBreaker b("db", c, t.env());
  fail(b, 5);
  t.scheduler.advance(999ms);
  EXPECT_EQ(b.state(), BreakerState::kOpen);
  t.scheduler.advance(1ms);
  EXPECT_EQ(b.state(), BreakerState::kHalfOpen);
  auto ev = t.recorder->of_type("breaker.state");
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(ev[1].fields["reason"], "open wait of 1000 ms elapsed (timer)");
  EXPECT_EQ(ev[1].ts_us - ev[0].ts_us, 1'000'000);
}

TEST(CircuitBreakerTest, RejectsCallsOverTheHalfOpenPermit) {
  TestEnv t;
  CircuitBreaker b("db", small_config(), t.env());
  fail(b, 5);
  t.clock.advance(1s);
  EXPECT_TRUE(b.try_acquire());
  EXPECT_TRUE(b.try_acquire());
  EXPECT_FALSE(b.try_acquire());
  EXPECT_EQ(b.state(), BreakerState::kHalfOpen);
  EXPECT_EQ(t.recorder->of_type("breaker.rejected").back().fields["state"], "HALF_OPEN");
  b.release();  // an unused permit comes back
  EXPECT_TRUE(b.try_acquire());
}

TEST(CircuitBreakerTest, ClosesAfterEnoughTrialSuccesses) {
  TestEnv t;
  auto c = small_config();
  c.permitted_calls_in_half_open = 3;
  c.successes_to_close = 2;
  CircuitBreaker b("db", c, t.env());
  fail(b, 5);
  t.clock.advance(1s);
  ASSERT_TRUE(b.try_acquire());
  ASSERT_TRUE(b.try_acquire());
  b.on_error(kServer);  // one failure is tolerated: 1 <= 3 - 2
  EXPECT_EQ(b.state(), BreakerState::kHalfOpen);
  b.on_success();
  EXPECT_EQ(b.state(), BreakerState::kHalfOpen);
  ASSERT_TRUE(b.try_acquire());
  b.on_success();
  EXPECT_EQ(b.state(), BreakerState::kClosed);
  EXPECT_EQ(b.metrics().window_calls, 0u);  // a fresh window after closing
}

TEST(CircuitBreakerTest, FailureInHalfOpenReopensWithALongerCappedWait) {
  TestEnv t;
  auto c = small_config();
  c.open_wait_multiplier = 2;
  c.max_wait_in_open = 3s;
  CircuitBreaker b("db", c, t.env());
  fail(b, 5);
  std::vector<double> waits;
  for (int i = 0; i < 3; ++i) {
    waits.push_back(t.recorder->of_type("breaker.state").back().fields["open_wait_ms"]);
    t.clock.advance(b.metrics().current_open_wait);
    fail(b, 1);
    EXPECT_EQ(b.state(), BreakerState::kOpen);
  }
  waits.push_back(t.recorder->of_type("breaker.state").back().fields["open_wait_ms"]);
  EXPECT_EQ(waits, (std::vector<double>{1000, 2000, 3000, 3000}));
  // Closing forgets the history: the next open waits the base time again.
  t.clock.advance(3s);
  succeed(b, 2);
  EXPECT_EQ(b.state(), BreakerState::kClosed);
  fail(b, 5);
  EXPECT_EQ(t.recorder->of_type("breaker.state").back().fields["open_wait_ms"], 1000.0);
}

TEST(CircuitBreakerTest, MaxWaitInHalfOpenReturnsToOpenByTimer) {
  TestEnv t;
  auto c = small_config();
  c.max_wait_in_half_open = 5s;
  CircuitBreaker b("db", c, t.env());
  fail(b, 5);
  t.clock.advance(1s);
  ASSERT_TRUE(b.try_acquire());  // the trial call never reports back
  t.scheduler.advance(4999ms);
  EXPECT_EQ(b.state(), BreakerState::kHalfOpen);
  t.scheduler.advance(1ms);
  EXPECT_EQ(b.state(), BreakerState::kOpen);
  EXPECT_EQ(b.metrics().transitions.back().reason, "max wait in HALF_OPEN of 5000 ms exceeded");
}

TEST(CircuitBreakerTest, MaxWaitInHalfOpenIsCheckedOnTheNextCallWithoutAScheduler) {
  TestEnv t;
  auto c = small_config();
  c.max_wait_in_half_open = 5s;
  CircuitBreaker b("db", c, t.env(false));
  fail(b, 5);
  t.clock.advance(1s);
  ASSERT_TRUE(b.try_acquire());
  ASSERT_TRUE(b.try_acquire());
  t.clock.advance(5s);
  EXPECT_FALSE(b.try_acquire());
  EXPECT_EQ(b.state(), BreakerState::kOpen);
}

TEST(CircuitBreakerTest, SlowCallsOpenTheBreaker) {
  TestEnv t;
  auto c = small_config();
  c.minimum_calls = 4;
  c.failure_rate_threshold = 101;  // rate rule off: only slowness can open it
  c.slow_call_duration = 100ms;
  c.slow_call_rate_threshold = 50;
  CircuitBreaker b("db", c, t.env());
  ASSERT_TRUE(b.wants_duration());
  for (auto d : {99ms, 100ms, 10ms}) {
    ASSERT_TRUE(b.try_acquire());
    b.on_success(d);
  }
  EXPECT_EQ(b.state(), BreakerState::kClosed);
  ASSERT_TRUE(b.try_acquire());
  b.on_error(kServer, 150ms);  // slow failure: 2 slow of 4
  EXPECT_EQ(b.state(), BreakerState::kOpen);
  EXPECT_EQ(b.metrics().transitions.back().reason, "slow call rate 50.0% >= 50.0% over 4 calls");
  auto calls = t.recorder->of_type("breaker.call");
  ASSERT_EQ(calls.size(), 4u);
  EXPECT_EQ(calls[0].fields["outcome"], "success");
  EXPECT_EQ(calls[1].fields["outcome"], "slow_success");
  EXPECT_EQ(calls[1].fields["duration_us"], 100000);
  EXPECT_EQ(calls[3].fields["outcome"], "slow_failure");
  EXPECT_EQ(b.metrics().slow_calls, 2u);
}

TEST(CircuitBreakerTest, SlowTrialCallReopensFromHalfOpen) {
  TestEnv t;
  auto c = small_config();
  c.slow_call_duration = 100ms;
  CircuitBreaker b("db", c, t.env());
  fail(b, 5);
  t.clock.advance(1s);
  ASSERT_TRUE(b.try_acquire());
  b.on_success(200ms);
  EXPECT_EQ(b.state(), BreakerState::kOpen);
}

TEST(CircuitBreakerTest, IgnoredErrorsCountNeitherWay) {
  TestEnv t;
  CircuitBreaker b("db", small_config(), t.env());
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(b.try_acquire());
    b.on_error(Error::client("400 bad request"));
  }
  EXPECT_EQ(b.state(), BreakerState::kClosed);
  auto m = b.metrics();
  EXPECT_EQ(m.ignored_calls, 10u);
  EXPECT_EQ(m.total_calls, 0u);
  EXPECT_EQ(t.recorder->of_type("breaker.call").back().fields["outcome"], "ignored");
}

TEST(CircuitBreakerTest, IgnoredTrialCallFreesItsHalfOpenPermit) {
  TestEnv t;
  CircuitBreaker b("db", small_config(), t.env());
  fail(b, 5);
  t.clock.advance(1s);
  ASSERT_TRUE(b.try_acquire());
  ASSERT_TRUE(b.try_acquire());
  EXPECT_FALSE(b.try_acquire());
  b.on_error(Error::validation("bad payload"));
  EXPECT_TRUE(b.try_acquire());
  EXPECT_EQ(b.state(), BreakerState::kHalfOpen);
}

TEST(CircuitBreakerTest, ClassifierDecidesWhatCounts) {
  TestEnv t;
  auto c = small_config();
  c.classifier = [](const Error& e) {
    if (e.category == ErrorCategory::kRateLimit) return ErrorDecision::kSuccess;
    if (e.category == ErrorCategory::kClientError) return ErrorDecision::kRecord;
    return default_error_classifier(e);
  };
  CircuitBreaker b("db", c, t.env());
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(b.try_acquire());
    b.on_error(Error::rate_limit("429"));
  }
  EXPECT_EQ(b.state(), BreakerState::kClosed);
  EXPECT_EQ(b.metrics().successful_calls, 5u);
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(b.try_acquire());
    b.on_error(Error::client("403"));
  }
  EXPECT_EQ(b.state(), BreakerState::kOpen);
}

TEST(CircuitBreakerTest, ConsecutiveFailuresOpenRegardlessOfMinimumCalls) {
  TestEnv t;
  auto c = small_config();
  c.minimum_calls = 100;
  c.window_size = 100;
  c.consecutive_failure_threshold = 3;
  CircuitBreaker b("db", c, t.env());
  fail(b, 2);
  succeed(b, 1);
  fail(b, 2);
  EXPECT_EQ(b.state(), BreakerState::kClosed);
  fail(b, 1);
  EXPECT_EQ(b.state(), BreakerState::kOpen);
  EXPECT_EQ(b.metrics().transitions.back().reason, "3 consecutive failures >= 3");
}

TEST(CircuitBreakerTest, NFailuresWithinPeriodOpens) {
  TestEnv t;
  auto c = small_config();
  c.minimum_calls = 100;
  c.window_size = 100;
  c.failures_within_count = 3;
  c.failures_within_period = 1s;
  CircuitBreaker b("db", c, t.env());
  fail(b, 1);
  t.clock.advance(500ms);
  fail(b, 1);
  t.clock.advance(500ms);  // the first failure is now exactly 1 s old: no longer counts
  fail(b, 1);
  EXPECT_EQ(b.state(), BreakerState::kClosed);
  t.clock.advance(100ms);
  fail(b, 1);
  EXPECT_EQ(b.state(), BreakerState::kOpen);
  EXPECT_EQ(b.metrics().transitions.back().reason, "3 failures within 1000 ms >= 3");
}

TEST(CircuitBreakerTest, ForcedOpenRejectsEverythingUntilReset) {
  TestEnv t;
  CircuitBreaker b("db", small_config(), t.env());
  b.force_open("maintenance");
  EXPECT_EQ(b.state(), BreakerState::kForcedOpen);
  t.scheduler.advance(10min);
  EXPECT_FALSE(b.try_acquire());
  EXPECT_EQ(t.recorder->of_type("breaker.rejected").back().fields["state"], "FORCED_OPEN");
  b.reset();
  EXPECT_EQ(b.state(), BreakerState::kClosed);
  EXPECT_TRUE(b.try_acquire());
  auto ev = t.recorder->of_type("breaker.state");
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(ev[0].fields["to"], "FORCED_OPEN");
  EXPECT_EQ(ev[0].fields["reason"], "maintenance");
  EXPECT_FALSE(ev[0].fields.contains("open_wait_ms"));
}

TEST(CircuitBreakerTest, DisabledPermitsEverythingAndRecordsNothing) {
  TestEnv t;
  CircuitBreaker b("db", small_config(), t.env());
  b.disable();
  fail(b, 20);
  EXPECT_EQ(b.state(), BreakerState::kDisabled);
  EXPECT_EQ(b.metrics().total_calls, 0u);
}

TEST(CircuitBreakerTest, ExecuteRecordsThrownExceptionsAsFailures) {
  TestEnv t;
  CircuitBreaker b("db", small_config(), t.env());
  for (int i = 0; i < 5; ++i) {
    auto r = b.execute([]() -> Result<int> { throw std::runtime_error("driver crashed"); });
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().category, ErrorCategory::kUnknown);
    EXPECT_EQ(r.error().message, "driver crashed");
  }
  EXPECT_EQ(b.state(), BreakerState::kOpen);
}

TEST(CircuitBreakerTest, MetricsKeepTransitionsWithReasons) {
  TestEnv t;
  CircuitBreaker b("db", small_config(), t.env());
  fail(b, 5);
  t.clock.advance(1s);
  succeed(b, 2);
  auto m = b.metrics();
  ASSERT_EQ(m.transitions.size(), 3u);
  EXPECT_EQ(m.transitions[0].to, BreakerState::kOpen);
  EXPECT_EQ(m.transitions[1].to, BreakerState::kHalfOpen);
  EXPECT_EQ(m.transitions[2].to, BreakerState::kClosed);
  EXPECT_EQ(m.transitions[2].reason, "2 trial calls succeeded in HALF_OPEN (needed 2)");
  EXPECT_EQ(m.transitions[2].at - m.transitions[0].at, 1s);
}

TEST(CircuitBreakerTest, TimerDoesNotFireAfterTheBreakerIsGone) {
  TestEnv t;
  auto c = small_config();
  c.automatic_transition = true;
  {
    CircuitBreaker b("db", c, t.env());
    fail(b, 5);
  }
  t.scheduler.advance(5s);  // would touch freed memory if the timer survived (ASan/TSan builds)
  EXPECT_EQ(t.recorder->count("breaker.state"), 1u);
}

// Many threads hammer one breaker whose clock moves underneath them. The counters must balance
// exactly and the state machine must stay legal; under TSan this also proves the fast path is free of
// data races.
void stress(CircuitBreakerConfig c, int calls_per_thread) {
  ManualClock clock;
  Environment env;
  env.clock = &clock;
  CircuitBreaker b("stress", std::move(c), env);

  constexpr int kThreads = 4;
  const int kCallsPerThread = calls_per_thread;
  std::atomic<uint64_t> recorded{0}, rejected{0}, ignored{0};
  std::atomic<bool> done{false};
  std::thread ticker([&] {
    int ticks = 0;
    while (!done.load() && ticks < 1'000'000) {
      clock.advance(1ms);
      ++ticks;
      std::this_thread::yield();
    }
  });
  std::vector<std::thread> workers;
  for (int t = 0; t < kThreads; ++t) {
    workers.emplace_back([&, t] {
      uint32_t x = 12345u + static_cast<uint32_t>(t);
      for (int i = 0; i < kCallsPerThread; ++i) {
        x = x * 1664525u + 1013904223u;
        if (!b.try_acquire()) {
          rejected.fetch_add(1);
          continue;
        }
        uint32_t r = (x >> 16) % 100;
        if (r < 25) {
          b.on_error(kServer);
          recorded.fetch_add(1);
        } else if (r < 28) {
          b.on_error(Error::client("400"));
          ignored.fetch_add(1);
        } else {
          b.on_success(std::chrono::microseconds((x >> 8) % 100));
          recorded.fetch_add(1);
        }
      }
    });
  }
  for (auto& w : workers) w.join();
  done.store(true);
  ticker.join();

  auto m = b.metrics();
  EXPECT_EQ(m.total_calls, recorded.load());
  EXPECT_EQ(m.rejected_calls, rejected.load());
  EXPECT_EQ(m.ignored_calls, ignored.load());
  EXPECT_EQ(m.total_calls + m.rejected_calls + m.ignored_calls,
            static_cast<uint64_t>(kThreads) * kCallsPerThread);
  // 25% failures over a 50-call window cross 30% many times over 80000 calls.
  EXPECT_GT(m.transitions.size(), 0u);
  for (const auto& tr : m.transitions) {
    bool legal = (tr.from == BreakerState::kClosed && tr.to == BreakerState::kOpen) ||
                 (tr.from == BreakerState::kOpen && tr.to == BreakerState::kHalfOpen) ||
                 (tr.from == BreakerState::kHalfOpen &&
                  (tr.to == BreakerState::kOpen || tr.to == BreakerState::kClosed));
    EXPECT_TRUE(legal) << to_string(tr.from) << " -> " << to_string(tr.to);
  }
}

CircuitBreakerConfig stress_config() {
  CircuitBreakerConfig c;
  c.window_size = 50;
  c.minimum_calls = 10;
  c.failure_rate_threshold = 30;
  c.wait_in_open = 2ms;
  c.permitted_calls_in_half_open = 4;
  c.consecutive_failure_threshold = 8;
  return c;
}

TEST(CircuitBreakerStressTest, ConcurrentCallsKeepCountersConsistent) {
  stress(stress_config(), 100000);
}

TEST(CircuitBreakerStressTest, ConcurrentCallsOnATimeWindowKeepCountersConsistent) {
  auto c = stress_config();
  c.window_type = SlidingWindowType::kTimeBased;
  c.window_size = 1;  // seconds: buckets roll over constantly as the ticker moves the clock
  c.slow_call_duration = 50us;
  c.slow_call_rate_threshold = 90;
  stress(c, 30000);
}

}  // namespace
}  // namespace chaos::resilience

namespace chaos::resilience::internal {
namespace {

// More threads than the shard cap, so the shared overflow shard is exercised too.
TEST(ShardedCounterTest, SumsEveryThreadsAddsExactly) {
  ShardedCounter c;
  constexpr int kThreads = 70, kEach = 1000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < kEach; ++i) c.add();
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(c.sum(), static_cast<uint64_t>(kThreads) * kEach);
}

TEST(CountWindowTest, CountsOnlyTheLastNCallsSinceReset) {
  CountWindow w(4);
  w.record_marked(kSlotRecorded | kSlotFailed);
  for (int i = 0; i < 3; ++i) w.record_success();
  EXPECT_EQ(w.counts().failed, 1u);
  w.record_success();  // the failure is now 5th from the end
  auto c = w.counts();
  EXPECT_EQ(c.calls, 4u);
  EXPECT_EQ(c.failed, 0u);
  w.record_marked(kSlotRecorded | kSlotSlow);
  w.reset();
  c = w.counts();
  EXPECT_EQ(c.calls, 0u);
  EXPECT_EQ(c.slow, 0u);
  EXPECT_EQ(w.total(), 6u);
}

}  // namespace
}  // namespace chaos::resilience::internal
