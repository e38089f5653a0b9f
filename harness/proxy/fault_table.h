// The shared fault wrapper of the proxy: validates fault specs, runs their lifecycle (start delay,
// duration, removal) and tells the runtime which faults are active. Direction and probability are
// applied by the runtime when a link attaches a fault (ProxyFaultTable::attach), so once for every kind.
// Time and randomness are injected: all of it is tested on a manual clock. Single-threaded (the
// proxy's event loop owns it; the control API runs on the same loop).
#pragma once

#include "proxy/fault_registry.h"

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace chaos::proxy {

// One active fault as a link sees it.
struct ActiveFault {
  uint64_t serial;  // unique for the life of the process, never reused
  int kind_index;
  const FaultCommon* common;
  const FaultKind* kind;
};

class ProxyFaultTable {
 public:
  static constexpr size_t kMaxFaults = 256;

  ProxyFaultTable(const Clock& clock, Random& rng, ProxyControl& proxy) : clock_(clock), rng_(rng), proxy_(proxy) {}
  ~ProxyFaultTable();
  ProxyFaultTable(const ProxyFaultTable&) = delete;
  ProxyFaultTable& operator=(const ProxyFaultTable&) = delete;

  // Validates `spec` and adds it; a fault with no start delay starts at once. Returns its id.
  // Throws FaultSpecError with a message naming the offending field.
  std::string add(const nlohmann::json& spec);
  bool remove(std::string_view id);  // false if no such fault
  void clear();
  nlohmann::json list() const;
  size_t size() const { return faults_.size(); }

  // Starts and ends faults whose time has come; returns when it must run next (nullopt: nothing timed).
  std::optional<TimePoint> update();

  // Changes whenever the set of active faults changes: links re-attach only then.
  uint64_t generation() const { return generation_; }
  // The active per-link faults that apply to `d`, in insertion order.
  std::vector<ActiveFault> active_for(Direction d) const;
  // The probability draw for one link meeting one fault, from the seeded RNG.
  bool draw(double probability) { return probability >= 1.0 || (probability > 0 && rng_.uniform() < probability); }

  // Times each kind took effect: a link attached it after a lucky draw, or a proxy-wide kind started.
  std::array<uint64_t, 32>& applied() { return applied_; }

 private:
  struct Entry {
    FaultCommon common;
    int kind_index = 0;
    bool per_link = true;
    uint64_t serial = 0;
    std::unique_ptr<FaultKind> kind;
    TimePoint added;
    bool active = false;
    bool took_effect = false;  // proxy-wide kinds: the start-time draw was lucky
    TimePoint starts() const { return added + common.start_delay; }
    std::optional<TimePoint> ends() const {
      if (!common.duration) return std::nullopt;
      return starts() + *common.duration;
    }
  };
  void activate(Entry& e);
  void deactivate(Entry& e);

  const Clock& clock_;
  Random& rng_;
  ProxyControl& proxy_;
  std::vector<std::unique_ptr<Entry>> faults_;
  uint64_t next_id_ = 1, next_serial_ = 1, generation_ = 0;
  std::array<uint64_t, 32> applied_{};
};

}  // namespace chaos::proxy
