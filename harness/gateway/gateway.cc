// The request flow (see gateway.h for the picture), /health and /metrics, and database seeding.
#include "gateway/gateway.h"

#include <cstdio>

#include "resilience/fallback.h"

namespace chaos::gateway {

using nlohmann::json;
using resilience::Error;

namespace {
constexpr size_t kMaxLastGood = 100000;
constexpr int kSeedItems = 100;

json error_body(const std::string& message) { return json{{"error", message}}; }

// The value a missing database stands for: the same rows seed_database() writes.
std::optional<std::string> builtin_value(const std::string& id) {
  if (id.empty() || id.size() > 3 || id.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
  int n = std::stoi(id);
  if (n < 1 || n > kSeedItems || std::to_string(n) != id) return std::nullopt;
  return "value-" + id;
}
}  // namespace

bool valid_item_id(const std::string& id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

Gateway::Gateway(GatewayConfig config, Dependencies deps, resilience::Environment env,
                 resilience::Executor* health_executor)
    : config_(std::move(config)), deps_(std::move(deps)), env_(env) {
  if (env_.events) metrics_sub_ = env_.events->subscribe([m = metrics_](const resilience::Event& e) { m->on_event(e); });
  if (health_executor) {
    executor_ = health_executor;
  } else {
    // One thread per check plus one per heal action, so that a slow dependency delays nobody else.
    own_executor_ = std::make_unique<resilience::ThreadPoolExecutor>(6);
    executor_ = own_executor_.get();
  }
  resilience::HealthMonitorConfig mc;
  mc.running_threshold = config_.health.running_threshold;
  mc.degraded_threshold = config_.health.degraded_threshold;
  mc.sweep_interval = config_.health.interval;
  monitor_ = std::make_unique<resilience::HealthMonitor>(mc, env_, *executor_);
  if (deps_.cache) {
    cache_guard_ = std::make_unique<DependencyGuard>("cache", config_.cache, env_);
    add_health_check("cache", deps_.cache.get(), config_.cache);
  }
  if (deps_.db) {
    db_guard_ = std::make_unique<DependencyGuard>("db", config_.db, env_);
    add_health_check("db", deps_.db.get(), config_.db);
  }
  if (deps_.rpc) {
    rpc_guard_ = std::make_unique<DependencyGuard>("rpc", config_.rpc, env_);
    add_health_check("rpc", deps_.rpc.get(), config_.rpc);
  }
  const bool any_degraded = (cache_guard_ && cache_guard_->degraded()) || (db_guard_ && db_guard_->degraded()) ||
                            (rpc_guard_ && rpc_guard_->degraded());
  if (env_.events && any_degraded) {
    {
      std::lock_guard<std::mutex> lock(degraded_live_mu_);
      degraded_live_ = true;
    }
    degraded_sub_ = env_.events->subscribe([this](const resilience::Event& e) { on_event_for_degraded(e); });
  }
}

resilience::HealthStatus Gateway::check_status(const std::string& name) const {
  for (const auto& c : monitor_->snapshot().checks)
    if (c.name == name) return c.status;
  return resilience::HealthStatus::kUnknown;
}

void Gateway::on_event_for_degraded(const resilience::Event& e) {
  // Filtered before the lock: reassessing publishes `degraded.changed`, which comes back here.
  if (e.type != "breaker.state" && e.type != "health.check") return;
  std::lock_guard<std::mutex> lock(degraded_live_mu_);
  if (!degraded_live_) return;
  DependencyGuard* g = guard(e.name);
  if (!g || !g->degraded()) return;
  // The breaker's and the monitor's current state, not the event's: events of different threads can
  // arrive out of order, the state they announce cannot.
  g->reassess_degraded(check_status(e.name));
}

void Gateway::add_health_check(const std::string& name, Dependency* dep, const DependencySettings& s) {
  const HealthSettings& h = config_.health;
  const Clock* clock = env_.clock;
  const Duration timeout = s.health_timeout.count() > 0 ? Duration(s.health_timeout) : Duration(h.timeout);
  resilience::HealthCheckConfig c;
  c.name = name;
  c.interval = h.interval;
  c.timeout = timeout;
  c.stale_after = h.stale_after;
  c.weight = 1.0;
  c.check = [dep, clock, timeout]() {
    TimePoint start = clock->now();
    auto r = dep->check(Deadline::after(*clock, timeout));
    if (!r.ok()) return resilience::CheckResult::unhealthy(resilience::describe(r.error()));
    Duration took = clock->now() - start;
    // Answering, but close to the limit: worth showing before it turns into timeouts.
    if (took * 5 > timeout * 4)
      return resilience::CheckResult::degraded("slow: " + std::to_string(static_cast<int64_t>(to_ms(took))) + " ms; " + r.value());
    return resilience::CheckResult::healthy(r.value());
  };
  c.auto_heal = h.heal.enabled;
  // A heal reconnects and probes: a connect plus one command.
  c.heal = [dep, clock, timeout]() {
    auto r = dep->heal(Deadline::after(*clock, 2 * timeout));
    if (!r.ok()) return resilience::HealResult{false, resilience::describe(r.error())};
    return resilience::HealResult{true, r.value()};
  };
  c.max_heal_attempts = h.heal.max_attempts;
  c.heal_after_failures = heal_after_failures(s, h);
  c.heal_backoff_initial = h.heal.backoff;
  c.heal_backoff_multiplier = h.heal.multiplier;
  c.heal_backoff_max = h.heal.max_backoff;
  monitor_->add_check(std::move(c));
}

Gateway::~Gateway() {
  {
    std::lock_guard<std::mutex> lock(degraded_live_mu_);
    degraded_live_ = false;
  }
  if (env_.events && degraded_sub_) env_.events->unsubscribe(degraded_sub_);
  stop();
  if (env_.events && metrics_sub_) env_.events->unsubscribe(metrics_sub_);
}

DependencyGuard* Gateway::guard(const std::string& name) const {
  if (name == "cache") return cache_guard_.get();
  if (name == "db") return db_guard_.get();
  if (name == "rpc") return rpc_guard_.get();
  return nullptr;
}

std::optional<std::string> Gateway::last_good(const std::string& id) const {
  std::lock_guard<std::mutex> lock(last_good_mu_);
  auto it = last_good_.find(id);
  if (it == last_good_.end()) return std::nullopt;
  return it->second;
}

void Gateway::remember(const std::string& id, const std::string& value) {
  std::lock_guard<std::mutex> lock(last_good_mu_);
  if (last_good_.size() >= kMaxLastGood && !last_good_.count(id)) return;
  last_good_[id] = value;
}

void Gateway::announce_fallback(const std::string& name, const std::string& source, const Error& cause) {
  if (env_.publishing())
    env_.events->publish("fallback", name, resilience::EventFields{{"source", source}, {"cause", resilience::describe(cause)}});
}

HttpAnswer Gateway::get_item(const std::string& id, bool bypass_cache) {
  HttpAnswer a;
  if (!valid_item_id(id)) {
    a.status = 400;
    a.served_by = "error";
    a.body = error_body("invalid item id: expected 1-64 characters of [A-Za-z0-9_-]").dump();
    return a;
  }
  const Deadline request = Deadline::after(*env_.clock, config_.request_timeout);
  std::vector<std::string> fallbacks;  // who stood in for a failed dependency

  // 1. Cache.
  std::optional<std::string> value;
  bool cache_failed = false;
  std::optional<Error> cache_error;
  const std::string key = "item:" + id;
  if (deps_.cache && !bypass_cache) {
    auto r = cache_guard_->call<std::optional<std::string>>(
        request, [&](const Deadline& d) { return deps_.cache->get(key, d); });
    if (r.ok()) {
      value = r.value();
    } else {
      cache_failed = true;
      cache_error = r.error();
    }
  }

  // 2. The source of truth: the database, or the built-in table when there is none.
  if (!value) {
    std::optional<std::string> found;
    bool have = false;
    if (deps_.db) {
      const std::string sql = "SELECT value FROM items WHERE id = '" + id + "'";  // id is [A-Za-z0-9_-]
      auto r = db_guard_->call<std::optional<std::string>>(request, [&](const Deadline& d) { return deps_.db->query_value(sql, d); });
      if (r.ok()) {
        found = r.value();
        have = true;
      } else if (auto lg = last_good(id)) {
        announce_fallback("db", "last_good", r.error());
        fallbacks.push_back("last_good");
        value = *lg;
      } else {
        announce_fallback("db", "error", r.error());
        a.status = 503;
        a.served_by = "error";
        a.body = json{{"error", "no source could serve item " + id},
                      {"db", resilience::describe(r.error())},
                      {"cache", cache_error ? resilience::describe(*cache_error) : std::string(deps_.cache && !bypass_cache ? "miss" : "not used")}}
                     .dump();
        return a;
      }
    } else {
      found = builtin_value(id);
      have = true;
    }
    if (have) {
      if (!found) {
        a.status = 404;
        a.served_by = "error";
        a.body = error_body("no item " + id).dump();
        return a;
      }
      value = found;
      if (cache_failed) fallbacks.push_back("fallback");  // the cache failed; the database stood in
      if (deps_.cache && !bypass_cache && !cache_failed) {
        // Best effort: one attempt, and its failure never fails the request.
        (void)cache_guard_->call<Unit>(request, [&](const Deadline& d) { return deps_.cache->set(key, *found, d); },
                                       /*retry=*/false);
      }
    }
  }
  if (fallbacks.empty() || fallbacks.back() != "last_good") remember(id, *value);

  // 3. Enrichment.
  json enrichment = nullptr;
  if (deps_.rpc) {
    auto r = rpc_guard_->call<json>(request, [&](const Deadline& d) { return deps_.rpc->call("enrich", json{{"id", id}}, d); });
    if (r.ok()) {
      enrichment = std::move(r.value());
    } else {
      resilience::FallbackChain<json> chain("rpc", env_);
      chain.with_default(json{{"source", "default"}, {"tier", "standard"}});
      auto served = chain.apply(r);
      if (served.result.ok()) {
        enrichment = served.result.value();
        fallbacks.push_back(std::string(resilience::to_string(served.source)));
      } else {
        enrichment = nullptr;  // never reached with a default configured
      }
    }
  }

  a.served_by = fallbacks.empty() ? "primary" : fallbacks.size() == 1 ? fallbacks.front() : "fallback";
  a.status = 200;
  a.body = json{{"id", id}, {"value", *value}, {"enrichment", enrichment}, {"served_by", a.served_by}}.dump();
  return a;
}

HttpAnswer Gateway::health() const {
  using resilience::HealthStatus;
  resilience::HealthSnapshot s = monitor_->snapshot();
  const TimePoint now = env_.clock->now();
  json components = json::object();
  json degraded = json::array(), unhealthy = json::array();
  bool all_healthy = true;
  for (const auto& c : s.checks) {
    json j{{"status", std::string(resilience::to_string(c.status))},
           {"message", c.message},
           {"latency_ms", to_ms(c.latency)},
           {"last_check_ms_ago", c.reported ? json(static_cast<int64_t>(to_ms(now - c.last_result))) : json(nullptr)},
           {"stale", c.stale},
           {"heal_attempts", c.heal_attempts},
           {"heal_exhausted", c.heal_exhausted}};
    if (DependencyGuard* g = guard(c.name)) {
      auto m = g->breaker().metrics();
      j["breaker_state"] = std::string(resilience::to_string(m.state));
      j["breaker"] = {{"failure_rate", m.failure_rate},
                      {"slow_call_rate", m.slow_call_rate},
                      {"total_calls", m.total_calls},
                      {"successful_calls", m.successful_calls},
                      {"failed_calls", m.failed_calls},
                      {"rejected_calls", m.rejected_calls},
                      {"ignored_calls", m.ignored_calls},
                      {"window_calls", m.window_calls}};
      j["bulkhead_active"] = g->bulkhead().active();
      if (resilience::DegradedMode* dm = g->degraded()) {
        j["degraded_capacity"] = dm->capacity();
        j["degraded_shed"] = dm->shed();
      }
    }
    if (c.status != HealthStatus::kHealthy) all_healthy = false;
    if (c.status == HealthStatus::kDegraded) degraded.push_back(c.name);
    if (c.status == HealthStatus::kUnhealthy || c.status == HealthStatus::kUnknown) unhealthy.push_back(c.name);
    components[c.name] = std::move(j);
  }
  std::string system(resilience::to_string(s.state));
  std::string overall = s.state == resilience::SystemState::kCritical                   ? "UNHEALTHY"
                        : s.state == resilience::SystemState::kDegraded || !all_healthy ? "DEGRADED"
                                                                                          : "HEALTHY";
  HttpAnswer a;
  a.status = s.state == resilience::SystemState::kCritical ? 503 : 200;
  a.body = json{{"overall_status", overall},
                {"system_state", system},
                {"health_score", s.score},
                {"availability", s.availability},
                {"components", components},
                {"degraded", degraded},
                {"unhealthy", unhealthy},
                {"database_seeded", seeded_.load()}}
               .dump();
  return a;
}

HttpAnswer Gateway::metrics() const {
  std::string out;
  out += "# HELP gateway_breaker_state Circuit breaker state (0 CLOSED, 1 OPEN, 2 HALF_OPEN, 3 FORCED_OPEN, 4 DISABLED).\n";
  out += "# TYPE gateway_breaker_state gauge\n";
  std::string calls =
      "# HELP gateway_dependency_calls_total Guarded calls by breaker outcome.\n# TYPE gateway_dependency_calls_total counter\n";
  for (const char* name : {"cache", "db", "rpc"}) {
    DependencyGuard* g = guard(name);
    if (!g) continue;
    auto m = g->breaker().metrics();
    out += "gateway_breaker_state{name=\"" + std::string(name) + "\"} " + std::to_string(static_cast<int>(m.state)) + "\n";
    auto line = [&](const char* outcome, uint64_t v) {
      calls += "gateway_dependency_calls_total{name=\"" + std::string(name) + "\",outcome=\"" + outcome + "\"} " +
               std::to_string(v) + "\n";
    };
    line("success", m.successful_calls);
    line("failure", m.failed_calls);
    line("rejected", m.rejected_calls);
    line("ignored", m.ignored_calls);
  }
  out += calls;
  out += "# HELP gateway_degraded_capacity Fraction of calls attempted in degraded mode (1: not degraded).\n";
  out += "# TYPE gateway_degraded_capacity gauge\n";
  for (const char* name : {"cache", "db", "rpc"}) {
    DependencyGuard* g = guard(name);
    if (!g || !g->degraded()) continue;
    out += "gateway_degraded_capacity{name=\"" + std::string(name) + "\"} " + std::to_string(g->degraded()->capacity()) + "\n";
  }
  resilience::HealthSnapshot s = monitor_->snapshot();
  out += "# HELP gateway_health_status Health check status (0 UNKNOWN, 1 HEALTHY, 2 DEGRADED, 3 UNHEALTHY).\n";
  out += "# TYPE gateway_health_status gauge\n";
  for (const auto& c : s.checks) {
    int v = c.status == resilience::HealthStatus::kHealthy    ? 1
            : c.status == resilience::HealthStatus::kDegraded ? 2
            : c.status == resilience::HealthStatus::kUnhealthy ? 3
                                                               : 0;
    out += "gateway_health_status{name=\"" + prom_escape(c.name) + "\"} " + std::to_string(v) + "\n";
  }
  out += "# HELP gateway_health_score System health score 0-100.\n# TYPE gateway_health_score gauge\n";
  out += "gateway_health_score " + std::to_string(s.score) + "\n";
  out += metrics_->render();
  HttpAnswer a;
  a.content_type = "text/plain; version=0.0.4";
  a.body = std::move(out);
  return a;
}

void Gateway::record_request(const std::string& route, int status, const std::string& served_by, Duration took) {
  metrics_->record_request(route, status, served_by, std::chrono::duration<double>(took).count());
  if (env_.publishing()) {
    env_.events->publish("request", "",
                         resilience::EventFields{{"route", route},
                                                 {"status", status},
                                                 {"duration_us", std::chrono::duration_cast<std::chrono::microseconds>(took).count()},
                                                 {"served_by", served_by}});
  }
}

Result<Unit> Gateway::seed_database(const Deadline& d) {
  if (!deps_.db) return Unit{};
  auto r = deps_.db->exec("CREATE TABLE IF NOT EXISTS items(id TEXT PRIMARY KEY, value TEXT)", d);
  if (!r.ok()) return r.error();
  std::string sql = "INSERT INTO items(id,value) VALUES ";
  for (int i = 1; i <= kSeedItems; ++i) {
    if (i > 1) sql += ",";
    sql += "('" + std::to_string(i) + "','value-" + std::to_string(i) + "')";
  }
  sql += " ON CONFLICT DO NOTHING";
  r = deps_.db->exec(sql, d);
  if (!r.ok()) return r.error();
  seeded_.store(true);
  return Unit{};
}

std::vector<std::string> Gateway::prewarm_pools(const Deadline& d) {
  std::vector<std::string> lines;
  auto warm = [&](const char* name, Dependency* dep, const DependencySettings& s) {
    if (!dep || s.pool_prewarm == 0) return;
    size_t open = dep->prewarm(s.pool_prewarm, d);
    lines.push_back(std::string(name) + ": " + std::to_string(open) + " of " + std::to_string(s.pool_prewarm) +
                    " connections open");
  };
  warm("cache", deps_.cache.get(), config_.cache);
  warm("db", deps_.db.get(), config_.db);
  return lines;
}

void Gateway::start() {
  monitor_->start();
  if (!deps_.db) seeded_.store(true);
  if (seeded_.load()) return;
  {
    std::lock_guard<std::mutex> lock(seed_mu_);
    stopping_ = false;
  }
  seeder_ = std::thread([this] {
    for (int attempt = 1;; ++attempt) {
      auto r = seed_database(Deadline::after(*env_.clock, std::chrono::seconds(2)));
      if (r.ok()) {
        std::fprintf(stderr, "gateway: database seeded (%d items)\n", kSeedItems);
        return;
      }
      if (attempt == 1 || attempt % 25 == 0)
        std::fprintf(stderr, "gateway: seeding the database failed (attempt %d), retrying: %s\n", attempt,
                     resilience::describe(r.error()).c_str());
      std::unique_lock<std::mutex> lock(seed_mu_);
      if (seed_cv_.wait_for(lock, std::chrono::milliseconds(200), [this] { return stopping_; })) return;
    }
  });
}

void Gateway::stop() {
  {
    std::lock_guard<std::mutex> lock(seed_mu_);
    stopping_ = true;
  }
  seed_cv_.notify_all();
  if (seeder_.joinable()) seeder_.join();
  monitor_->stop();
}

}  // namespace chaos::gateway
