// Bulkhead rejection and waiting, fallback order, and degraded-mode shedding.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "resilience/bulkhead.h"
#include "resilience/degraded.h"
#include "resilience/fallback.h"
#include "test_env.h"

namespace chaos::resilience {
namespace {

using namespace std::chrono_literals;
using testing::TestEnv;

TEST(BulkheadTest, RejectsOverMaxConcurrentWhenNoWaitIsAllowed) {
  TestEnv t;
  Bulkhead b("db", BulkheadConfig{2, Duration::zero()}, t.env());
  EXPECT_TRUE(b.try_acquire());
  EXPECT_TRUE(b.try_acquire());
  EXPECT_FALSE(b.try_acquire());
  EXPECT_EQ(b.rejected(), 1u);
  auto ev = t.recorder->of_type("bulkhead.rejected");
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].fields["active"], 2);
  EXPECT_EQ(ev[0].fields["max_concurrent"], 2);
  b.release();
  EXPECT_TRUE(b.try_acquire());
}

TEST(BulkheadTest, ExecuteReleasesTheSlotAndReportsFull) {
  TestEnv t;
  Bulkhead b("db", BulkheadConfig{1, Duration::zero()}, t.env());
  auto inner = Result<int>(0);
  auto outer = b.execute([&] {
    inner = b.execute([] { return Result<int>(1); });
    return Result<int>(2);
  });
  EXPECT_TRUE(outer.ok());
  ASSERT_FALSE(inner.ok());
  EXPECT_EQ(inner.error().category, ErrorCategory::kBulkheadFull);
  EXPECT_EQ(b.active(), 0u);
}

TEST(BulkheadTest, WaiterGetsTheSlotWhenItIsReleased) {
  TestEnv t;
  Bulkhead b("db", BulkheadConfig{1, 10s}, t.env());
  ASSERT_TRUE(b.try_acquire());
  std::atomic<int> got{-1};
  std::thread waiter([&] { got = b.try_acquire() ? 1 : 0; });
  b.release();  // whether before or after the waiter blocks, it must get the slot
  waiter.join();
  EXPECT_EQ(got.load(), 1);
  EXPECT_EQ(b.rejected(), 0u);
}

TEST(BulkheadTest, WaiterGivesUpWhenTheInjectedClockPassesMaxWait) {
  TestEnv t;
  Bulkhead b("db", BulkheadConfig{1, 500ms}, t.env());
  ASSERT_TRUE(b.try_acquire());
  std::atomic<int> got{-1};
  std::thread waiter([&] { got = b.try_acquire() ? 1 : 0; });
  // The waiter reads the clock when it starts waiting: move it only once the waiter is registered.
  const auto limit = std::chrono::steady_clock::now() + 10s;
  while (b.waiting() == 0 && std::chrono::steady_clock::now() < limit) std::this_thread::yield();
  ASSERT_EQ(b.waiting(), 1u) << "waiter never started waiting";
  t.clock.advance(499ms);  // wakes the waiter, which re-reads the clock and waits again
  EXPECT_EQ(got.load(), -1) << "waiter gave up before max_wait had passed on the injected clock";
  t.clock.advance(1ms);  // max wait reached (>=): the move wakes the waiter, which gives up
  waiter.join();  // returns only because the manual clock woke it: nothing else ever will
  EXPECT_EQ(got.load(), 0);
  EXPECT_EQ(b.rejected(), 1u);
  EXPECT_EQ(b.waiting(), 0u);
}

TEST(FallbackTest, TriesCacheThenLastGoodThenDefaultThenError) {
  TestEnv t;
  bool cache_has = true;
  FallbackChain<std::string> chain("profile", t.env());
  chain.with_cache([&]() -> std::optional<std::string> {
         if (cache_has) return std::string("cached");
         return std::nullopt;
       })
      .with_last_good()
      .with_default("anonymous");
  const Error down = Error::network("refused");
  cache_has = true;
  EXPECT_EQ(chain.apply(Error(down)).source, FallbackSource::kCache);
  cache_has = false;
  EXPECT_EQ(chain.apply(Error(down)).source, FallbackSource::kDefault);
  EXPECT_EQ(chain.apply(std::string("fresh")).source, FallbackSource::kPrimary);
  auto lg = chain.apply(Error(down));
  EXPECT_EQ(lg.source, FallbackSource::kLastGood);
  EXPECT_EQ(lg.result.value(), "fresh");
  auto ev = t.recorder->of_type("fallback");
  ASSERT_EQ(ev.size(), 3u);
  EXPECT_EQ(ev[0].fields["source"], "cache");
  EXPECT_EQ(ev[1].fields["source"], "default");
  EXPECT_EQ(ev[2].fields["source"], "last_good");
  EXPECT_EQ(ev[2].fields["cause"], "NETWORK: refused");
}

TEST(FallbackTest, WithNoSourceLeftTheErrorIsServed) {
  TestEnv t;
  FallbackChain<int> chain("db", t.env());
  chain.with_last_good();
  auto s = chain.apply(Error::timeout("slow"));
  EXPECT_EQ(s.source, FallbackSource::kError);
  ASSERT_FALSE(s.result.ok());
  EXPECT_EQ(s.result.error().category, ErrorCategory::kTimeout);
  EXPECT_EQ(t.recorder->of_type("fallback").at(0).fields["source"], "error");
}

TEST(FallbackTest, ClientErrorsPassThroughUntouched) {
  TestEnv t;
  FallbackChain<int> chain("db", t.env());
  chain.with_default(7);
  auto s = chain.apply(Error::client("404"));
  EXPECT_FALSE(s.result.ok());
  EXPECT_EQ(s.source, FallbackSource::kError);
  EXPECT_TRUE(t.recorder->events().empty());
}

TEST(DegradedModeTest, DeterministicSheddingAdmitsExactlyTheCapacity) {
  TestEnv t;
  DegradedMode d("db", {}, t.env());
  EXPECT_TRUE(d.admit());
  d.set_capacity(0.25, "db p99 over budget");
  int admitted = 0;
  for (int i = 0; i < 400; ++i) admitted += d.admit() ? 1 : 0;
  EXPECT_EQ(admitted, 100);
  EXPECT_EQ(d.shed(), 300u);
  auto ch = t.recorder->of_type("degraded.changed");
  ASSERT_EQ(ch.size(), 1u);
  EXPECT_EQ(ch[0].fields["capacity"], 0.25);
  EXPECT_EQ(ch[0].fields["reason"], "db p99 over budget");
  EXPECT_EQ(t.recorder->count("degraded.shed"), 300u);
  d.set_capacity(0.25, "same");  // no change, no event
  EXPECT_EQ(t.recorder->count("degraded.changed"), 1u);
}

TEST(DegradedModeTest, RandomSheddingFollowsTheInjectedRandom) {
  TestEnv t;
  SequenceRandom rnd({0.1, 0.6, 0.3, 0.9});
  Environment env = t.env();
  env.random = &rnd;
  DegradedMode d("db", DegradedConfig{0.5, true}, env);
  std::vector<bool> got;
  for (int i = 0; i < 4; ++i) got.push_back(d.admit());
  EXPECT_EQ(got, (std::vector<bool>{true, false, true, false}));
  auto r = d.execute([] { return Result<int>(1); });
  EXPECT_TRUE(r.ok());  // 0.1 again
  r = d.execute([] { return Result<int>(1); });
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().category, ErrorCategory::kShed);
}

TEST(DegradedModeTest, ZeroCapacityShedsEverything) {
  TestEnv t;
  DegradedMode d("db", DegradedConfig{0.0, false}, t.env());
  for (int i = 0; i < 10; ++i) EXPECT_FALSE(d.admit());
}

}  // namespace
}  // namespace chaos::resilience
