// mock-rpc as a real process, driven by an HTTP client: echo RPC, fault kinds as an HTTP client sees
// them (status, delay, timeout, truncated body, dropped and refused connections), and recovery.
#include "mock_test_fixture.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace chaos::mocks::testing {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// One raw HTTP exchange on a socket we control, for keep-alive and truncation checks.
class RawConn {
 public:
  explicit RawConn(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ok_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    // Bounds every read; no test waits for it to expire (each expects an answer or a close at once).
    timeval tv{10, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  ~RawConn() { ::close(fd_); }
  bool ok() const { return ok_; }
  // Sends a request and reads one response (by Content-Length), or until close/timeout.
  std::string exchange(const std::string& method, const std::string& path, const std::string& body) {
    std::string req = method + " " + path + " HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: " +
                      std::to_string(body.size()) + "\r\n\r\n" + body;
    if (::send(fd_, req.data(), req.size(), MSG_NOSIGNAL) < 0) return "";
    std::string got;
    char buf[4096];
    for (;;) {
      size_t hdr = got.find("\r\n\r\n");
      if (hdr != std::string::npos) {
        size_t cl = got.find("Content-Length: ");
        if (cl != std::string::npos && cl < hdr) {
          size_t n = std::stoul(got.substr(cl + 16));
          if (got.size() >= hdr + 4 + n) return got;
        }
      }
      ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) {
        closed_ = true;
        return got;
      }
      got.append(buf, static_cast<size_t>(n));
    }
  }
  bool closed() const { return closed_; }
  // Sends bytes and reads until `terminator` has arrived (or close/timeout).
  std::string send_until(const std::string& bytes, const std::string& terminator) {
    if (::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) < 0) return "";
    std::string got;
    char buf[4096];
    while (got.find(terminator) == std::string::npos) {
      ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) break;
      got.append(buf, static_cast<size_t>(n));
    }
    return got;
  }
  // Sends bytes as they are and reads until the peer closes.
  std::string send_raw(const std::string& bytes) {
    if (::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) < 0) return "";
    std::string got;
    char buf[4096];
    ssize_t n;
    while ((n = ::recv(fd_, buf, sizeof buf, 0)) > 0) got.append(buf, static_cast<size_t>(n));
    closed_ = n == 0;
    return got;
  }

 private:
  int fd_ = -1;
  bool ok_ = false, closed_ = false;
};

class MockRpcTest : public MockFixture {
 protected:
  void SetUp() override { launch("mock-rpc"); }
  // The default timeout is for calls that must succeed (or fail at once): long enough that a loaded
  // sanitizer run never trips it. Tests that want a client timeout pass a short one.
  HttpResult call(const std::string& method, const std::string& body = "{}", std::chrono::milliseconds timeout = 10s) {
    return http_request(port(), "POST", "/rpc/" + method, body, timeout);
  }
  // How many requests the mock says a fault of `kind` touched (GET /stats).
  int touched_by(const std::string& kind) { return control().stats()["requests_failed_by_fault"][kind].get<int>(); }
};

TEST_F(MockRpcTest, EchoesTheParamsAsTheResult) {
  HttpResult r = call("user.get", R"({"id":7})");
  ASSERT_EQ(r.status, 200) << r.error;
  EXPECT_EQ(r.json(), nlohmann::json({{"method", "user.get"}, {"result", {{"id", 7}}}}));
  HttpResult g = http_request(port(), "GET", "/rpc/ping");
  EXPECT_EQ(g.json()["result"], nullptr);
  EXPECT_EQ(http_request(port(), "GET", "/health").status, 200);
  EXPECT_EQ(call("x", "not json").status, 400);
  EXPECT_EQ(http_request(port(), "GET", "/elsewhere").status, 404);
}

TEST_F(MockRpcTest, KeepAliveConnectionsServeManyRequests) {
  RawConn c(port());
  ASSERT_TRUE(c.ok());
  for (int i = 0; i < 20; ++i) {
    std::string resp = c.exchange("POST", "/rpc/n", std::to_string(i));
    EXPECT_NE(resp.find("\"result\":" + std::to_string(i) + "}"), std::string::npos) << resp;
  }
  EXPECT_FALSE(c.closed());
}

TEST_F(MockRpcTest, ErrorReturnsTheConfiguredStatusForMatchingMethods) {
  std::string id = control().must_add({{"type", "error"}, {"match", "user.*"}});
  HttpResult r = call("user.get");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.json()["error"], "injected fault");
  EXPECT_EQ(call("order.get").status, 200);
  control().remove(id);
  control().must_add({{"type", "error"}, {"status", 429}, {"message", "slow down"}});
  EXPECT_EQ(call("user.get").status, 429);
  control().clear();
  EXPECT_EQ(call("user.get").status, 200);
}

TEST_F(MockRpcTest, LatencyAddsDelayWithinTolerance) {
  control().must_add({{"type", "latency"}, {"latency_ms", 250}, {"jitter_ms", 20}});
  auto t0 = Clock::now();
  EXPECT_EQ(call("a").status, 200);
  double ms = elapsed_ms(t0);
  EXPECT_GE(ms, 225.0);
  EXPECT_LT(ms, 2500.0) << "ten times the injected latency";
  EXPECT_EQ(touched_by("latency"), 1);
  control().clear();
  // Cleared: the call is served and the mock's own counter shows no latency was applied to it (a
  // wall-clock bound would also measure how long this thread was descheduled).
  EXPECT_EQ(call("a").status, 200);
  EXPECT_EQ(touched_by("latency"), 1) << "the latency outlived its clearing";
}

TEST_F(MockRpcTest, HangTripsTheClientTimeout) {
  control().must_add({{"type", "hang"}, {"match", "slow"}});
  auto t0 = Clock::now();
  HttpResult r = call("slow", "{}", 400ms);
  EXPECT_EQ(r.status, 0);
  EXPECT_GE(elapsed_ms(t0), 350.0);
  // The mock held it (counted once it has read it): hung, not lost or refused.
  EXPECT_TRUE(eventually([&] { return touched_by("hang") == 1; }, 10s)) << control().stats().dump();
  EXPECT_EQ(call("fast").status, 200);
  control().clear();
  EXPECT_EQ(call("slow").status, 200);
}

TEST_F(MockRpcTest, PartialTruncatesTheBodyAndCloses) {
  control().must_add({{"type", "partial"}, {"bytes", 40}});
  RawConn c(port());
  std::string resp = c.exchange("POST", "/rpc/m", R"({"payload":"0123456789"})");
  EXPECT_EQ(resp.size(), 40u);
  EXPECT_TRUE(c.closed());
  EXPECT_EQ(http_request(port(), "POST", "/rpc/m", "{}").status, 0);  // client sees a broken response
  control().clear();
  EXPECT_EQ(call("m").status, 200);
}

TEST_F(MockRpcTest, DisconnectAndDownAreSeenByClients) {
  std::string id = control().must_add({{"type", "disconnect"}});
  EXPECT_EQ(call("m").status, 0);
  control().remove(id);
  EXPECT_EQ(call("m").status, 200);
  control().must_add({{"type", "down"}, {"id", "outage"}});
  EXPECT_FALSE(can_connect(port()));
  control().remove("outage");
  EXPECT_TRUE(eventually([&] { return call("m").status == 200; }, 3s));
}

TEST_F(MockRpcTest, ExhaustBreaksKeepAliveConnectionsUntilReconnect) {
  RawConn old_conn(port());
  ASSERT_NE(old_conn.exchange("POST", "/rpc/m", "{}").find("200 OK"), std::string::npos);
  control().must_add({{"type", "exhaust"}, {"duration_ms", 100}});
  // The connection was broken when the fault started, inside the add: no race with its 100 ms.
  EXPECT_NE(old_conn.exchange("POST", "/rpc/m", "{}").find("503"), std::string::npos);
  EXPECT_EQ(call("m").status, 200);  // a new connection is fine
  ASSERT_TRUE(eventually([&] { return control().faults().empty(); }, 10s));
  EXPECT_NE(old_conn.exchange("POST", "/rpc/m", "{}").find("503"), std::string::npos);  // still broken
}

TEST_F(MockRpcTest, AnswersExpectContinueBeforeTheBodyArrives) {
  RawConn c(port());
  std::string head = "POST /rpc/big HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n";
  std::string interim = c.send_until(head, "\r\n\r\n");
  EXPECT_EQ(interim, "HTTP/1.1 100 Continue\r\n\r\n");
  std::string resp = c.send_until("{}", "}");
  EXPECT_NE(resp.find("200 OK"), std::string::npos) << resp;
}

TEST_F(MockRpcTest, OversizedAndMalformedRequestsGetHttpErrors) {
  RawConn big(port());
  std::string resp = big.exchange("POST", "/rpc/m", std::string(2 * 1024 * 1024, 'x'));
  EXPECT_NE(resp.find("413"), std::string::npos) << resp.substr(0, 100);
  RawConn bad(port());
  std::string answer = bad.send_raw("\x01\x02 garbage \xff\r\n\r\n");
  EXPECT_EQ(answer.rfind("HTTP/1.1 400", 0), 0u) << answer;
  EXPECT_TRUE(bad.closed());
  EXPECT_EQ(call("still.fine").status, 200);
}

TEST_F(MockRpcTest, FlapAlternatesRefusedAndServedCallsThenServesSteadilyOnceCleared) {
  constexpr int kPeriodMs = 150;
  std::string id = control().must_add({{"type", "flap"}, {"period_ms", kPeriodMs}});
  ASSERT_FALSE(id.empty());
  // Watch with a real HTTP client for several periods: it must see both refused and served calls. The
  // loop ends as soon as it has, so the 10 s bound costs nothing when the flap works and only keeps a
  // descheduled client from missing the phases. A refusal fails the connect ("Connection"); a call that
  // was queued when the listener closed is reset instead ("Read"/"Write"), which is the kernel's
  // doing, not the flap's, so it is only reported.
  bool saw_refused = false, saw_served_after_refused = false;
  std::string other_failures;
  auto t0 = Clock::now();
  while (elapsed_ms(t0) < 10'000.0 && !saw_served_after_refused) {
    HttpResult r = call("m");
    if (r.status == 0) {
      if (r.error == "Connection") {
        saw_refused = true;
      } else {
        other_failures += r.error + " ";
      }
    }
    if (r.status == 200 && saw_refused) saw_served_after_refused = true;
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_TRUE(saw_refused) << "flap never refused a connection; other failures: " << other_failures;
  EXPECT_TRUE(saw_served_after_refused) << "flap never brought the listener back up";

  EXPECT_EQ(control().clear().status, 200);
  ASSERT_TRUE(eventually([&] { return call("m").status == 200; }, 10s)) << "not up again after clearing";
  // Steady: every call over at least three full periods is served (a flap still running would refuse
  // some). The loop runs until both the span and the number of calls are reached, so a slow client
  // makes it longer, never a failure.
  t0 = Clock::now();
  int calls = 0;
  while (elapsed_ms(t0) < 3.0 * kPeriodMs || calls < 4) {
    HttpResult r = call("m");
    ASSERT_EQ(r.status, 200) << "call " << calls << " after clearing the flap: " << r.error;
    ++calls;
    std::this_thread::sleep_for(10ms);
  }
}

TEST_F(MockRpcTest, CrashExitsWithTheGivenCodeAndCallsAreRefusedAfterwards) {
  ASSERT_EQ(call("m").status, 200);
  HttpResult added = control().add_fault({{"type", "crash"}, {"exit_code", 9}});
  EXPECT_EQ(added.status, 201) << "the control reply leaves before the crash: " << added.body << added.error;
  std::optional<int> status = mock().wait_exit(20s);  // returns as soon as it exited
  ASSERT_TRUE(status.has_value()) << "mock-rpc still running 20 s after the crash fault";
  ASSERT_TRUE(WIFEXITED(*status)) << "killed by a signal instead of exiting: wait status " << *status;
  EXPECT_EQ(WEXITSTATUS(*status), 9);
  HttpResult after = call("m", "{}", 1s);
  EXPECT_EQ(after.status, 0) << "a crashed mock-rpc answered";
  EXPECT_FALSE(can_connect(port()));
}

TEST_F(MockRpcTest, CurlPostsAJsonRpcCallAndSeesTheEchoAndAnInjectedError) {
  const std::string curl = "/usr/bin/curl";
  ASSERT_EQ(access(curl.c_str(), X_OK), 0) << curl << " is missing: install the Debian package curl (scripts/install_deps.sh)";
  const std::string url = "http://127.0.0.1:" + std::to_string(port()) + "/rpc/user.get";
  // -w appends the status on its own line after the body; --max-time bounds curl itself (each call is
  // expected to be answered at once; the bound only ends a broken one).
  const std::vector<std::string> argv = {curl, "-sS", "--max-time", "10", "-X", "POST", "-H", "Content-Type: application/json",
                                         "--data", R"({"id":7})", "-w", "\n%{http_code}", url};
  CommandResult ok = run_command(argv, 20s);
  ASSERT_EQ(ok.exit_code, 0) << ok.output;
  size_t nl = ok.output.rfind('\n');
  ASSERT_NE(nl, std::string::npos) << ok.output;
  EXPECT_EQ(ok.output.substr(nl + 1), "200");
  EXPECT_EQ(nlohmann::json::parse(ok.output.substr(0, nl), nullptr, false),
            nlohmann::json({{"method", "user.get"}, {"result", {{"id", 7}}}}))
      << ok.output;

  std::string id = control().must_add({{"type", "error"}, {"match", "user.*"}, {"status", 502}, {"message", "upstream gone"}});
  CommandResult failed = run_command(argv, 20s);
  EXPECT_EQ(failed.exit_code, 0) << "without --fail curl exits 0 on an HTTP error: " << failed.output;
  nl = failed.output.rfind('\n');
  ASSERT_NE(nl, std::string::npos) << failed.output;
  EXPECT_EQ(failed.output.substr(nl + 1), "502");
  EXPECT_EQ(nlohmann::json::parse(failed.output.substr(0, nl), nullptr, false).value("error", ""), "upstream gone");

  EXPECT_EQ(control().remove(id).status, 200);
  CommandResult healed = run_command(argv, 20s);
  EXPECT_EQ(healed.output.substr(healed.output.rfind('\n') + 1), "200") << healed.output;
}

}  // namespace
}  // namespace chaos::mocks::testing
