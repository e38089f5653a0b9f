// Every bug the fuzz targets found, pinned as a plain unit test so the normal build (not only the
// clang fuzz build) keeps it fixed. The crashing inputs themselves are kept as regression seeds in
// tests/fuzz/regressions/<target>/ and replayed by scripts/fuzz.sh.
#include <fiu.h>
#include <gtest/gtest.h>

#include "cache/resp_session.h"
#include "core/control_api.h"
#include "core/fault_table.h"
#include "rpc/rpc_session.h"
#include "session_driver.h"

namespace chaos::mocks {
namespace {

class NullService final : public ServiceControl {
 public:
  void drop_open_connections(bool, const std::function<bool()>&) override {}
  void hold_listener_down() override {}
  void release_listener_down() override {}
  void break_open_connections(BrokenMode, const std::function<bool()>&) override {}
  void crash(int) override {}
  void log(const std::string&) override {}
};

// control_api_fuzz: a request target with bytes that are not UTF-8 made the 404 message's JSON dump
// throw; the exception escaped the event loop and killed the mock (std::terminate).
TEST(FuzzFindingsTest, ControlApiAnswersTargetsThatAreNotUtf8) {
  ManualClock clock;
  SeededRandom rng(1);
  NullService svc;
  FaultTable table(clock, rng, svc);
  Stats stats;
  ControlApi api("mock-test", table, stats);
  ControlResponse r;
  ASSERT_NO_THROW(r = api.handle("GET", "/fa\xaf\xff", ""));
  EXPECT_EQ(r.status, 404);
  EXPECT_TRUE(nlohmann::json::accept(r.body)) << r.body;
  ASSERT_NO_THROW(r = api.handle("DELETE", "/faults/\xc3", ""));
  EXPECT_EQ(r.status, 404);
  EXPECT_TRUE(nlohmann::json::accept(r.body)) << r.body;
}

// Same failure in mock-rpc: the method name (echoed in the answer) and unknown paths (in the 404).
TEST(FuzzFindingsTest, RpcAnswersMethodsAndPathsThatAreNotUtf8) {
  for (std::string target : {"/rpc/\xff\xfe", "/\xc3(", "/rpc/ok?\xff"}) {
    RpcSession s;
    fuzz::DriveResult r;
    ASSERT_NO_THROW(r = fuzz::drive(s, "GET " + target + " HTTP/1.1\r\nHost: x\r\n\r\n", 0, true)) << target;
    ASSERT_EQ(r.requests.size(), 1u) << target;
    size_t body = r.out.find("\r\n\r\n");
    ASSERT_NE(body, std::string::npos);
    EXPECT_TRUE(nlohmann::json::accept(r.out.substr(body + 4))) << r.out;
    RpcSession f;
    fuzz::DriveResult failed;
    ASSERT_NO_THROW(failed = fuzz::drive(f, "GET " + target + " HTTP/1.1\r\nHost: x\r\n\r\n", 0, false)) << target;
    EXPECT_EQ(failed.out.rfind("HTTP/1.1 503 ", 0), 0u) << failed.out;
  }
}

// resp_fuzz: an unknown command named "UN\r\nPK" was echoed inside a RESP error line, so the client
// read "-ERR unknown command 'UN" and then a forged "PK'" line: the reply stream went out of step.
TEST(FuzzFindingsTest, RespErrorsNeverCarryLineBreaksFromTheClient) {
  Store store;
  RespSession s(store);
  fuzz::DriveResult r = fuzz::drive(s, "*1\r\n$6\r\nUN\r\n+O\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n", 0, true);
  EXPECT_EQ(r.out, "-ERR unknown command 'UN  +O'\r\n$-1\r\n");
  // Fault messages come from the control API and may hold line breaks too.
  std::string out;
  s.fail(ErrorSpec{503, "a\r\nb\nc", "XX000"}, out);
  EXPECT_EQ(out, "-ERR a  b c\r\n");
}

// resp_fuzz: a length line of more than 32 characters ("*000...0\r\n") was accepted when it came in
// one read and refused as a protocol error when it came in pieces. Now both refuse it, and a line of
// exactly 32 characters is accepted both ways.
TEST(FuzzFindingsTest, RespLengthLineVerdictDoesNotDependOnReadBoundaries) {
  const std::string too_long = "*" + std::string(40, '0') + "\r\nPING\r\n";
  const std::string longest = "*" + std::string(31, '0') + "1\r\n$4\r\nPING\r\n";
  for (size_t chunk : {size_t{0}, size_t{1}, size_t{3}, size_t{16}}) {
    Store store;
    RespSession bad(store), good(store);
    fuzz::DriveResult r = fuzz::drive(bad, too_long, chunk, true);
    EXPECT_TRUE(r.closed) << chunk;
    EXPECT_EQ(r.out, "-ERR Protocol error: invalid multibulk length\r\n") << chunk;
    r = fuzz::drive(good, longest, chunk, true);
    EXPECT_FALSE(r.closed) << chunk;
    EXPECT_EQ(r.out, "+PONG\r\n") << chunk;
  }
}

// resp_fuzz, once UBSan was made fatal in the fuzz build: PEXPIRE with a huge time computed now + t as a
// signed overflow (undefined behaviour; in practice a wrapped, past expiry that deleted the key). SET EX
// had the same sum and t * 1000. Redis answers "invalid expire time" for times that do not fit.
TEST(FuzzFindingsTest, RespExpireTimesThatOverflowAreRefusedNotWrapped) {
  auto cmd = [](std::initializer_list<std::string> args) {
    std::string s = "*" + std::to_string(args.size()) + "\r\n";
    for (const auto& a : args) s += "$" + std::to_string(a.size()) + "\r\n" + a + "\r\n";
    return s;
  };
  const std::string max = "9223372036854775807";
  Store store;
  RespSession s(store);
  fuzz::DriveResult r = fuzz::drive(s,
      cmd({"SET", "k", "v"}) + cmd({"PEXPIRE", "k", max}) + cmd({"EXPIRE", "k", "9223372036854775"}) +
      cmd({"SET", "k", "w", "PX", max}) + cmd({"SET", "k", "w", "EX", max}) +
      cmd({"SET", "k", "w", "EX", "9223372036854775"}) + cmd({"PTTL", "k"}) + cmd({"GET", "k"}),
      0, true);
  EXPECT_EQ(r.out,
            "+OK\r\n"
            "-ERR invalid expire time in 'pexpire' command\r\n"
            "-ERR invalid expire time in 'expire' command\r\n"
            "-ERR invalid expire time in 'set' command\r\n"
            "-ERR invalid expire time in 'set' command\r\n"
            "-ERR invalid expire time in 'set' command\r\n"
            ":-1\r\n"
            "$1\r\nv\r\n");
}

// control_api_fuzz (a leak report under LeakSanitizer): two fiu faults on the same point. The first
// to end disabled the point while the second was still active, and enabling an enabled point again
// leaked libfiu's copy of its name. The point must fail while any fault on it is active, with the
// settings of the most recent one, and stop failing only when the last one ends.
TEST(FuzzFindingsTest, OverlappingFiuFaultsOnOnePointKeepItEnabledUntilTheLastEnds) {
  fiu_init(0);
  const char* point = "test/fuzz-findings/overlap";
  ManualClock clock;
  SeededRandom rng(1);
  NullService svc;
  FaultTable table(clock, rng, svc);
  auto fails_with = [&]() -> long {
    if (!fiu_fail(point)) return 0;
    return static_cast<long>(reinterpret_cast<intptr_t>(fiu_failinfo()));
  };
  std::string first = table.add({{"type", "fiu"}, {"point", point}, {"failinfo", 5}});
  EXPECT_EQ(fails_with(), 5);
  std::string second = table.add({{"type", "fiu"}, {"point", point}, {"failinfo", 7}});
  EXPECT_EQ(fails_with(), 7) << "the most recent fault's settings apply";
  ASSERT_TRUE(table.remove(first));
  EXPECT_EQ(fails_with(), 7) << "the point was disabled under the fault that is still active";
  std::string third = table.add({{"type", "fiu"}, {"point", point}, {"failinfo", 9}});
  ASSERT_TRUE(table.remove(third));
  EXPECT_EQ(fails_with(), 7) << "back to the settings of the fault still active";
  ASSERT_TRUE(table.remove(second));
  EXPECT_EQ(fails_with(), 0) << "the point stays enabled after the last fault on it ended";
  // Faults still active when the table goes away release the point too.
  {
    FaultTable other(clock, rng, svc);
    other.add({{"type", "fiu"}, {"point", point}, {"failinfo", 3}});
    EXPECT_EQ(fails_with(), 3);
  }
  EXPECT_EQ(fails_with(), 0);
}

}  // namespace
}  // namespace chaos::mocks
