#include "runner/fault_injector.h"

#include "runner/http_client.h"

namespace chaos::runner {
namespace {

constexpr std::chrono::milliseconds kControlTimeout{2000};

InjectResult from_response(const HttpResponse& r, const std::string& what) {
  InjectResult out;
  if (r.status == 0) {
    out.error = what + ": control API unreachable: " + r.error;
    return out;
  }
  if (r.status < 200 || r.status >= 300) {
    auto j = nlohmann::json::parse(r.body, nullptr, false);
    std::string msg = j.is_object() && j.contains("error") && j["error"].is_string()
                          ? j["error"].get<std::string>()
                          : r.body;
    out.error = what + ": control API answered " + std::to_string(r.status) + ": " + msg;
    return out;
  }
  out.ok = true;
  auto j = nlohmann::json::parse(r.body, nullptr, false);
  if (j.is_object() && j.contains("id") && j["id"].is_string()) out.fault_id = j["id"].get<std::string>();
  return out;
}

}  // namespace

InjectResult FaultInjector::inject(const std::string& target, const nlohmann::json& fault) {
  auto it = ports_.find(target);
  if (it == ports_.end()) return {false, "", "no control API for service \"" + target + "\""};
  HttpClient c("127.0.0.1", it->second, kControlTimeout);
  return from_response(c.request("POST", "/faults", fault.dump()), "inject into " + target);
}

InjectResult FaultInjector::clear(const std::string& target, const std::string& fault_id) {
  auto it = ports_.find(target);
  if (it == ports_.end()) return {false, "", "no control API for service \"" + target + "\""};
  HttpClient c("127.0.0.1", it->second, kControlTimeout);
  auto r = from_response(c.request("DELETE", "/faults/" + fault_id), "clear fault on " + target);
  // Already gone (expired, or cleared by a crash restart) is what we wanted.
  if (!r.ok && r.error.find("answered 404") != std::string::npos) r.ok = true;
  return r;
}

InjectResult FaultInjector::clear_all(const std::string& target) {
  auto it = ports_.find(target);
  if (it == ports_.end()) return {false, "", "no control API for service \"" + target + "\""};
  HttpClient c("127.0.0.1", it->second, kControlTimeout);
  return from_response(c.request("DELETE", "/faults"), "clear faults on " + target);
}

}  // namespace chaos::runner
