// The manual scheduler drives every timing test, so its ordering must be exact; the real one is tested
// once, in real time, waiting for its last task on a condition variable with a deadline.
#include "resilience/scheduler.h"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

namespace chaos::resilience {
namespace {

using namespace std::chrono_literals;

TEST(ManualSchedulerTest, RunsTasksInDueOrderWithTheClockAtTheirDueTime) {
  ManualClock clock;
  ManualScheduler s(clock);
  const TimePoint t0 = clock.now();
  std::vector<std::pair<int, Duration>> ran;
  s.schedule_after(30ms, [&] { ran.push_back({3, clock.now() - t0}); });
  s.schedule_after(10ms, [&] { ran.push_back({1, clock.now() - t0}); });
  s.schedule_after(10ms, [&] { ran.push_back({2, clock.now() - t0}); });
  s.advance(20ms);
  ASSERT_EQ(ran.size(), 2u);
  EXPECT_EQ(ran[0], (std::pair<int, Duration>{1, 10ms}));
  EXPECT_EQ(ran[1], (std::pair<int, Duration>{2, 10ms}));
  EXPECT_EQ(clock.now() - t0, 20ms);
  s.advance(10ms);
  ASSERT_EQ(ran.size(), 3u);
  EXPECT_EQ(ran[2].second, 30ms);
}

TEST(ManualSchedulerTest, TaskScheduledByATaskRunsWithinTheSameAdvance) {
  ManualClock clock;
  ManualScheduler s(clock);
  int count = 0;
  std::function<void()> tick = [&] {
    ++count;
    s.schedule_after(10ms, tick);
  };
  s.schedule_after(10ms, tick);
  s.advance(55ms);
  EXPECT_EQ(count, 5);
  EXPECT_EQ(s.pending(), 1u);
}

TEST(ManualSchedulerTest, CancelledTaskNeverRuns) {
  ManualClock clock;
  ManualScheduler s(clock);
  bool ran = false;
  auto id = s.schedule_after(5ms, [&] { ran = true; });
  EXPECT_TRUE(s.cancel(id));
  EXPECT_FALSE(s.cancel(id));
  s.advance(1s);
  EXPECT_FALSE(ran);
}

// The one test of the real timer thread itself, so it runs in real time: it waits (on a condition
// variable, bounded by a 5 s deadline) for the last task, and asserts order and "no earlier than".
TEST(RealSchedulerTest, RunsTasksAfterTheirDelayInOrder) {
  std::mutex mu;
  std::condition_variable cv;
  bool last_ran = false;
  std::atomic<int> order{0};
  std::atomic<int> first{0}, second{0};
  const auto start = std::chrono::steady_clock::now();
  std::atomic<int64_t> fired_after_ns{0};
  RealScheduler s;  // declared last: destroyed (thread joined) before what its tasks touch
  s.schedule_after(40ms, [&] {
    second = ++order;
    fired_after_ns = (std::chrono::steady_clock::now() - start).count();
    std::lock_guard<std::mutex> lock(mu);
    last_ran = true;
    cv.notify_all();
  });
  s.schedule_after(5ms, [&] { first = ++order; });
  auto cancelled = s.schedule_after(10ms, [&] { ++order; });
  EXPECT_TRUE(s.cancel(cancelled));
  {
    std::unique_lock<std::mutex> lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, 5s, [&] { return last_ran; }))
        << "task due after 40 ms had not run after 5 s";
  }
  EXPECT_EQ(first.load(), 1);
  EXPECT_EQ(second.load(), 2);
  EXPECT_GE(fired_after_ns.load(), std::chrono::nanoseconds(40ms).count());
  EXPECT_EQ(s.pending(), 0u);
}

}  // namespace
}  // namespace chaos::resilience
