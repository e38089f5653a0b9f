// libFuzzer target: mock-rpc's HTTP/1.1 request parsing and routing (RpcSession over the shared
// HttpRequestParser in mocks/core/http.cc, which the control API uses too). Malformed requests,
// oversized headers or bodies (limits 16 KiB / 1 MiB) and truncated messages must give a 4xx/5xx reply
// and a close, or a wait for more input.
#include <charconv>

#include "rpc/rpc_session.h"
#include "session_driver.h"

namespace {

void drop_continues(std::string& out) {
  // "100 Continue" is sent only when the header arrived before the body: it depends on read timing.
  const std::string_view c = chaos::mocks::kHttpContinue;
  for (size_t at; (at = out.find(c)) != std::string::npos;) out.erase(at, c.size());
}

// Every response is a status line, headers with a Content-Length, and exactly that many body bytes.
size_t count_responses(const std::string& out) {
  size_t pos = 0, n = 0;
  while (pos < out.size()) {
    if (out.compare(pos, 9, "HTTP/1.1 ") != 0) chaos::fuzz::contract_broken("response does not start with HTTP/1.1");
    size_t end = out.find("\r\n\r\n", pos);
    if (end == std::string::npos) chaos::fuzz::contract_broken("response header not terminated");
    std::string_view head(out.data() + pos, end - pos);
    bool is_continue = head.substr(9, 3) == "100";
    size_t cl = head.find("\r\nContent-Length: ");
    size_t len = 0;
    if (!is_continue) {
      if (cl == std::string_view::npos) chaos::fuzz::contract_broken("response without Content-Length");
      const char* first = head.data() + cl + 18;
      auto [p, ec] = std::from_chars(first, head.data() + head.size(), len);
      if (ec != std::errc() || p == first) chaos::fuzz::contract_broken("bad Content-Length in response");
      ++n;
    }
    pos = end + 4;
    if (out.size() - pos < len) chaos::fuzz::contract_broken("response body shorter than Content-Length");
    pos += len;
  }
  return n;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace chaos;
  if (size == 0) return 0;
  size_t chunk = fuzz::chunk_from(data[0]);
  std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  {
    mocks::RpcSession a, b;
    fuzz::DriveResult whole = fuzz::drive(a, input, 0, false);
    fuzz::DriveResult split = fuzz::drive(b, input, chunk, false);
    drop_continues(whole.out);
    drop_continues(split.out);
    if (whole.requests != split.requests) fuzz::contract_broken("requests differ between one read and split reads");
    if (whole.out != split.out || whole.closed != split.closed) {
      // One known, bounded difference (Boost.Beast): a malformed start line that arrives in pieces
      // is not rejected until the header limit; the one-read run got its 400 at once. The split
      // session must then still be waiting, have written only what preceded the 400, and answer 431
      // once the header limit is reached: a slow bad client gets its error, it cannot wedge anything.
      // The same holds for a bad line ending inside a header line. When the input itself already
      // crosses the header limit, the split session has answered that 431 and closed within it.
      size_t err = whole.out.rfind("HTTP/1.1 400 ");
      bool same_before_400 = whole.closed && err != std::string::npos && split.out.size() >= err &&
                             split.out.compare(0, err, whole.out, 0, err) == 0;
      bool rejected_at_limit = same_before_400 && split.closed && split.out.compare(err, 13, "HTTP/1.1 431 ") == 0 &&
                               count_responses(split.out.substr(err)) == 1;
      if (!rejected_at_limit) {
        if (!(same_before_400 && !split.closed && split.out.size() == err))
          fuzz::contract_broken("output differs between one read and split reads");
        std::string more(17 * 1024, 'x');
        fuzz::DriveResult rest = fuzz::drive(b, std::string(input.substr(split.consumed)) + more, 0, false);
        if (!rest.closed || rest.out.rfind("HTTP/1.1 4", 0) != 0)
          fuzz::contract_broken("a malformed request split across reads was never rejected");
      }
    }
  }
  mocks::RpcSession s;
  fuzz::DriveResult r = fuzz::drive(s, input, chunk, true);
  size_t expected = r.requests.size() + (r.closed && !s.close_after_response() ? 1 : 0);
  if (count_responses(r.out) != expected) fuzz::contract_broken("response count does not match request count");
  return 0;
}
