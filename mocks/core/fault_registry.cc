// The list of fault kinds: one line per kind, naming the file kinds/<name>.cc, which defines
// `const FaultKindInfo& <name>_fault_kind()`. The line both declares that function and registers it;
// CMake compiles every file in kinds/ by itself, so a new kind is its file plus its line here.
// Order fixes the stats bit of each kind: append new kinds at the end.
#include "core/fault_registry.h"

#include <array>

#define CHAOS_MOCK_FAULT_KINDS(X) \
  X(latency)                      \
  X(hang)                         \
  X(error)                        \
  X(disconnect)                   \
  X(down)                         \
  X(partial)                      \
  X(flap)                         \
  X(crash)                        \
  X(exhaust)                      \
  X(fiu)

namespace chaos::mocks {

#define CHAOS_DECLARE_KIND(name) const FaultKindInfo& name##_fault_kind();
CHAOS_MOCK_FAULT_KINDS(CHAOS_DECLARE_KIND)
#undef CHAOS_DECLARE_KIND

std::span<const FaultKindInfo> fault_kinds() {
#define CHAOS_KIND_ENTRY(name) name##_fault_kind(),
  // A function-local copy: built on first use, so no other static initialiser can see it half-made.
  static const auto kKinds = std::to_array<FaultKindInfo>({CHAOS_MOCK_FAULT_KINDS(CHAOS_KIND_ENTRY)});
#undef CHAOS_KIND_ENTRY
  static_assert(kKinds.size() <= 32, "RequestEffect::kinds is a 32-bit mask");
  return kKinds;
}

int find_fault_kind(std::string_view type) {
  auto kinds = fault_kinds();
  for (size_t i = 0; i < kinds.size(); ++i)
    if (kinds[i].type == type) return static_cast<int>(i);
  return -1;
}

}  // namespace chaos::mocks
