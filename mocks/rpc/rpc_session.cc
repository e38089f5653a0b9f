// Routing and echo semantics of mock-rpc.
#include "rpc/rpc_session.h"

#include <nlohmann/json.hpp>

namespace chaos::mocks {
namespace {

// Method names and paths come from the request target, which may hold any bytes: invalid UTF-8 is
// replaced, since dump() would otherwise throw and take the whole mock down.
std::string dump_lossy(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

Step RpcSession::parse(std::string_view in, std::string& out) {
  size_t used = 0;
  switch (parser_.feed(in, &used)) {
    case HttpRequestParser::Result::kNeedMore:
      if (parser_.wants_continue()) out += kHttpContinue;
      return {StepKind::kNeedMore, used};
    case HttpRequestParser::Result::kError:
      append_http_response(out, parser_.error_status(), "application/json",
                           nlohmann::json{{"error", parser_.error_message()}}.dump(), false);
      return {StepKind::kClose, used};
    case HttpRequestParser::Result::kDone: break;
  }
  std::string_view target = parser_.request().target;
  target = target.substr(0, target.find('?'));
  constexpr std::string_view kPrefix = "/rpc/";
  if (target.substr(0, kPrefix.size()) == kPrefix) {
    method_.assign(target.substr(kPrefix.size()));
  } else {
    method_.assign(target);
  }
  return {StepKind::kRequest, used};
}

void RpcSession::serve(std::string& out) {
  const HttpRequest& r = parser_.request();
  bool keep = r.keep_alive;
  std::string_view target = std::string_view(r.target).substr(0, r.target.find('?'));
  if (target == "/health") {
    append_http_response(out, 200, "application/json", R"({"status":"ok"})", keep);
    return;
  }
  if (target.substr(0, 5) != "/rpc/" || method_.empty()) {
    append_http_response(out, 404, "application/json",
                         dump_lossy({{"error", "no route " + std::string(target) + "; use POST /rpc/<method>"}}), keep);
    return;
  }
  if (r.method != "POST" && r.method != "GET") {
    append_http_response(out, 405, "application/json", R"({"error":"use POST or GET /rpc/<method>"})", keep);
    return;
  }
  std::string body;
  body.reserve(r.body.size() + method_.size() + 32);
  body += R"({"method":)";
  body += dump_lossy(method_);
  body += R"(,"result":)";
  if (r.body.empty()) {
    body += "null";
  } else if (nlohmann::json::accept(r.body)) {
    body += r.body;  // echo the params as the result: lets a test check round trips byte for byte
  } else {
    append_http_response(out, 400, "application/json", R"({"error":"request body must be JSON"})", keep);
    return;
  }
  body += '}';
  append_http_response(out, 200, "application/json", body, keep);
}

void RpcSession::serve_partial(const PartialCut& cut, std::string& out) {
  std::string full;
  serve(full);
  size_t head_end = full.find("\r\n\r\n");
  if (head_end == std::string::npos) {  // not a response we make; cut the bytes
    out.append(full, 0, cut.units_to_send(full.size()));
    return;
  }
  size_t body_start = head_end + 4;
  size_t body = full.size() - body_start;
  if (body == 0) {
    // No body to cut: withhold the blank line that ends the headers, so the answer is still short.
    out.append(full, 0, body_start - 2);
    return;
  }
  // Complete headers, whose Content-Length announces the whole body, then only part of the body.
  out.append(full, 0, body_start + cut.units_to_send(body));
}

void RpcSession::fail(const ErrorSpec& error, std::string& out) {
  append_http_response(out, error.status, "application/json",
                       dump_lossy({{"error", error.message}, {"method", method_}}),
                       parser_.request().keep_alive);
}

}  // namespace chaos::mocks
