// The runtime every mock shares: one Boost.Asio event loop on one thread serving the protocol
// listener, the control API, fault timers and signals. A mock supplies only its protocol session.
#pragma once

#include "core/options.h"
#include "core/session.h"

#include <functional>
#include <memory>
#include <string>

namespace chaos::mocks {

struct MockDefinition {
  std::string service;     // "mock-cache": the ready line's "service"
  std::string fiu_prefix;  // "mock/cache": libfiu points <prefix>/accept|read|handle|write
  std::function<std::unique_ptr<ProtocolSession>()> make_session;
};

// Runs until SIGTERM/SIGINT (returns 0) or a start-up failure (logs why, returns 1).
int run_mock(const MockDefinition& def, const MockOptions& options);

}  // namespace chaos::mocks
