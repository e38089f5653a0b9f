// mock-rpc: an HTTP/1.1 JSON RPC service on 127.0.0.1 with live fault control.
#include "core/server.h"

#include <cstdio>
#include "rpc/rpc_session.h"

int main(int argc, char** argv) {
  using namespace chaos::mocks;
  if (!install_process_guards()) {
    std::fprintf(stderr, "%s: parent process already gone, exiting\n", argv[0]);
    return 1;
  }
  auto options = parse_mock_options("mock-rpc", argc, argv, false);
  if (!options) return 2;
  MockDefinition def{"mock-rpc", "mock/rpc", [] { return std::make_unique<RpcSession>(); }};
  return run_mock(def, *options);
}
