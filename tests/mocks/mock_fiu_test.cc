// libfiu against our own binaries, both ways the issue asks for: the mocks' named fault points
// (mock/<svc>/accept|read|handle|write) of all three mocks switched through the control API and
// through libfiu's own remote control (fiu-ctrl on the --fiu-fifo), each observed with the service's
// real client (hiredis, cpp-httplib, libpq), and libfiu's POSIX preload (fiu-run) making a mock's libc
// calls fail.
#include "mock_test_fixture.h"
#include "sanitizer_scale.h"

#include <hiredis/hiredis.h>
#include <libpq-fe.h>

#include <csignal>
#include <dirent.h>
#include <link.h>
#include <sys/wait.h>
#include <unistd.h>

namespace chaos::mocks::testing {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// PING on a fresh connection: "PONG", an "ERR ..." text, or "io: <why>" on a transport failure. Every
// failure a test expects here is a close or an error answer, never a timeout, so the timeout is long
// enough that a loaded sanitizer run never trips it on a PING that should be answered.
std::string ping(int port) {
  timeval tv{10, 0};
  redisContext* c = redisConnectWithTimeout("127.0.0.1", port, tv);
  if (!c || c->err) {
    std::string e = c ? c->errstr : "alloc";
    if (c) redisFree(c);
    return "io: " + e;
  }
  redisSetTimeout(c, tv);
  auto* r = static_cast<redisReply*>(redisCommand(c, "PING"));
  std::string out = r ? std::string(r->str ? r->str : "", r->str ? r->len : 0) : "io: " + std::string(c->errstr);
  if (r) freeReplyObject(r);
  redisFree(c);
  return out;
}

#if defined(__SANITIZE_ADDRESS__)
#define CHAOS_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CHAOS_TEST_ASAN 1
#endif
#endif

#ifdef CHAOS_TEST_ASAN
// The ASan runtime this test is linked with; the mocks of the same build are linked with the same one.
std::string asan_runtime_path() {
  std::string found;
  dl_iterate_phdr(
      [](dl_phdr_info* info, size_t, void* out) {
        std::string name = info->dlpi_name ? info->dlpi_name : "";
        if (name.find("/libasan.so") == std::string::npos) return 0;
        *static_cast<std::string*>(out) = name;
        return 1;
      },
      &found);
  return found;
}
#endif

// `fiu-run -x -c <command> <mock>`. In an AddressSanitizer build the ASan runtime must be the first
// preloaded library or the mock refuses to start, and fiu-run replaces LD_PRELOAD with its own two
// libraries; so there fiu-run starts env(1), which puts the runtime in front of fiu-run's list (the
// list fiu-run 1.1 exports, see /usr/bin/fiu-run) and starts the mock with fiu-run's FIU_ENABLE. That
// env(1) has the fiu preloads but makes no network call, so the fault only hits the mock; `-f ""`
// keeps it from creating a control fifo that the mock (same pid after exec) would then collide with.
std::vector<std::string> fiu_run_argv(const std::string& command, const std::string& mock) {
  std::vector<std::string> argv = {"/usr/bin/fiu-run", "-x", "-f", "", "-c", command};
#ifdef CHAOS_TEST_ASAN
  std::string asan = asan_runtime_path();
  EXPECT_FALSE(asan.empty()) << "an ASan build without libasan.so among its loaded libraries";
  // libfiu's fiu_run_preload.so strdup()s its FIU_ENABLE commands and never frees them: a leak in
  // third-party code that LeakSanitizer reports when the mock exits. Suppressed for this child only,
  // by module name, so every leak of the mock itself is still reported.
  argv.insert(argv.end(), {"/usr/bin/env",
                           "LD_PRELOAD=" + asan + " /usr/lib/fiu/fiu_run_preload.so /usr/lib/fiu/fiu_posix_preload.so",
                           "LSAN_OPTIONS=suppressions=" CHAOS_SOURCE_DIR "/tests/mocks/fiu_run_preload.lsan.supp:print_suppressions=0"});
#endif
  argv.push_back(mock);
  return argv;
}

class MockFiuTest : public MockFixture {};

TEST_F(MockFiuTest, ControlApiEnablesAndDisablesANamedPoint) {
  launch("mock-cache");
  ASSERT_EQ(ping(port()), "PONG");
  std::string id = control().must_add({{"type", "fiu"}, {"point", "mock/cache/handle"}});
  EXPECT_EQ(ping(port()), "ERR libfiu point mock/cache/handle failed");
  control().remove(id);
  EXPECT_EQ(ping(port()), "PONG");

  id = control().must_add({{"type", "fiu"}, {"point", "mock/cache/accept"}});
  EXPECT_EQ(ping(port()).rfind("io:", 0), 0u) << "accepted connections are closed at once";
  control().remove(id);
  EXPECT_EQ(ping(port()), "PONG");

  // Expiry: t0 is taken before the add, so the point is enabled until at least t0 + kDurationMs on
  // the monotonic clock the mock shares. A PING answered before then must fail; one answered PONG
  // afterwards shows the expiry, not the add, decided when it healed.
  constexpr int kDurationMs = 3000;
  auto t0 = Clock::now();
  id = control().must_add({{"type", "fiu"}, {"point", "mock/cache/*"}, {"duration_ms", kDurationMs}});
  std::string during = ping(port());
  double pinged_at = elapsed_ms(t0);
  if (pinged_at < kDurationMs) {
    EXPECT_NE(during, "PONG") << "answered " << pinged_at << " ms into a " << kDurationMs << " ms fault";
  } else {
    std::cerr << "note: the enabled-point check was skipped: the PING finished " << pinged_at
              << " ms after the add, when the point may already have expired\n";
  }
  EXPECT_TRUE(eventually([&] { return ping(port()) == "PONG"; }, kDurationMs * 1ms + 10s)) << "expiry disables the point";
  EXPECT_GE(elapsed_ms(t0), kDurationMs) << "the point healed before its duration";
  EXPECT_TRUE(control().faults().empty());
}

TEST_F(MockFiuTest, FiuCtrlDrivesThePointsThroughTheRemoteControlFifo) {
  std::string base = "/tmp/chaos-fiu-test-" + std::to_string(getpid());
  launch("mock-cache", {"--fiu-fifo", base});
  std::string pid = std::to_string(mock().pid());
  ASSERT_EQ(access((base + "-" + pid + ".in").c_str(), F_OK), 0) << "fifo not created";
  CommandResult on = run_command({"/usr/bin/fiu-ctrl", "-f", base, "-c", "enable name=mock/cache/write", pid}, 10s);
  ASSERT_EQ(on.exit_code, 0);
  EXPECT_EQ(on.output, "") << "fiu-ctrl prints only on failure";
  EXPECT_EQ(ping(port()).rfind("io:", 0), 0u) << "write point enabled: the reply is never written";
  CommandResult off = run_command({"/usr/bin/fiu-ctrl", "-f", base, "-c", "disable name=mock/cache/write", pid}, 10s);
  EXPECT_EQ(off.output, "");
  EXPECT_EQ(ping(port()), "PONG");
  // SIGTERM exits through exit(), so libfiu removes its fifos. (MockProcess::stop would SIGKILL after a
  // grace that a loaded sanitizer run could exceed, and that leaves the fifos: wait for the exit here.)
  mock_->send_signal(SIGTERM);
  std::optional<int> status = mock_->wait_exit(chaos::testkit::scaled(1000ms) + 20s);
  ASSERT_TRUE(status.has_value()) << "mock-cache still running after SIGTERM";
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << "wait status " << *status << "\n"
                                                                  << mock_->stderr_text();
  EXPECT_NE(access((base + "-" + pid + ".in").c_str(), F_OK), 0) << "fifo left behind";
}

TEST_F(MockFiuTest, FiuRunPosixPreloadMakesTheMocksLibcCallsFail) {
  // recv() fails with ECONNRESET (104) inside mock-cache: it must close the client's connection and
  // say why, and the client must see the failure.
  mock_ = std::make_unique<MockProcess>(
      fiu_run_argv("enable name=posix/io/net/recv,failinfo=104", mock_binary("mock-cache")));
  ASSERT_TRUE(mock_->ready()) << mock_->error();
  std::string got = ping(port());
  EXPECT_EQ(got.rfind("io:", 0), 0u) << got;
  EXPECT_TRUE(eventually([&] { return mock_->stderr_text().find("read failed: Connection reset by peer") != std::string::npos; },
                         10s))
      << mock_->stderr_text();
  // Failing calls must not leave the mock in a state it cannot shut down from: SIGTERM still ends it
  // with exit code 0 (in a sanitizer build that also means no report at exit). The wait returns as soon
  // as it exited; its length only ends a mock that never does.
  mock_->send_signal(SIGTERM);
  std::optional<int> status = mock_->wait_exit(chaos::testkit::scaled(1000ms) + 20s);
  ASSERT_TRUE(status.has_value()) << "mock-cache did not exit after SIGTERM";
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << "wait status " << *status << "\n"
                                                                  << mock_->stderr_text();
  // Control: the same binary without the preload answers.
  MockProcess plain({mock_binary("mock-cache")});
  ASSERT_TRUE(plain.ready()) << plain.error();
  EXPECT_EQ(ping(plain.port()), "PONG");
}

// One request on a fresh connection with the service's real client, summarised as "ok", "answer: <the
// protocol error the mock answered>" or "io: <transport failure>". As with ping(), every expected
// failure is a close or an answer, so the timeouts only bound a broken mock.
std::string request_with_real_client(const std::string& service, int port) {
  if (service == "cache") {
    std::string got = ping(port);
    if (got == "PONG" || got.rfind("io:", 0) == 0) return got == "PONG" ? "ok" : got;
    return "answer: " + got;
  }
  if (service == "rpc") {
    HttpResult r = http_request(port, "POST", "/rpc/user.get", R"({"id":7})", 10s);
    if (r.status == 0) return "io: " + r.error;
    if (r.status == 200 && r.json()["result"] == nlohmann::json({{"id", 7}})) return "ok";
    return "answer: " + std::to_string(r.status) + " " + r.json().value("error", r.body);
  }
  std::string conninfo = "host=127.0.0.1 port=" + std::to_string(port) + " user=chaos dbname=mock connect_timeout=10";
  PGconn* conn = PQconnectdb(conninfo.c_str());
  std::string out;
  if (PQstatus(conn) != CONNECTION_OK) {
    out = std::string("io: ") + PQerrorMessage(conn);
  } else {
    PGresult* res = PQexec(conn, "SELECT 1");
    const char* sqlstate = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : nullptr;
    const char* message = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : nullptr;
    if (res && PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 && std::string(PQgetvalue(res, 0, 0)) == "1") {
      out = "ok";
    } else if (sqlstate) {
      out = std::string("answer: ") + sqlstate + " " + (message ? message : "");
    } else {
      out = std::string("io: ") + PQerrorMessage(conn);
    }
    PQclear(res);
  }
  PQfinish(conn);
  return out;
}

// What a client must see while mock/<svc>/<where> is enabled (docs/MOCKS.md, "libfiu"): `handle` is
// answered with the protocol's error naming the point; the others break the connection.
std::string expected_failure_prefix(const std::string& service, const std::string& where) {
  if (where != "handle") return "io:";
  std::string point = "mock/" + service + "/handle";
  if (service == "cache") return "answer: ERR libfiu point " + point + " failed";
  if (service == "rpc") return "answer: 500 libfiu point " + point + " failed";
  return "answer: XX000 libfiu point " + point + " failed";
}

enum class Switch { kControlApi, kFiuCtrl };

struct PointCase {
  std::string service;  // cache, rpc, db
  std::string where;    // accept, read, handle, write
  Switch via;
};

std::string point_case_name(const ::testing::TestParamInfo<PointCase>& info) {
  return info.param.service + "_" + info.param.where + (info.param.via == Switch::kControlApi ? "_via_control_api" : "_via_fiu_ctrl");
}

std::vector<PointCase> all_point_cases() {
  std::vector<PointCase> cases;
  for (const char* service : {"cache", "rpc", "db"})
    for (const char* where : {"accept", "read", "handle", "write"})
      for (Switch via : {Switch::kControlApi, Switch::kFiuCtrl}) cases.push_back({service, where, via});
  return cases;
}

class MockFiuPointTest : public MockFixture, public ::testing::WithParamInterface<PointCase> {};

// Each named point of each mock, switched on through the control API or through libfiu's remote
// control (fiu-ctrl on the --fiu-fifo): a real client's request fails the way that point fails, the
// mock's own log and counters show that it was that point, and switching it off heals.
TEST_P(MockFiuPointTest, EnablingThePointFailsARealClientsRequestAndDisablingItHeals) {
  const PointCase& c = GetParam();
  const std::string point = "mock/" + c.service + "/" + c.where;
  const std::string fifo_base = "/tmp/chaos-fiu-point-" + std::to_string(getpid()) + "-" + c.service + "-" + c.where;
  if (c.via == Switch::kFiuCtrl) {
    launch("mock-" + c.service, {"--fiu-fifo", fifo_base});
  } else {
    launch("mock-" + c.service);
  }
  ASSERT_EQ(request_with_real_client(c.service, port()), "ok") << "baseline before the point is enabled";
  const std::string mock_pid = std::to_string(mock().pid());

  std::string fault_id;
  if (c.via == Switch::kControlApi) {
    fault_id = control().must_add({{"type", "fiu"}, {"point", point}});
    ASSERT_FALSE(fault_id.empty());
  } else {
    CommandResult on = run_command({"/usr/bin/fiu-ctrl", "-f", fifo_base, "-c", "enable name=" + point, mock_pid}, 10s);
    ASSERT_EQ(on.exit_code, 0) << on.output;
    ASSERT_EQ(on.output, "") << "fiu-ctrl prints only on failure";
  }
  const int dropped_before = control().stats()["connections_dropped"].get<int>();
  std::string failed = request_with_real_client(c.service, port());
  const std::string expected = expected_failure_prefix(c.service, c.where);
  EXPECT_EQ(failed.rfind(expected, 0), 0u) << point << " enabled: expected \"" << expected << "...\", the client saw \""
                                           << failed << "\"";
  // Evidence that it was this point that fired, not some other way of failing.
  if (c.where == "read" || c.where == "write") {
    EXPECT_TRUE(eventually(
        [&] { return mock().stderr_text().find("libfiu point " + point + " failed: closing the connection") != std::string::npos; },
        10s))
        << mock().stderr_text();
  }
  if (c.where != "handle") {
    EXPECT_GT(control().stats()["connections_dropped"].get<int>(), dropped_before) << "the mock did not count a dropped connection";
  }

  if (c.via == Switch::kControlApi) {
    EXPECT_EQ(control().remove(fault_id).status, 200);
  } else {
    CommandResult off = run_command({"/usr/bin/fiu-ctrl", "-f", fifo_base, "-c", "disable name=" + point, mock_pid}, 10s);
    EXPECT_EQ(off.exit_code, 0) << off.output;
    EXPECT_EQ(off.output, "") << "fiu-ctrl prints only on failure";
  }
  EXPECT_EQ(request_with_real_client(c.service, port()), "ok") << point << " disabled: the mock must serve again";
}

INSTANTIATE_TEST_SUITE_P(AllMocksAllPoints, MockFiuPointTest, ::testing::ValuesIn(all_point_cases()), point_case_name);

}  // namespace
}  // namespace chaos::mocks::testing
