// Counters every mock exposes on GET /stats. Owned and updated by the single event-loop thread.
#pragma once

#include <array>
#include <cstdint>

namespace chaos::mocks {

struct Stats {
  uint64_t requests_received = 0;
  uint64_t requests_served = 0;           // answered normally (a delayed answer counts too)
  std::array<uint64_t, 32> by_kind{};     // requests touched by fault kind i (registry order)
  uint64_t connections_open = 0;
  uint64_t connections_accepted = 0;
  uint64_t connections_dropped = 0;       // closed by the mock because of a fault or libfiu point

  void reset_counters() {
    uint64_t open = connections_open;
    *this = Stats{};
    connections_open = open;  // a gauge, not a counter
  }
};

}  // namespace chaos::mocks
