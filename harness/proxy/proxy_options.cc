// Flag parsing for fault-proxy.
#include "proxy/proxy_options.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace chaos::proxy {
namespace {

bool parse_uint(const std::string& s, uint64_t max, uint64_t* out) {
  if (s.empty() || s[0] == '-') return false;
  char* end = nullptr;
  errno = 0;
  unsigned long long v = std::strtoull(s.c_str(), &end, 10);
  if (errno != 0 || *end != '\0' || v > max) return false;
  *out = v;
  return true;
}

void usage() {
  std::fprintf(stderr,
               "usage: fault-proxy --upstream HOST:PORT [--port N] [--control-port N] [--seed N] [--name NAME]\n"
               "                   [--max-connections N]\n"
               "  ports: 0-65535, 0 = ephemeral; listens on 127.0.0.1 only\n");
}

bool fail(const std::string& message) {
  std::fprintf(stderr, "fault-proxy: %s\n", message.c_str());
  usage();
  return false;
}

bool parse_upstream(const std::string& value, ProxyOptions& o) {
  auto colon = value.rfind(':');
  uint64_t port = 0;
  if (colon == std::string::npos || colon == 0 || !parse_uint(value.substr(colon + 1), 65535, &port) || port == 0) {
    return fail("--upstream must be HOST:PORT with a port 1-65535, got '" + value + "'");
  }
  std::string host = value.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  o.upstream_host = host;
  o.upstream_port = static_cast<uint16_t>(port);
  return true;
}

}  // namespace

std::optional<ProxyOptions> parse_proxy_options(int argc, char** argv) {
  ProxyOptions o;
  for (int i = 1; i < argc; ++i) {
    std::string flag = argv[i];
    std::string value;
    if (flag == "--help" || flag == "-h") {
      usage();
      return std::nullopt;
    }
    if (auto eq = flag.find('='); eq != std::string::npos && flag.rfind("--", 0) == 0) {
      value = flag.substr(eq + 1);
      flag = flag.substr(0, eq);
    } else if (flag.rfind("--", 0) == 0) {
      if (i + 1 >= argc) {
        fail("flag " + flag + " needs a value");
        return std::nullopt;
      }
      value = argv[++i];
    } else {
      fail("unexpected argument '" + flag + "'");
      return std::nullopt;
    }
    uint64_t v = 0;
    bool ok = true;
    if (flag == "--port" || flag == "--control-port") {
      ok = parse_uint(value, 65535, &v) || fail(flag + " must be a port number 0-65535, got '" + value + "'");
      if (ok) (flag == "--port" ? o.port : o.control_port) = static_cast<uint16_t>(v);
    } else if (flag == "--seed") {
      ok = parse_uint(value, UINT64_MAX, &v) || fail("--seed must be a non-negative integer, got '" + value + "'");
      if (ok) o.seed = v;
    } else if (flag == "--name") {
      o.name = value;
    } else if (flag == "--upstream") {
      ok = parse_upstream(value, o);
    } else if (flag == "--max-connections") {
      ok = (parse_uint(value, 1'000'000, &v) && v > 0) ||
           fail("--max-connections must be an integer 1-1000000, got '" + value + "'");
      if (ok) o.max_connections = v;
    } else {
      ok = fail("unknown flag '" + flag + "'");
    }
    if (!ok) return std::nullopt;
  }
  if (o.upstream_host.empty()) {
    fail("--upstream HOST:PORT is required");
    return std::nullopt;
  }
  return o;
}

}  // namespace chaos::proxy
