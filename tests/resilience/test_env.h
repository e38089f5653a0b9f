// Shared fixture pieces: every resilience test runs on a ManualClock with a ManualScheduler and records
// the events it publishes, so assertions can name the exact transitions and timestamps.
#pragma once

#include <memory>

#include "common/clock.h"
#include "resilience/environment.h"
#include "resilience/events.h"
#include "resilience/scheduler.h"

namespace chaos::resilience::testing {

struct TestEnv {
  ManualClock clock;
  ManualScheduler scheduler{clock};
  EventPublisher publisher{clock};
  std::shared_ptr<EventRecorder> recorder = std::make_shared<EventRecorder>();

  TestEnv() {
    publisher.subscribe([r = recorder](const Event& e) { (*r)(e); });
  }
  Environment env(bool with_scheduler = true) {
    Environment e;
    e.clock = &clock;
    e.scheduler = with_scheduler ? &scheduler : nullptr;
    e.events = &publisher;
    return e;
  }
};

}  // namespace chaos::resilience::testing
