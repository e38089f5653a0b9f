// libfiu against our own binaries, both ways the issue asks for: the mocks' named fault points
// (mock/<svc>/accept|read|handle|write) switched through the control API and through libfiu's own
// remote control (fiu-ctrl on the --fiu-fifo), and libfiu's POSIX preload (fiu-run) making a mock's
// libc calls fail.
#include "mock_test_fixture.h"

#include <hiredis/hiredis.h>

#include <dirent.h>
#include <unistd.h>

namespace chaos::mocks::testing {
namespace {

using namespace std::chrono_literals;

// PING on a fresh connection: "PONG", an "ERR ..." text, or "io: <why>" on a transport failure.
std::string ping(int port) {
  timeval tv{1, 0};
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

  id = control().must_add({{"type", "fiu"}, {"point", "mock/cache/*"}, {"duration_ms", 300}});
  EXPECT_NE(ping(port()), "PONG");
  EXPECT_TRUE(eventually([&] { return ping(port()) == "PONG"; }, 3s)) << "expiry disables the point";
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
  // SIGTERM exits through exit(), so libfiu removes its fifos.
  mock_->stop();
  EXPECT_NE(access((base + "-" + pid + ".in").c_str(), F_OK), 0) << "fifo left behind";
}

TEST_F(MockFiuTest, FiuRunPosixPreloadMakesTheMocksLibcCallsFail) {
  // recv() fails with ECONNRESET (104) inside mock-cache: it must close the client's connection and
  // say why, and the client must see the failure.
  mock_ = std::make_unique<MockProcess>(std::vector<std::string>{
      "/usr/bin/fiu-run", "-x", "-c", "enable name=posix/io/net/recv,failinfo=104", mock_binary("mock-cache")});
  ASSERT_TRUE(mock_->ready()) << mock_->error();
  std::string got = ping(port());
  EXPECT_EQ(got.rfind("io:", 0), 0u) << got;
  EXPECT_TRUE(eventually([&] { return mock_->stderr_text().find("read failed: Connection reset by peer") != std::string::npos; },
                         3s))
      << mock_->stderr_text();
  // Control: the same binary without the preload answers.
  MockProcess plain({mock_binary("mock-cache")});
  ASSERT_TRUE(plain.ready()) << plain.error();
  EXPECT_EQ(ping(plain.port()), "PONG");
}

TEST_F(MockFiuTest, EveryMockDeclaresItsFourPoints) {
  for (const char* svc : {"rpc", "db"}) {
    launch(std::string("mock-") + svc);
    for (const char* where : {"accept", "read", "handle", "write"}) {
      std::string point = std::string("mock/") + svc + "/" + where;
      std::string id = control().must_add({{"type", "fiu"}, {"point", point}});
      EXPECT_NE(mock().stderr_text().find("fiu: enable " + point + " ok"), std::string::npos) << point;
      control().remove(id);
    }
    mock_.reset();
  }
}

}  // namespace
}  // namespace chaos::mocks::testing
