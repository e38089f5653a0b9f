// mock-db: a PostgreSQL-protocol database on 127.0.0.1, backed by in-memory SQLite, with live fault
// control.
#include "core/server.h"
#include "db/pg_session.h"

#include <cstdio>
#include <fstream>
#include <random>
#include <sstream>
#include <unistd.h>

int main(int argc, char** argv) {
  using namespace chaos::mocks;
  if (!install_process_guards()) {
    std::fprintf(stderr, "%s: parent process already gone, exiting\n", argv[0]);
    return 1;
  }
  auto options = parse_mock_options("mock-db", argc, argv, true);
  if (!options) return 2;
  SqlEngine engine;
  if (!engine.ok()) {
    std::fprintf(stderr, "mock-db: cannot open the in-memory SQLite database\n");
    return 1;
  }
  if (!options->init_sql.empty()) {
    std::ifstream f(options->init_sql);
    if (!f) {
      std::fprintf(stderr, "mock-db: cannot read --init-sql file '%s'\n", options->init_sql.c_str());
      return 1;
    }
    std::stringstream ss;
    ss << f.rdbuf();
    SqlResultSink ignore{[](const auto&) {}, [](const auto&) {}, [](const auto&) {}, [] {}};
    if (auto err = engine.execute(ss.str(), ignore)) {
      std::fprintf(stderr, "mock-db: --init-sql '%s' failed: %s (SQLSTATE %s)\n", options->init_sql.c_str(),
                   err->message.c_str(), err->sqlstate.c_str());
      return 1;
    }
  }
  std::mt19937 secrets(static_cast<uint32_t>(options->seed));
  int32_t backend = 0;
  MockDefinition def{"mock-db", "mock/db", [&] {
                       return std::make_unique<PgSession>(engine, static_cast<int32_t>(getpid()) * 1000 + (++backend % 1000),
                                                          static_cast<int32_t>(secrets()));
                     }};
  return run_mock(def, *options);
}
