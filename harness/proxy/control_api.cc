// Control API request handling.
#include "proxy/control_api.h"

namespace chaos::proxy {
namespace {

ControlResponse error(int status, const std::string& message) {
  return {status, nlohmann::json{{"error", message}}.dump()};
}

}  // namespace

nlohmann::json ControlApi::stats_json() {
  nlohmann::json by_kind = nlohmann::json::object();
  auto kinds = fault_kinds();
  for (size_t i = 0; i < kinds.size(); ++i) by_kind[std::string(kinds[i].type)] = faults_.applied()[i];
  return {{"service", "fault-proxy"},
          {"name", name_},
          {"upstream", upstream_},
          {"connections_accepted", stats_.connections_accepted},
          {"connections_open", stats_.connections_open},
          {"connections_closed", stats_.connections_closed},
          {"connections_rejected", stats_.connections_rejected},
          {"upstream_connect_failures", stats_.upstream_connect_failures},
          {"bytes_upstream", stats_.bytes_upstream},
          {"bytes_downstream", stats_.bytes_downstream},
          {"faults_applied", by_kind},
          {"faults_registered", faults_.size()}};
}

ControlResponse ControlApi::handle(std::string_view method, std::string_view target, std::string_view body) {
  // Query strings carry nothing for us; ignore them rather than 404.
  std::string_view path = target.substr(0, target.find('?'));
  if (path.size() > 1 && path.back() == '/') path.remove_suffix(1);

  if (path == "/health") {
    if (method != "GET") return error(405, "use GET /health");
    return {200, nlohmann::json{{"status", "ok"}, {"service", "fault-proxy"}, {"name", name_}}.dump()};
  }
  if (path == "/stats") {
    if (method != "GET") return error(405, "use GET /stats");
    return {200, stats_json().dump()};
  }
  if (path == "/reset") {
    if (method != "POST") return error(405, "use POST /reset");
    faults_.clear();
    stats_.reset_counters();
    faults_.applied().fill(0);
    return {200, R"({"reset":true})"};
  }
  if (path == "/faults") {
    if (method == "GET") return {200, faults_.list().dump()};
    if (method == "DELETE") {
      size_t n = faults_.size();
      faults_.clear();
      return {200, nlohmann::json{{"cleared", n}}.dump()};
    }
    if (method == "POST") {
      nlohmann::json spec = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
      if (spec.is_discarded()) {
        return error(400, "body must be a JSON fault object, e.g. {\"type\":\"latency\",\"latency_ms\":100}");
      }
      try {
        std::string id = faults_.add(spec);
        return {201, nlohmann::json{{"id", id}}.dump()};
      } catch (const FaultSpecError& e) {
        return error(400, e.what());
      }
    }
    return error(405, "use GET, POST or DELETE on /faults");
  }
  constexpr std::string_view kPrefix = "/faults/";
  if (path.substr(0, kPrefix.size()) == kPrefix) {
    std::string_view id = path.substr(kPrefix.size());
    if (method != "DELETE") return error(405, "use DELETE /faults/<id>");
    if (!faults_.remove(id)) return error(404, "no fault with id \"" + std::string(id) + "\"");
    return {200, nlohmann::json{{"deleted", id}}.dump()};
  }
  return error(404, "no route " + std::string(method) + " " + std::string(path) +
                        "; routes: GET /health, GET /stats, POST /reset, GET|POST|DELETE /faults, DELETE /faults/<id>");
}

}  // namespace chaos::proxy
