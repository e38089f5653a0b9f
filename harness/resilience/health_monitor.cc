// Check scheduling, timeouts, healing episodes and weighted aggregation (see health_monitor.h).
#include "health_monitor.h"

#include <algorithm>
#include <cmath>
#include <exception>
#include <stdexcept>

namespace chaos::resilience {
namespace {

double ms(Duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

std::string ms_text(Duration d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.0f ms", ms(d));
  return buf;
}

// The monitor whose flush() is inside Executor::submit on this thread: a check reporting while it is
// set to its own monitor ran inline, on the thread that started it.
thread_local const void* t_submitting_monitor = nullptr;

double credit(HealthStatus s) {
  switch (s) {
    case HealthStatus::kHealthy: return 1.0;
    case HealthStatus::kDegraded: return 0.5;
    default: return 0.0;
  }
}

}  // namespace

std::string_view to_string(HealthStatus s) {
  switch (s) {
    case HealthStatus::kHealthy: return "HEALTHY";
    case HealthStatus::kDegraded: return "DEGRADED";
    case HealthStatus::kUnhealthy: return "UNHEALTHY";
    case HealthStatus::kUnknown: return "UNKNOWN";
  }
  return "UNKNOWN";
}

std::string_view to_string(SystemState s) {
  switch (s) {
    case SystemState::kRunning: return "RUNNING";
    case SystemState::kDegraded: return "DEGRADED";
    case SystemState::kCritical: return "CRITICAL";
  }
  return "CRITICAL";
}

struct HealthMonitor::Out {
  std::vector<Event> events;
  std::vector<std::function<void()>> work;
  std::vector<std::string> rechecks;
};

HealthMonitor::HealthMonitor(HealthMonitorConfig config, Environment env, Executor& executor)
    : config_(config), env_(env), executor_(executor) {}

HealthMonitor::~HealthMonitor() {
  anchor_.detach();
  std::lock_guard<std::mutex> lock(mu_);
  if (!env_.scheduler) return;
  for (auto& [_, e] : entries_) {
    for (auto id : {e.timeout_timer, e.interval_timer, e.heal_timer})
      if (id) env_.scheduler->cancel(id);
  }
  if (sweep_timer_) env_.scheduler->cancel(sweep_timer_);
}

void HealthMonitor::add_check(HealthCheckConfig check) {
  if (check.name.empty()) throw std::invalid_argument("health check needs a name");
  if (!check.check) throw std::invalid_argument("health check '" + check.name + "' has no check function");
  if (check.heal_after_failures == 0)
    throw std::invalid_argument("health check '" + check.name + "': heal_after_failures must be at least 1");
  bool schedule = false;
  std::string name = check.name;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (entries_.count(name)) throw std::invalid_argument("health check '" + name + "' added twice");
    Entry e;
    e.cfg = std::move(check);
    entries_.emplace(name, std::move(e));
    schedule = started_;
  }
  if (schedule) schedule_interval(name);
}

Duration HealthMonitor::stale_after(const Entry& e) const {
  if (e.cfg.stale_after > Duration::zero()) return e.cfg.stale_after;
  return std::max<Duration>(3 * e.cfg.interval, e.cfg.interval + e.cfg.timeout);
}

bool HealthMonitor::is_stale(const Entry& e, TimePoint now) const {
  return e.reported && now - e.last_result > stale_after(e) + pause_credit_locked(e, now);
}

void HealthMonitor::note_timer_ran_locked(TimePoint due, TimePoint now) {
  if (now - due <= config_.timer_lateness_tolerance) return;
  for (auto& [_, e] : entries_) {
    // Clipped so that overlapping pauses (several timers late for one freeze) count once, and only
    // the part after the last result counts: the credit is about that result's age.
    const TimePoint from = std::max({due, e.last_result, e.paused_counted_until});
    if (now <= from) continue;
    e.pause_credit += now - from;
    e.paused_counted_until = now;
  }
}

bool HealthMonitor::overdue_since_locked(TimePoint now, TimePoint* since) const {
  bool any = false;
  TimePoint earliest = TimePoint::max();
  auto consider = [&](Scheduler::TaskId id, TimePoint due) {
    if (id && due < earliest) {
      earliest = due;
      any = true;
    }
  };
  consider(sweep_timer_, sweep_due_);
  for (const auto& [_, e] : entries_) {
    consider(e.interval_timer, e.interval_due);
    consider(e.timeout_timer, e.timeout_due);
  }
  if (!any || now - earliest <= config_.timer_lateness_tolerance) return false;
  *since = earliest;
  return true;
}

Duration HealthMonitor::pause_credit_locked(const Entry& e, TimePoint now) const {
  Duration c = e.pause_credit;
  TimePoint since;
  if (overdue_since_locked(now, &since)) {
    // The pause still going on: counted as if the overdue timer ran now (it will, and then records it).
    const TimePoint from = std::max({since, e.last_result, e.paused_counted_until});
    if (now > from) c += now - from;
  }
  return c;
}

Duration HealthMonitor::heal_backoff(const Entry& e, uint32_t attempt) const {
  const double factor = std::pow(std::max(1.0, e.cfg.heal_backoff_multiplier),
                                 static_cast<double>(std::max<uint32_t>(attempt, 1) - 1));
  const double d = std::min(static_cast<double>(e.cfg.heal_backoff_max.count()),
                            static_cast<double>(e.cfg.heal_backoff_initial.count()) * factor);
  return Duration(static_cast<int64_t>(d));
}

// ---------------------------------------------------------------- scheduling

void HealthMonitor::start() {
  if (!env_.scheduler) throw std::logic_error("HealthMonitor::start needs Environment::scheduler");
  std::vector<std::string> names;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (started_) return;
    started_ = true;
    for (const auto& [n, _] : entries_) names.push_back(n);
    sweep_due_ = env_.clock->now() + config_.sweep_interval;
    sweep_timer_ = env_.scheduler->schedule_after(config_.sweep_interval,
                                                  anchor_.bind([](HealthMonitor& s) { s.sweep(); }));
  }
  for (const auto& n : names) schedule_interval(n);
}

void HealthMonitor::stop() {
  std::lock_guard<std::mutex> lock(mu_);
  started_ = false;
  if (!env_.scheduler) return;
  for (auto& [_, e] : entries_) {
    if (e.interval_timer) env_.scheduler->cancel(e.interval_timer);
    if (e.heal_timer) env_.scheduler->cancel(e.heal_timer);
    e.interval_timer = e.heal_timer = 0;
  }
  if (sweep_timer_) env_.scheduler->cancel(sweep_timer_);
  sweep_timer_ = 0;
}

// Runs the check now (on the timer thread, not the caller's) and then every interval while started.
void HealthMonitor::schedule_interval(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = entries_.find(name);
  if (!started_ || it == entries_.end()) return;
  it->second.interval_due = env_.clock->now();
  it->second.interval_timer = env_.scheduler->schedule_after(
      Duration::zero(), anchor_.bind([name](HealthMonitor& s) { s.interval_tick(name); }));
}

void HealthMonitor::interval_tick(const std::string& name) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto& e = entries_.at(name);
    const TimePoint now = env_.clock->now();
    e.interval_timer = 0;
    note_timer_ran_locked(e.interval_due, now);
    if (!started_) return;
    e.interval_due = now + e.cfg.interval;
    e.interval_timer = env_.scheduler->schedule_after(
        e.cfg.interval, anchor_.bind([name](HealthMonitor& s) { s.interval_tick(name); }));
  }
  run_check(name);
}

void HealthMonitor::sweep() {
  Out out;
  {
    std::lock_guard<std::mutex> lock(mu_);
    const TimePoint now = env_.clock->now();
    sweep_timer_ = 0;
    // First: a late sweep is itself evidence of a monitor pause that it must not charge to the checks.
    note_timer_ran_locked(sweep_due_, now);
    if (!started_) return;
    recompute_locked(out);
    sweep_due_ = now + config_.sweep_interval;
    sweep_timer_ = env_.scheduler->schedule_after(config_.sweep_interval,
                                                  anchor_.bind([](HealthMonitor& s) { s.sweep(); }));
  }
  flush(out);
}

// ---------------------------------------------------------------- checks

void HealthMonitor::run_all() {
  std::vector<std::string> names;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [n, _] : entries_) names.push_back(n);
  }
  for (const auto& n : names) run_check(n);
}

void HealthMonitor::run_check(const std::string& name) {
  Out out;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = entries_.find(name);
    if (it == entries_.end()) throw std::invalid_argument("no health check named '" + name + "'");
    Entry& e = it->second;
    if (e.in_flight) return;  // never two runs of one check at once
    e.in_flight = true;
    const uint64_t id = ++e.run_id;
    e.started = env_.clock->now();
    e.timeout_extension = Duration::zero();
    const Duration timeout = e.cfg.timeout;
    if (env_.scheduler && timeout > Duration::zero()) {
      e.timeout_due = e.started + timeout;
      e.timeout_timer = env_.scheduler->schedule_after(
          timeout, anchor_.bind([name, id](HealthMonitor& s) { s.timeout_fired(name, id); }));
    }
    out.work.push_back([h = anchor_.handle(), fn = e.cfg.check, name, id]() {
      CheckResult r;
      try {
        r = fn();
      } catch (const std::exception& ex) {
        r = CheckResult::unhealthy(std::string("check threw: ") + ex.what());
      } catch (...) {
        r = CheckResult::unhealthy("check threw a non-standard exception");
      }
      h.run([&](HealthMonitor& s) {
        s.finish(name, id, std::move(r),
                 t_submitting_monitor == &s ? Reporter::kInline : Reporter::kWorker);
      });
    });
  }
  flush(out);
}

void HealthMonitor::timeout_fired(const std::string& name, uint64_t run_id) {
  Duration timeout, extension;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = entries_.find(name);
    if (it == entries_.end()) return;
    Entry& e = it->second;
    if (!e.in_flight || e.run_id != run_id) return;
    const TimePoint now = env_.clock->now();
    const Duration late = now - e.timeout_due;
    e.timeout_timer = 0;
    note_timer_ran_locked(e.timeout_due, now);
    timeout = e.cfg.timeout;
    // Late by more than jitter: the monitor was paused, and the check's answer may be ready but not yet
    // delivered (its thread was paused too). Wait as long again as the pause, within a budget of one
    // more timeout per run, so a check that never answers is still timed out.
    const Duration budget = timeout - e.timeout_extension;
    if (late > config_.timer_lateness_tolerance && budget > Duration::zero()) {
      const Duration more = std::min(late, budget);
      e.timeout_extension += more;
      e.timeout_due = now + more;
      e.timeout_timer = env_.scheduler->schedule_after(
          more, anchor_.bind([name, run_id](HealthMonitor& s) { s.timeout_fired(name, run_id); }));
      return;
    }
    extension = e.timeout_extension;
  }
  std::string message = "timed out after " + ms_text(timeout);
  if (extension > Duration::zero()) message += " (+" + ms_text(extension) + " for monitor pauses)";
  finish(name, run_id, CheckResult::unhealthy(std::move(message)), Reporter::kTimeoutTimer);
}

void HealthMonitor::finish(const std::string& name, uint64_t run_id, CheckResult r, Reporter from) {
  Out out;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = entries_.find(name);
    if (it == entries_.end()) return;
    Entry& e = it->second;
    if (!e.in_flight || e.run_id != run_id) return;  // a late answer after its timeout: dropped
    e.in_flight = false;
    const TimePoint now = env_.clock->now();
    const Duration latency = now - e.started;
    bool late = false;
    if (e.cfg.timeout > Duration::zero() && from != Reporter::kTimeoutTimer) {
      if (e.timeout_timer && from == Reporter::kWorker) {
        // The timer is still pending, so the monitor has not declared a timeout. At or past its due
        // time, the timer is overdue: beyond the tolerance that is a monitor pause, and the timer,
        // had it won the race, would have extended the wait (if budget is left): so the answer wins.
        const Duration overdue = now - e.timeout_due;
        late = overdue >= Duration::zero() &&
               (overdue <= config_.timer_lateness_tolerance || e.timeout_extension >= e.cfg.timeout);
        note_timer_ran_locked(e.timeout_due, now);
      } else {
        // No timer (or it fired just now and lost the race to this answer), or the check ran inline
        // and so itself kept the timer from running: the latency decides.
        late = latency >= e.cfg.timeout;
      }
    }
    if (e.timeout_timer && env_.scheduler) env_.scheduler->cancel(e.timeout_timer);
    e.timeout_timer = 0;
    if (late) {
      r = CheckResult::unhealthy("timed out: took " + ms_text(latency) + " >= " +
                                 ms_text(e.cfg.timeout));
    }
    e.reported = true;
    e.status = r.status == HealthStatus::kUnknown ? HealthStatus::kUnhealthy : r.status;
    e.message = std::move(r.message);
    e.latency = latency;
    e.last_result = now;
    e.pause_credit = Duration::zero();
    e.paused_counted_until = now;
    e.stale_announced = false;
    e.consecutive_failures = e.status == HealthStatus::kUnhealthy ? e.consecutive_failures + 1 : 0;
    if (env_.events) {
      EventFields f{{"check", name},
                    {"status", to_string(e.status)},
                    {"latency_ms", ms(latency)},
                    {"message", e.message}};
      if (e.consecutive_failures > 0) f["consecutive_failures"] = e.consecutive_failures;
      out.events.push_back(Event{"health.check", to_us(now), name, std::move(f)});
    }
    if (e.status == HealthStatus::kHealthy) {
      ++e.heal_episode;
      e.heal_attempts = 0;
      e.heal_exhausted = false;
      if (e.heal_timer && env_.scheduler) env_.scheduler->cancel(e.heal_timer);
      if (e.heal_timer) e.heal_busy = false;
      e.heal_timer = 0;
    } else if (e.status == HealthStatus::kUnhealthy) {
      on_unhealthy_locked(e, out);
    }
    recompute_locked(out);
  }
  flush(out);
}

// ---------------------------------------------------------------- healing

void HealthMonitor::on_unhealthy_locked(Entry& e, Out& out) {
  if (!e.cfg.auto_heal || !e.cfg.heal || e.heal_busy || e.heal_exhausted) return;
  const std::string& name = e.cfg.name;
  if (e.heal_attempts >= e.cfg.max_heal_attempts) {
    e.heal_exhausted = true;
    if (env_.events)
      out.events.push_back(Event{"heal.exhausted", to_us(env_.clock->now()), name,
                                 EventFields{{"check", name}, {"attempts", e.heal_attempts}}});
    return;
  }
  if (e.heal_attempts == 0) {
    // Not yet an episode worth healing: the next UNHEALTHY result comes back here.
    if (e.consecutive_failures < e.cfg.heal_after_failures) return;
    start_heal(name, out);
    return;
  }
  // A previous attempt "succeeded" but the check is still unhealthy: back off before the next.
  if (!env_.scheduler) {
    start_heal(name, out, heal_backoff(e, e.heal_attempts));
    return;
  }
  e.heal_busy = true;
  e.heal_timer = env_.scheduler->schedule_after(
      heal_backoff(e, e.heal_attempts), anchor_.bind([name](HealthMonitor& s) {
        Out o;
        {
          std::lock_guard<std::mutex> lock(s.mu_);
          auto& en = s.entries_.at(name);
          en.heal_timer = 0;
          en.heal_busy = false;
          if (en.status == HealthStatus::kHealthy) return;
          s.start_heal(name, o);
        }
        s.flush(o);
      }));
}

void HealthMonitor::start_heal(const std::string& name, Out& out, Duration wait_first) {
  Entry& e = entries_.at(name);
  e.heal_busy = true;
  if (wait_first > Duration::zero()) {
    // No scheduler to set a timer on: the backoff is waited out through the Environment (a real sleep
    // on an executor thread by default; a manual-clock advance in tests), then the episode is looked
    // at again. The attempt is numbered only when it actually starts.
    out.work.push_back([h = anchor_.handle(), env = env_, name, episode = e.heal_episode, wait_first]() {
      env.sleep_for(wait_first);
      h.run([&](HealthMonitor& s) { s.heal_after_backoff(name, episode); });
    });
    return;
  }
  const uint32_t attempt = ++e.heal_attempts;
  out.work.push_back([h = anchor_.handle(), fn = e.cfg.heal, name, attempt]() {
    HealResult r;
    try {
      r = fn();
    } catch (const std::exception& ex) {
      r = {false, std::string("heal threw: ") + ex.what()};
    } catch (...) {
      r = {false, "heal threw a non-standard exception"};
    }
    h.run([&](HealthMonitor& s) { s.heal_done(name, attempt, std::move(r)); });
  });
}

void HealthMonitor::heal_after_backoff(const std::string& name, uint64_t episode) {
  Out out;
  {
    std::lock_guard<std::mutex> lock(mu_);
    Entry& e = entries_.at(name);
    e.heal_busy = false;
    if (e.status == HealthStatus::kHealthy) {
      // Recovered during the wait: the episode is over, nothing to do.
    } else if (e.heal_episode != episode) {
      // Recovered and failed again during the wait: that new episode's first attempt was held back by
      // this wait (heal_busy) and runs now.
      on_unhealthy_locked(e, out);
    } else {
      start_heal(name, out);
    }
  }
  flush(out);
}

void HealthMonitor::heal_done(const std::string& name, uint32_t attempt, HealResult r) {
  Out out;
  {
    std::lock_guard<std::mutex> lock(mu_);
    Entry& e = entries_.at(name);
    e.heal_busy = false;
    const TimePoint now = env_.clock->now();
    const bool more = !r.ok && attempt < e.cfg.max_heal_attempts &&
                      e.status != HealthStatus::kHealthy;
    const Duration delay = heal_backoff(e, attempt);
    if (env_.events) {
      EventFields f{{"check", name},
                    {"attempt", attempt},
                    {"outcome", r.ok ? "success" : "failure"},
                    {"message", r.message}};
      if (more) f["next_delay_ms"] = ms(delay);
      out.events.push_back(Event{"heal.attempt", to_us(now), name, std::move(f)});
    }
    if (r.ok) {
      out.rechecks.push_back(name);  // confirm the repair instead of trusting it
    } else if (more) {
      if (env_.scheduler) {
        e.heal_busy = true;
        e.heal_timer = env_.scheduler->schedule_after(delay, anchor_.bind([name](HealthMonitor& s) {
          Out o;
          {
            std::lock_guard<std::mutex> lock(s.mu_);
            auto& en = s.entries_.at(name);
            en.heal_timer = 0;
            en.heal_busy = false;
            if (en.status == HealthStatus::kHealthy) return;
            s.start_heal(name, o);
          }
          s.flush(o);
        }));
      } else {
        start_heal(name, out, delay);
      }
    } else if (!r.ok && e.status != HealthStatus::kHealthy) {
      e.heal_exhausted = true;
      if (env_.events)
        out.events.push_back(Event{"heal.exhausted", to_us(now), name,
                                   EventFields{{"check", name}, {"attempts", attempt}}});
    }
  }
  flush(out);
}

// ---------------------------------------------------------------- aggregation

std::string HealthMonitor::stale_message(const Entry& e, TimePoint now) const {
  std::string m = "stale: no result for " + ms_text(now - e.last_result);
  const Duration paused = pause_credit_locked(e, now);
  if (paused > Duration::zero()) m += " (" + ms_text(paused) + " of monitor pauses not counted)";
  return m;
}

void HealthMonitor::recompute_locked(Out& out) {
  const TimePoint now = env_.clock->now();
  double weighted = 0, total = 0;
  bool critical_down = false;
  for (auto& [name, e] : entries_) {
    if (!e.reported) continue;
    const bool stale = is_stale(e, now);
    const HealthStatus st = stale ? HealthStatus::kUnknown : e.status;
    if (stale && !e.stale_announced) {
      e.stale_announced = true;
      if (env_.events)
        out.events.push_back(Event{"health.check", to_us(now), name,
                                   EventFields{{"check", name},
                                               {"status", "UNKNOWN"},
                                               {"latency_ms", 0.0},
                                               {"message", stale_message(e, now)}}});
    }
    const double w = std::max(0.0, e.cfg.weight);
    weighted += w * credit(st);
    total += w;
    if (e.cfg.critical && (st == HealthStatus::kUnhealthy || st == HealthStatus::kUnknown))
      critical_down = true;
  }
  const double availability = total > 0 ? weighted / total : 1.0;
  SystemState next = SystemState::kCritical;
  if (!critical_down) {
    if (availability >= config_.running_threshold) {
      next = SystemState::kRunning;
    } else if (availability >= config_.degraded_threshold) {
      next = SystemState::kDegraded;
    }
  }
  if (next != state_) {
    if (env_.events)
      out.events.push_back(Event{"health.state", to_us(now), "",
                                 EventFields{{"state", to_string(next)},
                                             {"previous", to_string(state_)},
                                             {"score", static_cast<int>(std::lround(availability * 100))},
                                             {"availability", availability}}});
    state_ = next;
  }
}

HealthSnapshot HealthMonitor::snapshot() const {
  std::lock_guard<std::mutex> lock(mu_);
  HealthSnapshot s;
  const TimePoint now = env_.clock->now();
  double weighted = 0, total = 0;
  bool critical_down = false;
  for (const auto& [name, e] : entries_) {
    CheckSnapshot c;
    c.name = name;
    c.reported = e.reported;
    c.stale = is_stale(e, now);
    c.status = (!e.reported || c.stale) ? HealthStatus::kUnknown : e.status;
    c.message = e.message;
    c.latency = e.latency;
    c.last_result = e.last_result;
    c.heal_attempts = e.heal_attempts;
    c.heal_exhausted = e.heal_exhausted;
    c.consecutive_failures = e.consecutive_failures;
    if (e.reported) {
      const double w = std::max(0.0, e.cfg.weight);
      weighted += w * credit(c.status);
      total += w;
      if (e.cfg.critical &&
          (c.status == HealthStatus::kUnhealthy || c.status == HealthStatus::kUnknown))
        critical_down = true;
    }
    s.checks.push_back(std::move(c));
  }
  s.availability = total > 0 ? weighted / total : 1.0;
  s.score = static_cast<int>(std::lround(s.availability * 100));
  s.state = critical_down                                     ? SystemState::kCritical
            : s.availability >= config_.running_threshold  ? SystemState::kRunning
            : s.availability >= config_.degraded_threshold ? SystemState::kDegraded
                                                            : SystemState::kCritical;
  return s;
}

void HealthMonitor::flush(Out& out) {
  if (env_.events)
    for (auto& ev : out.events) env_.events->publish(std::move(ev));
  for (auto& w : out.work) {
    const void* outer = t_submitting_monitor;
    t_submitting_monitor = this;
    try {
      executor_.submit(std::move(w));
    } catch (...) {
      t_submitting_monitor = outer;
      throw;
    }
    t_submitting_monitor = outer;
  }
  for (const auto& n : out.rechecks) run_check(n);
}

}  // namespace chaos::resilience
