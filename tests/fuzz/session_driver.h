// Drives a mock's ProtocolSession over fuzz input exactly as the mock runtime (mocks/core/server.cc,
// Connection::process) does, minus the socket, and aborts on any break of the contract the runtime
// relies on. The sessions' parse() is pure (bytes in, bytes out), so the real parsers are fuzzed
// directly, with no sockets and no mock process.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "core/session.h"

namespace chaos::fuzz {

[[noreturn]] inline void contract_broken(const char* what) {
  std::fprintf(stderr, "session contract broken: %s\n", what);
  std::abort();
}

struct DriveResult {
  std::string out;                    // every byte the session wrote
  std::vector<std::string> requests;  // request_key() of each kRequest, in order
  bool closed = false;                // the session asked to close
  size_t consumed = 0;                // input bytes consumed in all
};

// Feeds `input` in reads of `chunk` bytes (0 = all at once). For each kRequest, calls serve() when
// `serve` is true, else fail() with a fixed error (which depends on nothing but the framing, so two
// runs over different read boundaries must agree byte for byte).
inline DriveResult drive(mocks::ProtocolSession& s, std::string_view input, size_t chunk, bool serve) {
  DriveResult r;
  std::string buffered;
  size_t pos = 0;
  if (chunk == 0) chunk = input.size() ? input.size() : 1;
  mocks::ErrorSpec error;
  error.status = 503;
  error.message = "fuzz";
  error.sqlstate = "XX000";
  for (size_t off = 0; off < input.size() && !r.closed; off += chunk) {
    buffered.append(input.substr(off, chunk));
    // The runtime calls parse() only with unconsumed input, never with an empty view.
    while (pos < buffered.size()) {
      std::string_view in = std::string_view(buffered).substr(pos);
      mocks::Step st = s.parse(in, r.out);
      if (st.consumed > in.size()) contract_broken("consumed more bytes than were given");
      pos += st.consumed;
      if (st.kind == mocks::StepKind::kNeedMore) break;
      // kReply / kRequest that consume nothing would make Connection::process spin forever.
      if ((st.kind == mocks::StepKind::kReply || st.kind == mocks::StepKind::kRequest) && st.consumed == 0)
        contract_broken("kReply/kRequest consumed no input");
      if (st.kind == mocks::StepKind::kClose) {
        r.closed = true;
        break;
      }
      if (st.kind == mocks::StepKind::kRequest) {
        r.requests.emplace_back(s.request_key());
        if (serve) {
          s.serve(r.out);
        } else {
          s.fail(error, r.out);
        }
        if (s.close_after_response()) {
          r.closed = true;
          break;
        }
      }
    }
  }
  r.consumed = pos;
  return r;
}

// The first input byte picks the read size, so the fuzzer explores read boundaries too.
inline size_t chunk_from(uint8_t b) {
  static constexpr size_t kSizes[] = {0, 1, 2, 3, 5, 7, 16, 64, 512, 4096};
  return kSizes[b % (sizeof(kSizes) / sizeof(kSizes[0]))];
}

// Framing must not depend on how the bytes were split into reads: the one-read run (on `a`) and the
// chunked run (on `b`, a fresh session of the same kind) agree on every request, every byte written
// (after `normalize`, for replies that legitimately depend on timing such as HTTP "100 Continue") and
// whether the session closed.
inline void check_split_invariance(mocks::ProtocolSession& a, mocks::ProtocolSession& b, std::string_view input,
                                   size_t chunk, void (*normalize)(std::string&) = nullptr) {
  DriveResult whole = drive(a, input, 0, false);
  DriveResult split = drive(b, input, chunk, false);
  if (normalize) {
    normalize(whole.out);
    normalize(split.out);
  }
  if (whole.requests != split.requests) contract_broken("requests differ between one read and split reads");
  if (whole.out != split.out) contract_broken("output differs between one read and split reads");
  if (whole.closed != split.closed) contract_broken("close decision differs between one read and split reads");
  // (Once a session closes, how much of the bad frame it had taken no longer matters.)
  if (!whole.closed && whole.consumed != split.consumed)
    contract_broken("consumed bytes differ between one read and split reads");
}

}  // namespace chaos::fuzz
