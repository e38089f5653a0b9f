// Deadline arithmetic, plus Environment::sleep_for, which retry backoff waits through.
#include "deadline.h"

#include <algorithm>
#include <thread>

#include "environment.h"

namespace chaos::resilience {

void Environment::sleep_for(Duration d) const {
  if (d <= Duration::zero()) return;
  if (sleep) {
    sleep(d);
  } else {
    std::this_thread::sleep_for(d);
  }
}

std::string_view to_string(TimeoutOp op) {
  switch (op) {
    case TimeoutOp::kConnect: return "connect";
    case TimeoutOp::kRead: return "read";
    case TimeoutOp::kWrite: return "write";
    case TimeoutOp::kOverall: return "overall";
    case TimeoutOp::kDeadline: return "deadline";
  }
  return "deadline";
}

Deadline Deadline::after(const Clock& clock, Duration budget) {
  TimePoint now = clock.now();
  if (budget >= TimePoint::max() - now) return infinite(clock);
  return Deadline(clock, now + std::max(budget, Duration::zero()));
}

Deadline Deadline::child(Duration timeout) const {
  if (timeout <= Duration::zero()) return *this;
  Deadline mine = after(*clock_, timeout);
  return mine.at_ < at_ ? mine : *this;
}

Duration Deadline::remaining() const {
  if (is_infinite()) return Duration::max();
  TimePoint now = clock_->now();
  return now >= at_ ? Duration::zero() : at_ - now;
}

Duration Deadline::budget_for(Duration limit) const {
  Duration r = remaining();
  return limit > Duration::zero() ? std::min(limit, r) : r;
}

TimeoutOp Deadline::binding(TimeoutOp op, Duration limit) const {
  if (limit <= Duration::zero()) return TimeoutOp::kDeadline;
  return remaining() < limit ? TimeoutOp::kDeadline : op;
}

}  // namespace chaos::resilience
