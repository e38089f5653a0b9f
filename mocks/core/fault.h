// The fault interface. Data path of a mock, and where faults hook in:
//
//   client --connect--> [listener]  <- down, flap (listener closed), disconnect (new conns dropped)
//          --request--> [connection] <- exhaust (conn marked broken), libfiu mock/<svc>/accept|read
//                       [wrapper: match glob, probability, start delay, duration]
//                       [FaultKind::apply] <- latency, hang, error, partial, disconnect (per request)
//          <-response-- [connection] <- libfiu mock/<svc>/handle|write
//   lifecycle: on_activate / on_tick / on_deactivate <- disconnect (drop all), down, flap, crash,
//              exhaust, fiu
//
// A kind implements only what it needs; the shared wrapper (FaultTable) applies scope, probability and
// timing once, so no kind re-implements them. Adding a kind = one file in kinds/ + one registry line.
#pragma once

#include "common/clock.h"
#include "common/random.h"

#include <nlohmann/json.hpp>

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

// What the faults decided for one request. Default-constructed = serve normally.
struct RequestEffect {
  enum class Terminal { kNone, kHang, kError, kPartial, kDrop };
  Duration delay{0};
  Terminal terminal = Terminal::kNone;
  ErrorSpec error;
  double partial_fraction = 0.5;  // used when partial_bytes < 0
  int64_t partial_bytes = -1;
  bool reset = false;             // kDrop: RST instead of FIN
  uint32_t kinds = 0;             // bit i set = registry kind i touched this request (for stats)

  bool empty() const { return delay.count() == 0 && terminal == Terminal::kNone; }
};

// How a connection broken by `exhaust` behaves until the client reconnects.
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
  virtual void break_open_connections(BrokenMode mode, const std::function<bool()>& pick) = 0;
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
