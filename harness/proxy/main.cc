// fault-proxy: a TCP proxy on 127.0.0.1 in front of one upstream, with live fault control. To the
// scenario runner it looks exactly like a mock (docs/MOCKS.md, docs/PROXY.md).
#include "proxy/proxy_server.h"

#include "core/options.h"  // mocks/core: the same process guards as every mock

#include <cstdio>

int main(int argc, char** argv) {
  if (!chaos::mocks::install_process_guards()) {
    std::fprintf(stderr, "fault-proxy: parent process already gone, exiting\n");
    return 1;
  }
  auto options = chaos::proxy::parse_proxy_options(argc, argv);
  if (!options) return 2;
  return chaos::proxy::run_proxy(*options);
}
