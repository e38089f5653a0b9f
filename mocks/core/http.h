// Incremental HTTP/1.1 request parsing (Boost.Beast's parser behind a small interface, so only one file
// compiles Beast) and response formatting. Used by mock-rpc and by every mock's control API; the
// runtime owns the sockets so faults can cut a response at any byte.
#pragma once

#include <memory>
#include <string>
#include <string_view>

namespace chaos::mocks {

struct HttpRequest {
  std::string method;
  std::string target;
  std::string body;
  bool keep_alive = true;
};

class HttpRequestParser {
 public:
  enum class Result { kNeedMore, kDone, kError };

  HttpRequestParser(size_t body_limit, size_t header_limit = 16 * 1024);
  ~HttpRequestParser();

  // Feeds buffered input; *consumed says how much was taken (even on kNeedMore).
  // After kDone, request() is valid and the next feed() starts a new request.
  Result feed(std::string_view in, size_t* consumed);
  const HttpRequest& request() const { return request_; }
  // After kError: the status to answer with (400, 413, 431, 501) and why.
  int error_status() const { return error_status_; }
  const std::string& error_message() const { return error_message_; }
  // After kNeedMore: the client asked for "100 Continue" before sending its body; answer it once.
  bool wants_continue() const { return wants_continue_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  size_t body_limit_, header_limit_;
  // Forgets the request in progress (done or failed): the next feed() starts a new one.
  void end_request();
  // A chunk-size line whose extension runs past the line's end; see http.cc.
  bool chunk_line_ended_inside_extension(std::string_view rest);

  HttpRequest request_;
  size_t eol_scanned_ = 0;  // bytes of the pending chunk-size line already searched for its end
  int error_status_ = 400;
  bool continue_sent_ = false, wants_continue_ = false;
  std::string error_message_;
};

const char* http_reason(int status);
inline constexpr std::string_view kHttpContinue = "HTTP/1.1 100 Continue\r\n\r\n";
void append_http_response(std::string& out, int status, std::string_view content_type, std::string_view body,
                          bool keep_alive);

}  // namespace chaos::mocks
