// mock-cache: a Redis-protocol (RESP2) cache on 127.0.0.1 with live fault control.
#include "cache/resp_session.h"
#include "core/server.h"

#include <cstdio>

int main(int argc, char** argv) {
  using namespace chaos::mocks;
  if (!install_process_guards()) {
    std::fprintf(stderr, "%s: parent process already gone, exiting\n", argv[0]);
    return 1;
  }
  auto options = parse_mock_options("mock-cache", argc, argv, false);
  if (!options) return 2;
  Store store;
  MockDefinition def{"mock-cache", "mock/cache", [&store] { return std::make_unique<RespSession>(store); }};
  return run_mock(def, *options);
}
