// The fault interface. Data path of a mock, and where faults hook in:
//
//   client --connect--> [listener]  <- down, flap (listener closed), disconnect (new conns dropped)
//          --request--> [connection] <- exhaust (conn broken: its answer replaces every later one),
//                                       libfiu mock/<svc>/accept|read
//                       [wrapper: match glob, probability, start delay, duration]
//                       [FaultKind::apply] <- latency, hang, error, partial, disconnect (per request)
//          <-response-- [connection] <- libfiu mock/<svc>/handle|write
//   lifecycle: on_activate / on_tick / on_deactivate <- disconnect (drop all), down, flap, crash,
//              exhaust, fiu
//
// A kind implements only what it needs; the shared wrapper (FaultTable) applies scope, probability and
// timing once, so no kind re-implements them. Adding a kind = one file in kinds/ + one line in
// fault_registry.cc; the runtime never names a kind, it only reads what the kinds put in RequestEffect.
#pragma once

#include "common/clock.h"
#include "common/random.h"

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

namespace chaos::mocks {

// A protocol-correct error, rendered by each protocol: HTTP status + JSON body, RESP -ERR, or a
// PostgreSQL ErrorResponse with SQLSTATE.
struct ErrorSpec {
  int status = 503;                   // mock-rpc
  std::string message = "injected fault";
  std::string sqlstate = "XX000";     // mock-db (internal_error)
};

// How much of a response a `partial` fault lets through before the connection closes. A protocol
// session cuts at its natural unit (PostgreSQL DataRows, RESP array elements or bulk payload bytes,
// HTTP body bytes after complete headers); kBytes is a raw cut of the response bytes, wherever it lands.
struct PartialCut {
  enum class Unit { kFraction, kCount, kBytes };
  Unit unit = Unit::kFraction;
  double fraction = 0.5;  // kFraction: share of the natural units
  int64_t amount = 0;     // kCount: natural units; kBytes: bytes

  // How many of `total` units (or bytes) to send: always fewer than total when there are any, since a
  // partial answer that happens to be complete would show the client nothing wrong.
  size_t units_to_send(size_t total) const {
    if (total == 0) return 0;
    size_t n = unit == Unit::kFraction ? static_cast<size_t>(static_cast<double>(total) * fraction)
                                       : static_cast<size_t>(amount);
    return n < total ? n : total - 1;
  }
};

// What the faults decided for one request. Default-constructed = serve normally.
struct RequestEffect {
  enum class Terminal { kNone, kHang, kError, kPartial, kDrop };
  Duration delay{0};
  Terminal terminal = Terminal::kNone;
  ErrorSpec error;
  PartialCut partial;             // kPartial
  bool reset = false;             // kDrop: RST instead of FIN
  uint32_t kinds = 0;             // bit i set = registry kind i touched this request (for stats)

  bool empty() const { return delay.count() == 0 && terminal == Terminal::kNone; }
};

// How a connection broken by a stateful fault behaves until the client reconnects: the summary of
// its answer that the mode-only hook below receives.
enum class BrokenMode { kNone, kError, kHang };

// What lifecycle hooks may do to the running service. Implemented by the server runtime (and by a fake
// in unit tests). All calls happen on the service's single event-loop thread.
class ServiceControl {
 public:
  virtual ~ServiceControl() = default;
  // Closes every open service connection; `pick` decides per connection (the fault's probability).
  virtual void drop_open_connections(bool reset, const std::function<bool()>& pick) = 0;
  // Reference-counted: the listener is closed while at least one hold is active, reopened on the same
  // port when the last one is released.
  virtual void hold_listener_down() = 0;
  virtual void release_listener_down() = 0;
  // Marks open connections (each one `pick` chooses) broken for the rest of their life, even after the
  // fault ends: every later request on them gets `answer` (an error or a hang; answer.kinds names the
  // kind for stats). The stateful kind builds the answer, so the runtime holds no rule of any kind.
  virtual void break_open_connections_with(const RequestEffect& answer, const std::function<bool()>& pick) {
    break_open_connections(answer.terminal == RequestEffect::Terminal::kHang ? BrokenMode::kHang : BrokenMode::kError,
                           pick);
  }
  // The mode-only form the hook above falls back to; the runtime does not use it. Kept because test
  // fakes (fault_table_test, the fuzz targets) override it to record that connections were broken.
  virtual void break_open_connections(BrokenMode /*mode*/, const std::function<bool()>& /*pick*/) {}
  virtual void crash(int exit_code) = 0;
  virtual void log(const std::string& line) = 0;
};

class FaultKind {
 public:
  virtual ~FaultKind() = default;

  // Per-request effect; called only for requests the wrapper selected (active, matching, lucky draw).
  virtual bool affects_requests() const { return false; }
  virtual void apply(RequestEffect& /*effect*/, Random& /*rng*/) const {}

  // While active, new connections are closed right after accept (with RST when *reset is set).
  virtual bool drops_new_connections(bool* /*reset*/) const { return false; }

  virtual void on_activate(ServiceControl& /*svc*/, const std::function<bool()>& /*pick*/) {}
  virtual void on_deactivate(ServiceControl& /*svc*/) {}
  // Periodic work while active (flap): the interval to the next on_tick, or nullopt for none.
  virtual std::optional<Duration> tick_interval() const { return std::nullopt; }
  virtual void on_tick(ServiceControl& /*svc*/) {}

  // The kind's own fields, echoed by GET /faults.
  virtual nlohmann::json fields() const = 0;
};

}  // namespace chaos::mocks
