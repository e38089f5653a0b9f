#include "common/clock.h"
#include "common/random.h"

#include <gtest/gtest.h>

#include <future>
#include <mutex>
#include <thread>

TEST(ManualClockTest, MovesOnlyWhenAdvanced) {
  chaos::ManualClock clock;
  auto t0 = clock.now();
  EXPECT_EQ(clock.now(), t0);
  clock.advance(std::chrono::milliseconds(250));
  EXPECT_EQ(clock.now() - t0, std::chrono::milliseconds(250));
}

TEST(SteadyClockTest, NeverGoesBackwards) {
  auto& clock = chaos::SteadyClock::instance();
  auto a = clock.now();
  auto b = clock.now();
  EXPECT_LE(a, b);
}

TEST(SeededRandomTest, SameSeedGivesSameSequence) {
  chaos::SeededRandom a(42), b(42), c(43);
  bool differs = false;
  for (int i = 0; i < 16; ++i) {
    double x = a.uniform();
    EXPECT_EQ(x, b.uniform());
    EXPECT_GE(x, 0.0);
    EXPECT_LT(x, 1.0);
    if (x != c.uniform()) differs = true;
  }
  EXPECT_TRUE(differs);
}

TEST(ManualClockTest, CoarseReadingIsExactlyThePreciseOne) {
  chaos::ManualClock clock;
  clock.advance(std::chrono::nanoseconds(1234567));
  EXPECT_EQ(clock.coarse_now(), clock.now());
  EXPECT_EQ(clock.coarse_resolution(), chaos::Duration::zero());
}

TEST(SteadyClockTest, CoarseReadingIsNeverAheadOfThePreciseOne) {
  auto& clock = chaos::SteadyClock::instance();
  const chaos::Duration resolution = clock.coarse_resolution();
  EXPECT_GT(resolution, chaos::Duration::zero()) << "CLOCK_MONOTONIC_COARSE resolution unknown";
  EXPECT_LE(resolution, std::chrono::milliseconds(100));
  for (int i = 0; i < 100000; ++i) {
    const chaos::TimePoint coarse = clock.coarse_now();
    const chaos::TimePoint precise = clock.now();
    ASSERT_LE(coarse, precise) << "coarse reading ran ahead at iteration " << i;
  }
}

// A waiter on a ManualClock's deadline returns only because the clock moved: no real time passes.
TEST(ClockConditionTest, ManualClockMoveWakesAWaiterWhoseDeadlineItReaches) {
  chaos::ManualClock clock;
  chaos::ClockCondition cond(clock);
  const chaos::TimePoint deadline = clock.now() + std::chrono::seconds(1);
  bool waiting = false, abandoned = false;
  int wakeups = 0;
  std::promise<void> done;
  std::thread waiter([&] {
    std::unique_lock<std::mutex> lock(cond.mutex());
    waiting = true;
    while (clock.now() < deadline && !abandoned && wakeups < 1000) {
      cond.wait_until(lock, deadline);
      ++wakeups;
    }
    done.set_value();
  });
  const auto limit = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  for (;;) {  // bounded by `limit`
    std::lock_guard<std::mutex> lock(cond.mutex());
    if (waiting || std::chrono::steady_clock::now() > limit) break;
  }
  clock.advance(std::chrono::milliseconds(999));
  clock.advance(std::chrono::milliseconds(1));
  const bool woke = done.get_future().wait_for(std::chrono::seconds(10)) == std::future_status::ready;
  if (!woke) {
    std::lock_guard<std::mutex> lock(cond.mutex());
    abandoned = true;
    cond.notify_all();
  }
  waiter.join();
  EXPECT_TRUE(woke) << "advancing the manual clock past the deadline did not wake the waiter";
  EXPECT_GE(wakeups, 1);
}

// The real clock: a notify ends the wait long before its deadline (a real-time test of the real clock).
TEST(ClockConditionTest, SteadyClockWaitEndsOnNotifyBeforeTheDeadline) {
  auto& clock = chaos::SteadyClock::instance();
  chaos::ClockCondition cond(clock);
  const chaos::TimePoint deadline = clock.now() + std::chrono::seconds(30);
  bool ready = false;
  std::thread notifier([&] {
    std::lock_guard<std::mutex> lock(cond.mutex());
    ready = true;
    cond.notify_one();
  });
  {
    std::unique_lock<std::mutex> lock(cond.mutex());
    while (!ready && clock.now() < deadline) cond.wait_until(lock, deadline);
  }
  notifier.join();
  EXPECT_TRUE(ready);
  EXPECT_LT(clock.now(), deadline);
}

// And the deadline alone ends a wait nobody notifies.
TEST(ClockConditionTest, SteadyClockWaitEndsAtTheDeadline) {
  auto& clock = chaos::SteadyClock::instance();
  chaos::ClockCondition cond(clock);
  const chaos::TimePoint start = clock.now();
  const chaos::TimePoint deadline = start + std::chrono::milliseconds(20);
  int waits = 0;
  {
    std::unique_lock<std::mutex> lock(cond.mutex());
    while (clock.now() < deadline && waits < 1000) {
      cond.wait_until(lock, deadline);
      ++waits;
    }
  }
  EXPECT_GE(clock.now() - start, std::chrono::milliseconds(20));
  EXPECT_LT(waits, 1000);
}
