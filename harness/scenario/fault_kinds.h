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

struct FaultField {
  std::string name;
  FieldType type = FieldType::kString;
  bool required = false;
  double min = 0, max = 0;            // kDurationMs / kInteger / kNumber
  std::vector<std::string> choices;   // kEnum
  std::vector<std::string> mocks;     // non-empty: only valid on these mock kinds ("mock-db", ...)
  std::string doc;
};

struct FaultKind {
  std::string name;
  std::string doc;
  std::vector<FaultField> fields;     // kind-specific fields (common ones are in common_fault_fields)
  bool any_target = false;            // false: target must be a built-in mock; true: any service or "sut"
  std::vector<std::vector<std::string>> at_most_one_of;  // mutually exclusive field groups
};

// Fields every fault kind accepts: match, probability, start_delay_ms.
const std::vector<FaultField>& common_fault_fields();
const std::vector<FaultKind>& fault_kinds();
const FaultKind* find_fault_kind(const std::string& name);
std::string fault_kind_names();  // "latency, hang, error, ..." for messages
const char* to_string(FieldType t);

}  // namespace chaos::scenario
