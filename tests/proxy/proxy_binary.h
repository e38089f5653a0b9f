// Where the proxy tests find fault-proxy: this build's bin folder, or CHAOS_MOCK_BIN_DIR (e.g. a
// sanitizer build's). Header-only because CHAOS_BIN_DIR is defined per test target.
#pragma once

#include <cstdlib>
#include <string>

namespace chaos::proxy::testing {

inline std::string proxy_binary() {
  const char* dir = std::getenv("CHAOS_MOCK_BIN_DIR");
  return std::string(dir && *dir ? dir : CHAOS_BIN_DIR) + "/fault-proxy";
}

}  // namespace chaos::proxy::testing
