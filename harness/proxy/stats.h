// Counters the proxy exposes on GET /stats. Owned and updated by the single event-loop thread.
#pragma once

#include <cstdint>

namespace chaos::proxy {

struct ProxyStats {
  uint64_t connections_accepted = 0;
  uint64_t connections_open = 0;           // a gauge: POST /reset keeps it
  uint64_t connections_closed = 0;
  uint64_t connections_rejected = 0;       // accepted and closed at once: over --max-connections
  uint64_t upstream_connect_failures = 0;  // the client got a close because the upstream refused
  uint64_t bytes_upstream = 0;             // written to the upstream server
  uint64_t bytes_downstream = 0;           // written to clients

  void reset_counters() {
    uint64_t open = connections_open;
    *this = ProxyStats{};
    connections_open = open;
  }
};

}  // namespace chaos::proxy
