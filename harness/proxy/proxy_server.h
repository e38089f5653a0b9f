// The fault proxy's runtime: one Boost.Asio event loop on one thread serving the proxied listener, the
// upstream connections, the control API, fault timers and signals. No thread per connection; every
// buffer is bounded. Kept behind this small header so only proxy_server.cc compiles Asio.
#pragma once

#include "proxy/proxy_options.h"

namespace chaos::proxy {

// Prints the ready line, then runs until SIGTERM/SIGINT (returns 0) or a start-up failure (logs why,
// returns 1).
int run_proxy(const ProxyOptions& options);

}  // namespace chaos::proxy
