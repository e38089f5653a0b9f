// The fault kind table. Shared with the mocks' control API (docs/MOCKS.md), which receives the
// scenario's fault object as written plus duration_ms.
#include "scenario/fault_kinds.h"

namespace chaos::scenario {
namespace {

const std::vector<std::string> kMocks = {kMockRpc, kMockDb, kMockCache};
const std::vector<std::string> kMocksAndProxy = {kMockRpc, kMockDb, kMockCache, kFaultProxy};
const std::vector<std::string> kProxy = {kFaultProxy};

FaultField dur(std::string name, bool required, double min, std::string doc) {
  return FaultField{std::move(name), FieldType::kDurationMs, required, min, 86400000.0, {}, {}, std::move(doc)};
}
FaultField integer(std::string name, bool required, double min, double max, std::string doc) {
  return FaultField{std::move(name), FieldType::kInteger, required, min, max, {}, {}, std::move(doc)};
}
// The proxy acts on byte streams, so its faults say which one; the mocks answer requests and have none.
FaultField direction() {
  return FaultField{"direction", FieldType::kEnum, false, 0, 0, {"upstream", "downstream", "both"}, kProxy,
                    "fault-proxy only: upstream = client to server, downstream = server to client (default both)"};
}

}  // namespace

const std::vector<std::string>& control_api_targets() { return kMocksAndProxy; }

const std::vector<FaultField>& common_fault_fields() {
  static const std::vector<FaultField> fields = {
      {"type", FieldType::kString, true, 0, 0, {}, {}, "the fault kind"},
      {"match", FieldType::kString, false, 0, 0, {}, kMocks,
       "glob on the RPC method / Redis command / SQL text; absent = every request (mocks only: the proxy sees bytes, not requests)"},
      {"probability", FieldType::kProbability, false, 0, 1, {}, {},
       "chance that a matching request (proxy: connection direction) is affected (default 1)"},
      dur("start_delay_ms", false, 0, "delay between injection and the fault taking effect"),
  };
  return fields;
}

const std::vector<FaultKind>& fault_kinds() {
  static const std::vector<FaultKind> kinds = {
      {"latency", "delay every matching response (proxy: every chunk in the faulted direction)",
       {dur("latency_ms", true, 0, "fixed delay"),
        dur("jitter_ms", false, 0, "random extra delay (default 0)"),
        {"distribution", FieldType::kEnum, false, 0, 0, {"uniform", "normal"}, {},
         "jitter distribution (default uniform)"},
        direction()},
       kMocksAndProxy, false, {}},
      {"hang", "accept and read but never answer", {}, kMocks, false, {}},
      {"error", "answer with a protocol-correct error",
       {{"status", FieldType::kInteger, false, 400, 599, {}, {kMockRpc}, "HTTP status (default 503)"},
        {"message", FieldType::kString, false, 0, 0, {}, {}, "error text"},
        {"sqlstate", FieldType::kString, false, 0, 0, {}, {kMockDb},
         "PostgreSQL SQLSTATE, 5 characters 0-9/A-Z"}},
       kMocks, false, {}},
      {"disconnect", "drop every open connection",
       {{"reset", FieldType::kBool, false, 0, 0, {}, {}, "RST instead of FIN (default false)"}},
       kMocks, false, {}},
      {"down", "refuse new connections (listener closed) for the duration; the proxy also drops open ones",
       {}, kMocksAndProxy, false, {}},
      {"partial", "send part of the response, then close",
       {{"fraction", FieldType::kNumber, false, 0, 1, {}, {},
         "share of the response's natural units sent: rows, array elements or body bytes (default 0.5)"},
        {"count", FieldType::kInteger, false, 0, 1e9, {}, {},
         "rows (mock-db), array elements or payload bytes (mock-cache), body bytes (mock-rpc) sent before the close"},
        {"bytes", FieldType::kInteger, false, 0, 1e9, {}, {}, "raw cut of the response bytes; may land mid-header"}},
       kMocks, false, {{"fraction", "count", "bytes"}}},
      {"flap", "alternate up and down",
       {dur("period_ms", true, 1, "length of one up or down half-cycle")}, kMocks, false, {}},
      {"crash", "the mock process exits",
       {{"exit_code", FieldType::kInteger, false, 0, 255, {}, {}, "exit status (default 1)"}}, kMocks, false, {}},
      {"exhaust", "connections opened before it stay broken until the client reconnects",
       {{"mode", FieldType::kEnum, false, 0, 0, {"error", "hang"}, {},
         "how an old connection is broken: answer with errors or hang (default error)"}},
       kMocks, false, {}},
      {"bandwidth", "limit the rate of each connection direction",
       {integer("rate_kbps", true, 1, 10000000, "kilobytes (1000 bytes) per second per connection and direction"),
        direction()},
       kProxy, false, {}},
      {"timeout", "stop forwarding (data is held, not dropped); optionally close after a while",
       {dur("timeout_ms", false, 0, "close the connection this long after the fault met it (default 0 = never)"),
        direction()},
       kProxy, false, {}},
      {"reset_peer", "tear connections down with a TCP RST, open ones and new ones",
       {dur("timeout_ms", false, 0, "reset this long after the fault met the connection (default 0 = at once)"),
        direction()},
       kProxy, false, {}},
      {"slow_close", "deliver a side's close (FIN) late",
       {dur("delay_ms", true, 0, "how late the close arrives"), direction()},
       kProxy, false, {}},
      {"slicer", "cut each chunk into small pieces sent apart",
       {integer("average_size", true, 1, 1 << 20, "bytes per piece"),
        integer("size_variation", false, 0, 1 << 20, "uniform +- variation, smaller than average_size (default 0)"),
        integer("delay_us", false, 0, 60000000, "microseconds between pieces (default 0)"),
        direction()},
       kProxy, false, {}},
      {"limit_data", "close the connection after a number of bytes (a truncated reply, then a close)",
       {integer("bytes", true, 0, 1e15, "bytes let through, counted from when the fault met the connection"),
        direction()},
       kProxy, false, {}},
      {"fiu", "enable a libfiu fault point (mock points mock/<svc>/..., or posix/... under fiu-run)",
       {{"point", FieldType::kString, true, 0, 0, {}, {}, "fault point name, wildcards allowed"},
        {"failinfo", FieldType::kInteger, false, -2147483648.0, 2147483647.0, {}, {},
         "failinfo passed to libfiu (e.g. the errno for posix points)"}},
       {}, true, {}},
  };
  return kinds;
}

const std::vector<FieldOrder>& field_orders() {
  static const std::vector<FieldOrder> orders = {
      {"slicer", "size_variation", "average_size"},  // a slice is never empty
  };
  return orders;
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
