// mock-cache as a real process, driven by hiredis: the protocol, every fault kind through the control
// API (injected, observed, cleared, recovered), bad control requests, and the process contract.
#include "mock_test_fixture.h"
#include "sanitizer_scale.h"

#include <hiredis/hiredis.h>

#include <algorithm>
#include <arpa/inet.h>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <regex>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>
#include <sys/wait.h>

namespace chaos::mocks::testing {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

struct Reply {
  bool ok = false;        // false: transport error (timeout, EOF, reset), see err
  int type = 0;
  std::string str;
  long long integer = 0;
  std::string err;
};

// The default timeout is for operations that must succeed: long enough that a loaded sanitizer run
// never trips it (a timed-out hiredis context is dead for good). Tests that want a timeout set a short
// one with set_timeout() once the connection is up.
class Redis {
 public:
  explicit Redis(int port, std::chrono::milliseconds timeout = 10s) {
    timeval tv = to_timeval(timeout);
    c_ = redisConnectWithTimeout("127.0.0.1", port, tv);
    if (c_ && !c_->err) redisSetTimeout(c_, tv);
  }
  void set_timeout(std::chrono::milliseconds timeout) {
    if (connected()) redisSetTimeout(c_, to_timeval(timeout));
  }
  ~Redis() {
    if (c_) redisFree(c_);
  }
  bool connected() const { return c_ && !c_->err; }
  std::string connect_error() const { return c_ ? c_->errstr : "alloc failed"; }
  Reply cmd(const std::vector<std::string>& args) {
    Reply r;
    if (!connected()) {
      r.err = "not connected: " + connect_error();
      return r;
    }
    std::vector<const char*> argv;
    std::vector<size_t> lens;
    for (const auto& a : args) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
    auto* rep = static_cast<redisReply*>(redisCommandArgv(c_, static_cast<int>(args.size()), argv.data(), lens.data()));
    if (!rep) {
      r.err = c_->errstr;
      return r;
    }
    r.ok = true;
    r.type = rep->type;
    if (rep->str) r.str.assign(rep->str, rep->len);
    r.integer = rep->integer;
    freeReplyObject(rep);
    return r;
  }
  redisContext* raw() { return c_; }

 private:
  static timeval to_timeval(std::chrono::milliseconds t) {
    return {static_cast<time_t>(t.count() / 1000), static_cast<suseconds_t>((t.count() % 1000) * 1000)};
  }
  redisContext* c_ = nullptr;
};

class MockCacheTest : public MockFixture {
 protected:
  void SetUp() override { launch("mock-cache"); }
  // A fresh connection's PING answered PONG. The default (long) timeout: a failure here must be the
  // mock's answer or a dropped connection, never a slow machine.
  bool healthy() {
    Redis r(port());
    Reply p = r.cmd({"PING"});
    return p.ok && p.type == REDIS_REPLY_STATUS && p.str == "PONG";
  }
  // How many requests the mock says a fault of `kind` touched (GET /stats).
  int touched_by(const std::string& kind) { return control().stats()["requests_failed_by_fault"][kind].get<int>(); }
};

TEST_F(MockCacheTest, ReadyLineNamesTheServiceAndRealPorts) {
  EXPECT_EQ(mock().ready_line()["service"], "mock-cache");
  EXPECT_EQ(mock().ready_line()["pid"], mock().pid());
  EXPECT_GT(port(), 0);
  EXPECT_GT(mock().control_port(), 0);
  EXPECT_NE(port(), mock().control_port());
  EXPECT_EQ(control().raw("GET", "/health").status, 200);
}

TEST_F(MockCacheTest, ServesTheRedisCommandsClientsUse) {
  Redis r(port());
  ASSERT_TRUE(r.connected()) << r.connect_error();
  EXPECT_EQ(r.cmd({"PING"}).str, "PONG");
  EXPECT_EQ(r.cmd({"SET", "k", "v"}).str, "OK");
  EXPECT_EQ(r.cmd({"GET", "k"}).str, "v");
  EXPECT_EQ(r.cmd({"GET", "missing"}).type, REDIS_REPLY_NIL);
  EXPECT_EQ(r.cmd({"EXISTS", "k", "missing"}).integer, 1);
  EXPECT_EQ(r.cmd({"INCR", "n"}).integer, 1);
  EXPECT_EQ(r.cmd({"INCR", "n"}).integer, 2);
  EXPECT_EQ(r.cmd({"INCR", "k"}).type, REDIS_REPLY_ERROR);
  EXPECT_EQ(r.cmd({"TTL", "k"}).integer, -1);
  EXPECT_EQ(r.cmd({"TTL", "missing"}).integer, -2);
  // TTL counts down in real time (rounded to the nearest second): the lower bounds allow for however
  // long this thread was descheduled between setting the expiry and reading it.
  auto t_expire = Clock::now();
  EXPECT_EQ(r.cmd({"EXPIRE", "k", "100"}).integer, 1);
  long long ttl = r.cmd({"TTL", "k"}).integer;
  EXPECT_GE(ttl, 99 - static_cast<long long>(elapsed_ms(t_expire) / 1000));
  EXPECT_LE(ttl, 100);
  EXPECT_EQ(r.cmd({"SET", "short", "x", "PX", "60"}).str, "OK");
  EXPECT_TRUE(eventually([&] { return r.cmd({"GET", "short"}).type == REDIS_REPLY_NIL; }, 10s));
  t_expire = Clock::now();
  EXPECT_EQ(r.cmd({"SET", "e", "x", "EX", "50"}).str, "OK");
  ttl = r.cmd({"TTL", "e"}).integer;
  EXPECT_GE(ttl, 49 - static_cast<long long>(elapsed_ms(t_expire) / 1000));
  EXPECT_LE(ttl, 50);
  EXPECT_EQ(r.cmd({"DEL", "k", "e", "missing"}).integer, 2);
  Reply info = r.cmd({"INFO"});
  EXPECT_NE(info.str.find("redis_version"), std::string::npos);
  EXPECT_EQ(r.cmd({"FLUSHALL"}).str, "OK");
  EXPECT_EQ(r.cmd({"GET", "n"}).type, REDIS_REPLY_NIL);
  EXPECT_EQ(r.cmd({"NOSUCH"}).type, REDIS_REPLY_ERROR);
}

TEST_F(MockCacheTest, PipelinedCommandsAreAnsweredInOrder) {
  Redis r(port());
  ASSERT_TRUE(r.connected());
  constexpr int kN = 500;
  for (int i = 0; i < kN; ++i) redisAppendCommand(r.raw(), "SET key%d %d", i, i);
  for (int i = 0; i < kN; ++i) redisAppendCommand(r.raw(), "GET key%d", i);
  for (int i = 0; i < 2 * kN; ++i) {
    void* rep = nullptr;
    ASSERT_EQ(redisGetReply(r.raw(), &rep), REDIS_OK);
    auto* reply = static_cast<redisReply*>(rep);
    if (i >= kN) {
      EXPECT_EQ(std::string(reply->str, reply->len), std::to_string(i - kN));
    }
    freeReplyObject(reply);
  }
}

TEST_F(MockCacheTest, LatencyDelaysMatchingCommandsUntilCleared) {
  Redis r(port());
  r.cmd({"SET", "k", "v"});
  std::string id = control().must_add({{"type", "latency"}, {"match", "GET"}, {"latency_ms", 300}});
  auto t0 = Clock::now();
  EXPECT_EQ(r.cmd({"GET", "k"}).str, "v");
  double slow = elapsed_ms(t0);
  EXPECT_GE(slow, 290.0);
  EXPECT_LT(slow, 3000.0) << "ten times the injected latency";
  EXPECT_EQ(touched_by("latency"), 1);
  // Which commands were delayed is read from the mock's own counter, not from a wall-clock bound a
  // descheduled client could break: an unmatched command, and the matched one after the removal,
  // leave it unchanged (while each is still served).
  EXPECT_EQ(r.cmd({"SET", "k", "w"}).str, "OK");
  EXPECT_EQ(touched_by("latency"), 1) << "SET is outside the match, yet the latency fault touched it";
  EXPECT_EQ(control().remove(id).status, 200);
  EXPECT_EQ(r.cmd({"GET", "k"}).str, "w");
  EXPECT_EQ(touched_by("latency"), 1) << "the latency outlived its removal";
}

TEST_F(MockCacheTest, DelayedPipelinedCommandsStillAnswerInOrder) {
  control().must_add({{"type", "latency"}, {"match", "INCR"}, {"latency_ms", 50}});
  Redis r(port());
  for (int i = 0; i < 5; ++i) {
    redisAppendCommand(r.raw(), "INCR n");
    redisAppendCommand(r.raw(), "PING");
  }
  for (int i = 0; i < 10; ++i) {
    void* rep = nullptr;
    ASSERT_EQ(redisGetReply(r.raw(), &rep), REDIS_OK) << r.raw()->errstr;
    auto* reply = static_cast<redisReply*>(rep);
    if (i % 2 == 0) {
      EXPECT_EQ(reply->integer, i / 2 + 1);
    } else {
      EXPECT_EQ(std::string(reply->str, reply->len), "PONG");
    }
    freeReplyObject(reply);
  }
}

TEST_F(MockCacheTest, HangMakesTheClientTimeOutThenRecovers) {
  control().must_add({{"type", "hang"}});
  Redis r(port());
  ASSERT_TRUE(r.connected()) << r.connect_error();
  r.set_timeout(300ms);  // the timeout this test wants to see fire
  auto t0 = Clock::now();
  Reply rep = r.cmd({"PING"});
  EXPECT_FALSE(rep.ok);
  EXPECT_GE(elapsed_ms(t0), 280.0);  // the client's own timeout fired
  // And the mock held the PING (it may read it only now if it was descheduled): it was hung, not lost.
  EXPECT_TRUE(eventually([&] { return touched_by("hang") == 1; }, 10s)) << control().stats().dump();
  EXPECT_EQ(control().clear().status, 200);
  EXPECT_TRUE(healthy());
}

TEST_F(MockCacheTest, ErrorAnswersWithRespErrUntilCleared) {
  std::string id = control().must_add({{"type", "error"}, {"match", "G*"}, {"message", "cache on fire"}});
  Redis r(port());
  Reply rep = r.cmd({"GET", "k"});
  ASSERT_TRUE(rep.ok);
  EXPECT_EQ(rep.type, REDIS_REPLY_ERROR);
  EXPECT_EQ(rep.str, "ERR cache on fire");
  EXPECT_EQ(r.cmd({"PING"}).str, "PONG");  // outside the match
  control().remove(id);
  EXPECT_EQ(r.cmd({"GET", "k"}).type, REDIS_REPLY_NIL);
}

TEST_F(MockCacheTest, DisconnectDropsOpenAndNewConnectionsWhileActive) {
  Redis before(port());
  ASSERT_EQ(before.cmd({"PING"}).str, "PONG");
  std::string id = control().must_add({{"type", "disconnect"}, {"reset", true}});
  Reply dropped = before.cmd({"PING"});
  EXPECT_FALSE(dropped.ok);
  EXPECT_FALSE(healthy());  // new connections are dropped too while it is active
  EXPECT_TRUE(eventually([&] { return control().stats()["connections_dropped"].get<int>() >= 2; }, 10s));
  control().remove(id);
  EXPECT_TRUE(healthy());
}

TEST_F(MockCacheTest, ScopedDisconnectDropsOnlyOnMatchingCommands) {
  std::string id = control().must_add({{"type", "disconnect"}, {"match", "GET"}});
  Redis r(port());
  EXPECT_EQ(r.cmd({"PING"}).str, "PONG");
  EXPECT_FALSE(r.cmd({"GET", "k"}).ok);
  EXPECT_EQ(control().remove(id).status, 200);
  // Recovered: the command that was dropped is answered again.
  Redis after(port());
  ASSERT_TRUE(after.connected()) << after.connect_error();
  Reply get = after.cmd({"GET", "k"});
  EXPECT_TRUE(get.ok) << get.err;
  EXPECT_EQ(get.type, REDIS_REPLY_NIL);
}

TEST_F(MockCacheTest, DownRefusesConnectionsThenComesBackOnTheSamePort) {
  // Times run from before the add, so the fault starts no earlier than t0 and ends no earlier than
  // t0 + kDownMs: both checks below are exact, not guesses about how fast this thread runs.
  constexpr int kDownMs = 2000;
  auto t0 = Clock::now();
  control().must_add({{"type", "down"}, {"duration_ms", kDownMs}});
  bool refused = !can_connect(port());
  double probed_at = elapsed_ms(t0);
  if (probed_at < kDownMs) {
    EXPECT_TRUE(refused) << "connected " << probed_at << " ms after adding a " << kDownMs << " ms down";
  } else {
    std::cerr << "note: the refused-connect check was skipped: the probe ran " << probed_at
              << " ms after the add, when the down may already have ended\n";
  }
  ASSERT_TRUE(eventually([&] { return can_connect(port()); }, kDownMs * 1ms + 10s));
  EXPECT_GE(elapsed_ms(t0), kDownMs) << "the listener came back before the down's duration";
  EXPECT_TRUE(healthy());
  EXPECT_TRUE(control().faults().empty());
}

TEST_F(MockCacheTest, PartialSendsATruncatedReplyThenCloses) {
  Redis r(port());
  std::string big(1000, 'x');
  r.cmd({"SET", "big", big});
  std::string id = control().must_add({{"type", "partial"}, {"match", "GET"}, {"fraction", 0.5}});
  Reply rep = r.cmd({"GET", "big"});
  EXPECT_FALSE(rep.ok) << "a truncated bulk reply must not parse";
  control().remove(id);
  Redis again(port());
  EXPECT_EQ(again.cmd({"GET", "big"}).str, big);
}

TEST_F(MockCacheTest, FlapAlternatesDownAndUpThenEndsUp) {
  // 20 periods, so a client descheduled for a while still samples both phases. A probe counts only
  // when it finished before t0 + kDurationMs (t0 is before the add), i.e. certainly inside the flap.
  constexpr int kPeriodMs = 150, kDurationMs = 3000;
  auto t0 = Clock::now();
  control().must_add({{"type", "flap"}, {"period_ms", kPeriodMs}, {"duration_ms", kDurationMs}});
  bool saw_down = false, saw_up_after_down = false;
  while (!saw_up_after_down) {
    bool up = can_connect(port());
    if (elapsed_ms(t0) >= kDurationMs) break;
    if (!up) saw_down = true;
    if (up && saw_down) saw_up_after_down = true;
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_TRUE(saw_down) << "flap never took the listener down";
  EXPECT_TRUE(saw_up_after_down) << "flap never brought the listener back up";
  EXPECT_TRUE(eventually([&] { return control().faults().empty() && can_connect(port()); }, kDurationMs * 1ms + 10s));
  EXPECT_GE(elapsed_ms(t0), kDurationMs) << "the flap ended before its duration";
  EXPECT_TRUE(healthy());
}

TEST_F(MockCacheTest, CrashExitsWithTheGivenCode) {
  control().must_add({{"type", "crash"}, {"exit_code", 7}});
  auto status = mock().wait_exit(20s);  // returns as soon as it exited
  ASSERT_TRUE(status.has_value());
  ASSERT_TRUE(WIFEXITED(*status));
  EXPECT_EQ(WEXITSTATUS(*status), 7);
}

TEST_F(MockCacheTest, ExhaustBreaksOldConnectionsUntilTheClientReconnects) {
  Redis old_conn(port());
  ASSERT_EQ(old_conn.cmd({"PING"}).str, "PONG");
  std::string id = control().must_add({{"type", "exhaust"}});
  Reply broken = old_conn.cmd({"PING"});
  ASSERT_TRUE(broken.ok);
  EXPECT_EQ(broken.type, REDIS_REPLY_ERROR);
  EXPECT_NE(broken.str.find("exhausted"), std::string::npos);
  EXPECT_TRUE(healthy());  // new connections work
  control().remove(id);
  EXPECT_EQ(old_conn.cmd({"PING"}).type, REDIS_REPLY_ERROR);  // still broken: only reconnecting heals
  Redis reconnected(port());
  EXPECT_EQ(reconnected.cmd({"PING"}).str, "PONG");
}

TEST_F(MockCacheTest, ExhaustInHangModeSilencesOldConnections) {
  Redis old_conn(port());
  ASSERT_EQ(old_conn.cmd({"PING"}).str, "PONG");
  std::string id = control().must_add({{"type", "exhaust"}, {"mode", "hang"}});
  old_conn.set_timeout(300ms);  // the hung PING below is meant to time out
  EXPECT_FALSE(old_conn.cmd({"PING"}).ok);  // timed out
  // The mock held it as the exhausted connection's answer (counted when it reads the PING).
  EXPECT_TRUE(eventually([&] { return touched_by("exhaust") == 1; }, 10s)) << control().stats().dump();
  Redis opened_during(port());
  EXPECT_EQ(opened_during.cmd({"PING"}).str, "PONG");  // only connections older than the fault are hit
  EXPECT_EQ(control().remove(id).status, 200);
  EXPECT_TRUE(control().faults().empty());
  // Recovered: reconnecting gets answers again, and a connection that was never exhausted keeps working.
  Redis reconnected(port());
  EXPECT_EQ(reconnected.cmd({"PING"}).str, "PONG");
  EXPECT_EQ(opened_during.cmd({"PING"}).str, "PONG");
}

TEST_F(MockCacheTest, RedisCliWorksAgainstIt) {
  ASSERT_EQ(access("/usr/bin/redis-cli", X_OK), 0)
      << "/usr/bin/redis-cli is missing: install the Debian package redis-tools (scripts/install_deps.sh)";
  std::string p = std::to_string(port());
  CommandResult set = run_command({"/usr/bin/redis-cli", "-h", "127.0.0.1", "-p", p, "SET", "greeting", "hi"}, 10s);
  EXPECT_EQ(set.output, "OK\n");
  CommandResult get = run_command({"/usr/bin/redis-cli", "-h", "127.0.0.1", "-p", p, "GET", "greeting"}, 10s);
  EXPECT_EQ(get.output, "hi\n");
}

TEST_F(MockCacheTest, StartDelayAndDurationAreHonoured) {
  // t0 is taken before the add, so the fault starts no earlier than t0 + kDelayMs and ends no earlier
  // than t0 + kDelayMs + kDurationMs on the monotonic clock the mock shares: every bound below is exact.
  // The windows are seconds long so a polling client descheduled for a while still samples each one.
  constexpr int kDelayMs = 2000, kDurationMs = 2000;
  auto t0 = Clock::now();
  control().must_add({{"type", "error"}, {"start_delay_ms", kDelayMs}, {"duration_ms", kDurationMs}});
  Redis r(port());
  Reply before = r.cmd({"PING"});
  nlohmann::json listed = control().faults();
  double listed_at = elapsed_ms(t0);
  ASSERT_EQ(listed.size(), 1u);
  if (listed_at < kDelayMs) {
    // Both the PING and the listing were answered before the fault could have started.
    EXPECT_EQ(before.type, REDIS_REPLY_STATUS) << before.str << before.err;
    EXPECT_EQ(listed[0]["state"], "pending") << listed.dump();
    EXPECT_GT(listed[0]["starts_in_ms"].get<int>(), 0) << listed.dump();
  } else {
    std::cerr << "note: the pending-state checks were skipped: they finished " << listed_at
              << " ms after the add, when the fault may already have started\n";
  }
  ASSERT_TRUE(eventually([&] { return r.cmd({"PING"}).type == REDIS_REPLY_ERROR; }, kDelayMs * 1ms + 10s));
  EXPECT_GE(elapsed_ms(t0), kDelayMs) << "the error started before its start delay";
  ASSERT_TRUE(eventually([&] { return r.cmd({"PING"}).type == REDIS_REPLY_STATUS; }, kDurationMs * 1ms + 10s));
  EXPECT_GE(elapsed_ms(t0), kDelayMs + kDurationMs) << "the error ended before its duration";
  EXPECT_TRUE(control().faults().empty());
}

TEST_F(MockCacheTest, ProbabilityFailsAboutThatShareAndReplaysForTheSameSeed) {
  auto pattern = [](int p) {
    std::string bits;
    Redis r(p);
    for (int i = 0; i < 200; ++i) bits += r.cmd({"PING"}).type == REDIS_REPLY_ERROR ? '1' : '0';
    return bits;
  };
  nlohmann::json fault = {{"type", "error"}, {"probability", 0.5}};
  control().must_add(fault);
  std::string first = pattern(port());
  auto failures = std::count(first.begin(), first.end(), '1');
  EXPECT_GT(failures, 60);
  EXPECT_LT(failures, 140);
  // A second process with the same --seed makes the same draws.
  MockProcess twin({mock_binary("mock-cache"), "--seed", "42"});
  ASSERT_TRUE(twin.ready()) << twin.error();
  ControlClient(twin.control_port()).must_add(fault);
  EXPECT_EQ(pattern(twin.port()), first);
}

TEST_F(MockCacheTest, StatsCountRequestsAndConnections) {
  control().raw("POST", "/reset");
  {
    Redis r(port());
    r.cmd({"PING"});
    r.cmd({"PING"});
    control().must_add({{"type", "error"}, {"match", "GET"}});
    r.cmd({"GET", "x"});
    nlohmann::json s = control().stats();
    EXPECT_EQ(s["requests_received"], 3);
    EXPECT_EQ(s["requests_served"], 2);
    EXPECT_EQ(s["requests_failed_by_fault"]["error"], 1);
    EXPECT_EQ(s["connections_open"], 1);
    EXPECT_GE(s["connections_accepted"], 1);
  }
  EXPECT_TRUE(eventually([&] { return control().stats()["connections_open"] == 0; }, 10s));
}

TEST_F(MockCacheTest, BadControlRequestsGet400WithAMessageAndNeverACrash) {
  struct Case {
    std::string body;
    std::string expect_in_error;
  };
  std::vector<Case> cases = {
      {"{oops", "JSON"},
      {R"({"type":"meteor"})", "'type' must be one of"},
      {R"({"type":"latency"})", "'latency_ms' is required"},
      {R"({"type":"latency","latency_ms":-1})", "'latency_ms' must be in"},
      {R"({"type":"error","probability":"high"})", "'probability' must be a number"},
      {R"({"type":"error","colour":"red"})", "unknown field 'colour'"},
      {R"({"type":"down","match":"GET"})", "'match' is not supported"},
      {R"([1,2])", "JSON object"},
  };
  for (const auto& c : cases) {
    HttpResult r = control().raw("POST", "/faults", c.body);
    EXPECT_EQ(r.status, 400) << c.body;
    nlohmann::json j = r.json();
    ASSERT_TRUE(j.is_object()) << r.body;
    EXPECT_NE(j.value("error", "").find(c.expect_in_error), std::string::npos) << c.body << " -> " << r.body;
  }
  HttpResult huge = control().raw("POST", "/faults", std::string(70 * 1024, ' '));
  EXPECT_EQ(huge.status, 413);
  EXPECT_EQ(control().raw("DELETE", "/faults/none").status, 404);
  EXPECT_EQ(control().raw("GET", "/nope").status, 404);
  EXPECT_EQ(control().raw("GET", "/health").status, 200);
  EXPECT_TRUE(control().faults().empty());
  EXPECT_TRUE(healthy());
}

TEST_F(MockCacheTest, GarbageFramesCloseOnlyTheirOwnConnection) {
  Redis good(port());
  ASSERT_EQ(good.cmd({"PING"}).str, "PONG");
  for (std::string garbage : {std::string("*99999999999\r\n"), std::string("*1\r\n$999999999\r\n"),
                              std::string("*1\r\n#3\r\nabc\r\n"), std::string(70 * 1024, 'z')}) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port()));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    ASSERT_GT(::send(fd, garbage.data(), garbage.size(), MSG_NOSIGNAL), 0);
    timeval tv{10, 0};  // the mock closes at once; this only bounds a broken one
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    std::string got;
    char buf[256];
    ssize_t n;
    while ((n = ::recv(fd, buf, sizeof buf, 0)) > 0) got.append(buf, static_cast<size_t>(n));
    ::close(fd);
    EXPECT_EQ(got.rfind("-ERR Protocol error", 0), 0u) << "for garbage starting " << garbage.substr(0, 20);
    EXPECT_EQ(n, 0) << "the mock must close the connection (not time out)";
  }
  EXPECT_EQ(good.cmd({"PING"}).str, "PONG");
}

TEST(MockProcessContract, BadFlagsExitWithCode2AndSayWhatWasExpected) {
  CommandResult r = run_command({mock_binary("mock-cache"), "--port", "http"}, 10s);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("--port must be a port number 0-65535, got 'http'"), std::string::npos) << r.output;
  r = run_command({mock_binary("mock-db"), "--init-sql", "/nonexistent/init.sql"}, 10s);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("cannot read --init-sql file"), std::string::npos) << r.output;
  r = run_command({mock_binary("mock-rpc"), "--bogus"}, 10s);
  EXPECT_EQ(r.exit_code, 2);
}

// A raw TCP connection that has had one PING answered, so the mock has accepted and registered it.
int connected_socket_after_a_ping(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval tv{10, 0};  // bounds every recv below (each is expected to be answered at once)
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  const std::string ping = "*1\r\n$4\r\nPING\r\n";
  char buf[16];
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::send(fd, ping.data(), ping.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(ping.size()) ||
      ::recv(fd, buf, sizeof buf, 0) != 7 || std::string(buf, 7) != "+PONG\r\n") {
    ::close(fd);
    return -1;
  }
  return fd;
}

TEST_F(MockCacheTest, DisconnectWithResetTrueMakesTheClientsRecvFailWithEconnreset) {
  int fd = connected_socket_after_a_ping(port());
  ASSERT_GE(fd, 0);
  // A one-shot drop of every open connection, with RST.
  control().must_add({{"type", "disconnect"}, {"reset", true}, {"duration_ms", 0}});
  char buf[16];
  errno = 0;
  ssize_t n = ::recv(fd, buf, sizeof buf, 0);
  int recv_errno = errno;
  ::close(fd);
  EXPECT_EQ(n, -1) << "recv returned " << n << " (0 = an orderly FIN, not a reset)";
  EXPECT_EQ(recv_errno, ECONNRESET) << "recv failed with " << std::strerror(recv_errno)
                                    << " (EAGAIN = nothing arrived within 10 s)";
  EXPECT_TRUE(eventually([&] { return control().faults().empty(); }, 10s));
  EXPECT_TRUE(healthy());
}

TEST_F(MockCacheTest, DisconnectWithResetFalseClosesWithAnOrderlyFin) {
  int fd = connected_socket_after_a_ping(port());
  ASSERT_GE(fd, 0);
  control().must_add({{"type", "disconnect"}, {"reset", false}, {"duration_ms", 0}});
  char buf[16];
  errno = 0;
  ssize_t n = ::recv(fd, buf, sizeof buf, 0);
  int recv_errno = errno;
  ::close(fd);
  EXPECT_EQ(n, 0) << "recv returned " << n << " with " << std::strerror(recv_errno) << " (expected end of stream)";
  EXPECT_TRUE(eventually([&] { return control().faults().empty(); }, 10s));
  EXPECT_TRUE(healthy());
}

TEST_F(MockCacheTest, RedisBenchmarkCompletesGetAndSetAndReportsThroughput) {
  const std::string bench = "/usr/bin/redis-benchmark";
  ASSERT_EQ(access(bench.c_str(), X_OK), 0)
      << bench << " is missing: install the Debian package redis-tools (scripts/install_deps.sh)";
  constexpr int kRequestsPerTest = 2000;
  control().raw("POST", "/reset");
  CommandResult r = run_command({bench, "-h", "127.0.0.1", "-p", std::to_string(port()), "-t", "get,set", "-n",
                                 std::to_string(kRequestsPerTest), "-c", "5", "-q"},
                                60s);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  // -q prints "SET: 41152.26 requests per second, p50=0.071 msec" per test (after \r progress lines).
  for (const char* test : {"SET", "GET"}) {
    std::smatch m;
    std::regex line(std::string(test) + R"(: ([0-9]+(\.[0-9]+)?) requests per second)");
    ASSERT_TRUE(std::regex_search(r.output, m, line)) << "no " << test << " throughput in:\n" << r.output;
    EXPECT_GT(std::stod(m[1].str()), 0.0) << m[0];
  }
  // The mock really served them (redis-benchmark also sends a few CONFIG GETs of its own).
  EXPECT_GE(control().stats()["requests_served"].get<int>(), 2 * kRequestsPerTest);
  EXPECT_TRUE(healthy());
}

// The launcher itself: a child that never becomes ready cannot hang a test, and every child is reaped.
TEST(MockProcessLauncher, AChildThatNeverPrintsFailsAtTheDeadlineAndIsReaped) {
  auto t0 = Clock::now();
  pid_t pid = -1;
  {
    MockProcess silent({"/bin/sleep", "30"}, 300ms);
    double waited = elapsed_ms(t0);
    EXPECT_FALSE(silent.ready());
    EXPECT_NE(silent.error().find("no ready line within 300 ms"), std::string::npos) << silent.error();
    EXPECT_GE(waited, 290.0);
    // The child sleeps 30 s: an ignored deadline shows as >= 30 s (or a stdout EOF error). 10 s leaves
    // room for a slow spawn on a loaded machine without judging its speed.
    EXPECT_LT(waited, 10000.0) << "the ready deadline was not honoured";
    pid = silent.pid();
    ASSERT_GT(pid, 0);
    EXPECT_FALSE(process_gone(pid));
  }
  // Destroyed: killed and reaped, so not even a zombie is left under /proc.
  EXPECT_NE(access(("/proc/" + std::to_string(pid)).c_str(), F_OK), 0) << "pid " << pid << " left behind";
}

TEST(MockProcessLauncher, AChildThatDiesBeforeItsReadyLineReportsItsStderrAndExitCode) {
  MockProcess bad({mock_binary("mock-cache"), "--port", "http"}, 10s);
  EXPECT_FALSE(bad.ready());
  EXPECT_NE(bad.error().find("closed stdout before the ready line"), std::string::npos) << bad.error();
  EXPECT_NE(bad.error().find("--port must be a port number"), std::string::npos) << "stderr not captured: " << bad.error();
  std::optional<int> status = bad.wait_exit(20s);  // returns as soon as it exited
  ASSERT_TRUE(status.has_value());
  ASSERT_TRUE(WIFEXITED(*status));
  EXPECT_EQ(WEXITSTATUS(*status), 2);
}

TEST(MockProcessLauncher, AMissingBinaryIsAnErrorNotAHang) {
  MockProcess missing({"/nonexistent/mock-nothing"}, 10s);
  EXPECT_FALSE(missing.ready());
  EXPECT_NE(missing.error().find("/nonexistent/mock-nothing"), std::string::npos) << missing.error();
  EXPECT_LE(missing.pid(), 0);
}

// The process contract, for each of the three mocks.
struct ContractCase {
  std::string binary;
  // Bytes that get one request to the point where a `hang` fault holds it; the db case needs the
  // startup handshake first, so it is sent in two parts with ReadyForQuery in between.
  std::string before_request;
  std::string request;
};

std::string pg_message_prefixed(const std::string& body) {
  std::string out;
  uint32_t len = static_cast<uint32_t>(body.size() + 4);
  for (int shift : {24, 16, 8, 0}) out += static_cast<char>((len >> shift) & 0xff);
  return out + body;
}

std::vector<ContractCase> contract_cases() {
  std::string startup = std::string("\x00\x03\x00\x00", 4) + std::string("user\0chaos\0database\0mock\0\0", 26);
  return {
      {"mock-cache", "", "*1\r\n$4\r\nPING\r\n"},
      {"mock-rpc", "", "POST /rpc/held HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}"},
      {"mock-db", pg_message_prefixed(startup), "Q" + pg_message_prefixed(std::string("SELECT 1\0", 9))},
  };
}

std::string contract_case_name(const ::testing::TestParamInfo<ContractCase>& info) {
  std::string name = info.param.binary;
  std::replace(name.begin(), name.end(), '-', '_');
  return name;
}

class MockLifecycleContract : public MockFixture, public ::testing::WithParamInterface<ContractCase> {};

// docs/MOCKS.md: "SIGTERM / SIGINT: clean exit with code 0 within 1 s", even with a request held by a
// hang fault. The time runs from sending SIGTERM to seeing the child reaped, polled every 5 ms; that
// granularity is the only slack and it is inside the 1000 ms bound, not added to it. The bound is the
// contract in Release; under a sanitizer (slower code, and LeakSanitizer's scan at exit) it is scaled
// (tests/testkit/sanitizer_scale.h). The wait runs 10 s past the bound, so a slow exit is measured and
// its exit status still checked rather than the test hanging.
TEST_P(MockLifecycleContract, SigtermWithARequestHeldExitsWithCode0WithinOneSecond) {
  const ContractCase& c = GetParam();
  launch(c.binary);
  control().must_add({{"type", "hang"}});
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port()));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval tv{10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  if (!c.before_request.empty()) {
    ASSERT_GT(::send(fd, c.before_request.data(), c.before_request.size(), MSG_NOSIGNAL), 0);
    std::string got;
    const std::string ready_for_query("Z\0\0\0\x05", 5);
    char buf[1024];
    while (got.find(ready_for_query) == std::string::npos) {  // bounded by the 10 s receive timeout
      ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      ASSERT_GT(n, 0) << "startup handshake not answered";
      got.append(buf, static_cast<size_t>(n));
    }
  }
  ASSERT_GT(::send(fd, c.request.data(), c.request.size(), MSG_NOSIGNAL), 0);
  ASSERT_TRUE(eventually([&] { return control().stats()["requests_failed_by_fault"]["hang"].get<int>() >= 1; }, 10s))
      << "the request never reached the hang fault";

  const auto bound = chaos::testkit::scaled(1000ms);
  auto t0 = Clock::now();
  mock().send_signal(SIGTERM);
  std::optional<int> status = mock().wait_exit(bound + 10s);
  double took_ms = elapsed_ms(t0);
  ::close(fd);
  ASSERT_TRUE(status.has_value()) << c.binary << " still running " << took_ms << " ms after SIGTERM";
  ASSERT_TRUE(WIFEXITED(*status)) << "killed by signal " << WTERMSIG(*status) << " instead of exiting";
  EXPECT_EQ(WEXITSTATUS(*status), 0);
  EXPECT_LT(took_ms, bound.count()) << c.binary << " took " << took_ms << " ms to exit after SIGTERM";
}

// This process as a child subreaper for the scope: orphaned descendants are re-parented to it (not to
// init), so the test can reap them and read their exit status. Reset on leaving the scope.
class SubreaperScope {
 public:
  SubreaperScope() : ok_(::prctl(PR_SET_CHILD_SUBREAPER, 1) == 0) {}
  ~SubreaperScope() {
    if (ok_) ::prctl(PR_SET_CHILD_SUBREAPER, 0);
  }
  bool ok() const { return ok_; }

 private:
  bool ok_;
};

// "Never outlives its parent": the mock's parent is SIGKILLed (so it forwards nothing); the mock must
// notice on its own (parent-death signal, SIGTERM) and exit through the clean path, with code 0. This
// process is a subreaper meanwhile, so the orphaned mock becomes its child and its exit status is read,
// not just its disappearance. The bound is the SIGTERM contract's 1 s, scaled under a sanitizer; the
// wait runs 10 s past it so a slow exit is measured rather than cut short.
TEST_P(MockLifecycleContract, ExitsWhenItsParentIsKilled) {
  const ContractCase& c = GetParam();
  SubreaperScope subreaper;
  ASSERT_TRUE(subreaper.ok()) << "prctl(PR_SET_CHILD_SUBREAPER): " << std::strerror(errno);
  nlohmann::json ready = start_with_short_lived_parent({mock_binary(c.binary)}, 10s);
  ASSERT_TRUE(ready.contains("pid")) << "no ready line through the intermediate parent: " << ready.dump();
  pid_t pid = ready["pid"].get<pid_t>();
  const auto bound = chaos::testkit::scaled(1000ms);
  auto t0 = Clock::now();
  int status = 0;
  pid_t reaped = 0;
  // The parent is already reaped (start_with_short_lived_parent waits for it), so the mock is our child.
  bool exited = eventually(
      [&] {
        reaped = ::waitpid(pid, &status, WNOHANG);
        return reaped != 0;  // the pid, or -1 if it is not our child after all
      },
      bound + 10s);
  double took_ms = elapsed_ms(t0);
  if (!exited) {  // do not leak it into later tests
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
  }
  ASSERT_TRUE(exited) << c.binary << " outlived its parent by " << took_ms << " ms";
  ASSERT_EQ(reaped, pid) << "the orphaned " << c.binary << " was not re-parented to this subreaper: "
                         << std::strerror(errno);
  ASSERT_TRUE(WIFEXITED(status)) << "killed by signal " << WTERMSIG(status) << " instead of exiting";
  EXPECT_EQ(WEXITSTATUS(status), 0) << c.binary << " must exit through the clean SIGTERM path";
  EXPECT_LT(took_ms, bound.count()) << c.binary << " took " << took_ms << " ms to exit after its parent died";
}

INSTANTIATE_TEST_SUITE_P(AllMocks, MockLifecycleContract, ::testing::ValuesIn(contract_cases()), contract_case_name);

}  // namespace
}  // namespace chaos::mocks::testing
