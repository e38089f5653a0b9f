// One protocol conversation on one connection. The runtime owns the socket, buffering, faults and
// stats; a session only turns bytes into requests and requests into response bytes. That split is what
// lets one fault layer serve HTTP, RESP and the PostgreSQL protocol alike.
#pragma once

#include "core/fault.h"

#include <string>
#include <string_view>

namespace chaos::mocks {

enum class StepKind {
  kNeedMore,  // `consumed` bytes were taken into the session's own state; wait for more input
  kRequest,   // a complete request: the runtime applies faults, then calls serve() or fail()
  kReply,     // protocol housekeeping (handshakes): bytes already appended to out, no faults apply
  kClose,     // close after flushing out (bad framing, Terminate, QUIT); bytes may be appended
};

struct Step {
  StepKind kind = StepKind::kNeedMore;
  size_t consumed = 0;
};

class ProtocolSession {
 public:
  virtual ~ProtocolSession() = default;
  // `in` is all buffered, unconsumed input. A session must enforce its own frame size limits.
  virtual Step parse(std::string_view in, std::string& out) = 0;
  // The key faults match against (method, command name, SQL text), valid after kRequest.
  virtual std::string_view request_key() const = 0;
  virtual void serve(std::string& out) = 0;
  virtual void fail(const ErrorSpec& error, std::string& out) = 0;
  // Serves the request but appends only the part of the answer a `partial` fault lets through, cut at
  // this protocol's natural unit (rows, array elements, body bytes) so the client sees a well-framed
  // start and then the connection closing. `cut.unit` is never kBytes (the runtime does raw cuts).
  // The default cuts the response bytes, for a protocol with no better place.
  virtual void serve_partial(const PartialCut& cut, std::string& out) {
    std::string full;
    serve(full);
    out.append(full, 0, cut.units_to_send(full.size()));
  }
  // After the last serve()/fail(): close once the response is flushed (HTTP "Connection: close").
  virtual bool close_after_response() const { return false; }
};

}  // namespace chaos::mocks
