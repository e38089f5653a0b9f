// The rpc client on cpp-httplib: a pool of keep-alive httplib::Client objects (a Client serialises its
// requests, so concurrency needs several). Connect, read and write timeouts are set per call from the
// caller's deadline. A client whose connection failed stays broken until heal() recreates every
// client ("restart-request"); so does one whose keep-alive connection fails the health check (the
// mocks' `exhaust` answers errors on old connections only). See pool.h for the policy.
#include <httplib.h>

#include "gateway/pool.h"
#include "gateway/real_clients.h"

namespace chaos::gateway {
namespace {

using resilience::Error;

struct HttpConn {
  httplib::Client client;
  HttpConn(const std::string& host, int port) : client(host, port) { client.set_keep_alive(true); }
};

void set_timeouts(httplib::Client& c, std::chrono::milliseconds connect, std::chrono::milliseconds io) {
  auto sec = [](std::chrono::milliseconds m) { return static_cast<time_t>(m.count() / 1000); };
  auto usec = [](std::chrono::milliseconds m) { return static_cast<time_t>((m.count() % 1000) * 1000); };
  c.set_connection_timeout(sec(connect), usec(connect));
  c.set_read_timeout(sec(io), usec(io));
  c.set_write_timeout(sec(io), usec(io));
  // httplib writes a POST's headers and body separately; without TCP_NODELAY the body waits ~40 ms
  // for the delayed ACK of the headers on a keep-alive connection (Nagle).
  c.set_tcp_nodelay(true);
}

// The connection itself failed (refused, reset, closed mid-answer): the client stays broken until
// healed. A timeout is a slow server, not a broken client (httplib already dropped that socket), and
// an HTTP error status is a well-formed answer: neither breaks it.
bool breaks_client(const Error& e) { return e.category == resilience::ErrorCategory::kNetwork; }

class HttpRpc final : public RpcClient {
 public:
  explicit HttpRpc(const ClientSettings& s)
      : s_(s), pool_("rpc", s.pool_size, [this](const Deadline&) -> Result<std::unique_ptr<HttpConn>> {
          return std::make_unique<HttpConn>(s_.host, s_.port);
        }, [](const Error& e) { return breaks_client(e); },
        s.on_probe_failure) {}

  Result<nlohmann::json> call(const std::string& method, const nlohmann::json& params, const Deadline& d) override {
    auto lease = pool_.acquire(d);
    if (!lease.ok()) return lease.error();
    auto r = request(*lease.value(), "POST", "/rpc/" + method, params.dump(), d);
    if (!r.ok() && breaks_client(r.error())) lease.value().mark_broken(r.error());
    return r;
  }

  Result<std::string> check(const Deadline& d) override {
    return pool_.check([this](HttpConn& c, const Deadline& dl) { return health(c, dl); }, d);
  }
  Result<std::string> heal(const Deadline& d) override {
    return pool_.reset([this](HttpConn& c, const Deadline& dl) { return health(c, dl); }, d);
  }

 private:
  Result<Unit> health(HttpConn& c, const Deadline& d) {
    auto r = request(c, "GET", "/health", "", d);
    if (!r.ok()) return r.error();
    return Unit{};
  }

  Result<nlohmann::json> request(HttpConn& conn, const std::string& verb, const std::string& path,
                                 const std::string& body, const Deadline& d) {
    auto io = op_budget(d, s_.timeout);
    auto connect = op_budget(d, s_.connect_timeout);
    if (io.count() <= 0) return Error::timeout("read timeout: no time left in the deadline");
    set_timeouts(conn.client, connect, io);
    auto start = std::chrono::steady_clock::now();
    httplib::Result res = verb == "POST" ? conn.client.Post(path.c_str(), body, "application/json")
                                         : conn.client.Get(path.c_str());
    auto took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
    std::string where = "rpc " + verb + " " + path;
    if (!res) {
      httplib::Error e = res.error();
      switch (e) {
        case httplib::Error::ConnectionTimeout:
          return Error::timeout("connect timeout after " + std::to_string(connect.count()) + " ms (" + where + ")");
        case httplib::Error::Connection:
          // httplib reports a connect timeout as Connection in some paths: tell them apart by time.
          if (took >= connect - std::chrono::milliseconds(5))
            return Error::timeout("connect timeout after " + std::to_string(connect.count()) + " ms (" + where + ")");
          return Error::network(where + ": connection failed", false);
        case httplib::Error::Read:
          if (took >= io - std::chrono::milliseconds(5))
            return Error::timeout("read timeout after " + std::to_string(io.count()) + " ms (" + where + ")");
          return Error::network(where + ": connection closed while reading the answer");
        case httplib::Error::Write:
          return Error::network(where + ": write failed");
        default:
          return Error::network(where + ": " + httplib::to_string(e));
      }
    }
    int st = res->status;
    std::string snippet = res->body.substr(0, 200);
    if (st == 429) return Error::rate_limit(where + ": HTTP 429 " + snippet);
    if (st >= 500) return Error::server(where + ": HTTP " + std::to_string(st) + " " + snippet);
    if (st >= 400) return Error::client(where + ": HTTP " + std::to_string(st) + " " + snippet);
    if (st < 200 || st >= 300) return Error::validation(where + ": unexpected HTTP " + std::to_string(st));
    if (verb == "GET" && path == "/health") return nlohmann::json(nullptr);
    auto j = nlohmann::json::parse(res->body, nullptr, false);
    if (j.is_discarded()) return Error::validation(where + ": answer is not JSON: " + snippet);
    return j;
  }

  const ClientSettings s_;
  ConnectionPool<HttpConn> pool_;
};

}  // namespace

std::unique_ptr<RpcClient> make_http_rpc(const ClientSettings& s) { return std::make_unique<HttpRpc>(s); }

}  // namespace chaos::gateway
