// Control API request handling.
#include "core/control_api.h"

namespace chaos::mocks {
namespace {

ControlResponse error(int status, const std::string& message) {
  // Messages quote the request target, which may hold any bytes: invalid UTF-8 is replaced, since
  // dump() would otherwise throw and take the whole mock down.
  return {status, nlohmann::json{{"error", message}}.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)};
}

}  // namespace

nlohmann::json ControlApi::stats_json() const {
  nlohmann::json by_kind = nlohmann::json::object();
  auto kinds = fault_kinds();
  for (size_t i = 0; i < kinds.size(); ++i) by_kind[std::string(kinds[i].type)] = stats_.by_kind[i];
  return {{"service", service_},
          {"requests_received", stats_.requests_received},
          {"requests_served", stats_.requests_served},
          {"requests_failed_by_fault", by_kind},
          {"connections_open", stats_.connections_open},
          {"connections_accepted", stats_.connections_accepted},
          {"connections_dropped", stats_.connections_dropped},
          {"faults_registered", faults_.size()}};
}

ControlResponse ControlApi::handle(std::string_view method, std::string_view target, std::string_view body) {
  // Query strings carry nothing for us; ignore them rather than 404.
  std::string_view path = target.substr(0, target.find('?'));
  if (path.size() > 1 && path.back() == '/') path.remove_suffix(1);

  if (path == "/health") {
    if (method != "GET") return error(405, "use GET /health");
    return {200, nlohmann::json{{"status", "ok"}, {"service", service_}}.dump()};
  }
  if (path == "/stats") {
    if (method != "GET") return error(405, "use GET /stats");
    return {200, stats_json().dump()};
  }
  if (path == "/reset") {
    if (method != "POST") return error(405, "use POST /reset");
    faults_.clear();
    stats_.reset_counters();
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
      if (spec.is_discarded()) return error(400, "body must be a JSON fault object, e.g. {\"type\":\"latency\",\"latency_ms\":100}");
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

}  // namespace chaos::mocks
