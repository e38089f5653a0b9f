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
  return e.cfg.stale_after > Duration::zero() ? e.cfg.stale_after : 3 * e.cfg.interval;
}

bool HealthMonitor::is_stale(const Entry& e, TimePoint now) const {
  return e.reported && now - e.last_result > stale_after(e);
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

// Runs the check now and re-arms itself every interval while started.
void HealthMonitor::schedule_interval(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = entries_.find(name);
  if (!started_ || it == entries_.end()) return;
  it->second.interval_timer = env_.scheduler->schedule_after(
      Duration::zero(), anchor_.bind([name](HealthMonitor& s) {
        Duration interval;
        {
          std::lock_guard<std::mutex> lock(s.mu_);
          auto& e = s.entries_.at(name);
          if (!s.started_) return;
          interval = e.cfg.interval;
          e.interval_timer = s.env_.scheduler->schedule_after(
              interval, s.anchor_.bind([name](HealthMonitor& s2) { s2.schedule_interval(name); }));
        }
        s.run_check(name);
      }));
}

void HealthMonitor::sweep() {
  Out out;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!started_) return;
    recompute_locked(out);
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
    const Duration timeout = e.cfg.timeout;
    if (env_.scheduler && timeout > Duration::zero()) {
      e.timeout_timer = env_.scheduler->schedule_after(
          timeout, anchor_.bind([name, id, timeout](HealthMonitor& s) {
            s.finish(name, id, CheckResult::unhealthy("timed out after " + ms_text(timeout)));
          }));
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
      h.run([&](HealthMonitor& s) { s.finish(name, id, std::move(r)); });
    });
  }
  flush(out);
}

void HealthMonitor::finish(const std::string& name, uint64_t run_id, CheckResult r) {
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
    if (e.timeout_timer && env_.scheduler) env_.scheduler->cancel(e.timeout_timer);
    e.timeout_timer = 0;
    // Without a timer (or before it fired) the answer may still have come too late.
    if (e.cfg.timeout > Duration::zero() && latency >= e.cfg.timeout &&
        r.message.rfind("timed out", 0) != 0) {
      r = CheckResult::unhealthy("timed out: took " + ms_text(latency) + " >= " +
                                 ms_text(e.cfg.timeout));
    }
    e.reported = true;
    e.status = r.status == HealthStatus::kUnknown ? HealthStatus::kUnhealthy : r.status;
    e.message = std::move(r.message);
    e.latency = latency;
    e.last_result = now;
    e.stale_announced = false;
    if (env_.events) {
      out.events.push_back(Event{"health.check", to_us(now), name,
                                 EventFields{{"check", name},
                                             {"status", to_string(e.status)},
                                             {"latency_ms", ms(latency)},
                                             {"message", e.message}}});
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
                                               {"message", "stale: no result for " +
                                                               ms_text(now - e.last_result)}}});
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
  for (auto& w : out.work) executor_.submit(std::move(w));
  for (const auto& n : out.rechecks) run_check(n);
}

}  // namespace chaos::resilience
