// The control API's routing and JSON, kept apart from sockets so it is tested directly.
// Routes: POST /faults, GET /faults, DELETE /faults, DELETE /faults/<id>, POST /reset, GET /stats,
// GET /health. Every error is a JSON {"error": "..."} naming what was expected.
#pragma once

#include "core/fault_table.h"
#include "core/stats.h"

#include <string>
#include <string_view>

namespace chaos::mocks {

struct ControlResponse {
  int status = 200;
  std::string body;  // JSON
};

class ControlApi {
 public:
  static constexpr size_t kMaxBody = 64 * 1024;

  ControlApi(std::string service, FaultTable& faults, Stats& stats) : service_(std::move(service)), faults_(faults), stats_(stats) {}
  ControlResponse handle(std::string_view method, std::string_view target, std::string_view body);
  nlohmann::json stats_json() const;

 private:
  std::string service_;
  FaultTable& faults_;
  Stats& stats_;
};

}  // namespace chaos::mocks
