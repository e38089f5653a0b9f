// The gateway's request flow and its operational endpoints, independent of HTTP plumbing so that it
// is tested with fake dependency clients:
//
//   GET /item/<id> --> cache GET item:<id> --hit--------------------------------+
//                         | miss / failure                                     |
//                         v                                                    v
//                      db SELECT value --ok--> write back to cache (best effort) --> rpc enrich --> 200
//                         | failure                                                 | failure
//                         v                                                         v
//                      last known good value (else 503)               static default enrichment
//
// Each dependency call runs under its DependencyGuard (timeout + retry + breaker + bulkhead). The
// answer says who served it: `primary` when every dependency answered normally, otherwise the
// fallback that produced it (`last_good`, `default`, or `fallback` when the cache failed and the
// database answered, or when several fallbacks were combined).
#pragma once

#include <nlohmann/json.hpp>

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "gateway/clients.h"
#include "gateway/config.h"
#include "gateway/guard.h"
#include "gateway/metrics.h"
#include "resilience/executor.h"
#include "resilience/health_monitor.h"

namespace chaos::gateway {

struct Dependencies {
  std::unique_ptr<CacheClient> cache;  // null: not configured
  std::unique_ptr<DbClient> db;
  std::unique_ptr<RpcClient> rpc;
};

struct HttpAnswer {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
  std::string served_by;  // X-Served-By; empty for non-item routes
};

// [A-Za-z0-9_-]{1,64}: the only ids that reach a query.
bool valid_item_id(const std::string& id);

class Gateway {
 public:
  // `env.events` must be set; the gateway subscribes its metrics to it. `env.scheduler` is needed by
  // start(). Health checks and heal actions run on `health_executor` (default: a thread pool owned by
  // the gateway; tests pass an InlineExecutor).
  Gateway(GatewayConfig config, Dependencies deps, resilience::Environment env,
          resilience::Executor* health_executor = nullptr);
  ~Gateway();
  Gateway(const Gateway&) = delete;
  Gateway& operator=(const Gateway&) = delete;

  // `bypass_cache`: skip the cache read and write-back (the `?cache=bypass` query), so that a
  // scenario can drive load to the database even when every item is cached.
  HttpAnswer get_item(const std::string& id, bool bypass_cache = false);
  HttpAnswer health() const;
  HttpAnswer metrics() const;

  // Front-door bookkeeping: a `request` event and the request metrics.
  void record_request(const std::string& route, int status, const std::string& served_by, Duration took);

  // CREATE TABLE items + ids 1..100; idempotent (ON CONFLICT DO NOTHING).
  Result<Unit> seed_database(const Deadline& d);
  bool seeded() const { return seeded_.load(); }

  // Opens each dependency's `pool_prewarm` connections (one at a time, all within `d`); returns a
  // line per dependency that has any, e.g. "db: 8 of 8 connections open".
  std::vector<std::string> prewarm_pools(const Deadline& d);

  // Health monitor threads and, with a database that is not seeded yet, background seeding retried
  // every 200 ms until it succeeds. main() makes one bounded seed_database() attempt before printing
  // the ready line, so that a reachable database already holds the items when load starts.
  void start();
  void stop();

  resilience::HealthMonitor& monitor() { return *monitor_; }
  DependencyGuard* guard(const std::string& name) const;

 private:
  std::optional<std::string> last_good(const std::string& id) const;
  void remember(const std::string& id, const std::string& value);
  void announce_fallback(const std::string& name, const std::string& source, const resilience::Error& cause);

  const GatewayConfig config_;
  Dependencies deps_;
  const resilience::Environment env_;
  std::unique_ptr<DependencyGuard> cache_guard_, db_guard_, rpc_guard_;
  void add_health_check(const std::string& name, Dependency* dep, const DependencySettings& s);
  // Degraded mode follows every `breaker.state` and `health.check` event of a dependency that has it
  // enabled (see DegradedSettings). The flag, under its mutex, keeps a late event from reaching a
  // half-destroyed gateway: the destructor clears it before anything is torn down.
  void on_event_for_degraded(const resilience::Event& e);
  resilience::HealthStatus check_status(const std::string& name) const;
  std::mutex degraded_live_mu_;
  bool degraded_live_ = false;
  resilience::EventPublisher::SubscriptionId degraded_sub_ = 0;
  // Declared after deps_ and before monitor_: checks in flight finish before the clients go away,
  // and the monitor is destroyed before the threads its tasks run on.
  std::unique_ptr<resilience::ThreadPoolExecutor> own_executor_;
  resilience::Executor* executor_ = nullptr;
  std::unique_ptr<resilience::HealthMonitor> monitor_;
  std::shared_ptr<Metrics> metrics_ = std::make_shared<Metrics>();
  resilience::EventPublisher::SubscriptionId metrics_sub_ = 0;

  mutable std::mutex last_good_mu_;
  std::unordered_map<std::string, std::string> last_good_;

  std::atomic<bool> seeded_{false};
  std::mutex seed_mu_;
  std::condition_variable seed_cv_;
  bool stopping_ = false;
  std::thread seeder_;
};

}  // namespace chaos::gateway
