// Strict parsing of the gateway's argv and --config JSON: every key is known, every value typed and
// range-checked, and the error names the JSON path (e.g. `db.breaker.minimum_calls`).
#include "gateway/config.h"

#include "gateway/real_clients.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>

namespace chaos::gateway {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;

std::string join_path(const std::string& path, const std::string& key) {
  return path.empty() ? key : path + "." + key;
}

// Checks that `o` is an object whose keys are all in `known`.
void expect_object(const json& o, const std::string& path, const std::set<std::string>& known) {
  if (!o.is_object())
    throw ConfigError((path.empty() ? "top level" : path) + ": expected an object, got " + std::string(o.type_name()));
  for (auto it = o.begin(); it != o.end(); ++it) {
    if (!known.count(it.key())) {
      std::string list;
      for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
      throw ConfigError(join_path(path, it.key()) + ": unknown key (known keys here: " + list + ")");
    }
  }
}

double number(const json& v, const std::string& path, double lo, double hi) {
  if (!v.is_number()) throw ConfigError(path + ": expected a number, got " + std::string(v.type_name()));
  double d = v.get<double>();
  if (!std::isfinite(d) || d < lo || d > hi) {
    std::ostringstream os;
    os << path << ": " << d << " is out of range [" << lo << ", " << hi << "]";
    throw ConfigError(os.str());
  }
  return d;
}

uint32_t uinteger(const json& v, const std::string& path, uint32_t lo, uint32_t hi) {
  if (!v.is_number_integer()) throw ConfigError(path + ": expected an integer, got " + v.dump());
  int64_t i = v.get<int64_t>();
  if (i < lo || i > hi) {
    throw ConfigError(path + ": " + std::to_string(i) + " is out of range [" + std::to_string(lo) + ", " +
                      std::to_string(hi) + "]");
  }
  return static_cast<uint32_t>(i);
}

milliseconds ms(const json& v, const std::string& path, uint32_t lo = 0, uint32_t hi = 3'600'000) {
  return milliseconds(uinteger(v, path, lo, hi));
}

bool boolean(const json& v, const std::string& path) {
  if (!v.is_boolean()) throw ConfigError(path + ": expected true or false, got " + v.dump());
  return v.get<bool>();
}

std::string string_choice(const json& v, const std::string& path, const std::set<std::string>& choices) {
  std::string list;
  for (const auto& c : choices) list += (list.empty() ? "" : ", ") + c;
  if (!v.is_string() || !choices.count(v.get<std::string>()))
    throw ConfigError(path + ": expected one of " + list + ", got " + v.dump());
  return v.get<std::string>();
}

void apply_breaker(const json& o, const std::string& path, resilience::CircuitBreakerConfig& b) {
  expect_object(o, path,
                {"window_type", "window_size", "minimum_calls", "failure_rate_threshold", "slow_call_duration_ms",
                 "slow_call_rate_threshold", "consecutive_failure_threshold", "failures_within_count",
                 "failures_within_period_ms", "wait_in_open_ms", "open_wait_multiplier", "max_wait_in_open_ms",
                 "automatic_transition", "permitted_calls_in_half_open", "successes_to_close",
                 "max_wait_in_half_open_ms"});
  for (auto it = o.begin(); it != o.end(); ++it) {
    const std::string& k = it.key();
    const json& v = it.value();
    std::string p = join_path(path, k);
    if (k == "window_type") {
      b.window_type = string_choice(v, p, {"count", "time"}) == "count" ? resilience::SlidingWindowType::kCountBased
                                                                         : resilience::SlidingWindowType::kTimeBased;
    } else if (k == "window_size") {
      b.window_size = uinteger(v, p, 1, 100000);
    } else if (k == "minimum_calls") {
      b.minimum_calls = uinteger(v, p, 1, 100000);
    } else if (k == "failure_rate_threshold") {
      b.failure_rate_threshold = number(v, p, 0, 101);
    } else if (k == "slow_call_duration_ms") {
      b.slow_call_duration = ms(v, p);
    } else if (k == "slow_call_rate_threshold") {
      b.slow_call_rate_threshold = number(v, p, 0, 101);
    } else if (k == "consecutive_failure_threshold") {
      b.consecutive_failure_threshold = uinteger(v, p, 0, 100000);
    } else if (k == "failures_within_count") {
      b.failures_within_count = uinteger(v, p, 0, 100000);
    } else if (k == "failures_within_period_ms") {
      b.failures_within_period = ms(v, p, 1);
    } else if (k == "wait_in_open_ms") {
      b.wait_in_open = ms(v, p, 1);
    } else if (k == "open_wait_multiplier") {
      b.open_wait_multiplier = number(v, p, 1, 100);
    } else if (k == "max_wait_in_open_ms") {
      b.max_wait_in_open = ms(v, p, 1);
    } else if (k == "automatic_transition") {
      b.automatic_transition = boolean(v, p);
    } else if (k == "permitted_calls_in_half_open") {
      b.permitted_calls_in_half_open = uinteger(v, p, 1, 100000);
    } else if (k == "successes_to_close") {
      b.successes_to_close = uinteger(v, p, 0, 100000);
    } else if (k == "max_wait_in_half_open_ms") {
      b.max_wait_in_half_open = ms(v, p);
    }
  }
  if (b.successes_to_close > b.permitted_calls_in_half_open)
    throw ConfigError(path + ".successes_to_close: must be <= permitted_calls_in_half_open (" +
                      std::to_string(b.permitted_calls_in_half_open) + ")");
  if (b.window_type == resilience::SlidingWindowType::kCountBased && b.minimum_calls > b.window_size)
    throw ConfigError(path + ".minimum_calls: must be <= window_size (" + std::to_string(b.window_size) +
                      ") for a count window, or the breaker could never open");
}

void apply_retry(const json& o, const std::string& path, resilience::RetryConfig& r) {
  expect_object(o, path, {"max_attempts", "backoff_ms", "multiplier", "max_backoff_ms", "jitter"});
  for (auto it = o.begin(); it != o.end(); ++it) {
    std::string p = join_path(path, it.key());
    const json& v = it.value();
    if (it.key() == "max_attempts") r.max_attempts = uinteger(v, p, 1, 100);
    else if (it.key() == "backoff_ms") r.initial_backoff = ms(v, p);
    else if (it.key() == "multiplier") r.multiplier = number(v, p, 1, 100);
    else if (it.key() == "max_backoff_ms") r.max_backoff = ms(v, p);
    else if (it.key() == "jitter") {
      using resilience::Jitter;
      static const std::map<std::string, Jitter> kinds = {
          {"none", Jitter::kNone}, {"full", Jitter::kFull}, {"equal", Jitter::kEqual}, {"decorrelated", Jitter::kDecorrelated}};
      r.jitter = kinds.at(string_choice(v, p, {"none", "full", "equal", "decorrelated"}));
    }
  }
  if (r.max_backoff < r.initial_backoff) throw ConfigError(path + ".max_backoff_ms: must be >= backoff_ms");
}

void apply_degraded(const json& o, const std::string& path, DegradedSettings& d) {
  expect_object(o, path, {"enabled", "capacity", "random_shedding"});
  for (auto it = o.begin(); it != o.end(); ++it) {
    std::string p = join_path(path, it.key());
    const json& v = it.value();
    if (it.key() == "enabled") d.enabled = boolean(v, p);
    else if (it.key() == "capacity") {
      d.capacity = number(v, p, 0, 1);
      // A capacity of 1 would "degrade" without shedding anything: almost certainly a mistake.
      if (d.capacity >= 1) throw ConfigError(p + ": must be below 1 (1 sheds nothing; set enabled false instead)");
    } else if (it.key() == "random_shedding") d.random_shedding = boolean(v, p);
  }
}

void apply_dependency(const json& o, const std::string& path, DependencySettings& d) {
  expect_object(o, path,
                {"breaker", "retry", "timeout_ms", "connect_timeout_ms", "overall_timeout_ms", "bulkhead", "pool_size",
                 "degraded", "health_timeout_ms", "heal_after_failures", "pool_prewarm"});
  for (auto it = o.begin(); it != o.end(); ++it) {
    std::string p = join_path(path, it.key());
    const json& v = it.value();
    if (it.key() == "breaker") apply_breaker(v, p, d.breaker);
    else if (it.key() == "retry") apply_retry(v, p, d.retry);
    else if (it.key() == "timeout_ms") d.timeout = ms(v, p, 1, 600'000);
    else if (it.key() == "connect_timeout_ms") d.connect_timeout = ms(v, p, 1, 600'000);
    else if (it.key() == "overall_timeout_ms") d.overall_timeout = ms(v, p, 1, 600'000);
    else if (it.key() == "pool_size") d.pool_size = uinteger(v, p, 1, 1024);
    else if (it.key() == "health_timeout_ms") d.health_timeout = ms(v, p, 1, 600'000);
    else if (it.key() == "heal_after_failures") d.heal_after_failures = uinteger(v, p, 1, 1000);
    else if (it.key() == "pool_prewarm") {
      if (path == "rpc") throw ConfigError(p + ": not supported for rpc (its HTTP clients connect on first use)");
      d.pool_prewarm = uinteger(v, p, 0, 1024);
    }
    else if (it.key() == "degraded") apply_degraded(v, p, d.degraded);
    else if (it.key() == "bulkhead") {
      expect_object(v, p, {"max_concurrent", "max_wait_ms"});
      if (v.contains("max_concurrent")) d.bulkhead.max_concurrent = uinteger(v["max_concurrent"], p + ".max_concurrent", 1, 1024);
      if (v.contains("max_wait_ms")) d.bulkhead.max_wait = ms(v["max_wait_ms"], p + ".max_wait_ms", 0, 60'000);
    }
  }
  if (d.pool_prewarm > d.effective_pool_size())
    throw ConfigError(join_path(path, "pool_prewarm") + ": must be <= the pool size (" +
                      std::to_string(d.effective_pool_size()) + ")");
}

void apply_health(const json& o, const std::string& path, HealthSettings& h) {
  expect_object(o, path, {"interval_ms", "timeout_ms", "stale_after_ms", "running_threshold", "degraded_threshold", "heal"});
  for (auto it = o.begin(); it != o.end(); ++it) {
    std::string p = join_path(path, it.key());
    const json& v = it.value();
    if (it.key() == "interval_ms") h.interval = ms(v, p, 10, 600'000);
    else if (it.key() == "timeout_ms") h.timeout = ms(v, p, 1, 600'000);
    else if (it.key() == "stale_after_ms") h.stale_after = ms(v, p);
    else if (it.key() == "running_threshold") h.running_threshold = number(v, p, 0, 1);
    else if (it.key() == "degraded_threshold") h.degraded_threshold = number(v, p, 0, 1);
    else if (it.key() == "heal") {
      expect_object(v, p, {"enabled", "max_attempts", "after_failures", "backoff_ms", "multiplier", "max_backoff_ms"});
      HealSettings& s = h.heal;
      for (auto jt = v.begin(); jt != v.end(); ++jt) {
        std::string q = join_path(p, jt.key());
        if (jt.key() == "enabled") s.enabled = boolean(jt.value(), q);
        else if (jt.key() == "max_attempts") s.max_attempts = uinteger(jt.value(), q, 1, 100000);
        else if (jt.key() == "after_failures") s.after_failures = uinteger(jt.value(), q, 1, 1000);
        else if (jt.key() == "backoff_ms") s.backoff = ms(jt.value(), q);
        else if (jt.key() == "multiplier") s.multiplier = number(jt.value(), q, 1, 100);
        else if (jt.key() == "max_backoff_ms") s.max_backoff = ms(jt.value(), q);
      }
      if (s.max_backoff < s.backoff) throw ConfigError(p + ".max_backoff_ms: must be >= backoff_ms");
    }
  }
  if (h.degraded_threshold > h.running_threshold)
    throw ConfigError(path + ".degraded_threshold: must be <= running_threshold");
}

}  // namespace

GatewayConfig default_config() {
  GatewayConfig c;
  for (DependencySettings* d : {&c.cache, &c.db, &c.rpc}) {
    auto& b = d->breaker;
    b.window_type = resilience::SlidingWindowType::kCountBased;
    b.window_size = 10;
    b.minimum_calls = 5;
    b.failure_rate_threshold = 50.0;
    b.wait_in_open = std::chrono::milliseconds(1000);
    b.max_wait_in_open = std::chrono::milliseconds(30000);
    // A timer moves OPEN -> HALF_OPEN on time even without traffic, so the event stream shows it.
    b.automatic_transition = true;
    b.permitted_calls_in_half_open = 2;
    b.successes_to_close = 0;
    b.max_wait_in_half_open = std::chrono::milliseconds(10000);
    auto& r = d->retry;
    r.max_attempts = 2;
    r.initial_backoff = std::chrono::milliseconds(20);
    r.multiplier = 2.0;
    r.max_backoff = std::chrono::milliseconds(200);
    r.jitter = resilience::Jitter::kEqual;
    d->bulkhead.max_concurrent = 16;
    d->bulkhead.max_wait = std::chrono::milliseconds(0);
  }
  return c;
}

void apply_config(const json& doc, GatewayConfig& c) {
  expect_object(doc, "", {"cache", "db", "rpc", "health", "request_timeout_ms", "server_threads"});
  for (auto it = doc.begin(); it != doc.end(); ++it) {
    const std::string& k = it.key();
    if (k == "cache") apply_dependency(it.value(), k, c.cache);
    else if (k == "db") apply_dependency(it.value(), k, c.db);
    else if (k == "rpc") apply_dependency(it.value(), k, c.rpc);
    else if (k == "health") apply_health(it.value(), k, c.health);
    else if (k == "request_timeout_ms") c.request_timeout = ms(it.value(), k, 1, 600'000);
    else if (k == "server_threads") c.server_threads = uinteger(it.value(), k, 1, 1024);
  }
}

Endpoint parse_endpoint(const std::string& flag, const std::string& text) {
  auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size())
    throw ConfigError(flag + ": expected HOST:PORT, got \"" + text + "\"");
  Endpoint e;
  e.host = text.substr(0, colon);
  std::string port = text.substr(colon + 1);
  char* end = nullptr;
  errno = 0;
  long p = std::strtol(port.c_str(), &end, 10);
  if (errno != 0 || *end != '\0' || p < 1 || p > 65535)
    throw ConfigError(flag + ": port must be 1..65535, got \"" + port + "\"");
  e.port = static_cast<int>(p);
  return e;
}

Options parse_options(const std::vector<std::string>& args) {
  Options o;
  bool have_port = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&]() -> const std::string& {
      if (i + 1 >= args.size()) throw ConfigError(a + ": missing value");
      return args[++i];
    };
    if (a == "--port") {
      const std::string& v = value();
      char* end = nullptr;
      errno = 0;
      long p = std::strtol(v.c_str(), &end, 10);
      if (v.empty() || errno != 0 || *end != '\0' || p < 0 || p > 65535)
        throw ConfigError("--port: expected 0..65535 (0 = ephemeral), got \"" + v + "\"");
      o.port = static_cast<int>(p);
      have_port = true;
    } else if (a == "--cache") {
      o.cache = parse_endpoint(a, value());
    } else if (a == "--db") {
      o.db = parse_endpoint(a, value());
    } else if (a == "--rpc") {
      o.rpc = parse_endpoint(a, value());
    } else if (a == "--config") {
      o.config_file = value();
    } else if (a == "--seed") {
      const std::string& v = value();
      char* end = nullptr;
      errno = 0;
      unsigned long long s = std::strtoull(v.c_str(), &end, 10);
      if (v.empty() || v[0] == '-' || errno != 0 || *end != '\0')
        throw ConfigError("--seed: expected a non-negative integer, got \"" + v + "\"");
      o.seed = s;
    } else {
      throw ConfigError("unknown argument \"" + a + "\"\n" + usage());
    }
  }
  if (!have_port) throw ConfigError("--port is required\n" + usage());
  if (!o.config_file.empty()) {
    std::ifstream in(o.config_file);
    if (!in) throw ConfigError("--config: cannot read " + o.config_file);
    json doc;
    try {
      doc = json::parse(in);
    } catch (const json::parse_error& e) {
      throw ConfigError("--config " + o.config_file + ": not valid JSON: " + e.what());
    }
    try {
      apply_config(doc, o.config);
    } catch (const ConfigError& e) {
      throw ConfigError("--config " + o.config_file + ": " + e.what());
    }
  }
  return o;
}

std::string usage() {
  return "usage: gateway --port N [--cache HOST:PORT] [--db HOST:PORT] [--rpc HOST:PORT] [--config FILE] "
         "[--seed N]";
}

ClientSettings client_settings(const Endpoint& e, const DependencySettings& d, const HealthSettings& h) {
  ClientSettings s;
  s.host = e.host;
  s.port = e.port;
  s.timeout = d.timeout;
  s.connect_timeout = d.connect_timeout;
  s.pool_size = d.effective_pool_size();
  // With a heal that waits for failures in a row, a failed probe must not break its connection: a
  // broken slot fails every later check until the heal, which would make the wait meaningless.
  s.on_probe_failure = heal_after_failures(d, h) > 1 ? ProbeFailure::kDrop : ProbeFailure::kBreak;
  return s;
}

}  // namespace chaos::gateway
