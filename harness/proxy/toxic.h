// The fault ("toxic") interface of the fault proxy. Data path of one proxied connection:
//
//   client --connect--> [listener]                      <- down (listener closed, open links dropped)
//          --bytes----> [upstream pipe: toxic chain] --> upstream server
//          <--bytes---- [downstream pipe: toxic chain] <- upstream server
//
//   each pipe: read a chunk -> every attached toxic shapes it (delay, split, truncate) -> queue with
//   send times (order kept, bounded) -> write when due. A toxic may also hold the pipe (timeout), delay
//   the close it forwards (slow_close) or act on the whole link through timers (timeout, reset_peer).
//
// A kind is the validated, immutable configuration of one fault; `attach` creates its per-(connection,
// direction) state, the way Toxiproxy gives each toxic a stub per link. The shared wrapper
// (ProxyFaultTable + the pipe) applies direction, probability, start delay and duration once, so no
// kind re-implements them. Adding a kind = one file in kinds/ + one line in fault_registry.cc.
#pragma once

#include "common/clock.h"
#include "common/random.h"

#include <nlohmann/json.hpp>

#include <cstddef>
#include <functional>
#include <memory>
#include <string_view>
#include <vector>

namespace chaos::proxy {

enum class Direction { kUpstream, kDownstream };  // client -> server, server -> client

// One chunk read from a pipe's source, as a list of pieces to send at given times. Toxics reshape the
// pieces; the pipe keeps the order (a piece never leaves before the one in front of it).
struct Chunk {
  struct Piece {
    size_t begin = 0, end = 0;  // byte range of `data`
    TimePoint at;               // not before
    size_t size() const { return end - begin; }
  };
  std::string_view data;
  std::vector<Piece> pieces;
  bool close_after = false;  // close the whole connection once these pieces are sent (limit_data)
};

// A cancellable one-shot timer; destroying the handle cancels it.
class TimerHandle {
 public:
  virtual ~TimerHandle() = default;
};

// What per-link toxic state may use: time, the seeded RNG, timers, and closing the connection.
// Implemented by the proxy runtime (and by a fake in unit tests). Single-threaded.
class LinkEnv {
 public:
  virtual ~LinkEnv() = default;
  virtual const Clock& clock() const = 0;
  virtual Random& rng() = 0;
  virtual Direction direction() const = 0;
  // Runs `fn` after `delay` unless the handle is destroyed first or the connection is gone.
  virtual std::unique_ptr<TimerHandle> after(Duration delay, std::function<void()> fn) = 0;
  // Closes both sides of the connection: RST (SO_LINGER 0) to a side whose flag is set, FIN otherwise.
  virtual void close_connection(bool reset_client, bool reset_upstream) = 0;
};

// Per-(connection, direction) state of one fault. Lives while the fault is active and the link open.
class LinkToxic {
 public:
  virtual ~LinkToxic() = default;
  // Shapes each chunk read from the source, in fault insertion order.
  virtual void shape(Chunk& /*chunk*/, LinkEnv& /*env*/) {}
  // While true the pipe neither reads nor writes: data is held back (TCP backpressure), not dropped.
  virtual bool holds_data() const { return false; }
  // When the source closes, the close is forwarded this much later.
  virtual Duration close_delay() const { return Duration(0); }
};

// What proxy-wide kinds (down) act on. Implemented by the runtime.
class ProxyControl {
 public:
  virtual ~ProxyControl() = default;
  // Reference-counted: the listener is closed while at least one hold is active, reopened on the same
  // port when the last one is released.
  virtual void hold_listener_down() = 0;
  virtual void release_listener_down() = 0;
  virtual void drop_open_connections() = 0;
  virtual void log(const std::string& line) = 0;
};

class FaultKind {
 public:
  virtual ~FaultKind() = default;
  // Per-link state, or nullptr for a kind that acts on the whole proxy.
  virtual std::unique_ptr<LinkToxic> attach(LinkEnv& /*env*/) const { return nullptr; }
  virtual void on_activate(ProxyControl& /*proxy*/) {}
  virtual void on_deactivate(ProxyControl& /*proxy*/) {}
  // The kind's own fields, echoed by GET /faults.
  virtual nlohmann::json fields() const = 0;
};

}  // namespace chaos::proxy
