// fault-proxy in front of a real PostgreSQL, observed with libpq: the faults the real-server scenarios
// rely on (latency, reset_peer, limit_data, down, timeout, bandwidth, slicer, slow_close) each seen
// by the client and cleared. PostgreSQL is started once for the suite the way the harness starts it
// (runner/real_servers.h). Waits poll with deadlines. Timing assertions are sound on a loaded
// (sanitizer) machine: lower bounds are timed from before the action that starts the fault's clock, and
// a "fast again" bound keeps a wide margin to the injected delay.
#include "control_client.h"
#include "mock_process.h"
#include "proxy_binary.h"
#include "redis_server.h"
#include "runner/port_reservation.h"
#include "runner/real_servers.h"

#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <poll.h>

#include <filesystem>
#include <memory>
#include <thread>

namespace chaos::proxy::testing {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using mocks::testing::ControlClient;
using mocks::testing::elapsed_ms;
using mocks::testing::eventually;
using mocks::testing::MockProcess;
using SteadyClock = std::chrono::steady_clock;

// Added to an injected delay for the upper bound of the delayed event (a loaded machine may
// deschedule the proxy or the test); the bound still shows the delay is applied once, not unbounded.
constexpr int kSlackMs = 4000;

struct PgDeleter {
  void operator()(PGconn* c) const { PQfinish(c); }
  void operator()(PGresult* r) const { PQclear(r); }
};
using Pg = std::unique_ptr<PGconn, PgDeleter>;
using PgResult = std::unique_ptr<PGresult, PgDeleter>;

Pg pg_connect(int port, int timeout_s = 5) {
  std::string info = "host=127.0.0.1 port=" + std::to_string(port) + " user=postgres dbname=postgres sslmode=disable " +
                     "gssencmode=disable connect_timeout=" + std::to_string(timeout_s);
  return Pg(PQconnectdb(info.c_str()));
}

bool connected(const Pg& c) { return c && PQstatus(c.get()) == CONNECTION_OK; }

// The single value of `sql`, or "error: <message>".
std::string query(PGconn* c, const std::string& sql) {
  PgResult r(PQexec(c, sql.c_str()));
  if (PQresultStatus(r.get()) != PGRES_TUPLES_OK) return "error: " + std::string(PQerrorMessage(c));
  return PQgetvalue(r.get(), 0, 0);
}

// One PostgreSQL for the whole suite (per test process: gtest_discover_tests runs each test alone).
struct Postgres {
  runner::ProcessGroup group;
  runner::RealServers servers;
  int port = 0;
  std::string error;
  fs::path log_dir = fs::temp_directory_path() / ("chaos-pg-proxy-test-" + std::to_string(::getpid()));
  Postgres() {
    fs::create_directories(log_dir);
    // The port is held (a bound socket that never listens; PostgreSQL binds with SO_REUSEADDR) from
    // before initdb until the server serves, as the runner does, so no parallel test takes it.
    auto held = runner::PortReservation::take(&error);
    if (!held) return;
    port = held->port();
    auto plan = servers.prepare(scenario::ServerKind::kPostgres, "pg", port, {}, group, log_dir.string(),
                                SteadyClock::now() + 60s, nullptr, &error);
    if (!plan) return;
    plan->spec.name = "pg";
    plan->spec.log_path = (log_dir / "pg.log").string();
    runner::Process* p = group.launch(plan->spec, nullptr, &error);
    if (!p) return;
    bool exited = false;
    bool ready = eventually([&] {
      if (!p->running()) return exited = true;
      return plan->ready(port);
    }, 30s);
    if (ready && !exited) return;
    std::string tail;
    for (const auto& l : p->log_tail(5)) tail += "\n    | " + l;
    error = exited ? "postgres on port " + std::to_string(port) + " exited at start; log:" + tail
                   : "postgres never became ready; see " + plan->spec.log_path;
  }
  ~Postgres() {
    group.terminate_all(3000ms);
    std::error_code ec;
    fs::remove_all(log_dir, ec);
  }
};

class PgProxyTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { pg_ = new Postgres(); }
  static void TearDownTestSuite() {
    delete pg_;
    pg_ = nullptr;
  }
  void SetUp() override {
    ASSERT_TRUE(pg_->error.empty()) << pg_->error;
    proxy_ = std::make_unique<MockProcess>(std::vector<std::string>{
        proxy_binary(), "--port", "0", "--control-port", "0", "--upstream", "127.0.0.1:" + std::to_string(pg_->port),
        "--seed", "7", "--name", "pg"});
    ASSERT_TRUE(proxy_->ready()) << proxy_->error();
    control_ = std::make_unique<ControlClient>(proxy_->control_port());
  }
  void TearDown() override {
    if (proxy_ && HasFailure()) std::cerr << "--- fault-proxy stderr ---\n" << proxy_->stderr_text();
    proxy_.reset();
  }
  int port() const { return proxy_->port(); }
  ControlClient& control() { return *control_; }
  // A query on a fresh connection through the proxy works again once faults are cleared.
  void expect_healthy_again() {
    ASSERT_EQ(control().clear().status, 200);
    EXPECT_TRUE(eventually([&] {
      Pg c = pg_connect(port(), 2);
      return connected(c) && query(c.get(), "SELECT 41 + 1") == "42";
    }, 15s));
  }
  static Postgres* pg_;
  std::unique_ptr<MockProcess> proxy_;
  std::unique_ptr<ControlClient> control_;
};
Postgres* PgProxyTest::pg_ = nullptr;

TEST_F(PgProxyTest, LatencyDelaysEveryReplyOfAnOpenConnectionUntilCleared) {
  Pg c = pg_connect(port());
  ASSERT_TRUE(connected(c)) << PQerrorMessage(c.get());
  ASSERT_EQ(query(c.get(), "SELECT 1"), "1");
  // 2 s of latency against a "fast again" bound of half that: only the fault still acting on the open
  // connection could make the last query that slow, not a scheduling pause of a loaded machine.
  constexpr int kLatencyMs = 2000;
  std::string id = control().must_add({{"type", "latency"}, {"latency_ms", kLatencyMs}, {"direction", "downstream"}});
  auto t0 = SteadyClock::now();
  ASSERT_EQ(query(c.get(), "SELECT 2"), "2");
  double slow = elapsed_ms(t0);
  // The proxy reads the reply after the query was sent and holds it kLatencyMs from then.
  EXPECT_GE(slow, kLatencyMs);
  EXPECT_LT(slow, kLatencyMs + kSlackMs);
  EXPECT_EQ(control().stats()["faults_applied"]["latency"].get<int>(), 1) << "attached to the open connection";
  ASSERT_EQ(control().remove(id).status, 200);
  t0 = SteadyClock::now();
  ASSERT_EQ(query(c.get(), "SELECT 3"), "3");
  EXPECT_LT(elapsed_ms(t0), kLatencyMs / 2) << "latency stops once the fault is removed";
}

TEST_F(PgProxyTest, ResetPeerBreaksTheOpenConnectionAndRefusesNewOnes) {
  Pg c = pg_connect(port());
  ASSERT_TRUE(connected(c));
  control().must_add({{"type", "reset_peer"}, {"direction", "downstream"}});
  std::string r = query(c.get(), "SELECT 1");
  EXPECT_EQ(r.rfind("error:", 0), 0u) << r;
  EXPECT_EQ(PQstatus(c.get()), CONNECTION_BAD);
  Pg fresh = pg_connect(port(), 2);
  EXPECT_FALSE(connected(fresh));
  // libpq words a reset during start-up as an unexpected close (fault_proxy_test checks the RST itself).
  std::string e = PQerrorMessage(fresh.get());
  EXPECT_TRUE(e.find("reset") != std::string::npos || e.find("closed the connection unexpectedly") != std::string::npos) << e;
  expect_healthy_again();
}

TEST_F(PgProxyTest, LimitDataCutsTheStartupReplyAndLibpqReportsAnUnexpectedClose) {
  control().must_add({{"type", "limit_data"}, {"bytes", 20}, {"direction", "downstream"}});
  auto t0 = SteadyClock::now();
  Pg c = pg_connect(port(), 10);
  EXPECT_FALSE(connected(c));
  EXPECT_NE(std::string(PQerrorMessage(c.get())).find("closed the connection unexpectedly"), std::string::npos)
      << PQerrorMessage(c.get());
  // The close, not libpq's 10 s connect_timeout, ended the attempt (the message says so too).
  EXPECT_LT(elapsed_ms(t0), 5000) << "a prompt close is noticed at once";
  expect_healthy_again();
}

TEST_F(PgProxyTest, SlowCloseHoldsBackTheCloseAfterATruncatedReply) {
  constexpr int kDelayMs = 800;
  control().must_add({{"type", "slow_close"}, {"delay_ms", kDelayMs}, {"direction", "downstream"}});
  control().must_add({{"type", "limit_data"}, {"bytes", 20}, {"direction", "downstream"}});
  // From before the connect: the close is queued kDelayMs after the proxy read the server's first
  // reply, which comes later.
  auto t0 = SteadyClock::now();
  Pg c = pg_connect(port(), 10);
  EXPECT_FALSE(connected(c));
  double took = elapsed_ms(t0);
  EXPECT_NE(std::string(PQerrorMessage(c.get())).find("closed the connection unexpectedly"), std::string::npos)
      << PQerrorMessage(c.get());
  EXPECT_GE(took, kDelayMs) << "libpq waits for the rest until the late close arrives";
  EXPECT_LT(took, kDelayMs + kSlackMs);
  expect_healthy_again();
}

TEST_F(PgProxyTest, DownRefusesConnectionsAndDropsOpenOnes) {
  Pg c = pg_connect(port());
  ASSERT_TRUE(connected(c));
  control().must_add({{"type", "down"}});
  EXPECT_EQ(query(c.get(), "SELECT 1").rfind("error:", 0), 0u);
  Pg fresh = pg_connect(port(), 2);
  EXPECT_FALSE(connected(fresh));
  EXPECT_NE(std::string(PQerrorMessage(fresh.get())).find("refused"), std::string::npos) << PQerrorMessage(fresh.get());
  expect_healthy_again();
}

TEST_F(PgProxyTest, TimeoutHoldsAQueryWhichCompletesOnceCleared) {
  Pg c = pg_connect(port());
  ASSERT_TRUE(connected(c));
  std::string id = control().must_add({{"type", "timeout"}, {"direction", "downstream"}});
  ASSERT_EQ(PQsendQuery(c.get(), "SELECT 'held'"), 1);
  // The fault is attached before its control reply and holds the data until removed, so nothing can
  // arrive in this window however the test is scheduled.
  pollfd p{PQsocket(c.get()), POLLIN, 0};
  EXPECT_EQ(::poll(&p, 1, 400), 0) << "no reply while the fault holds the data";
  ASSERT_EQ(control().remove(id).status, 200);
  // Bounded, so data that never flows again fails the test instead of blocking PQgetResult forever.
  p.revents = 0;
  ASSERT_EQ(::poll(&p, 1, 15'000), 1) << "the held reply never arrived after the fault was removed";
  PgResult r(PQgetResult(c.get()));
  ASSERT_EQ(PQresultStatus(r.get()), PGRES_TUPLES_OK) << PQerrorMessage(c.get());
  EXPECT_STREQ(PQgetvalue(r.get(), 0, 0), "held") << "held data is delivered, not dropped";
  while (PgResult more{PQgetResult(c.get())}) {
  }
}

TEST_F(PgProxyTest, BandwidthStretchesALargeReplyAndSlicerKeepsItIntact) {
  Pg c = pg_connect(port());
  ASSERT_TRUE(connected(c));
  const std::string sql = "SELECT repeat('x', 3000)";
  std::string id = control().must_add({{"type", "bandwidth"}, {"rate_kbps", 4}, {"direction", "downstream"}});
  auto t0 = SteadyClock::now();
  EXPECT_EQ(query(c.get(), sql), std::string(3000, 'x'));
  double slow = elapsed_ms(t0);
  EXPECT_GE(slow, 500) << "about 3 kB at 4 kB/s";
  EXPECT_LT(slow, 750 + kSlackMs);
  ASSERT_EQ(control().remove(id).status, 200);
  control().must_add({{"type", "slicer"}, {"average_size", 7}, {"size_variation", 3}, {"direction", "downstream"}});
  EXPECT_EQ(query(c.get(), sql), std::string(3000, 'x')) << "sliced replies reassemble";
  expect_healthy_again();
}

}  // namespace
}  // namespace chaos::proxy::testing
