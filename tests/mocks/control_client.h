// A small client for a mock's control API, plus polling helpers shared by the mock tests. The HTTP
// client (cpp-httplib) stays behind this header so only one test file compiles it.
#pragma once

#include <nlohmann/json.hpp>

#include <chrono>
#include <functional>
#include <map>
#include <string>

namespace chaos::mocks::testing {

struct HttpResult {
  int status = 0;  // 0 = transport error (see error)
  std::string body;
  std::string error;
  std::map<std::string, std::string> headers;
  nlohmann::json json() const { return nlohmann::json::parse(body, nullptr, false); }
};

// One request on a fresh connection. Timeouts are generous but bounded.
HttpResult http_request(int port, const std::string& method, const std::string& path, const std::string& body = "",
                        std::chrono::milliseconds timeout = std::chrono::seconds(5));

class ControlClient {
 public:
  explicit ControlClient(int port) : port_(port) {}
  HttpResult add_fault(const nlohmann::json& fault) { return http_request(port_, "POST", "/faults", fault.dump()); }
  // Adds a fault and returns its id; empty (and a gtest failure) if the mock refused it.
  std::string must_add(const nlohmann::json& fault);
  HttpResult remove(const std::string& id) { return http_request(port_, "DELETE", "/faults/" + id); }
  HttpResult clear() { return http_request(port_, "DELETE", "/faults"); }
  nlohmann::json faults() { return http_request(port_, "GET", "/faults").json(); }
  nlohmann::json stats() { return http_request(port_, "GET", "/stats").json(); }
  HttpResult raw(const std::string& method, const std::string& path, const std::string& body = "") {
    return http_request(port_, method, path, body);
  }

 private:
  int port_;
};

// Polls `condition` every few milliseconds until it holds or `deadline` passes.
bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds deadline);

double elapsed_ms(std::chrono::steady_clock::time_point since);

// True when a TCP connect to 127.0.0.1:port succeeds (and is closed again).
bool can_connect(int port);

}  // namespace chaos::mocks::testing
