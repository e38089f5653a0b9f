// libFuzzer target: mock-cache's RESP2 parser and command execution (RespSession), fed the way the
// mock's runtime feeds it. Garbage, huge declared lengths and truncated frames must end in an error
// reply and a close, or a wait for more input: never a crash, a spin, a sanitizer report or a big
// allocation (scripts/fuzz.sh caps single allocations for this target).
#include <charconv>

#include "cache/resp_session.h"
#include "session_driver.h"

namespace {

// Parses one RESP2 value at out[pos]; aborts unless it is well formed and complete.
void skip_value(const std::string& out, size_t& pos) {
  if (pos >= out.size()) chaos::fuzz::contract_broken("truncated reply");
  char type = out[pos];
  size_t eol = out.find("\r\n", pos);
  if (eol == std::string::npos) chaos::fuzz::contract_broken("reply line without CRLF");
  std::string_view line(out.data() + pos + 1, eol - pos - 1);
  pos = eol + 2;
  if (type == '+' || type == '-') return;
  long long n = 0;
  auto [p, ec] = std::from_chars(line.data(), line.data() + line.size(), n);
  if (ec != std::errc() || p != line.data() + line.size()) chaos::fuzz::contract_broken("reply length is not a number");
  if (type == ':') return;
  if (type == '$') {
    if (n == -1) return;
    if (n < 0 || out.size() - pos < static_cast<size_t>(n) + 2 || out.compare(pos + n, 2, "\r\n") != 0)
      chaos::fuzz::contract_broken("bulk reply does not match its length");
    pos += static_cast<size_t>(n) + 2;
    return;
  }
  if (type == '*') {
    for (long long i = 0; i < n; ++i) skip_value(out, pos);
    return;
  }
  chaos::fuzz::contract_broken("unknown reply type");
}

size_t count_replies(const std::string& out) {
  size_t pos = 0, n = 0;
  while (pos < out.size()) {
    skip_value(out, pos);
    ++n;
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
    mocks::Store sa, sb;
    mocks::RespSession a(sa), b(sb);
    fuzz::check_split_invariance(a, b, input, chunk);
  }
  // The same bytes again with every command executed against a store.
  mocks::Store store;
  mocks::RespSession s(store);
  fuzz::DriveResult r = fuzz::drive(s, input, chunk, true);
  // Every reply is one well-formed RESP value: one per request, plus the protocol error (if any) that
  // ended the connection.
  size_t replies = count_replies(r.out);
  size_t expected = r.requests.size() + (r.closed && !s.close_after_response() ? 1 : 0);
  if (replies != expected) fuzz::contract_broken("reply count does not match request count");
  return 0;
}
