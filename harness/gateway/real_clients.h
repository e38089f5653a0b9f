// Factories for the production clients: hiredis for the cache, libpq for the database, cpp-httplib
// for rpc. Each keeps a ConnectionPool (see pool.h for the reconnect policy) and classifies every
// failure into the resilience library's error categories. The headers of those libraries stay out of
// here so that only the .cc files that need them pay for them.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "gateway/clients.h"
#include "gateway/config.h"
#include "gateway/pool.h"

namespace chaos::gateway {

struct ClientSettings {
  std::string host;
  int port = 0;
  std::chrono::milliseconds timeout{200};          // one command / query / request
  std::chrono::milliseconds connect_timeout{200};  // opening one connection
  size_t pool_size = 4;
  // What a failed health-check probe does to its connection (see ProbeFailure): kDrop when the
  // dependency's heal waits for more than one failed check.
  ProbeFailure on_probe_failure = ProbeFailure::kBreak;
};

// The client settings for dependency `d` at `e`, given the health settings its heal follows.
ClientSettings client_settings(const Endpoint& e, const DependencySettings& d, const HealthSettings& h);

std::unique_ptr<CacheClient> make_redis_cache(const ClientSettings& s);
// Connection parameters other than host and port (user, password, database) come from libpq's own
// environment variables (PGUSER, PGPASSWORD, PGDATABASE, ...), so a real PostgreSQL works unchanged.
std::unique_ptr<DbClient> make_postgres_db(const ClientSettings& s);
std::unique_ptr<RpcClient> make_http_rpc(const ClientSettings& s);

// min(limit, what the deadline has left), never negative; with an infinite deadline, `limit`.
std::chrono::milliseconds op_budget(const Deadline& d, std::chrono::milliseconds limit);

}  // namespace chaos::gateway
