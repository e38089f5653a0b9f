// The list of fault kinds, in the order GET /stats reports them.
#include "proxy/fault_registry.h"

#include <array>

namespace chaos::proxy {
namespace {

const std::array<FaultKindInfo, 8> kKinds = {{
    {"latency", true, make_latency_fault},
    {"bandwidth", true, make_bandwidth_fault},
    {"timeout", true, make_timeout_fault},
    {"reset_peer", true, make_reset_peer_fault},
    {"slow_close", true, make_slow_close_fault},
    {"slicer", true, make_slicer_fault},
    {"limit_data", true, make_limit_data_fault},
    {"down", false, make_down_fault},
}};

}  // namespace

std::span<const FaultKindInfo> fault_kinds() { return kKinds; }

int find_fault_kind(std::string_view type) {
  for (size_t i = 0; i < kKinds.size(); ++i)
    if (kKinds[i].type == type) return static_cast<int>(i);
  return -1;
}

}  // namespace chaos::proxy
