// The three dependencies as small interfaces, so the request flow and the health wiring are tested
// with fakes and the real clients (hiredis, libpq, cpp-httplib) stay in their own files.
//
// Every operation takes a Deadline (its whole budget) and returns Result<T> with an error already
// classified into the resilience library's categories: TIMEOUT, NETWORK (connect refused, reset,
// EOF, broken connection awaiting heal), SERVER_ERROR (the dependency answered with a failure),
// CLIENT_ERROR (our request was wrong), VALIDATION (an answer we cannot use). Timeout messages start
// with "connect timeout" / "read timeout" / "write timeout" so the guard can report which one fired.
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>

#include "resilience/deadline.h"
#include "resilience/error.h"

namespace chaos::gateway {

using resilience::Deadline;
using resilience::Result;
using resilience::Unit;

// What health checks and heal actions share: check() says whether the dependency is usable (its
// message on success goes into /health), heal() repairs the client side (reconnect / reset pool /
// recreate client) and says what it did.
class Dependency {
 public:
  virtual ~Dependency() = default;
  virtual Result<std::string> check(const Deadline& d) = 0;
  virtual Result<std::string> heal(const Deadline& d) = 0;
  // Opens up to `n` pooled connections before any request needs them; returns how many are open.
  // Clients that connect lazily by nature (httplib) open none.
  virtual size_t prewarm(size_t n, const Deadline& d) {
    (void)n;
    (void)d;
    return 0;
  }
};

class CacheClient : public Dependency {
 public:
  // nullopt: a miss.
  virtual Result<std::optional<std::string>> get(const std::string& key, const Deadline& d) = 0;
  virtual Result<Unit> set(const std::string& key, const std::string& value, const Deadline& d) = 0;
};

class DbClient : public Dependency {
 public:
  // The first column of the first row, nullopt when the query returned no row.
  virtual Result<std::optional<std::string>> query_value(const std::string& sql, const Deadline& d) = 0;
  virtual Result<Unit> exec(const std::string& sql, const Deadline& d) = 0;
};

class RpcClient : public Dependency {
 public:
  // POST /rpc/<method> with a JSON body; the parsed JSON answer.
  virtual Result<nlohmann::json> call(const std::string& method, const nlohmann::json& params,
                                      const Deadline& d) = 0;
};

}  // namespace chaos::gateway
