// The one table of fault kinds a scenario may inject: name -> fields with types and ranges. The
// validator, docs/SCENARIOS.md and scenarios/schema.json follow it; adding a kind is one entry in
// fault_kinds.cc (plus its line in the docs and schema, which a test cross-checks).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace chaos::scenario {

enum class FieldType {
  kDurationMs,   // integer milliseconds in [min, max]
  kInteger,      // integer in [min, max]
  kNumber,       // any JSON number in [min, max]
  kProbability,  // number in [0, 1]
  kBool,
  kString,       // non-empty string
  kEnum,         // one of `choices`
};

// Target kinds, as the table and messages name them: the built-in mocks and the fault proxy have a
// fault control API; everything else ("command", "server", "sut") only takes libfiu faults.
inline constexpr const char* kMockRpc = "mock-rpc";
inline constexpr const char* kMockDb = "mock-db";
inline constexpr const char* kMockCache = "mock-cache";
inline constexpr const char* kFaultProxy = "fault-proxy";

struct FaultField {
  std::string name;
  FieldType type = FieldType::kString;
  bool required = false;
  double min = 0, max = 0;            // kDurationMs / kInteger / kNumber
  std::vector<std::string> choices;   // kEnum
  std::vector<std::string> targets;   // non-empty: only valid on these target kinds ("mock-db", "fault-proxy", ...)
  std::string doc;
};

struct FaultKind {
  std::string name;
  std::string doc;
  std::vector<FaultField> fields;     // kind-specific fields (common ones are in common_fault_fields)
  std::vector<std::string> targets;   // target kinds it applies to (ignored when any_target)
  bool any_target = false;            // true: any process with a libfiu fifo (mocks, commands, proxies, "sut")
  std::vector<std::vector<std::string>> at_most_one_of;  // mutually exclusive field groups
};

// Cross-field rules: in kind `kind`, when both are given, field `smaller` must be below field `larger`.
struct FieldOrder {
  std::string kind, smaller, larger;
};
const std::vector<FieldOrder>& field_orders();

// The target kinds with a fault control API, for messages: "mock-rpc, mock-db, mock-cache, fault-proxy".
const std::vector<std::string>& control_api_targets();

// Fields every fault kind accepts: match, probability, start_delay_ms.
const std::vector<FaultField>& common_fault_fields();
const std::vector<FaultKind>& fault_kinds();
const FaultKind* find_fault_kind(const std::string& name);
std::string fault_kind_names();  // "latency, hang, error, ..." for messages
const char* to_string(FieldType t);

}  // namespace chaos::scenario
