// The cache client on hiredis's synchronous API: one redisContext per pooled connection, a connect
// timeout (redisConnectWithTimeout) and a per-command timeout (redisSetTimeout) cut to the caller's
// deadline. Any transport failure leaves the context unusable (hiredis sets c->err), so the
// connection is marked broken and stays so until heal() resets the pool.
#include <hiredis/hiredis.h>

#include <cerrno>
#include <cstring>
#include <sys/time.h>

#include "gateway/pool.h"
#include "gateway/real_clients.h"

namespace chaos::gateway {
namespace {

using resilience::Error;

struct RedisConn {
  redisContext* c = nullptr;
  explicit RedisConn(redisContext* ctx) : c(ctx) {}
  ~RedisConn() {
    if (c) redisFree(c);
  }
  RedisConn(const RedisConn&) = delete;
  RedisConn& operator=(const RedisConn&) = delete;
};

struct ReplyDeleter {
  void operator()(redisReply* r) const {
    if (r) freeReplyObject(r);
  }
};
using ReplyPtr = std::unique_ptr<redisReply, ReplyDeleter>;

timeval to_timeval(std::chrono::milliseconds ms) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(ms.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((ms.count() % 1000) * 1000);
  return tv;
}

bool is_timeout_errno(int e) { return e == EAGAIN || e == EWOULDBLOCK || e == ETIMEDOUT || e == EINPROGRESS; }

class RedisCache final : public CacheClient {
 public:
  explicit RedisCache(const ClientSettings& s)
      : s_(s), pool_("cache", s.pool_size, [this](const Deadline& d) { return connect(d); }, nullptr,
              s.on_probe_failure) {}

  Result<std::optional<std::string>> get(const std::string& key, const Deadline& d) override {
    auto r = command(d, {"GET", key});
    if (!r.ok()) return r.error();
    redisReply* reply = r.value().get();
    if (reply->type == REDIS_REPLY_NIL) return std::optional<std::string>();
    if (reply->type == REDIS_REPLY_STRING) return std::optional<std::string>(std::string(reply->str, reply->len));
    return Error::validation("cache GET answered with reply type " + std::to_string(reply->type));
  }

  Result<Unit> set(const std::string& key, const std::string& value, const Deadline& d) override {
    // A TTL keeps a value written back from the database from going stale forever.
    auto r = command(d, {"SET", key, value, "EX", "3600"});
    if (!r.ok()) return r.error();
    return Unit{};
  }

  Result<std::string> check(const Deadline& d) override {
    return pool_.check([this](RedisConn& c, const Deadline& dl) { return ping(c, dl); }, d);
  }

  Result<std::string> heal(const Deadline& d) override {
    return pool_.reset([this](RedisConn& c, const Deadline& dl) { return ping(c, dl); }, d);
  }
  size_t prewarm(size_t n, const Deadline& d) override { return pool_.warm(n, d); }

 private:
  Result<std::unique_ptr<RedisConn>> connect(const Deadline& d) {
    auto budget = op_budget(d, s_.connect_timeout);
    if (budget.count() <= 0) return Error::timeout("connect timeout: no time left in the deadline");
    errno = 0;
    redisContext* c = redisConnectWithTimeout(s_.host.c_str(), s_.port, to_timeval(budget));
    int saved = errno;
    if (c == nullptr) return Error::unknown("cache: cannot allocate a hiredis context");
    auto conn = std::make_unique<RedisConn>(c);
    if (c->err) {
      std::string what = "cache " + s_.host + ":" + std::to_string(s_.port) + ": " + c->errstr;
      if (is_timeout_errno(saved) || std::strstr(c->errstr, "timed out"))
        return Error::timeout("connect timeout after " + std::to_string(budget.count()) + " ms: " + what);
      return Error::network("connect failed: " + what, false);
    }
    return conn;
  }

  // One command on one pooled connection: transport failures mark the connection broken.
  Result<ReplyPtr> command(const Deadline& d, std::initializer_list<std::string> args) {
    auto lease = pool_.acquire(d);
    if (!lease.ok()) return lease.error();
    auto r = run(*lease.value(), d, args);
    if (!r.ok() && r.error().category != resilience::ErrorCategory::kServerError &&
        r.error().category != resilience::ErrorCategory::kValidation) {
      lease.value().mark_broken(r.error());
    }
    return r;
  }

  Result<ReplyPtr> run(RedisConn& conn, const Deadline& d, std::initializer_list<std::string> args) {
    auto budget = op_budget(d, s_.timeout);
    if (budget.count() <= 0) return Error::timeout("read timeout: no time left in the deadline");
    redisSetTimeout(conn.c, to_timeval(budget));
    std::vector<const char*> argv;
    std::vector<size_t> lens;
    for (const auto& a : args) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
    errno = 0;
    auto* raw = static_cast<redisReply*>(
        redisCommandArgv(conn.c, static_cast<int>(argv.size()), argv.data(), lens.data()));
    int saved = errno;
    ReplyPtr reply(raw);
    if (!reply) {
      std::string what = conn.c->errstr;
      if (conn.c->err == REDIS_ERR_IO && (is_timeout_errno(saved) || what.find("temporarily unavailable") != std::string::npos))
        return Error::timeout("read timeout after " + std::to_string(budget.count()) + " ms (cache)");
      if (conn.c->err == REDIS_ERR_EOF) return Error::network("cache closed the connection: " + what);
      if (conn.c->err == REDIS_ERR_PROTOCOL) return Error::network("cache protocol error: " + what);
      return Error::network("cache I/O error: " + what);
    }
    if (reply->type == REDIS_REPLY_ERROR) return Error::server("cache: " + std::string(reply->str, reply->len));
    return reply;
  }

  Result<Unit> ping(RedisConn& c, const Deadline& d) {
    auto r = run(c, d, {"PING"});
    if (!r.ok()) return r.error();
    redisReply* reply = r.value().get();
    if (reply->type != REDIS_REPLY_STATUS || std::string(reply->str, reply->len) != "PONG")
      return Error::validation("cache PING did not answer PONG");
    return Unit{};
  }

  const ClientSettings s_;
  ConnectionPool<RedisConn> pool_;
};

}  // namespace

std::unique_ptr<CacheClient> make_redis_cache(const ClientSettings& s) { return std::make_unique<RedisCache>(s); }

std::chrono::milliseconds op_budget(const Deadline& d, std::chrono::milliseconds limit) {
  // The library's rule (min of the op's limit and what is left of the deadline), in whole ms for the
  // client libraries' timeouts.
  auto b = std::chrono::duration_cast<std::chrono::milliseconds>(d.budget_for(limit));
  return std::max(b, std::chrono::milliseconds(0));
}

}  // namespace chaos::gateway
