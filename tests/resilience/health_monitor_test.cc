// Health aggregation, stale detection, and healing triggered by UNHEALTHY, by a throw and by a timeout,
// with bounded, backed-off attempts.
#include "resilience/health_monitor.h"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "test_env.h"

namespace chaos::resilience {
namespace {

using namespace std::chrono_literals;
using testing::TestEnv;

HealthCheckConfig check(std::string name, std::function<CheckResult()> fn) {
  HealthCheckConfig c;
  c.name = std::move(name);
  c.check = std::move(fn);
  c.interval = 1s;
  c.timeout = 500ms;
  return c;
}

struct Monitor : TestEnv {
  InlineExecutor inline_exec;
  HealthMonitor mon{HealthMonitorConfig{}, env(), inline_exec};
};

TEST(HealthMonitorTest, HealthyChecksGiveRunningAndFullScore) {
  Monitor t;
  t.mon.add_check(check("db", [] { return CheckResult::healthy("ok"); }));
  t.mon.add_check(check("cache", [] { return CheckResult::healthy("pong"); }));
  t.mon.run_all();
  auto s = t.mon.snapshot();
  EXPECT_EQ(s.state, SystemState::kRunning);
  EXPECT_EQ(s.score, 100);
  auto ev = t.recorder->of_type("health.check");
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(ev[0].name, "cache");
  EXPECT_EQ(ev[0].fields["check"], "cache");
  EXPECT_EQ(ev[0].fields["status"], "HEALTHY");
  EXPECT_EQ(ev[0].fields["message"], "pong");
  EXPECT_EQ(ev[0].fields["latency_ms"], 0.0);
  EXPECT_EQ(t.recorder->count("health.state"), 0u);  // it never left RUNNING
}

TEST(HealthMonitorTest, WeightedAvailabilityMapsToStatesWithInclusiveThresholds) {
  Monitor t;
  HealthStatus a = HealthStatus::kHealthy, b = HealthStatus::kHealthy, c = HealthStatus::kHealthy;
  auto add = [&](const char* n, HealthStatus* st, double w) {
    auto cfg = check(n, [st] { return CheckResult{*st, ""}; });
    cfg.weight = w;
    t.mon.add_check(cfg);
  };
  add("a", &a, 6);
  add("b", &b, 3);
  add("c", &c, 1);
  c = HealthStatus::kUnhealthy;  // 9 of 10 = 0.9: still RUNNING (>=)
  t.mon.run_all();
  EXPECT_EQ(t.mon.snapshot().state, SystemState::kRunning);
  EXPECT_EQ(t.mon.snapshot().score, 90);
  b = HealthStatus::kDegraded;  // (6 + 1.5) / 10 = 0.75
  t.mon.run_all();
  auto s = t.mon.snapshot();
  EXPECT_EQ(s.state, SystemState::kDegraded);
  EXPECT_DOUBLE_EQ(s.availability, 0.75);
  a = HealthStatus::kUnhealthy;  // 1.5 / 10
  t.mon.run_all();
  EXPECT_EQ(t.mon.snapshot().state, SystemState::kCritical);
  auto ev = t.recorder->of_type("health.state");
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(ev[0].fields["previous"], "RUNNING");
  EXPECT_EQ(ev[0].fields["state"], "DEGRADED");
  EXPECT_EQ(ev[0].fields["score"], 75);
  EXPECT_EQ(ev[1].fields["state"], "CRITICAL");
  EXPECT_EQ(ev[1].fields["score"], 15);
  EXPECT_DOUBLE_EQ(ev[1].fields["availability"].get<double>(), 0.15);
}

TEST(HealthMonitorTest, CriticalCheckDownMakesTheSystemCritical) {
  Monitor t;
  auto db = check("db", [] { return CheckResult::unhealthy("refused"); });
  db.critical = true;
  db.weight = 1;
  auto other = check("cache", [] { return CheckResult::healthy(); });
  other.weight = 100;
  t.mon.add_check(db);
  t.mon.add_check(other);
  t.mon.run_all();
  auto s = t.mon.snapshot();
  EXPECT_GT(s.availability, 0.9);
  EXPECT_EQ(s.state, SystemState::kCritical);
}

TEST(HealthMonitorTest, UnhealthyResultTriggersHealingAndARecheck) {
  Monitor t;
  bool broken = true;
  int heals = 0;
  auto cfg = check("db", [&] { return broken ? CheckResult::unhealthy("refused") : CheckResult::healthy("ok"); });
  cfg.auto_heal = true;
  cfg.heal = [&] {
    ++heals;
    broken = false;
    return HealResult{true, "reconnected"};
  };
  t.mon.add_check(cfg);
  t.mon.run_check("db");
  EXPECT_EQ(heals, 1);
  auto at = t.recorder->of_type("heal.attempt");
  ASSERT_EQ(at.size(), 1u);
  EXPECT_EQ(at[0].fields["check"], "db");
  EXPECT_EQ(at[0].fields["attempt"], 1);
  EXPECT_EQ(at[0].fields["outcome"], "success");
  EXPECT_EQ(at[0].fields["message"], "reconnected");
  EXPECT_FALSE(at[0].fields.contains("next_delay_ms"));
  auto checks = t.recorder->of_type("health.check");
  ASSERT_EQ(checks.size(), 2u);  // the failing run, then the confirming re-check
  EXPECT_EQ(checks[1].fields["status"], "HEALTHY");
  EXPECT_EQ(t.mon.snapshot().checks[0].heal_attempts, 0u);  // episode over
}

TEST(HealthMonitorTest, ThrowingCheckCountsAsUnhealthyAndTriggersHealing) {
  Monitor t;
  int heals = 0;
  auto cfg = check("db", []() -> CheckResult { throw std::runtime_error("driver exploded"); });
  cfg.auto_heal = true;
  cfg.max_heal_attempts = 1;
  cfg.heal = [&] {
    ++heals;
    return HealResult{false, "still down"};
  };
  t.mon.add_check(cfg);
  t.mon.run_check("db");
  auto c = t.recorder->of_type("health.check").at(0);
  EXPECT_EQ(c.fields["status"], "UNHEALTHY");
  EXPECT_EQ(c.fields["message"], "check threw: driver exploded");
  EXPECT_EQ(heals, 1);
}

TEST(HealthMonitorTest, SlowCheckCountsAsTimedOutAndTriggersHealing) {
  Monitor t;
  int heals = 0;
  auto cfg = check("db", [&] {
    t.clock.advance(600ms);  // the check takes longer than its 500 ms timeout
    return CheckResult::healthy("eventually");
  });
  cfg.auto_heal = true;
  cfg.max_heal_attempts = 1;
  cfg.heal = [&] {
    ++heals;
    return HealResult{false, "no"};
  };
  t.mon.add_check(cfg);
  t.mon.run_check("db");
  auto c = t.recorder->of_type("health.check").at(0);
  EXPECT_EQ(c.fields["status"], "UNHEALTHY");
  EXPECT_EQ(c.fields["message"], "timed out: took 600 ms >= 500 ms");
  EXPECT_EQ(c.fields["latency_ms"], 600.0);
  EXPECT_EQ(heals, 1);
}

// A check that hangs on a worker thread: the timer declares it timed out, healing starts, and its
// late answer is dropped.
TEST(HealthMonitorTest, HangingCheckIsTimedOutByTheTimerAndItsLateAnswerDropped) {
  TestEnv t;
  std::mutex mu;
  std::condition_variable cv;
  bool release = false, started = false;
  std::atomic<int> heals{0};
  {
    ThreadPoolExecutor pool(2);
    HealthMonitor mon(HealthMonitorConfig{}, t.env(), pool);
    auto cfg = check("db", [&] {
      std::unique_lock<std::mutex> lock(mu);
      started = true;
      cv.notify_all();
      cv.wait_for(lock, 30s, [&] { return release; });
      return CheckResult::healthy("late");
    });
    cfg.auto_heal = true;
    cfg.max_heal_attempts = 1;
    cfg.heal = [&] {
      ++heals;
      return HealResult{false, "no"};
    };
    mon.add_check(cfg);
    mon.run_check("db");
    {
      std::unique_lock<std::mutex> lock(mu);
      ASSERT_TRUE(cv.wait_for(lock, 10s, [&] { return started; })) << "check never started";
    }
    t.scheduler.advance(500ms);
    auto snap = mon.snapshot();
    EXPECT_EQ(snap.checks[0].status, HealthStatus::kUnhealthy);
    EXPECT_EQ(snap.checks[0].message, "timed out after 500 ms");
    {
      std::lock_guard<std::mutex> lock(mu);
      release = true;
    }
    cv.notify_all();
  }  // the pool drains: the late answer arrives and must be dropped
  EXPECT_EQ(heals.load(), 1);
  auto checks = t.recorder->of_type("health.check");
  ASSERT_EQ(checks.size(), 1u);
  EXPECT_EQ(checks[0].fields["status"], "UNHEALTHY");
}

TEST(HealthMonitorTest, HealAttemptsAreBoundedAndBackedOff) {
  Monitor t;
  bool healthy = false;
  int heals = 0;
  auto cfg = check("db", [&] { return healthy ? CheckResult::healthy() : CheckResult::unhealthy("down"); });
  cfg.auto_heal = true;
  cfg.max_heal_attempts = 3;
  cfg.heal_backoff_initial = 1s;
  cfg.heal_backoff_multiplier = 2;
  cfg.heal = [&] {
    ++heals;
    return HealResult{false, "restart failed"};
  };
  t.mon.add_check(cfg);
  t.mon.run_check("db");
  EXPECT_EQ(heals, 1);
  t.scheduler.advance(999ms);
  EXPECT_EQ(heals, 1);
  t.scheduler.advance(1ms);
  EXPECT_EQ(heals, 2);
  t.scheduler.advance(1999ms);
  EXPECT_EQ(heals, 2);
  t.scheduler.advance(1ms);
  EXPECT_EQ(heals, 3);
  t.scheduler.advance(1h);
  t.mon.run_check("db");
  EXPECT_EQ(heals, 3);  // bounded
  auto at = t.recorder->of_type("heal.attempt");
  ASSERT_EQ(at.size(), 3u);
  EXPECT_EQ(at[0].fields["next_delay_ms"], 1000.0);
  EXPECT_EQ(at[1].fields["next_delay_ms"], 2000.0);
  EXPECT_FALSE(at[2].fields.contains("next_delay_ms"));
  EXPECT_EQ(at[1].ts_us - at[0].ts_us, 1'000'000);
  auto ex = t.recorder->of_type("heal.exhausted");
  ASSERT_EQ(ex.size(), 1u);
  EXPECT_EQ(ex[0].fields["attempts"], 3);
  EXPECT_TRUE(t.mon.snapshot().checks[0].heal_exhausted);
  // Recovery ends the episode; the next outage gets a fresh budget.
  healthy = true;
  t.mon.run_check("db");
  healthy = false;
  t.mon.run_check("db");
  EXPECT_EQ(heals, 4);
}

// With no scheduler there is no timer to back off with: the wait goes through Environment::sleep_for,
// here a manual-clock advance, so the spacing shows on the clock and no real time passes.
TEST(HealthMonitorTest, HealAttemptsAreBackedOffWithoutAScheduler) {
  TestEnv t;
  std::vector<Duration> slept;
  Environment env = t.env(/*with_scheduler=*/false);
  env.sleep = [&](Duration d) {
    slept.push_back(d);
    t.clock.advance(d);
  };
  InlineExecutor inline_exec;
  HealthMonitor mon(HealthMonitorConfig{}, env, inline_exec);
  std::vector<TimePoint> heal_times;
  auto cfg = check("db", [] { return CheckResult::unhealthy("down"); });
  cfg.timeout = Duration::zero();  // the clock moves during healing; keep check latency out of it
  cfg.auto_heal = true;
  cfg.max_heal_attempts = 4;
  cfg.heal_backoff_initial = 1s;
  cfg.heal_backoff_multiplier = 3;
  cfg.heal_backoff_max = 5s;
  cfg.heal = [&] {
    heal_times.push_back(t.clock.now());
    return HealResult{false, "restart failed"};
  };
  mon.add_check(cfg);
  const TimePoint start = t.clock.now();
  mon.run_check("db");
  ASSERT_EQ(heal_times.size(), 4u);
  EXPECT_EQ(heal_times[0] - start, Duration::zero());  // the first attempt is immediate
  EXPECT_EQ(heal_times[1] - heal_times[0], 1s);
  EXPECT_EQ(heal_times[2] - heal_times[1], 3s);
  EXPECT_EQ(heal_times[3] - heal_times[2], 5s);  // 9 s capped at heal_backoff_max
  EXPECT_EQ(slept, (std::vector<Duration>{1s, 3s, 5s}));
  auto at = t.recorder->of_type("heal.attempt");
  ASSERT_EQ(at.size(), 4u);
  EXPECT_EQ(at[0].fields["next_delay_ms"], 1000.0);
  EXPECT_EQ(at[2].fields["next_delay_ms"], 5000.0);
  EXPECT_FALSE(at[3].fields.contains("next_delay_ms"));
  EXPECT_EQ(at[1].ts_us - at[0].ts_us, 1'000'000);
  EXPECT_EQ(t.recorder->of_type("heal.exhausted").at(0).fields["attempts"], 4);
}

// A heal that "succeeds" while the re-check still fails is backed off too, also with no scheduler.
TEST(HealthMonitorTest, HealThatDoesNotFixTheCheckIsBackedOffWithoutAScheduler) {
  TestEnv t;
  Environment env = t.env(/*with_scheduler=*/false);
  env.sleep = [&](Duration d) { t.clock.advance(d); };
  InlineExecutor inline_exec;
  HealthMonitor mon(HealthMonitorConfig{}, env, inline_exec);
  std::vector<TimePoint> heal_times;
  auto cfg = check("db", [] { return CheckResult::unhealthy("still down"); });
  cfg.timeout = Duration::zero();
  cfg.auto_heal = true;
  cfg.max_heal_attempts = 3;
  cfg.heal_backoff_initial = 2s;
  cfg.heal = [&] {
    heal_times.push_back(t.clock.now());
    return HealResult{true, "restarted"};
  };
  mon.add_check(cfg);
  mon.run_check("db");
  ASSERT_EQ(heal_times.size(), 3u);
  EXPECT_EQ(heal_times[1] - heal_times[0], 2s);
  EXPECT_EQ(heal_times[2] - heal_times[1], 4s);
  EXPECT_EQ(t.recorder->count("heal.exhausted"), 1u);
}

TEST(HealthMonitorTest, ChecksRunOnTheirIntervalOnceStarted) {
  Monitor t;
  int runs = 0;
  auto cfg = check("db", [&] {
    ++runs;
    return CheckResult::healthy();
  });
  cfg.interval = 2s;
  t.mon.add_check(cfg);
  t.mon.start();
  t.scheduler.run_due();
  EXPECT_EQ(runs, 1);
  t.scheduler.advance(5s);
  EXPECT_EQ(runs, 3);  // t = 0, 2, 4
  t.mon.stop();
  t.scheduler.advance(10s);
  EXPECT_EQ(runs, 3);
}

TEST(HealthMonitorTest, CheckWithoutRecentResultTurnsStaleAndUnknown) {
  Monitor t;
  auto cfg = check("db", [] { return CheckResult::healthy(); });
  cfg.interval = 1h;  // will not run again soon
  cfg.stale_after = 2s;
  cfg.critical = true;
  t.mon.add_check(cfg);
  t.mon.start();
  t.scheduler.run_due();
  EXPECT_EQ(t.mon.snapshot().checks[0].status, HealthStatus::kHealthy);
  t.scheduler.advance(2s);  // exactly 2 s old: not yet stale (stale means older than)
  EXPECT_FALSE(t.mon.snapshot().checks[0].stale);
  t.scheduler.advance(1s);
  auto s = t.mon.snapshot();
  EXPECT_TRUE(s.checks[0].stale);
  EXPECT_EQ(s.checks[0].status, HealthStatus::kUnknown);
  EXPECT_EQ(s.state, SystemState::kCritical);
  auto ev = t.recorder->of_type("health.check");
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(ev[1].fields["status"], "UNKNOWN");
  EXPECT_EQ(t.recorder->of_type("health.state").at(0).fields["state"], "CRITICAL");
}

TEST(HealthMonitorTest, ChecksRunConcurrently) {
  TestEnv t;
  std::mutex mu;
  std::condition_variable cv;
  int arrived = 0;
  int results = 0;  // health.check events seen; declared before the pool so it outlives its threads
  // Each check waits until both are running: with sequential execution the first would time out.
  auto rendezvous = [&] {
    std::unique_lock<std::mutex> lock(mu);
    ++arrived;
    cv.notify_all();
    bool both = cv.wait_for(lock, 10s, [&] { return arrived >= 2; });
    return both ? CheckResult::healthy("met") : CheckResult::unhealthy("ran alone");
  };
  ThreadPoolExecutor pool(2);
  HealthMonitor mon(HealthMonitorConfig{}, t.env(), pool);
  mon.add_check(check("a", rendezvous));
  mon.add_check(check("b", rendezvous));
  // Both results are recorded on the pool's threads: wait for them on a condition, not by polling.
  t.publisher.subscribe([&](const Event& e) {
    if (e.type != "health.check") return;
    std::lock_guard<std::mutex> lock(mu);
    ++results;
    cv.notify_all();
  });
  mon.run_all();
  {
    std::unique_lock<std::mutex> lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, 20s, [&] { return results >= 2; }))
        << "only " << results << " of 2 checks reported";
  }
  auto s = mon.snapshot();
  EXPECT_EQ(s.checks[0].message, "met");
  EXPECT_EQ(s.checks[1].message, "met");
}

// ---------------------------------------------------------------- monitor pauses
// A frozen process (CPU starvation) wakes up with the sweep, the interval timers, the timeout timers
// and the checks' answers all runnable at once. These tests freeze the monitor by moving the clock
// without running the scheduler, then deliver the timers and the answers in each order, and check
// that the verdict does not depend on the order: the pause is not charged to the checks.

// Holds submitted tasks until the test runs them: a check doing network I/O on a worker thread, whose
// answer arrives only when the test delivers it.
class QueueExecutor final : public Executor {
 public:
  void submit(std::function<void()> task) override {
    std::lock_guard<std::mutex> lock(mu_);
    tasks_.push_back(std::move(task));
  }
  size_t queued() {
    std::lock_guard<std::mutex> lock(mu_);
    return tasks_.size();
  }
  // Runs queued tasks, including ones they submit, in order. Returns how many ran.
  size_t run_queued() {
    size_t ran = 0;
    for (; ran < 1000; ++ran) {  // bounded: a task loop would be a bug, not a reason to hang
      std::function<void()> task;
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (tasks_.empty()) break;
        task = std::move(tasks_.front());
        tasks_.pop_front();
      }
      task();
    }
    return ran;
  }

 private:
  std::mutex mu_;
  std::deque<std::function<void()>> tasks_;
};

// The demo gateway's timing: checks every 100 ms, timeout 200 ms, stale after 300 ms, sweep every
// 100 ms; a 450 ms freeze is what was seen under stress-ng on 2 cores.
struct PausedMonitor : TestEnv {
  QueueExecutor exec;
  HealthMonitor mon{config(), env(), exec};
  static HealthMonitorConfig config() {
    HealthMonitorConfig c;
    c.sweep_interval = 100ms;
    return c;
  }
  static HealthCheckConfig fast(std::string name) {
    HealthCheckConfig c = check(std::move(name), [] { return CheckResult::healthy("ok"); });
    c.interval = 100ms;
    c.timeout = 200ms;
    return c;
  }
  // Freezes the process: time passes, no timer and no worker runs.
  void freeze(Duration d) { clock.advance(d); }
  size_t events_with_status(const char* status) {
    size_t n = 0;
    for (const auto& e : recorder->of_type("health.check")) n += e.fields["status"] == status;
    return n;
  }
};

TEST(HealthMonitorTest, FreezeDoesNotMakeHealthyChecksStaleWhenTheSweepRunsFirst) {
  PausedMonitor t;
  for (const char* n : {"cache", "db", "rpc"}) t.mon.add_check(PausedMonitor::fast(n));
  t.mon.start();
  t.scheduler.run_due();
  EXPECT_EQ(t.exec.run_queued(), 3u);
  t.scheduler.advance(100ms);  // sweep, then the three checks start again; they answer at once
  EXPECT_EQ(t.exec.run_queued(), 3u);
  const TimePoint answered = t.clock.now();
  // The sweep is due at +100 ms, when the results are 100 ms old; the process freezes past it.
  t.freeze(450ms);
  // On wake-up the sweep runs first (it was armed first), 350 ms late, while the checks it starts are
  // still in flight: without the pause credit it sees results 450 ms old (> 300 ms) and the three
  // checks turn UNKNOWN, the system CRITICAL.
  EXPECT_EQ(t.scheduler.run_due(), 4u);  // the sweep and the three interval timers
  EXPECT_EQ(t.exec.queued(), 3u) << "the checks must not have answered before the sweep judged them";
  auto s = t.mon.snapshot();
  for (const auto& c : s.checks) {
    EXPECT_EQ(t.clock.now() - c.last_result, 450ms) << c.name;
    EXPECT_FALSE(c.stale) << c.name;
    EXPECT_EQ(c.status, HealthStatus::kHealthy) << c.name;
  }
  EXPECT_EQ(s.state, SystemState::kRunning);
  EXPECT_EQ(t.exec.run_queued(), 3u);  // the answers arrive after the wake-up
  s = t.mon.snapshot();
  EXPECT_EQ(s.state, SystemState::kRunning);
  for (const auto& c : s.checks) EXPECT_GT(c.last_result, answered) << c.name;
  EXPECT_EQ(t.events_with_status("UNKNOWN"), 0u);
  EXPECT_EQ(t.events_with_status("UNHEALTHY"), 0u);
  EXPECT_EQ(t.recorder->count("health.state"), 0u);  // never left RUNNING
}

// The other order: the checks' answers (started before the freeze) arrive before any monitor timer
// runs. The first answer must not make the other checks stale, and an answer the monitor could not
// take in time because it was frozen is no timeout.
TEST(HealthMonitorTest, FreezeDoesNotMakeChecksStaleOrTimedOutWhenTheAnswersArriveFirst) {
  PausedMonitor t;
  for (const char* n : {"cache", "db", "rpc"}) t.mon.add_check(PausedMonitor::fast(n));
  t.mon.start();
  t.scheduler.run_due();
  EXPECT_EQ(t.exec.run_queued(), 3u);
  t.scheduler.advance(100ms);
  EXPECT_EQ(t.exec.run_queued(), 3u);
  t.scheduler.advance(100ms);  // the checks start again (timeout due in 200 ms) and freeze in flight
  EXPECT_EQ(t.exec.queued(), 3u);
  t.freeze(450ms);
  // A snapshot taken on wake-up (a /health request), before any timer or answer: the monitor's timers
  // are overdue, so the pause still going on is not charged either.
  for (const auto& c : t.mon.snapshot().checks) EXPECT_FALSE(c.stale) << c.name;
  // Results 550 ms old, timeout timers 250 ms overdue: each answer is delivered before any timer runs.
  EXPECT_EQ(t.exec.run_queued(), 3u);
  for (const auto& c : t.mon.snapshot().checks) {
    EXPECT_EQ(c.status, HealthStatus::kHealthy) << c.name << ": " << c.message;
    EXPECT_EQ(c.latency, 450ms) << c.name;
  }
  t.scheduler.run_due();  // then the late timers: the sweep, and the next interval runs
  EXPECT_EQ(t.exec.run_queued(), 3u);
  EXPECT_EQ(t.mon.snapshot().state, SystemState::kRunning);
  EXPECT_EQ(t.events_with_status("UNKNOWN"), 0u);
  EXPECT_EQ(t.events_with_status("UNHEALTHY"), 0u);
  EXPECT_EQ(t.recorder->count("health.state"), 0u);
}

// The credit covers the pause and nothing more: a check that stops reporting on a live monitor is
// judged stale once stale_after of live time has passed since its result.
TEST(HealthMonitorTest, CheckThatStopsReportingIsStaleAfterStaleAfterOfTimeTheMonitorRan) {
  PausedMonitor t;
  auto cfg = PausedMonitor::fast("db");
  cfg.interval = 1h;  // reports once, then never again
  cfg.stale_after = 300ms;
  cfg.critical = true;
  t.mon.add_check(cfg);
  t.mon.start();
  t.scheduler.run_due();
  EXPECT_EQ(t.exec.run_queued(), 1u);
  t.scheduler.advance(100ms);  // the monitor runs on time for 100 ms
  t.freeze(450ms);             // the sweep due at +200 ms runs at +550 ms: 350 ms of pause
  t.scheduler.run_due();
  EXPECT_FALSE(t.mon.snapshot().checks[0].stale) << "the pause was charged to the check";
  // Live time since the result: 200 ms before the freeze, then 100 ms: exactly 300 ms, not yet stale.
  t.scheduler.advance(100ms);
  EXPECT_FALSE(t.mon.snapshot().checks[0].stale);
  t.scheduler.advance(1ms);
  auto s = t.mon.snapshot();
  EXPECT_TRUE(s.checks[0].stale) << "the credit outlived the pause";
  EXPECT_EQ(s.state, SystemState::kCritical);
  t.scheduler.advance(99ms);  // the next sweep announces it
  auto unknown = t.recorder->of_type("health.check").back();
  EXPECT_EQ(unknown.fields["status"], "UNKNOWN");
  EXPECT_EQ(unknown.fields["message"], "stale: no result for 750 ms (350 ms of monitor pauses not counted)");
  EXPECT_EQ(t.recorder->of_type("health.state").at(0).fields["state"], "CRITICAL");
  // A new result ends the credit: the next one is stale after exactly stale_after of monitor time.
  t.mon.run_check("db");
  EXPECT_EQ(t.exec.run_queued(), 1u);
  EXPECT_FALSE(t.mon.snapshot().checks[0].stale);
  t.scheduler.advance(300ms);
  EXPECT_FALSE(t.mon.snapshot().checks[0].stale);
  t.scheduler.advance(1ms);
  EXPECT_TRUE(t.mon.snapshot().checks[0].stale) << "credit from an older result's pause was kept";
}

// With no stale_after given, a check whose timeout is longer than 2 intervals must not turn UNKNOWN
// while its next run is still inside that timeout: the result may take one interval to start and one
// timeout to arrive.
TEST(HealthMonitorTest, DefaultStaleAfterCoversACheckTimeoutLongerThanTheInterval) {
  PausedMonitor t;
  auto cfg = PausedMonitor::fast("db");
  cfg.timeout = 500ms;  // e.g. a SELECT 1 to a starved PostgreSQL; the interval stays 100 ms
  t.mon.add_check(cfg);
  t.mon.start();
  t.scheduler.run_due();
  EXPECT_EQ(t.exec.run_queued(), 1u);  // answered at t0
  t.scheduler.advance(100ms);          // the next run starts and has not answered yet
  EXPECT_EQ(t.exec.queued(), 1u);
  t.scheduler.advance(500ms);  // t0 + 600 ms: 3 x interval is long past, interval + timeout just reached
  EXPECT_FALSE(t.mon.snapshot().checks[0].stale) << "judged stale while its run was still within its timeout";
  EXPECT_EQ(t.events_with_status("UNKNOWN"), 0u);
  t.scheduler.advance(1ms);
  EXPECT_EQ(t.events_with_status("UNHEALTHY"), 1u) << "the run that never answered timed out";
  EXPECT_EQ(t.events_with_status("UNKNOWN"), 0u) << "the timeout, not staleness, decides";
}

TEST(HealthMonitorTest, TimeoutTimerFiringLateAfterAFreezeLetsTheAnswerWin) {
  PausedMonitor t;
  int heals = 0;
  auto cfg = PausedMonitor::fast("db");
  cfg.auto_heal = true;
  cfg.heal = [&] {
    ++heals;
    return HealResult{true, "restarted"};
  };
  t.mon.add_check(cfg);
  t.mon.run_check("db");  // in flight: its answer needs a worker thread, and the process freezes
  t.freeze(450ms);
  // The timeout timer runs first, 250 ms late: it waits as long again instead of timing the check out.
  EXPECT_EQ(t.scheduler.run_due(), 1u);
  EXPECT_EQ(t.recorder->count("health.check"), 0u) << "declared a timeout the monitor was too frozen to see";
  EXPECT_EQ(t.exec.run_queued(), 1u);  // the answer, ready since before the wake-up, is delivered
  auto c = t.mon.snapshot().checks.at(0);
  EXPECT_EQ(c.status, HealthStatus::kHealthy) << c.message;
  EXPECT_EQ(c.message, "ok");
  EXPECT_EQ(heals, 0);
  EXPECT_EQ(t.scheduler.pending(), 0u);  // the extended timeout timer was cancelled by the answer
}

// The extension is bounded: never more than the monitor's lateness, and at most one more timeout per
// run in total, so a check that never answers is still timed out.
TEST(HealthMonitorTest, HungCheckIsTimedOutOnceTheFreezeExtensionIsUsedUp) {
  PausedMonitor t;
  int heals = 0;
  auto cfg = PausedMonitor::fast("db");
  cfg.auto_heal = true;
  cfg.max_heal_attempts = 1;
  cfg.heal = [&] {
    ++heals;
    return HealResult{false, "no"};
  };
  t.mon.add_check(cfg);
  const TimePoint started = t.clock.now();
  t.mon.run_check("db");  // never answers until the end of the test
  t.freeze(300ms);        // timer due at +200 ms runs 100 ms late: extended by 100 ms, to +400 ms
  t.scheduler.run_due();
  t.freeze(300ms);  // due at +400 ms, runs at +600 ms: 200 ms late, but only 100 ms of budget is left
  t.scheduler.run_due();
  t.scheduler.advance(99ms);
  EXPECT_EQ(t.recorder->count("health.check"), 0u);
  t.scheduler.advance(1ms);
  auto ev = t.recorder->of_type("health.check");
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].fields["status"], "UNHEALTHY");
  EXPECT_EQ(ev[0].fields["message"], "timed out after 200 ms (+200 ms for monitor pauses)");
  EXPECT_EQ(t.clock.now() - started, 700ms);
  EXPECT_EQ(t.exec.queued(), 2u);  // the hung check, and the heal attempt its timeout started
  EXPECT_EQ(t.exec.run_queued(), 2u);  // the hung check finally answers: dropped; the heal runs
  EXPECT_EQ(heals, 1);
  EXPECT_EQ(t.recorder->count("health.check"), 1u);
  EXPECT_EQ(t.mon.snapshot().checks.at(0).status, HealthStatus::kUnhealthy);
}

// On a monitor that runs on time the timeout is exact: lateness within the tolerance extends nothing,
// and an answer after the deadline with the budget used up is timed out whichever side runs first.
TEST(HealthMonitorTest, TimeoutIsExactWithoutAPauseAndAnswerAfterTheBudgetIsTimedOut) {
  PausedMonitor t;
  t.mon.add_check(PausedMonitor::fast("db"));
  t.mon.run_check("db");
  t.scheduler.advance(200ms);
  EXPECT_EQ(t.mon.snapshot().checks.at(0).message, "timed out after 200 ms");
  t.exec.run_queued();  // its answer is dropped
  EXPECT_EQ(t.recorder->count("health.check"), 1u);

  t.mon.run_check("db");
  t.freeze(500ms);  // due at +200 ms, runs at +500 ms: extended by min(300, 200) = 200 ms, to +700 ms
  t.scheduler.run_due();
  t.freeze(300ms);  // the answer arrives at +800 ms, before the overdue timer, with no budget left
  EXPECT_EQ(t.exec.run_queued(), 1u);
  auto c = t.mon.snapshot().checks.at(0);
  EXPECT_EQ(c.status, HealthStatus::kUnhealthy);
  EXPECT_EQ(c.message, "timed out: took 800 ms >= 200 ms");
}

// heal_after_failures: a failure below the threshold is reported (with its count) but not healed; the
// threshold-th failure in a row starts the episode's healing.
TEST(HealthMonitorTest, HealWaitsForConsecutiveFailures) {
  Monitor t;
  int heals = 0;
  auto cfg = check("db", [] { return CheckResult::unhealthy("refused"); });
  cfg.auto_heal = true;
  cfg.heal_after_failures = 3;
  cfg.heal = [&] {
    ++heals;
    return HealResult{false, "still refused"};
  };
  t.mon.add_check(cfg);
  t.mon.run_check("db");
  t.mon.run_check("db");
  EXPECT_EQ(heals, 0);
  EXPECT_TRUE(t.recorder->of_type("heal.attempt").empty());
  EXPECT_EQ(t.mon.snapshot().checks[0].status, HealthStatus::kUnhealthy);  // reported as it is
  EXPECT_EQ(t.mon.snapshot().checks[0].consecutive_failures, 2u);
  t.mon.run_check("db");
  EXPECT_EQ(heals, 1);
  auto checks = t.recorder->of_type("health.check");
  ASSERT_EQ(checks.size(), 3u);
  for (size_t i = 0; i < checks.size(); ++i) {
    EXPECT_EQ(checks[i].fields["status"], "UNHEALTHY");
    EXPECT_EQ(checks[i].fields["consecutive_failures"], static_cast<int>(i + 1));
  }
  // Inside the episode, later attempts follow the backoff, not the threshold.
  t.scheduler.advance(cfg.heal_backoff_initial);
  EXPECT_EQ(heals, 2);
}

// The count is of failures in a row: a DEGRADED or HEALTHY answer in between starts it again, and a
// timed-out or throwing check counts as a failure.
TEST(HealthMonitorTest, ConsecutiveFailureCountIsResetByAnyOtherResult) {
  Monitor t;
  int heals = 0;
  std::deque<std::function<CheckResult()>> script = {
      [] { return CheckResult::unhealthy("refused"); },
      [] { return CheckResult::degraded("slow"); },
      [] { return CheckResult::unhealthy("refused"); },
      [] { return CheckResult::healthy("ok"); },
      [&] {
        t.clock.advance(600ms);  // past the 500 ms timeout
        return CheckResult::healthy("too late");
      },
      [] () -> CheckResult { throw std::runtime_error("driver bug"); },
  };
  auto cfg = check("db", [&] {
    if (script.empty()) return CheckResult::healthy("after the heal");
    auto step = script.front();
    script.pop_front();
    return step();
  });
  cfg.auto_heal = true;
  cfg.heal_after_failures = 2;
  cfg.heal = [&] {
    ++heals;
    return HealResult{true, "reconnected"};
  };
  t.mon.add_check(cfg);
  for (int i = 0; i < 5; ++i) t.mon.run_check("db");
  EXPECT_EQ(heals, 0);  // never two failures in a row
  EXPECT_EQ(t.mon.snapshot().checks[0].consecutive_failures, 1u);
  t.mon.run_check("db");  // the throw: the second failure in a row (the timeout was the first)
  EXPECT_EQ(heals, 1);
  auto checks = t.recorder->of_type("health.check");
  ASSERT_EQ(checks.size(), 7u);  // and the heal's confirming re-check
  EXPECT_EQ(checks[6].fields["status"], "HEALTHY");
  EXPECT_EQ(checks[4].fields["message"], "timed out: took 600 ms >= 500 ms");
  EXPECT_EQ(checks[4].fields["consecutive_failures"], 1);
  EXPECT_EQ(checks[5].fields["consecutive_failures"], 2);
  EXPECT_FALSE(checks[3].fields.contains("consecutive_failures"));
}

TEST(HealthMonitorTest, RejectsAZeroFailureThreshold) {
  Monitor t;
  auto cfg = check("db", [] { return CheckResult::healthy(); });
  cfg.heal_after_failures = 0;
  EXPECT_THROW(t.mon.add_check(cfg), std::invalid_argument);
}

TEST(HealthMonitorTest, RejectsDuplicateAndEmptyChecks) {
  Monitor t;
  t.mon.add_check(check("db", [] { return CheckResult::healthy(); }));
  EXPECT_THROW(t.mon.add_check(check("db", [] { return CheckResult::healthy(); })), std::invalid_argument);
  EXPECT_THROW(t.mon.add_check(check("", [] { return CheckResult::healthy(); })), std::invalid_argument);
  EXPECT_THROW(t.mon.run_check("nope"), std::invalid_argument);
}

}  // namespace
}  // namespace chaos::resilience
