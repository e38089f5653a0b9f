// Flag parsing and process guards.
#include "core/options.h"

#include <csignal>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <sys/prctl.h>
#include <unistd.h>

namespace chaos::mocks {
namespace {

bool parse_uint(const char* s, uint64_t max, uint64_t* out) {
  if (!s || !*s) return false;
  char* end = nullptr;
  errno = 0;
  unsigned long long v = std::strtoull(s, &end, 10);
  if (errno != 0 || *end != '\0' || s[0] == '-' || v > max) return false;
  *out = v;
  return true;
}

void usage(std::string_view service, bool with_init_sql) {
  std::fprintf(stderr,
               "usage: %.*s [--port N] [--control-port N] [--seed N] [--name NAME] [--fiu-fifo BASE]%s\n"
               "  ports: 0-65535, 0 = ephemeral; binds 127.0.0.1 only\n",
               static_cast<int>(service.size()), service.data(), with_init_sql ? " [--init-sql FILE]" : "");
}

}  // namespace

std::optional<MockOptions> parse_mock_options(std::string_view service, int argc, char** argv, bool with_init_sql) {
  MockOptions o;
  for (int i = 1; i < argc; ++i) {
    std::string flag = argv[i];
    std::string value;
    bool has_value = false;
    if (auto eq = flag.find('='); eq != std::string::npos && flag.rfind("--", 0) == 0) {
      value = flag.substr(eq + 1);
      flag = flag.substr(0, eq);
      has_value = true;
    } else if (i + 1 < argc) {
      value = argv[i + 1];
      has_value = true;
    }
    auto take = [&]() -> bool {
      if (!has_value) {
        std::fprintf(stderr, "%s: flag %s needs a value\n", std::string(service).c_str(), flag.c_str());
        return false;
      }
      if (std::string(argv[i]).find('=') == std::string::npos) ++i;
      return true;
    };
    uint64_t v = 0;
    if (flag == "--help" || flag == "-h") {
      usage(service, with_init_sql);
      return std::nullopt;
    } else if (flag == "--port" || flag == "--control-port") {
      if (!take()) return std::nullopt;
      if (!parse_uint(value.c_str(), 65535, &v)) {
        std::fprintf(stderr, "%s: %s must be a port number 0-65535, got '%s'\n", std::string(service).c_str(),
                     flag.c_str(), value.c_str());
        return std::nullopt;
      }
      (flag == "--port" ? o.port : o.control_port) = static_cast<uint16_t>(v);
    } else if (flag == "--seed") {
      if (!take()) return std::nullopt;
      if (!parse_uint(value.c_str(), UINT64_MAX, &v)) {
        std::fprintf(stderr, "%s: --seed must be a non-negative integer, got '%s'\n", std::string(service).c_str(),
                     value.c_str());
        return std::nullopt;
      }
      o.seed = v;
    } else if (flag == "--name") {
      if (!take()) return std::nullopt;
      o.name = value;
    } else if (flag == "--fiu-fifo") {
      if (!take()) return std::nullopt;
      o.fiu_fifo = value;
    } else if (flag == "--init-sql" && with_init_sql) {
      if (!take()) return std::nullopt;
      o.init_sql = value;
    } else {
      std::fprintf(stderr, "%s: unknown flag '%s'\n", std::string(service).c_str(), argv[i]);
      usage(service, with_init_sql);
      return std::nullopt;
    }
  }
  return o;
}

bool install_process_guards() {
  std::signal(SIGPIPE, SIG_IGN);
  pid_t before = getppid();
  if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0) return false;
  // The parent may have died before prctl took effect: then we were re-parented already. A parent that
  // really is PID 1 (a container's init running a mock directly) must say so explicitly.
  pid_t after = getppid();
  if (after != before) return false;
  const char* allow = std::getenv("CHAOS_MOCK_ALLOW_INIT_PARENT");
  return after != 1 || (allow && std::string(allow) == "1");
}

}  // namespace chaos::mocks
