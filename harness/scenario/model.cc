// Small helpers of the scenario model (printing, look-ups).
#include "scenario/model.h"

#include "scenario/fault_kinds.h"

namespace chaos::scenario {

std::string Anchor::text() const {
  std::string base;
  switch (kind) {
    case Kind::kStart: base = "start"; break;
    case Kind::kEnd: base = "end"; break;
    case Kind::kFaultStart: base = label; break;
    case Kind::kFaultEnd: base = label + ".end"; break;
    case Kind::kEvent:
      base = "first " + event_type + " event" + (where.empty() ? "" : " with " + nlohmann::json(where).dump());
      break;
  }
  if (offset_ms > 0) base += "+" + std::to_string(offset_ms) + "ms";
  if (offset_ms < 0) base += std::to_string(offset_ms) + "ms";
  return base;
}

const char* to_string(MockKind k) {
  switch (k) {
    case MockKind::kRpc: return "mock-rpc";
    case MockKind::kDb: return "mock-db";
    case MockKind::kCache: return "mock-cache";
  }
  return "mock";
}

const char* to_string(ServerKind k) {
  switch (k) {
    case ServerKind::kRedis: return "redis";
    case ServerKind::kPostgres: return "postgres";
  }
  return "server";
}

std::string Service::target_kind() const {
  if (mock) return to_string(*mock);
  if (is_proxy()) return kFaultProxy;
  if (server) return "server";
  return command.empty() ? "" : "command";  // "": a service whose kind did not validate
}

std::string Scenario::dependency_role(const Service& s) const {
  if (s.mock) return *s.mock == MockKind::kCache ? "cache" : *s.mock == MockKind::kDb ? "db" : "rpc";
  if (s.server) return *s.server == ServerKind::kRedis ? "cache" : "db";
  if (s.is_proxy()) {
    const Service* up = find_service(s.proxy);
    return up && !up->is_proxy() ? dependency_role(*up) : "";
  }
  return "";
}

std::string Window::text() const {
  if (!phase.empty()) return "in phase \"" + phase + "\" (" + from.text() + " .. " + to.text() + ")";
  return "between " + from.text() + " and " + to.text();
}

std::string Condition::text() const {
  switch (kind) {
    case Kind::kBreakerState: return "breaker \"" + name + "\" is " + state;
    case Kind::kHealthStatus:
      return name.empty() ? "overall health is " + state : "health check \"" + name + "\" is " + state;
    case Kind::kSystemState: return "system state is " + state;
  }
  return state;
}

const Service* Scenario::find_service(const std::string& id) const {
  for (const auto& s : services)
    if (s.id == id) return &s;
  return nullptr;
}

const Phase* Scenario::find_phase(const std::string& n) const {
  for (const auto& p : phases)
    if (p.name == n) return &p;
  return nullptr;
}

const FaultStep* Scenario::find_fault(const std::string& label) const {
  for (const auto& f : faults)
    if (f.label == label) return &f;
  return nullptr;
}

std::optional<int64_t> Scenario::first_fault_ms() const {
  std::optional<int64_t> first;
  for (const auto& f : faults)
    if (f.action == FaultStep::Action::kInject && (!first || f.at_ms < *first)) first = f.at_ms;
  return first;
}

}  // namespace chaos::scenario
