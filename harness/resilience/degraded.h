// Degraded mode lets a service keep serving a fraction of the traffic to a struggling dependency and
// shed the rest at once, instead of queueing everything behind it. Shedding is deterministic by
// default (exactly `capacity` of consecutive calls are admitted, evenly spread) or random from the
// injected Random.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "environment.h"
#include "error.h"

namespace chaos::resilience {

struct DegradedConfig {
  double capacity = 1.0;         // fraction admitted, 0..1
  bool random_shedding = false;  // needs Environment::random; otherwise deterministic
};

class DegradedMode {
 public:
  DegradedMode(std::string name, DegradedConfig config = {}, Environment env = {});

  // Clamped to [0, 1]; publishes `degraded.changed` when the value changes.
  void set_capacity(double capacity, const std::string& reason);
  double capacity() const { return capacity_.load(std::memory_order_relaxed); }
  bool degraded() const { return capacity() < 1.0; }

  // True: go ahead. False: shed (counted, and a `degraded.shed` event).
  bool admit();

  template <class F>
  auto execute(F&& f) -> decltype(f()) {
    if (!admit())
      return Error{ErrorCategory::kShed, "degraded mode shed the call to '" + name_ + "'", false};
    return f();
  }

  uint64_t shed() const { return shed_.load(std::memory_order_relaxed); }
  const std::string& name() const { return name_; }

 private:
  const std::string name_;
  const DegradedConfig config_;
  const Environment env_;
  std::atomic<double> capacity_;
  std::atomic<uint64_t> seq_{0};
  std::atomic<uint64_t> shed_{0};
};

}  // namespace chaos::resilience
