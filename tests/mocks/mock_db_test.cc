// mock-db as a real process, driven by libpq: connect, the statements the demo gateway runs, SQL
// errors as PostgreSQL errors with SQLSTATE, and fault kinds as a libpq client sees them.
#include "mock_test_fixture.h"

#include <libpq-fe.h>

#include <cstdio>
#include <fstream>
#include <poll.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace chaos::mocks::testing {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// The default connect timeout is for connections that must succeed: long enough that a loaded
// sanitizer run never trips it. Refused connections fail at once whatever the timeout.
class Pg {
 public:
  explicit Pg(int port, int timeout_s = 10) {
    std::string conninfo = "host=127.0.0.1 port=" + std::to_string(port) +
                           " user=chaos dbname=mock sslmode=prefer connect_timeout=" + std::to_string(timeout_s);
    conn_ = PQconnectdb(conninfo.c_str());
  }
  ~Pg() { PQfinish(conn_); }
  bool ok() const { return PQstatus(conn_) == CONNECTION_OK; }
  std::string error() const { return PQerrorMessage(conn_); }
  struct Result {
    ExecStatusType status = PGRES_FATAL_ERROR;
    std::string sqlstate, message;
    std::vector<std::vector<std::string>> rows;
    std::string tag;
  };
  Result exec(const std::string& sql) {
    Result r;
    PGresult* res = PQexec(conn_, sql.c_str());
    if (!res) {
      r.message = PQerrorMessage(conn_);
      return r;
    }
    r.status = PQresultStatus(res);
    if (const char* s = PQresultErrorField(res, PG_DIAG_SQLSTATE)) r.sqlstate = s;
    if (const char* m = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY)) r.message = m;
    if (r.message.empty()) r.message = PQerrorMessage(conn_);
    r.tag = PQcmdStatus(res);
    for (int i = 0; i < PQntuples(res); ++i) {
      std::vector<std::string> row;
      for (int j = 0; j < PQnfields(res); ++j) row.push_back(PQgetisnull(res, i, j) ? "<null>" : PQgetvalue(res, i, j));
      r.rows.push_back(row);
    }
    PQclear(res);
    return r;
  }
  PGconn* raw() { return conn_; }

 private:
  PGconn* conn_;
};

class MockDbTest : public MockFixture {
 protected:
  void SetUp() override { launch("mock-db"); }
  // How many requests the mock says a fault of `kind` touched (GET /stats).
  int touched_by(const std::string& kind) { return control().stats()["requests_failed_by_fault"][kind].get<int>(); }
};

TEST_F(MockDbTest, RunsTheGatewayStatementsThroughLibpq) {
  Pg db(port());
  ASSERT_TRUE(db.ok()) << db.error();
  EXPECT_STREQ(PQparameterStatus(db.raw(), "server_version"), "15.0");
  EXPECT_EQ(db.exec("CREATE TABLE IF NOT EXISTS items(id TEXT PRIMARY KEY, value TEXT)").tag, "CREATE TABLE");
  EXPECT_EQ(db.exec("INSERT INTO items(id,value) VALUES ('1','x') ON CONFLICT DO NOTHING").tag, "INSERT 0 1");
  EXPECT_EQ(db.exec("INSERT INTO items(id,value) VALUES ('1','x') ON CONFLICT DO NOTHING").tag, "INSERT 0 0");
  auto sel = db.exec("SELECT value FROM items WHERE id = '1'");
  EXPECT_EQ(sel.status, PGRES_TUPLES_OK);
  EXPECT_EQ(sel.rows, (std::vector<std::vector<std::string>>{{"x"}}));
  EXPECT_EQ(sel.tag, "SELECT 1");
  auto one = db.exec("SELECT 1");
  EXPECT_EQ(one.rows, (std::vector<std::vector<std::string>>{{"1"}}));
  auto none = db.exec("SELECT value FROM items WHERE id = 'nope'");
  EXPECT_EQ(none.status, PGRES_TUPLES_OK);
  EXPECT_TRUE(none.rows.empty());
  auto multi = db.exec("INSERT INTO items VALUES ('2', NULL); SELECT id, value FROM items ORDER BY id");
  EXPECT_EQ(multi.rows, (std::vector<std::vector<std::string>>{{"1", "x"}, {"2", "<null>"}}));
  EXPECT_EQ(db.exec("").status, PGRES_EMPTY_QUERY);
}

TEST_F(MockDbTest, SqlErrorsComeBackAsPostgresErrorsOnALiveConnection) {
  Pg db(port());
  ASSERT_TRUE(db.ok()) << db.error();
  EXPECT_EQ(db.exec("SELEC 1").sqlstate, "42601");
  EXPECT_EQ(db.exec("SELECT * FROM missing").sqlstate, "42P01");
  db.exec("CREATE TABLE t(id INTEGER PRIMARY KEY)");
  db.exec("INSERT INTO t VALUES (1)");
  auto dup = db.exec("INSERT INTO t VALUES (1)");
  EXPECT_EQ(dup.status, PGRES_FATAL_ERROR);
  EXPECT_EQ(dup.sqlstate, "23505");
  EXPECT_EQ(db.exec("SELECT 2").rows[0][0], "2");  // the connection survived
  EXPECT_EQ(PQstatus(db.raw()), CONNECTION_OK);
}

TEST_F(MockDbTest, ErrorFaultUsesTheGivenSqlstateForMatchingSql) {
  Pg db(port());
  ASSERT_TRUE(db.ok());
  control().must_add({{"type", "error"}, {"match", "SELECT *"}, {"sqlstate", "57P01"}, {"message", "terminating"}});
  auto r = db.exec("select 1");
  EXPECT_EQ(r.sqlstate, "57P01");
  EXPECT_EQ(r.message, "terminating");
  EXPECT_EQ(db.exec("CREATE TABLE u(x)").status, PGRES_COMMAND_OK);
  control().clear();
  EXPECT_EQ(db.exec("select 1").status, PGRES_TUPLES_OK);
  control().must_add({{"type", "error"}});
  EXPECT_EQ(db.exec("select 1").sqlstate, "XX000");  // the default
}

TEST_F(MockDbTest, LatencyHangAndPartialAsLibpqSeesThem) {
  Pg db(port());
  ASSERT_TRUE(db.ok());
  control().must_add({{"type", "latency"}, {"latency_ms", 200}, {"id", "slow"}});
  auto t0 = Clock::now();
  EXPECT_EQ(db.exec("SELECT 1").status, PGRES_TUPLES_OK);
  EXPECT_GE(elapsed_ms(t0), 190.0);
  EXPECT_EQ(touched_by("latency"), 1);
  EXPECT_EQ(control().remove("slow").status, 200);
  // Recovered: the same query is answered, and the mock's own counter shows no latency was applied to
  // it (a wall-clock bound would also measure how long this thread was descheduled).
  EXPECT_EQ(db.exec("SELECT 1").status, PGRES_TUPLES_OK);
  EXPECT_EQ(touched_by("latency"), 1) << "the latency outlived its removal";

  control().must_add({{"type", "partial"}, {"fraction", 0.6}, {"id", "cut"}});
  auto cut = db.exec("SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3");
  EXPECT_NE(cut.status, PGRES_TUPLES_OK);
  EXPECT_EQ(PQstatus(db.raw()), CONNECTION_BAD);  // rows, then the connection dropped
  EXPECT_EQ(control().remove("cut").status, 200);
  // Recovered: a fresh connection gets every row and the command tag again.
  Pg after_cut(port());
  ASSERT_TRUE(after_cut.ok()) << after_cut.error();
  auto whole = after_cut.exec("SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3");
  EXPECT_EQ(whole.status, PGRES_TUPLES_OK) << whole.message;
  EXPECT_EQ(whole.rows.size(), 3u);

  control().must_add({{"type", "hang"}, {"id", "stuck"}});
  Pg hung(port());
  ASSERT_TRUE(hung.ok()) << "startup is not subject to request faults";
  ASSERT_EQ(PQsendQuery(hung.raw(), "SELECT 1"), 1);
  // The mock held the query (counted once it has read it), and the socket stays silent meanwhile.
  EXPECT_TRUE(eventually([&] { return touched_by("hang") == 1; }, 10s)) << control().stats().dump();
  pollfd p{PQsocket(hung.raw()), POLLIN, 0};
  EXPECT_EQ(poll(&p, 1, 400), 0);
  control().remove("stuck");
  Pg fresh(port());
  EXPECT_EQ(fresh.exec("SELECT 1").status, PGRES_TUPLES_OK);
}

TEST_F(MockDbTest, ExhaustAndDisconnectBreakOldConnectionsOnly) {
  Pg old_conn(port());
  ASSERT_TRUE(old_conn.ok());
  control().must_add({{"type", "exhaust"}, {"id", "ex"}});
  auto r = old_conn.exec("SELECT 1");
  EXPECT_EQ(r.sqlstate, "53300");
  Pg fresh(port());
  EXPECT_EQ(fresh.exec("SELECT 1").status, PGRES_TUPLES_OK);
  control().remove("ex");
  control().must_add({{"type", "disconnect"}, {"duration_ms", 200}});
  EXPECT_NE(fresh.exec("SELECT 1").status, PGRES_TUPLES_OK);
  EXPECT_TRUE(eventually([&] { return Pg(port()).ok(); }, 10s));
}

TEST_F(MockDbTest, ExtendedProtocolIsRefusedWithAnErrorNotAHang) {
  Pg db(port());
  ASSERT_TRUE(db.ok());
  const char* params[] = {"1"};
  PGresult* res = PQexecParams(db.raw(), "SELECT $1", 1, nullptr, params, nullptr, nullptr, 0);
  ASSERT_NE(res, nullptr);
  EXPECT_STREQ(PQresultErrorField(res, PG_DIAG_SQLSTATE), "0A000");
  PQclear(res);
  EXPECT_EQ(db.exec("SELECT 1").status, PGRES_TUPLES_OK);
}

TEST_F(MockDbTest, PsqlWorksAgainstIt) {
  ASSERT_EQ(access("/usr/bin/psql", X_OK), 0)
      << "/usr/bin/psql is missing: install the Debian package postgresql-client (scripts/install_deps.sh)";
  CommandResult r = run_command({"/usr/bin/psql", "-X", "-A", "-t", "-h", "127.0.0.1", "-p", std::to_string(port()), "-U",
                                 "chaos", "-d", "mock", "-c", "CREATE TABLE p(x INTEGER)", "-c",
                                 "INSERT INTO p VALUES (41), (1)", "-c", "SELECT sum(x) FROM p"},
                                10s);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output, "CREATE TABLE\nINSERT 0 2\n42\n");
}

TEST_F(MockDbTest, InitSqlRunsBeforeReady) {
  mock_.reset();
  std::string path = "/tmp/chaos-mock-db-init-" + std::to_string(getpid()) + ".sql";
  {
    std::ofstream f(path);
    f << "CREATE TABLE seed(v TEXT); INSERT INTO seed VALUES ('hello');";
  }
  launch("mock-db", {"--init-sql", path});
  Pg db(port());
  EXPECT_EQ(db.exec("SELECT v FROM seed").rows, (std::vector<std::vector<std::string>>{{"hello"}}));
  std::remove(path.c_str());
}

TEST_F(MockDbTest, DownRefusesNewConnectionsLeavesOpenOnesAndReopensOnTheSamePort) {
  Pg open_before(port());
  ASSERT_TRUE(open_before.ok()) << open_before.error();
  std::string id = control().must_add({{"type", "down"}});
  ASSERT_FALSE(id.empty());
  Pg refused(port(), 2);
  EXPECT_FALSE(refused.ok()) << "libpq connected while the listener was down";
  EXPECT_NE(refused.error().find("Connection refused"), std::string::npos) << refused.error();
  auto still = open_before.exec("SELECT 1");
  EXPECT_EQ(still.status, PGRES_TUPLES_OK) << "down must leave open connections alone: " << still.message;

  EXPECT_EQ(control().remove(id).status, 200);
  ASSERT_TRUE(eventually([&] { return Pg(port()).ok(); }, 10s)) << "the listener did not reopen on port " << port();
  Pg after(port());
  EXPECT_EQ(after.exec("SELECT 1").rows, (std::vector<std::vector<std::string>>{{"1"}}));
}

TEST_F(MockDbTest, FlapAlternatesRefusedAndAcceptedConnectionsThenStaysUpOnceCleared) {
  constexpr int kPeriodMs = 150;
  std::string id = control().must_add({{"type", "flap"}, {"period_ms", kPeriodMs}});
  ASSERT_FALSE(id.empty());
  // Watch with libpq for several periods: it must see both refused and working connections. The loop
  // ends as soon as it has, so the 10 s bound costs nothing when the flap works and only keeps a
  // descheduled client from missing the phases. A refusal is "Connection refused" (the listener is
  // closed); a connection that was queued when the listener closed is reset instead, which is the
  // kernel's doing, not the flap's, so it is only reported.
  bool saw_refused = false, saw_served_after_refused = false;
  std::string other_failures;
  auto t0 = Clock::now();
  while (elapsed_ms(t0) < 10'000.0 && !saw_served_after_refused) {
    Pg db(port());
    if (!db.ok()) {
      if (db.error().find("Connection refused") != std::string::npos) {
        saw_refused = true;
      } else {
        other_failures += db.error();
      }
    } else if (saw_refused && db.exec("SELECT 1").status == PGRES_TUPLES_OK) {
      saw_served_after_refused = true;
    }
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_TRUE(saw_refused) << "flap never refused a connection; other failures: " << other_failures;
  EXPECT_TRUE(saw_served_after_refused) << "flap never brought the listener back up";

  EXPECT_EQ(control().clear().status, 200);
  ASSERT_TRUE(eventually([&] { return Pg(port()).ok(); }, 10s)) << "not up again after clearing";
  // Steady: every connection over at least three full periods works (a flap still running would refuse
  // some). The loop runs until both the span and the number of connections are reached, so a slow
  // client makes it longer, never a failure.
  t0 = Clock::now();
  int attempts = 0;
  while (elapsed_ms(t0) < 3.0 * kPeriodMs || attempts < 4) {
    Pg db(port());
    ASSERT_TRUE(db.ok()) << "connection " << attempts << " after clearing the flap: " << db.error();
    ASSERT_EQ(db.exec("SELECT 1").status, PGRES_TUPLES_OK);
    ++attempts;
    std::this_thread::sleep_for(10ms);
  }
}

TEST_F(MockDbTest, CrashExitsWithTheGivenCodeAndBreaksOpenConnections) {
  Pg open_before(port());
  ASSERT_TRUE(open_before.ok()) << open_before.error();
  HttpResult added = control().add_fault({{"type", "crash"}, {"exit_code", 5}});
  EXPECT_EQ(added.status, 201) << "the control reply leaves before the crash: " << added.body << added.error;
  std::optional<int> status = mock().wait_exit(20s);  // returns as soon as it exited
  ASSERT_TRUE(status.has_value()) << "mock-db still running 20 s after the crash fault";
  ASSERT_TRUE(WIFEXITED(*status)) << "killed by a signal instead of exiting: wait status " << *status;
  EXPECT_EQ(WEXITSTATUS(*status), 5);
  EXPECT_NE(open_before.exec("SELECT 1").status, PGRES_TUPLES_OK);
  EXPECT_EQ(PQstatus(open_before.raw()), CONNECTION_BAD) << "libpq must notice the server went away";
  Pg after(port(), 2);
  EXPECT_FALSE(after.ok()) << "a crashed mock-db accepted a connection";
}

}  // namespace
}  // namespace chaos::mocks::testing
