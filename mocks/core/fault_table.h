// The shared fault wrapper: holds the active faults of one mock and applies, once for every kind, the
// request scope (glob on the request key), the probability (seeded RNG), the start delay and the
// duration. Time and randomness are injected, so all of it is tested on a manual clock.
// Single-threaded by design: the mock's event loop owns it (the control API runs on the same loop).
#pragma once

#include "core/fault.h"
#include "core/fault_registry.h"

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace chaos::mocks {

class FaultTable {
 public:
  static constexpr size_t kMaxFaults = 256;

  FaultTable(const Clock& clock, Random& rng, ServiceControl& svc) : clock_(clock), rng_(rng), svc_(svc) {}
  ~FaultTable();
  FaultTable(const FaultTable&) = delete;
  FaultTable& operator=(const FaultTable&) = delete;

  // Validates `spec` and adds it; a fault with no start delay starts at once. Returns its id.
  // Throws FaultSpecError with a message naming the offending field.
  std::string add(const nlohmann::json& spec);
  bool remove(std::string_view id);  // false if no such fault
  void clear();
  nlohmann::json list() const;

  // Starts, ticks and ends faults whose time has come. Returns when it must run next (nullopt: never,
  // until something is added). The runtime arms one timer for it.
  std::optional<TimePoint> update();

  // The hot path: one load and a branch when no request-level fault is active.
  RequestEffect evaluate(std::string_view key) {
    if (active_request_faults_ == 0) return {};
    return evaluate_slow(key);
  }
  bool drop_new_connection(bool* reset) {
    if (active_connection_droppers_ == 0) return false;
    return drop_new_connection_slow(reset);
  }

  size_t size() const { return faults_.size(); }

 private:
  struct Entry {
    FaultCommon common;
    int kind_index;
    std::unique_ptr<FaultKind> kind;
    TimePoint added;
    bool active = false;
    std::optional<TimePoint> next_tick;
    TimePoint starts() const { return added + common.start_delay; }
    std::optional<TimePoint> ends() const {
      if (!common.duration) return std::nullopt;
      return starts() + *common.duration;
    }
  };

  RequestEffect evaluate_slow(std::string_view key);
  bool drop_new_connection_slow(bool* reset);
  bool lucky(double p) { return p >= 1.0 || rng_.uniform() < p; }
  void activate(Entry& e);
  void deactivate(Entry& e);

  const Clock& clock_;
  Random& rng_;
  ServiceControl& svc_;
  std::vector<std::unique_ptr<Entry>> faults_;
  uint64_t next_id_ = 1;
  int active_request_faults_ = 0;
  int active_connection_droppers_ = 0;
};

}  // namespace chaos::mocks
