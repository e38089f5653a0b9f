// Applies the scenario's fault timeline to running services through their control APIs
// (docs/MOCKS.md). It knows nothing about when: the runner's schedule decides that.
#pragma once

#include <nlohmann/json.hpp>

#include <map>
#include <string>

namespace chaos::runner {

struct InjectResult {
  bool ok = false;
  std::string fault_id;  // the mock's id for the fault, used to clear it
  std::string error;     // why it failed (transport error or the control API's 4xx message)
};

class FaultInjector {
 public:
  void add_target(const std::string& service_id, int control_port) { ports_[service_id] = control_port; }
  bool has_target(const std::string& service_id) const { return ports_.count(service_id) != 0; }

  InjectResult inject(const std::string& target, const nlohmann::json& fault);
  InjectResult clear(const std::string& target, const std::string& fault_id);
  InjectResult clear_all(const std::string& target);

 private:
  std::map<std::string, int> ports_;
};

}  // namespace chaos::runner
