// The injected world every pattern runs in: clock, timers, randomness and the event publisher. One
// Environment is usually shared by all instances of a process (registries hand it to what they create).
#pragma once

#include <functional>

#include "common/clock.h"
#include "common/random.h"
#include "events.h"
#include "scheduler.h"

namespace chaos::resilience {

struct Environment {
  const Clock* clock = &SteadyClock::instance();
  // Needed only for timer-driven behaviour (breaker automatic transitions and half-open max wait by
  // timer, health-check intervals, heal backoff). Null: those fall back to checks on the next call.
  Scheduler* scheduler = nullptr;
  // Needed for jitter and random shedding; null means "no randomness" (no jitter, deterministic shed).
  Random* random = nullptr;
  // Null: nothing is published.
  EventPublisher* events = nullptr;

  // How retry backoff waits. Null: a real sleep. Tests pass one that advances a ManualScheduler.
  std::function<void(Duration)> sleep;

  bool publishing() const { return events != nullptr && events->active(); }
  void sleep_for(Duration d) const;
};

}  // namespace chaos::resilience
