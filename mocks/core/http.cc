// The only translation unit that compiles Boost.Beast.
#include "core/http.h"

#include <boost/beast/core/error.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <cctype>
#include <optional>

namespace chaos::mocks {

namespace http = boost::beast::http;

struct HttpRequestParser::Impl {
  std::optional<http::request_parser<http::string_body>> parser;
};

HttpRequestParser::HttpRequestParser(size_t body_limit, size_t header_limit)
    : impl_(std::make_unique<Impl>()), body_limit_(body_limit), header_limit_(header_limit) {}
HttpRequestParser::~HttpRequestParser() = default;

HttpRequestParser::Result HttpRequestParser::feed(std::string_view in, size_t* consumed) {
  *consumed = 0;
  wants_continue_ = false;
  if (!impl_->parser) {
    impl_->parser.emplace();
    impl_->parser->body_limit(body_limit_);
    impl_->parser->header_limit(static_cast<std::uint32_t>(header_limit_));
    impl_->parser->eager(true);
  }
  auto& p = *impl_->parser;
  while (!p.is_done()) {
    boost::system::error_code ec;
    // Beast bounds the header but not a chunk-size line, its extensions or the trailer: without a
    // bound a client could make one line as long as the runtime's whole input limit (80 MiB). After
    // the header, Beast sees at most header_limit_ bytes at a time; body bytes are consumed as they
    // come (eager), so a window it cannot make progress in holds one over-long line. The window
    // makes the verdict the same whether the bytes arrive in one read or many.
    size_t avail = in.size() - *consumed;
    bool windowed = p.is_header_done() && avail > header_limit_;
    if (windowed) avail = header_limit_;
    size_t n = p.put(boost::asio::buffer(in.data() + *consumed, avail), ec);
    *consumed += n;
    if (n > 0) eol_scanned_ = 0;
    auto need_more = [&] {
      // curl sends "Expect: 100-continue" for bodies over 1 KiB and waits a second for this answer.
      if (p.is_header_done() && !continue_sent_) {
        auto expect = p.get()[http::field::expect];
        if (expect.size() == 12 && boost::beast::iequals(expect, "100-continue")) {
          continue_sent_ = true;
          wants_continue_ = true;
        }
      }
      return Result::kNeedMore;
    };
    if (ec == http::error::need_more && p.is_header_done() &&
        chunk_line_ended_inside_extension(in.substr(*consumed, avail - n)))
      ec = http::error::bad_chunk_extension;  // answered like Beast's own verdict below, whatever the reads
    if (ec == http::error::need_more) {
      if (!windowed) return need_more();
      if (n > 0) continue;  // progress inside the window; look at the next one
      end_request();
      error_status_ = 400;
      error_message_ = "chunk-size line or trailer longer than " + std::to_string(header_limit_) + " bytes";
      return Result::kError;
    }
    if (ec) {
      end_request();
      if (ec == http::error::body_limit) {
        error_status_ = 413;
        error_message_ = "request body larger than " + std::to_string(body_limit_) + " bytes";
      } else if (ec == http::error::header_limit) {
        error_status_ = 431;
        error_message_ = "request header larger than " + std::to_string(header_limit_) + " bytes";
      } else {
        error_status_ = 400;
        error_message_ = "malformed HTTP request: " + ec.message();
      }
      return Result::kError;
    }
    if (n == 0) return need_more();
  }
  auto msg = p.release();
  end_request();
  request_.method = std::string(msg.method_string());
  request_.target = std::string(msg.target());
  request_.body = std::move(msg.body());
  request_.keep_alive = msg.keep_alive();
  return Result::kDone;
}

// Beast (1.74, parse_chunk_extensions) scans a quoted chunk-extension value up to the end of all the
// input it is given, line ends included, and asks for more if the quote is still open there. Each
// read then rescans the whole line from its start: a client that opens a quote and sends the rest a
// few bytes at a time costs time quadratic in the line, up to the 16 KiB window, on the mock's single
// event-loop thread (a 5.7 KB fuzz input took 311 ms under ASan). Such a request can never be valid:
// the value would have to end before the line does. So once Beast has asked for more after the line
// ended, the request is rejected as Beast itself rejects a value that closes past the line, and the
// verdict stays the same however the bytes arrive. `rest` is the input Beast left unconsumed after the
// header: the previous chunk's CRLF, if any, then the chunk-size line.
void HttpRequestParser::end_request() {
  impl_->parser.reset();
  continue_sent_ = false;
  eol_scanned_ = 0;
}

bool HttpRequestParser::chunk_line_ended_inside_extension(std::string_view rest) {
  // Under 4 bytes Beast may not have looked yet: after a chunk's data it waits for its CRLF plus two
  // bytes, and "1\r\n" there is a missing CRLF (Beast's "bad chunk" once a 4th byte comes), not an
  // extension.
  if (rest.size() < 4) return false;
  size_t digits = rest.substr(0, 2) == "\r\n" ? 2 : 0;
  const size_t first_digit = digits;
  bool nonzero = false;
  for (; digits < rest.size() && std::isxdigit(static_cast<unsigned char>(rest[digits])); ++digits)
    nonzero = nonzero || rest[digits] != '0';
  // No size yet, or the last chunk, whose line Beast reads with its trailer by a linear search.
  if (digits == first_digit || !nonzero) return false;
  // Searched from where the previous call stopped (less one byte: a CR may have been last), so this
  // check stays linear across reads too.
  size_t from = std::max(digits, eol_scanned_ > 0 ? eol_scanned_ - 1 : size_t{0});
  eol_scanned_ = rest.size();
  return from < rest.size() && rest.find("\r\n", from) != std::string_view::npos;
}

const char* http_reason(int status) {
  switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 413: return "Payload Too Large";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return status < 500 ? "Client Error" : "Server Error";
  }
}

void append_http_response(std::string& out, int status, std::string_view content_type, std::string_view body,
                          bool keep_alive) {
  out += "HTTP/1.1 ";
  out += std::to_string(status);
  out += ' ';
  out += http_reason(status);
  out += "\r\nContent-Type: ";
  out += content_type;
  out += "\r\nContent-Length: ";
  out += std::to_string(body.size());
  out += keep_alive ? "\r\nConnection: keep-alive\r\n\r\n" : "\r\nConnection: close\r\n\r\n";
  out += body;
}

}  // namespace chaos::mocks
