// The database client on libpq's asynchronous API, so that no call can outlive its deadline: the
// connection is opened with PQconnectStart/PQconnectPoll and queries are sent with PQsendQuery, both
// driven by poll() on PQsocket() against the deadline. On a timeout the query is cancelled
// (PQcancel, on a helper thread because PQcancel itself blocks) and the connection is dropped and
// marked broken; it is reopened only by heal() (see pool.h).
#include <libpq-fe.h>
#include <poll.h>

#include <atomic>
#include <cerrno>
#include <thread>

#include "gateway/pool.h"
#include "gateway/real_clients.h"

namespace chaos::gateway {
namespace {

using resilience::Error;

// Sent once on every new connection before it joins the pool (see connect()). The comment names it in
// the server's logs and lets a test's fault match it alone.
constexpr const char* kFirstStatement = "SELECT 1 /* chaos-gateway: first statement on a new connection */";

struct PgConn {
  PGconn* c = nullptr;
  explicit PgConn(PGconn* conn) : c(conn) {}
  ~PgConn() {
    if (c) PQfinish(c);
  }
  PgConn(const PgConn&) = delete;
  PgConn& operator=(const PgConn&) = delete;
};

struct ResultDeleter {
  void operator()(PGresult* r) const {
    if (r) PQclear(r);
  }
};
using PgResultPtr = std::unique_ptr<PGresult, ResultDeleter>;

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

// Waits for `events` on the socket until the deadline (or `limit`). 1: ready, 0: timed out, -1: error.
int wait_socket(int fd, short events, const Deadline& d, std::chrono::milliseconds limit_at) {
  for (;;) {
    auto budget = op_budget(d, limit_at);
    if (budget.count() <= 0) return 0;
    pollfd p{fd, events, 0};
    int n = ::poll(&p, 1, static_cast<int>(budget.count()));
    if (n > 0) return 1;
    if (n == 0) {
      // poll's timeout is relative; re-check the deadline in case it was cut short by rounding.
      if (op_budget(d, limit_at).count() <= 0 || d.is_infinite()) return 0;
      continue;
    }
    if (errno == EINTR) continue;
    return -1;
  }
}

// SQLSTATE class -> error category. Connection exceptions break the connection; our own SQL mistakes
// are CLIENT_ERROR (never retried, ignored by the breaker); everything else is the server failing.
Error classify_sqlstate(const std::string& state, const std::string& message) {
  std::string cls = state.substr(0, 2);
  std::string what = "db " + (state.empty() ? std::string("error") : "SQLSTATE " + state) + ": " + message;
  if (cls == "08") return Error::network(what);
  if (cls == "42" || cls == "22" || cls == "23" || cls == "0A") return Error::client(what);
  if (state == "57014") return Error::timeout("read timeout: " + what);  // query_canceled
  return Error::server(what);
}

class PostgresDb final : public DbClient {
 public:
  explicit PostgresDb(const ClientSettings& s)
      : s_(s), pool_("db", s.pool_size, [this](const Deadline& d) { return connect(d); }, nullptr,
              s.on_probe_failure) {}

  Result<std::optional<std::string>> query_value(const std::string& sql, const Deadline& d) override {
    auto r = query(sql, d);
    if (!r.ok()) return r.error();
    PGresult* res = r.value().get();
    if (PQresultStatus(res) != PGRES_TUPLES_OK) return Error::validation("db: query returned no rows: " + sql);
    if (PQntuples(res) == 0 || PQgetisnull(res, 0, 0)) return std::optional<std::string>();
    return std::optional<std::string>(std::string(PQgetvalue(res, 0, 0), PQgetlength(res, 0, 0)));
  }

  Result<Unit> exec(const std::string& sql, const Deadline& d) override {
    auto r = query(sql, d);
    if (!r.ok()) return r.error();
    return Unit{};
  }

  Result<std::string> check(const Deadline& d) override {
    return pool_.check([this](PgConn& c, const Deadline& dl) { return select1(c, dl); }, d);
  }
  Result<std::string> heal(const Deadline& d) override {
    return pool_.reset([this](PgConn& c, const Deadline& dl) { return select1(c, dl); }, d);
  }
  size_t prewarm(size_t n, const Deadline& d) override { return pool_.warm(n, d); }

 private:
  Result<std::unique_ptr<PgConn>> connect(const Deadline& d) {
    auto budget = op_budget(d, s_.connect_timeout);
    if (budget.count() <= 0) return Error::timeout("connect timeout: no time left in the deadline");
    const std::string endpoint = s_.host + ":" + std::to_string(s_.port);
    // sslmode/gssencmode off: loopback, and the mock speaks plain protocol v3 only.
    std::string conninfo = "host=" + s_.host + " port=" + std::to_string(s_.port) +
                           " sslmode=disable gssencmode=disable application_name=chaos-gateway";
    PGconn* raw = PQconnectStart(conninfo.c_str());
    if (raw == nullptr) return Error::unknown("db: cannot allocate a libpq connection");
    auto conn = std::make_unique<PgConn>(raw);
    if (PQstatus(raw) == CONNECTION_BAD) return Error::network("db connect failed: " + trim(PQerrorMessage(raw)), false);
    Deadline cd = d.child(budget);  // one budget for the whole handshake
    PostgresPollingStatusType st = PGRES_POLLING_WRITING;
    for (;;) {
      if (st == PGRES_POLLING_OK) break;
      if (st == PGRES_POLLING_FAILED)
        return Error::network("db connect to " + endpoint + " failed: " + trim(PQerrorMessage(raw)), false);
      short ev = st == PGRES_POLLING_READING ? POLLIN : POLLOUT;
      int w = wait_socket(PQsocket(raw), ev, cd, budget);
      if (w == 0)
        return Error::timeout("connect timeout after " + std::to_string(budget.count()) + " ms (db " + endpoint + ")");
      if (w < 0) return Error::network("db connect: poll failed", false);
      st = PQconnectPoll(raw);
    }
    if (PQsetnonblocking(raw, 1) != 0) return Error::network("db: cannot switch to non-blocking mode");
    // NOTICEs (e.g. "relation already exists, skipping") are not worth a log line each.
    PQsetNoticeProcessor(raw, [](void*, const char*) {}, nullptr);
    // A PostgreSQL backend answers its first statement late: it has just been forked and fills its
    // catalog caches then. On a loaded machine that first answer overran the 200 ms query limit,
    // so whichever request or health probe came first after a heal or a top-up failed and broke the
    // fresh slot. The connection is not handed out until it has answered once, within what is left
    // of the connect budget: a slow fork and a slow first answer are both the cost of opening it.
    // An error answer (a fault injected on every statement) still shows a working connection.
    bool broken = false;
    auto first = run(*conn, kFirstStatement, cd, budget, &broken);
    if (!first.ok() && broken) {
      const std::string where = " (db " + endpoint + ", first statement on a new connection)";
      if (first.error().category == resilience::ErrorCategory::kTimeout)
        return Error::timeout("connect timeout after " + std::to_string(budget.count()) + " ms" + where);
      return Error::network("db connect failed: " + first.error().message + where, false);
    }
    return conn;
  }

  Result<PgResultPtr> query(const std::string& sql, const Deadline& d) {
    auto lease = pool_.acquire(d);
    if (!lease.ok()) return lease.error();
    bool broken = false;
    auto r = run(*lease.value(), sql, d, &broken);
    if (broken) lease.value().mark_broken(r.ok() ? Error::network("connection lost") : r.error());
    return r;
  }

  // Runs one statement within the query limit; sets *broken when the connection cannot be used again.
  Result<PgResultPtr> run(PgConn& conn, const std::string& sql, const Deadline& d, bool* broken) {
    return run(conn, sql, d, s_.timeout, broken);
  }
  Result<PgResultPtr> run(PgConn& conn, const std::string& sql, const Deadline& d, std::chrono::milliseconds limit,
                          bool* broken) {
    auto budget = op_budget(d, limit);
    if (budget.count() <= 0) return Error::timeout("read timeout: no time left in the deadline");
    // The limit for this statement as an absolute deadline, so repeated polls share one budget.
    Deadline stmt = d.child(budget);
    PGconn* c = conn.c;
    auto lost = [&](const std::string& what) -> Result<PgResultPtr> {
      *broken = true;
      return Error::network("db " + what + ": " + trim(PQerrorMessage(c)));
    };
    auto timed_out = [&]() -> Result<PgResultPtr> {
      *broken = true;
      cancel(c);
      return Error::timeout("read timeout after " + std::to_string(budget.count()) + " ms (db query)");
    };
    if (PQstatus(c) != CONNECTION_OK) return lost("connection is not open");
    if (!PQsendQuery(c, sql.c_str())) return lost("send failed");
    for (;;) {
      int f = PQflush(c);
      if (f == 0) break;
      if (f < 0) return lost("send failed");
      int w = wait_socket(PQsocket(c), POLLOUT, stmt, budget);
      if (w == 0) return timed_out();
      if (w < 0) return lost("poll failed");
    }
    PgResultPtr first;
    PgResultPtr error;
    for (;;) {
      if (!PQconsumeInput(c)) return lost("read failed");
      while (!PQisBusy(c)) {
        PgResultPtr r(PQgetResult(c));
        if (!r) {
          if (PQstatus(c) != CONNECTION_OK) return lost("connection lost");
          if (error) {
            const char* state = PQresultErrorField(error.get(), PG_DIAG_SQLSTATE);
            Error e = classify_sqlstate(state ? state : "", trim(PQresultErrorMessage(error.get())));
            if (e.category == resilience::ErrorCategory::kNetwork) *broken = true;
            return e;
          }
          if (!first) return Error::validation("db: no result for " + sql);
          return first;
        }
        ExecStatusType st = PQresultStatus(r.get());
        if (st == PGRES_FATAL_ERROR || st == PGRES_BAD_RESPONSE || st == PGRES_NONFATAL_ERROR) {
          if (!error) error = std::move(r);
        } else if (!first) {
          first = std::move(r);
        }
      }
      int w = wait_socket(PQsocket(c), POLLIN, stmt, budget);
      if (w == 0) return timed_out();
      if (w < 0) return lost("poll failed");
    }
  }

  // PQcancel opens a new connection and blocks without a timeout, so it runs on a detached thread;
  // at most two run at once (a hung server could hold them), the rest are skipped: the connection is
  // dropped anyway, which a real server notices.
  static void cancel(PGconn* c) {
    static std::atomic<int> in_flight{0};
    PGcancel* cn = PQgetCancel(c);
    if (cn == nullptr) return;
    if (in_flight.fetch_add(1) >= 2) {
      in_flight.fetch_sub(1);
      PQfreeCancel(cn);
      return;
    }
    std::thread([cn] {
      char buf[256];
      PQcancel(cn, buf, sizeof buf);
      PQfreeCancel(cn);
      in_flight.fetch_sub(1);
    }).detach();
  }

  Result<Unit> select1(PgConn& c, const Deadline& d) {
    bool broken = false;
    auto r = run(c, "SELECT 1", d, &broken);
    if (!r.ok()) return r.error();
    return Unit{};
  }

  const ClientSettings s_;
  ConnectionPool<PgConn> pool_;
};

}  // namespace

std::unique_ptr<DbClient> make_postgres_db(const ClientSettings& s) { return std::make_unique<PostgresDb>(s); }

}  // namespace chaos::gateway
