// libFuzzer target: mock-db's PostgreSQL v3 framing (PgSession): SSLRequest / GSSENCRequest /
// CancelRequest / StartupMessage, then typed messages with 32-bit lengths. Huge or negative lengths,
// truncated packets and unknown types must give an ErrorResponse and a close, or a wait for more input.
// Queries reach the real SQLite engine only for short inputs (statement execution is SQLite's own
// business; the framing around it is ours).
#include "db/pg_session.h"
#include "session_driver.h"

namespace {

void check_framing(std::string_view out) {
  // Everything mock-db writes is a sequence of complete messages: 'N' (SSL refused) or type + length.
  size_t pos = 0;
  while (pos < out.size()) {
    if (out[pos] == 'N') {
      ++pos;
      continue;
    }
    if (out.size() - pos < 5) chaos::fuzz::contract_broken("truncated backend message header");
    auto b = [&](size_t i) { return static_cast<uint32_t>(static_cast<unsigned char>(out[pos + 1 + i])); };
    uint32_t len = b(0) << 24 | b(1) << 16 | b(2) << 8 | b(3);
    if (len < 4 || out.size() - pos - 1 < len) chaos::fuzz::contract_broken("backend message length does not match");
    pos += 1 + len;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace chaos;
  if (size == 0) return 0;
  size_t chunk = fuzz::chunk_from(data[0]);
  std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  // A fresh in-memory database per input keeps runs reproducible (no tables left by earlier inputs).
  mocks::SqlEngine engine;
  {
    mocks::PgSession a(engine, 1, 2), b(engine, 1, 2);
    fuzz::check_split_invariance(a, b, input, chunk);
  }
  mocks::PgSession s(engine, 1, 2);
  bool serve = input.size() <= 512;
  fuzz::DriveResult r = fuzz::drive(s, input, chunk, serve);
  check_framing(r.out);
  return 0;
}
