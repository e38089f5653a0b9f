// The registry maps a fault's JSON "type" to its kind. It is the only list of kinds in the proxy.
#pragma once

#include "proxy/toxic.h"

#include "core/field_reader.h"  // mocks/core: the same field validation (and 400 wording) as the mocks

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace chaos::proxy {

using mocks::FaultSpecError;
using mocks::FieldReader;

// The fields every fault has, already validated; the shared wrapper applies them.
struct FaultCommon {
  std::string type;
  std::string id;
  double probability = 1.0;
  Duration start_delay{0};
  std::optional<Duration> duration;  // nullopt = until cleared
  bool upstream = true;              // direction "upstream" or "both"
  bool downstream = true;            // direction "downstream" or "both"
  bool applies_to(Direction d) const { return d == Direction::kUpstream ? upstream : downstream; }
  std::string direction_name() const { return upstream && downstream ? "both" : upstream ? "upstream" : "downstream"; }
};

struct FaultKindInfo {
  std::string_view type;
  bool per_link;  // false: acts on the whole proxy (no "direction"; probability drawn once at start)
  std::unique_ptr<FaultKind> (*make)(FieldReader& fields, const FaultCommon& common);
};

std::span<const FaultKindInfo> fault_kinds();
int find_fault_kind(std::string_view type);  // index into fault_kinds(), or -1

// The factories, one per file in kinds/.
std::unique_ptr<FaultKind> make_latency_fault(FieldReader&, const FaultCommon&);
std::unique_ptr<FaultKind> make_bandwidth_fault(FieldReader&, const FaultCommon&);
std::unique_ptr<FaultKind> make_timeout_fault(FieldReader&, const FaultCommon&);
std::unique_ptr<FaultKind> make_reset_peer_fault(FieldReader&, const FaultCommon&);
std::unique_ptr<FaultKind> make_slow_close_fault(FieldReader&, const FaultCommon&);
std::unique_ptr<FaultKind> make_slicer_fault(FieldReader&, const FaultCommon&);
std::unique_ptr<FaultKind> make_limit_data_fault(FieldReader&, const FaultCommon&);
std::unique_ptr<FaultKind> make_down_fault(FieldReader&, const FaultCommon&);

}  // namespace chaos::proxy
