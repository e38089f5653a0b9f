// The proxy's control API routing and JSON, kept apart from sockets so it is tested directly. Same
// routes and error style as the mocks' (docs/MOCKS.md): POST /faults, GET /faults, DELETE /faults,
// DELETE /faults/<id>, POST /reset, GET /stats, GET /health; every error is {"error": "..."}.
#pragma once

#include "proxy/fault_table.h"
#include "proxy/stats.h"

#include <string>
#include <string_view>

namespace chaos::proxy {

struct ControlResponse {
  int status = 200;
  std::string body;  // JSON
};

class ControlApi {
 public:
  static constexpr size_t kMaxBody = 64 * 1024;

  ControlApi(std::string name, std::string upstream, ProxyFaultTable& faults, ProxyStats& stats)
      : name_(std::move(name)), upstream_(std::move(upstream)), faults_(faults), stats_(stats) {}
  ControlResponse handle(std::string_view method, std::string_view target, std::string_view body);
  nlohmann::json stats_json();

 private:
  std::string name_, upstream_;
  ProxyFaultTable& faults_;
  ProxyStats& stats_;
};

}  // namespace chaos::proxy
