// The fault kind table. Shared with the mocks' control API (docs/MOCKS.md), which receives the
// scenario's fault object as written plus duration_ms.
#include "scenario/fault_kinds.h"

namespace chaos::scenario {
namespace {

FaultField dur(std::string name, bool required, double min, std::string doc) {
  return FaultField{std::move(name), FieldType::kDurationMs, required, min, 86400000.0, {}, {}, std::move(doc)};
}

}  // namespace

const std::vector<FaultField>& common_fault_fields() {
  static const std::vector<FaultField> fields = {
      {"type", FieldType::kString, true, 0, 0, {}, {}, "the fault kind"},
      {"match", FieldType::kString, false, 0, 0, {}, {},
       "glob on the RPC method / Redis command / SQL text; absent = every request"},
      {"probability", FieldType::kProbability, false, 0, 1, {}, {},
       "chance that a matching request is affected (default 1)"},
      dur("start_delay_ms", false, 0, "delay between injection and the fault taking effect"),
  };
  return fields;
}

const std::vector<FaultKind>& fault_kinds() {
  static const std::vector<FaultKind> kinds = {
      {"latency", "delay every matching response",
       {dur("latency_ms", true, 0, "fixed delay"),
        dur("jitter_ms", false, 0, "random extra delay (default 0)"),
        {"distribution", FieldType::kEnum, false, 0, 0, {"uniform", "normal"}, {},
         "jitter distribution (default uniform)"}},
       false, {}},
      {"hang", "accept and read but never answer", {}, false, {}},
      {"error", "answer with a protocol-correct error",
       {{"status", FieldType::kInteger, false, 400, 599, {}, {"mock-rpc"}, "HTTP status (default 503)"},
        {"message", FieldType::kString, false, 0, 0, {}, {}, "error text"},
        {"sqlstate", FieldType::kString, false, 0, 0, {}, {"mock-db"},
         "PostgreSQL SQLSTATE, 5 characters 0-9/A-Z"}},
       false, {}},
      {"disconnect", "drop every open connection",
       {{"reset", FieldType::kBool, false, 0, 0, {}, {}, "RST instead of FIN (default false)"}},
       false, {}},
      {"down", "refuse new connections (listener closed) for the duration", {}, false, {}},
      {"partial", "send part of the response, then close",
       {{"fraction", FieldType::kNumber, false, 0, 1, {}, {}, "share of the response sent (default 0.5)"},
        {"bytes", FieldType::kInteger, false, 0, 1e9, {}, {}, "bytes of the response sent"}},
       false, {{"fraction", "bytes"}}},
      {"flap", "alternate up and down",
       {dur("period_ms", true, 1, "length of one up or down half-cycle")}, false, {}},
      {"crash", "the mock process exits",
       {{"exit_code", FieldType::kInteger, false, 0, 255, {}, {}, "exit status (default 1)"}}, false, {}},
      {"exhaust", "connections opened before it stay broken until the client reconnects",
       {{"mode", FieldType::kEnum, false, 0, 0, {"error", "hang"}, {},
         "how an old connection is broken: answer with errors or hang (default error)"}},
       false, {}},
      {"fiu", "enable a libfiu fault point (mock points mock/<svc>/..., or posix/... under fiu-run)",
       {{"point", FieldType::kString, true, 0, 0, {}, {}, "fault point name, wildcards allowed"},
        {"failinfo", FieldType::kInteger, false, -2147483648.0, 2147483647.0, {}, {},
         "failinfo passed to libfiu (e.g. the errno for posix points)"}},
       true, {}},
  };
  return kinds;
}

const FaultKind* find_fault_kind(const std::string& name) {
  for (const auto& k : fault_kinds())
    if (k.name == name) return &k;
  return nullptr;
}

std::string fault_kind_names() {
  std::string out;
  for (const auto& k : fault_kinds()) {
    if (!out.empty()) out += ", ";
    out += k.name;
  }
  return out;
}

const char* to_string(FieldType t) {
  switch (t) {
    case FieldType::kDurationMs: return "integer milliseconds";
    case FieldType::kInteger: return "integer";
    case FieldType::kNumber: return "number";
    case FieldType::kProbability: return "probability";
    case FieldType::kBool: return "boolean";
    case FieldType::kString: return "string";
    case FieldType::kEnum: return "string";
  }
  return "value";
}

}  // namespace chaos::scenario
