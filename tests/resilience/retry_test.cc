// Retry schedules with a fixed seed, the bounds of each jitter mode, and what is never retried.
#include "resilience/retry.h"

#include <gtest/gtest.h>

#include <vector>

#include "test_env.h"

namespace chaos::resilience {
namespace {

using namespace std::chrono_literals;
using testing::TestEnv;

struct RetryEnv : TestEnv {
  std::vector<Duration> slept;
  Environment retry_env(Random* random = nullptr) {
    Environment e = env();
    e.random = random;
    e.sleep = [this](Duration d) {
      slept.push_back(d);
      scheduler.advance(d);
    };
    return e;
  }
};

// Fails with `errors` in turn, then succeeds.
struct Flaky {
  std::vector<Error> errors;
  int calls = 0;
  Result<int> operator()() {
    ++calls;
    if (static_cast<size_t>(calls) <= errors.size()) return errors[calls - 1];
    return 42;
  }
};

TEST(RetryTest, MaxAttemptsCountsTheFirstCall) {
  RetryEnv t;
  RetryConfig c;
  c.max_attempts = 3;
  Retry r("db", c, t.retry_env());
  Flaky f{{Error::server("1"), Error::server("2"), Error::server("3"), Error::server("4")}};
  auto res = r.execute([&] { return f(); });
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(f.calls, 3);
  EXPECT_EQ(res.error().message, "3");
  auto ex = t.recorder->of_type("retry.exhausted");
  ASSERT_EQ(ex.size(), 1u);
  EXPECT_EQ(ex[0].fields["attempts"], 3);
  EXPECT_EQ(ex[0].fields["error"], "SERVER_ERROR");
}

TEST(RetryTest, ExponentialScheduleWithoutJitterIsCappedAtMaxBackoff) {
  RetryEnv t;
  RetryConfig c;
  c.max_attempts = 6;
  c.initial_backoff = 100ms;
  c.multiplier = 3;
  c.max_backoff = 2s;
  Retry r("db", c, t.retry_env());
  Flaky f{std::vector<Error>(5, Error::timeout("slow"))};
  const TimePoint start = t.clock.now();
  auto res = r.execute([&] { return f(); });
  ASSERT_TRUE(res.ok());
  EXPECT_EQ(res.value(), 42);
  EXPECT_EQ(t.slept, (std::vector<Duration>{100ms, 300ms, 900ms, 2s, 2s}));
  EXPECT_EQ(t.clock.now() - start, 5300ms);
  auto attempts = t.recorder->of_type("retry.attempt");
  ASSERT_EQ(attempts.size(), 5u);
  EXPECT_EQ(attempts[0].fields["attempt"], 1);
  EXPECT_EQ(attempts[0].fields["error"], "TIMEOUT");
  EXPECT_EQ(attempts[2].fields["delay_ms"], 900.0);
  EXPECT_EQ(t.recorder->of_type("retry.success").at(0).fields["attempts"], 6);
}

TEST(RetryTest, FirstTimeSuccessPublishesNothing) {
  RetryEnv t;
  Retry r("db", RetryConfig{}, t.retry_env());
  auto res = r.execute([] { return Result<int>(1); });
  EXPECT_TRUE(res.ok());
  EXPECT_TRUE(t.recorder->events().empty());
}

TEST(RetryTest, FixedSeedGivesTheSameJitteredSchedule) {
  auto schedule = [](uint64_t seed) {
    RetryEnv t;
    SeededRandom rnd(seed);
    RetryConfig c;
    c.max_attempts = 5;
    c.jitter = Jitter::kFull;
    Retry r("db", c, t.retry_env(&rnd));
    Flaky f{std::vector<Error>(10, Error::network("reset"))};
    (void)r.execute([&] { return f(); });
    return t.slept;
  };
  auto a = schedule(7);
  EXPECT_EQ(a.size(), 4u);
  EXPECT_EQ(a, schedule(7));
  EXPECT_NE(a, schedule(8));
  // Pinned, so a change to the jitter math (or to how SeededRandom draws) fails here. Derivation:
  // SeededRandom is std::mt19937_64, whose output the standard fixes; seed 7 gives 13915952638675311015,
  // 17511516338625233250, 2165911192842364878, 16452894106784333046 (cross-checked with an independent
  // implementation of MT19937-64). uniform() is generate_canonical<double>, one 64-bit draw: x / 2^64.
  // Full jitter: delay n = floor(u_n * base_n) ns with base 100, 200, 400, 800 ms (defaults: 100 ms x 2).
  EXPECT_EQ(a, (std::vector<Duration>{Duration(75'438'530), Duration(189'860'240),
                                      Duration(46'965'712), Duration(713'530'541)}));
}

TEST(RetryTest, EachJitterModeStaysWithinItsBounds) {
  RetryConfig c;
  c.initial_backoff = 100ms;
  c.multiplier = 2;
  c.max_backoff = 1s;
  SequenceRandom extremes({0.0, 0.999999, 0.5});
  for (Jitter j : {Jitter::kNone, Jitter::kFull, Jitter::kEqual, Jitter::kDecorrelated}) {
    c.jitter = j;
    Environment env;
    env.random = &extremes;
    Retry r("db", c, env);
    Duration prev = Duration::zero();
    for (uint32_t n = 1; n <= 8; ++n) {
      for (int k = 0; k < 3; ++k) {
        const Duration base = std::min<Duration>(100ms * (1 << (n - 1)), 1s);
        Duration d = r.backoff(n, prev);
        switch (j) {
          case Jitter::kNone:
            EXPECT_EQ(d, base);
            break;
          case Jitter::kFull:
            EXPECT_GE(d, Duration::zero());
            EXPECT_LT(d, base);
            break;
          case Jitter::kEqual:
            EXPECT_GE(d, base / 2);
            EXPECT_LT(d, base);
            break;
          case Jitter::kDecorrelated: {
            const Duration p = prev > Duration::zero() ? prev : Duration(100ms);
            EXPECT_GE(d, 100ms);
            EXPECT_LE(d, std::min<Duration>(std::max<Duration>(100ms, 3 * p), 1s));
            break;
          }
        }
        prev = d;
      }
    }
  }
}

TEST(RetryTest, PermanentErrorsAreNotRetried) {
  for (const Error& e : {Error::client("400"), Error::validation("bad"), Error::unknown("?")}) {
    RetryEnv t;
    Retry r("db", RetryConfig{}, t.retry_env());
    Flaky f{{e}};
    auto res = r.execute([&] { return f(); });
    EXPECT_FALSE(res.ok());
    EXPECT_EQ(f.calls, 1) << describe(e);
    auto sk = t.recorder->of_type("retry.skipped");
    ASSERT_EQ(sk.size(), 1u);
    EXPECT_EQ(sk[0].fields["reason"], "permanent_error");
    EXPECT_EQ(sk[0].fields["error"], std::string(to_string(e.category)));
  }
}

TEST(RetryTest, ConfiguredPredicateCanRetryMore) {
  RetryEnv t;
  RetryConfig c;
  c.retry_on = [](const Error& e) { return is_transient(e.category) || e.category == ErrorCategory::kUnknown; };
  Retry r("db", c, t.retry_env());
  Flaky f{{Error::unknown("flaky driver")}};
  EXPECT_TRUE(r.execute([&] { return f(); }).ok());
  EXPECT_EQ(f.calls, 2);
}

TEST(RetryTest, NonIdempotentIsRetriedOnlyWhenTheRequestNeverLeft) {
  RetryEnv t;
  RetryConfig c;
  c.idempotent = false;
  Retry r("payments", c, t.retry_env());
  Flaky refused{{Error::network("connect refused", /*maybe_delivered=*/false)}};
  EXPECT_TRUE(r.execute([&] { return refused(); }).ok());
  EXPECT_EQ(refused.calls, 2);
  Flaky reset{{Error::network("reset after send")}};
  EXPECT_FALSE(r.execute([&] { return reset(); }).ok());
  EXPECT_EQ(reset.calls, 1);
  EXPECT_EQ(t.recorder->of_type("retry.skipped").at(0).fields["reason"], "not_idempotent");
}

TEST(RetryTest, StopsWhenTheNextWaitWouldPassTheDeadline) {
  RetryEnv t;
  RetryConfig c;
  c.max_attempts = 10;
  c.initial_backoff = 100ms;
  Retry r("db", c, t.retry_env());
  Deadline d = Deadline::after(t.clock, 350ms);
  Flaky f{std::vector<Error>(10, Error::timeout("t"))};
  auto res = r.execute([&] { return f(); }, &d);
  EXPECT_FALSE(res.ok());
  EXPECT_EQ(t.slept, (std::vector<Duration>{100ms, 200ms}));  // a further 400 ms would pass it
  EXPECT_EQ(f.calls, 3);
  EXPECT_EQ(t.recorder->of_type("retry.exhausted").at(0).fields["reason"], "deadline");
}

TEST(RetryTest, ThrownExceptionBecomesAnUnknownError) {
  RetryEnv t;
  Retry r("db", RetryConfig{}, t.retry_env());
  auto res = r.execute([]() -> Result<int> { throw std::runtime_error("oops"); });
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.error().category, ErrorCategory::kUnknown);
  EXPECT_EQ(res.error().message, "oops");
}

}  // namespace
}  // namespace chaos::resilience
