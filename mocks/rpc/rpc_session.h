// HTTP/1.1 JSON RPC for mock-rpc: POST or GET /rpc/<method> answers {"method":..,"result":<request
// body, or null>}; GET /health answers {"status":"ok"}. Keep-alive and pipelining as HTTP/1.1 has them.
#pragma once

#include "core/http.h"
#include "core/session.h"

namespace chaos::mocks {

class RpcSession final : public ProtocolSession {
 public:
  static constexpr size_t kMaxBody = 1024 * 1024;

  RpcSession() : parser_(kMaxBody) {}
  Step parse(std::string_view in, std::string& out) override;
  std::string_view request_key() const override { return method_; }
  void serve(std::string& out) override;
  void fail(const ErrorSpec& error, std::string& out) override;
  void serve_partial(const PartialCut& cut, std::string& out) override;
  bool close_after_response() const override { return !parser_.request().keep_alive; }

 private:
  HttpRequestParser parser_;
  std::string method_;  // RPC method name, or the path for non-RPC routes
};

}  // namespace chaos::mocks
