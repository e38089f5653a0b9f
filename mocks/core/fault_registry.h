// The registry maps a fault's JSON "type" to its kind. Its one list of kinds is the X-macro in
// fault_registry.cc; everything else about a kind (name, scope rule, field validation, behaviour) lives
// in its own file in kinds/.
#pragma once

#include "core/fault.h"
#include "core/field_reader.h"

#include <memory>
#include <span>
#include <string_view>

namespace chaos::mocks {

// The fields every fault has, already validated. The wrapper applies them; kinds may read them too
// (fiu hands `probability` to libfiu; crash rejects `duration_ms`).
struct FaultCommon {
  std::string type;
  std::string id;
  std::optional<std::string> match;
  double probability = 1.0;
  Duration start_delay{0};
  std::optional<Duration> duration;  // nullopt = until cleared
  // Set by the table: the kind's position in the registry, i.e. its bit in RequestEffect::kinds, for a
  // kind that builds effects outside apply() (exhaust's answer on broken connections).
  int kind_index = -1;
};

// What one kind file exports, through a function `const FaultKindInfo& <name>_fault_kind()` that the
// registry line declares and calls.
struct FaultKindInfo {
  std::string_view type;
  bool accepts_match;  // false: a "match" field is rejected (the kind acts on the whole service)
  // Reads the kind's own fields and checks any rule it has on the common ones (throws FaultSpecError).
  std::unique_ptr<FaultKind> (*make)(FieldReader& fields, const FaultCommon& common);
};

std::span<const FaultKindInfo> fault_kinds();
// Index into fault_kinds(), or -1.
int find_fault_kind(std::string_view type);

}  // namespace chaos::mocks
