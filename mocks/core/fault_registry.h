// The registry maps a fault's JSON "type" to its kind. It is the only list of kinds in the program.
#pragma once

#include "core/fault.h"
#include "core/field_reader.h"

#include <memory>
#include <span>
#include <string_view>

namespace chaos::mocks {

// The fields every fault has, already validated. The wrapper applies them; kinds may read them too
// (fiu hands `probability` to libfiu).
struct FaultCommon {
  std::string type;
  std::string id;
  std::optional<std::string> match;
  double probability = 1.0;
  Duration start_delay{0};
  std::optional<Duration> duration;  // nullopt = until cleared
};

struct FaultKindInfo {
  std::string_view type;
  bool accepts_match;  // false: a "match" field is rejected (the kind acts on the whole service)
  std::unique_ptr<FaultKind> (*make)(FieldReader& fields, const FaultCommon& common);
};

std::span<const FaultKindInfo> fault_kinds();
// Index into fault_kinds(), or -1.
int find_fault_kind(std::string_view type);

// The factories, one per file in kinds/.
std::unique_ptr<FaultKind> make_latency_fault(FieldReader&, const FaultCommon&);
std::unique_ptr<FaultKind> make_hang_fault(FieldReader&, const FaultCommon&);
std::unique_ptr<FaultKind> make_error_fault(FieldReader&, const FaultCommon&);
std::unique_ptr<FaultKind> make_disconnect_fault(FieldReader&, const FaultCommon&);
std::unique_ptr<FaultKind> make_down_fault(FieldReader&, const FaultCommon&);
std::unique_ptr<FaultKind> make_partial_fault(FieldReader&, const FaultCommon&);
std::unique_ptr<FaultKind> make_flap_fault(FieldReader&, const FaultCommon&);
std::unique_ptr<FaultKind> make_crash_fault(FieldReader&, const FaultCommon&);
std::unique_ptr<FaultKind> make_exhaust_fault(FieldReader&, const FaultCommon&);
std::unique_ptr<FaultKind> make_fiu_fault(FieldReader&, const FaultCommon&);

}  // namespace chaos::mocks
