// A Deadline is an absolute point on the injected clock that travels down the call tree, so that a
// child call can never be given more time than its parent has left (no timeout cascade: a 3 s child
// under a 1 s parent gets 1 s). Timeouts in C++ are cooperative: the operation reads its budget from
// the Deadline (e.g. to set socket timeouts), and the library treats an answer that arrives after the
// deadline as a TIMEOUT.
#pragma once

#include <chrono>
#include <string_view>

#include "common/clock.h"

namespace chaos::resilience {

enum class TimeoutOp { kConnect, kRead, kWrite, kOverall, kDeadline };
std::string_view to_string(TimeoutOp op);  // "connect", "read", "write", "overall", "deadline"

// Per-operation limits for one dependency. Zero means "no limit of its own" (the deadline still applies).
struct TimeoutConfig {
  Duration connect = std::chrono::seconds(1);
  Duration read = std::chrono::seconds(5);
  Duration write = std::chrono::seconds(5);
  // The whole guarded call, all retries included.
  Duration overall = std::chrono::seconds(10);
};

class Deadline {
 public:
  // No deadline at all.
  static Deadline infinite(const Clock& clock) { return Deadline(clock, TimePoint::max()); }
  static Deadline after(const Clock& clock, Duration budget);
  static Deadline at(const Clock& clock, TimePoint when) { return Deadline(clock, when); }

  // A deadline for a child: `timeout` from now, but never later than this one. Zero or negative
  // `timeout` means "no limit of its own": the child simply inherits this deadline.
  Deadline child(Duration timeout) const;
  // min(limit, remaining): what to give one operation (limit zero = remaining only).
  Duration budget_for(Duration limit) const;
  // Which limit wins for an operation: the op's own, or the inherited deadline.
  TimeoutOp binding(TimeoutOp op, Duration limit) const;

  Duration remaining() const;  // zero when expired; Duration::max() when infinite
  bool expired() const { return !is_infinite() && clock_->now() >= at_; }
  bool is_infinite() const { return at_ == TimePoint::max(); }
  TimePoint when() const { return at_; }
  const Clock& clock() const { return *clock_; }

 private:
  Deadline(const Clock& clock, TimePoint at) : clock_(&clock), at_(at) {}
  const Clock* clock_;
  TimePoint at_;
};

}  // namespace chaos::resilience
