// One line per fault kind. Order fixes the stats bit of each kind; append new kinds at the end.
#include "core/fault_registry.h"

#include <array>

namespace chaos::mocks {
namespace {

constexpr std::array<FaultKindInfo, 10> kKinds = {{
    {"latency", true, &make_latency_fault},
    {"hang", true, &make_hang_fault},
    {"error", true, &make_error_fault},
    {"disconnect", true, &make_disconnect_fault},
    {"down", false, &make_down_fault},
    {"partial", true, &make_partial_fault},
    {"flap", false, &make_flap_fault},
    {"crash", false, &make_crash_fault},
    {"exhaust", false, &make_exhaust_fault},
    {"fiu", false, &make_fiu_fault},
}};
static_assert(kKinds.size() <= 32, "RequestEffect::kinds is a 32-bit mask");

}  // namespace

std::span<const FaultKindInfo> fault_kinds() { return kKinds; }

int find_fault_kind(std::string_view type) {
  for (size_t i = 0; i < kKinds.size(); ++i)
    if (kKinds[i].type == type) return static_cast<int>(i);
  return -1;
}

}  // namespace chaos::mocks
