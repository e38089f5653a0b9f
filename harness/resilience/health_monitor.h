// The HealthMonitor runs registered health checks on their intervals, concurrently, turns their
// results into a weighted availability and a system state, and heals what is unhealthy: a check that
// returns UNHEALTHY, throws, or does not answer within its timeout counts as UNHEALTHY and (with
// auto_heal) triggers its heal function. Heal attempts are bounded per unhealthy episode and backed off;
// each attempt is a `heal.attempt` event with its outcome. See docs/RESILIENCE.md.
//
// Time during which the monitor itself could not run (a process frozen by CPU starvation, a stuck
// timer thread) is not charged to a check: the monitor sees such a pause as the lateness of its own
// timers (it knows when each was due) and neither judges a result stale nor declares a timeout on the
// strength of it. Otherwise the verdict after a pause would depend on which thread happens to run
// first on wake-up: the sweep or the check's answer.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "environment.h"
#include "executor.h"
#include "internal/anchor.h"

namespace chaos::resilience {

enum class HealthStatus : uint8_t { kHealthy, kDegraded, kUnhealthy, kUnknown };
enum class SystemState : uint8_t { kRunning, kDegraded, kCritical };
std::string_view to_string(HealthStatus s);
std::string_view to_string(SystemState s);

struct CheckResult {
  HealthStatus status = HealthStatus::kUnknown;
  std::string message;
  static CheckResult healthy(std::string m = "") { return {HealthStatus::kHealthy, std::move(m)}; }
  static CheckResult degraded(std::string m) { return {HealthStatus::kDegraded, std::move(m)}; }
  static CheckResult unhealthy(std::string m) { return {HealthStatus::kUnhealthy, std::move(m)}; }
};

struct HealResult {
  bool ok = false;
  std::string message;
};

struct HealthCheckConfig {
  std::string name;  // also the `name` of its events: usually the dependency name
  std::function<CheckResult()> check;
  Duration interval = std::chrono::seconds(10);
  // A result taking >= timeout counts as UNHEALTHY ("timed out"). With a scheduler, the monitor stops
  // waiting at the timeout; the late result is discarded. Zero disables it. A timeout timer that fires
  // late (the monitor was paused) gives the check as much more time as it was late, at most one more
  // `timeout` per run in total, before declaring it (see docs/RESILIENCE.md).
  Duration timeout = std::chrono::seconds(2);
  double weight = 1.0;
  // A critical check that is UNHEALTHY (or stale) makes the system CRITICAL whatever the availability.
  bool critical = false;
  // A result older than this counts as UNKNOWN (stale). Zero: 3 x interval, or interval + timeout
  // when that is longer (the next result may legitimately take one interval to start and one timeout
  // to arrive, so a slow-but-allowed check is never judged stale). Time during which the monitor was
  // paused since the result is not counted in its age.
  Duration stale_after = Duration::zero();
  bool auto_heal = false;
  std::function<HealResult()> heal;  // thrown exceptions are failed attempts
  // Consecutive UNHEALTHY results (timeouts and throws included) before an episode's first heal
  // attempt; any other result resets the count. 1 heals on the first failure. Above 1, one slow answer
  // from a dependency that is merely busy does not cost a heal (which may drop its connections); the
  // failures are still reported as they happen. Must be at least 1.
  uint32_t heal_after_failures = 1;
  uint32_t max_heal_attempts = 3;    // per unhealthy episode (reset by a HEALTHY result)
  // Wait before attempt n+1 after attempt n: min(max, initial * multiplier^(n-1)). Always applied: by a
  // timer when Environment::scheduler is set, otherwise by Environment::sleep_for on the executor
  // thread that runs the heal (so with no scheduler and an InlineExecutor, the caller of run_check
  // waits through the backoff).
  Duration heal_backoff_initial = std::chrono::seconds(1);
  double heal_backoff_multiplier = 2.0;
  Duration heal_backoff_max = std::chrono::seconds(30);
};

struct HealthMonitorConfig {
  // availability >= running_threshold -> RUNNING; >= degraded_threshold -> DEGRADED; else CRITICAL.
  double running_threshold = 0.9;
  double degraded_threshold = 0.5;
  // How often start() re-evaluates staleness between results.
  Duration sweep_interval = std::chrono::seconds(1);
  // A monitor timer running more than this after its due time means the monitor was paused (could not
  // run) from the due time on. Below it, lateness is ordinary timer-thread wake-up jitter.
  Duration timer_lateness_tolerance = std::chrono::milliseconds(5);
};

struct CheckSnapshot {
  std::string name;
  HealthStatus status = HealthStatus::kUnknown;  // UNKNOWN when never run or stale
  bool stale = false;
  bool reported = false;
  std::string message;
  Duration latency = Duration::zero();
  TimePoint last_result{};
  uint32_t heal_attempts = 0;  // in the current episode
  bool heal_exhausted = false;
  uint32_t consecutive_failures = 0;  // UNHEALTHY results in a row, up to the latest
};

struct HealthSnapshot {
  SystemState state = SystemState::kRunning;
  double availability = 1.0;  // weighted, over checks that have reported at least once
  int score = 100;            // round(100 * availability)
  std::vector<CheckSnapshot> checks;
};

class HealthMonitor {
 public:
  // `executor` runs checks and heal functions; it must outlive the monitor's running tasks (results
  // arriving after the monitor is destroyed are dropped safely).
  HealthMonitor(HealthMonitorConfig config, Environment env, Executor& executor);
  ~HealthMonitor();
  HealthMonitor(const HealthMonitor&) = delete;
  HealthMonitor& operator=(const HealthMonitor&) = delete;

  // Throws std::invalid_argument on an empty or duplicate name, a missing check function or a zero
  // heal_after_failures.
  void add_check(HealthCheckConfig check);

  // Runs every check now and then every `interval` (needs Environment::scheduler), plus the stale
  // sweep. stop() cancels all timers (results in flight are still recorded).
  void start();
  void stop();

  // Runs one check / all checks now (skips a check whose previous run is still in flight).
  void run_check(const std::string& name);
  void run_all();

  HealthSnapshot snapshot() const;

 private:
  struct Entry {
    HealthCheckConfig cfg;
    bool reported = false;
    HealthStatus status = HealthStatus::kUnknown;
    std::string message;
    Duration latency = Duration::zero();
    TimePoint last_result{};
    bool stale_announced = false;
    bool in_flight = false;
    uint64_t run_id = 0;
    TimePoint started{};
    Scheduler::TaskId timeout_timer = 0;  // nonzero while pending
    TimePoint timeout_due{};
    Duration timeout_extension = Duration::zero();  // granted to the current run for monitor pauses
    Scheduler::TaskId interval_timer = 0;  // nonzero while pending
    TimePoint interval_due{};
    // Monitor pause time since the last result, not counted in its age: the union of the intervals
    // [due, ran] of late monitor timers, counted up to `paused_counted_until`.
    Duration pause_credit = Duration::zero();
    TimePoint paused_counted_until{};
    uint32_t heal_attempts = 0;
    uint32_t consecutive_failures = 0;
    bool heal_busy = false;  // an attempt is running, scheduled, or being waited for
    uint64_t heal_episode = 0;  // bumped by every HEALTHY result (which ends any healing episode)
    bool heal_exhausted = false;
    Scheduler::TaskId heal_timer = 0;
  };
  struct Out;  // events and follow-up work collected under the lock, done after it

  // Who delivers a result. kInline: the check ran on the thread that started it, inside
  // Executor::submit, so that thread (possibly the timer thread) was busy with the check itself and
  // the timeout timer's lateness is no monitor pause.
  enum class Reporter : uint8_t { kWorker, kInline, kTimeoutTimer };
  void finish(const std::string& name, uint64_t run_id, CheckResult r, Reporter from);
  void timeout_fired(const std::string& name, uint64_t run_id);
  void interval_tick(const std::string& name);
  void heal_done(const std::string& name, uint32_t attempt, HealResult r);
  // Starts the next attempt now, or (no scheduler) after waiting `wait_first` through env_.sleep_for.
  void start_heal(const std::string& name, Out& out, Duration wait_first = Duration::zero());
  void heal_after_backoff(const std::string& name, uint64_t episode);
  void on_unhealthy_locked(Entry& e, Out& out);
  void recompute_locked(Out& out);
  void sweep();
  void schedule_interval(const std::string& name);
  void flush(Out& out);
  Duration stale_after(const Entry& e) const;
  bool is_stale(const Entry& e, TimePoint now) const;
  // A monitor timer due at `due` ran at `now`: when that is later than the tolerance, the monitor was
  // paused over [due, now]; every check gets that time (once, and only after its last result) as credit.
  void note_timer_ran_locked(TimePoint due, TimePoint now);
  // The earliest due time of a pending monitor timer that is overdue beyond the tolerance: the monitor
  // is paused right now, since then (seen by a snapshot or a result arriving before the timer runs).
  bool overdue_since_locked(TimePoint now, TimePoint* since) const;
  Duration pause_credit_locked(const Entry& e, TimePoint now) const;
  std::string stale_message(const Entry& e, TimePoint now) const;
  Duration heal_backoff(const Entry& e, uint32_t attempt) const;

  const HealthMonitorConfig config_;
  const Environment env_;
  Executor& executor_;
  mutable std::mutex mu_;
  std::map<std::string, Entry> entries_;
  SystemState state_ = SystemState::kRunning;
  bool started_ = false;
  Scheduler::TaskId sweep_timer_ = 0;  // nonzero while pending
  TimePoint sweep_due_{};
  internal::Anchor<HealthMonitor> anchor_{this};
};

}  // namespace chaos::resilience
