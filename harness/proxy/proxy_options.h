// Command-line flags of fault-proxy. The same flags and conventions as the mocks (docs/MOCKS.md), plus
// the upstream to forward to.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

namespace chaos::proxy {

struct ProxyOptions {
  uint16_t port = 0;          // 0 = ephemeral
  uint16_t control_port = 0;  // 0 = ephemeral
  std::string upstream_host;  // required
  uint16_t upstream_port = 0;
  uint64_t seed = 1;
  std::string name;           // label in logs
  size_t max_connections = 4096;  // beyond it new clients are accepted and closed at once
};

// Parses argv; on a bad or missing flag prints what was expected and the usage to stderr and returns
// nullopt (the caller exits 2).
std::optional<ProxyOptions> parse_proxy_options(int argc, char** argv);

}  // namespace chaos::proxy
