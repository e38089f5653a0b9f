// Command-line flags shared by every mock, and the start-up guards every mock applies.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace chaos::mocks {

struct MockOptions {
  uint16_t port = 0;          // 0 = ephemeral
  uint16_t control_port = 0;  // 0 = ephemeral
  uint64_t seed = 1;
  std::string name;           // label in logs
  std::string fiu_fifo;       // libfiu remote-control fifo base (fiu-ctrl -f BASE)
  std::string init_sql;       // mock-db only
};

// Parses --port, --control-port, --seed, --name, --fiu-fifo (and --init-sql when `with_init_sql`).
// On a bad flag prints what was expected and the usage to stderr and returns nullopt.
std::optional<MockOptions> parse_mock_options(std::string_view service, int argc, char** argv, bool with_init_sql);

// Ignores SIGPIPE and arranges for SIGTERM when the parent dies (PR_SET_PDEATHSIG); returns false if the
// parent is already gone (we were re-parented), in which case the mock must exit. A parent that is
// PID 1 counts as gone unless CHAOS_MOCK_ALLOW_INIT_PARENT=1.
bool install_process_guards();

}  // namespace chaos::mocks
