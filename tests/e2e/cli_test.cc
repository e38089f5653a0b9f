// End-to-end tests of the chaos-harness command line: real processes, real reports. The system under
// test here is a plain HTTP server or the runner's test child, so these tests cover the harness's own
// behaviour (exit codes, errors, interruption, orphans) independently of the demo gateway.
#include "cli_fixture.h"

namespace {

using namespace chaos::e2e;

TEST_F(CliTest, PassingScenarioExitsZeroAndWritesAllThreeReports) {
  // A handful of requests is enough to judge a success rate; more would measure how fast a starved
  // python http.server answers on a loaded CI machine, not the harness (8 of 32 were seen once).
  auto f = write_scenario("pass.json", http_scenario("serves-ok", R"([{"rates": {"phase": "all",
      "success_rate": {"min": 0.99}, "min_requests": 3}}])"));
  EXPECT_EQ(run({"run", "--report-dir", (dir_ / "reports").string(), f}), 0) << output_;
  auto j = report();
  ASSERT_EQ(j["scenarios"].size(), 1u);
  EXPECT_EQ(j["scenarios"][0]["verdict"], "passed");
  EXPECT_TRUE(fs::exists(dir_ / "reports" / "latest.html"));
  EXPECT_TRUE(fs::exists(dir_ / "reports" / "junit.xml"));
  EXPECT_NE(output_.find("scenarios: 1 passed, 0 failed"), std::string::npos) << output_;
}

TEST_F(CliTest, FailedExpectationExitsOneAndExplainsWhy) {
  // Every request goes to a path the server answers with 404, so the success rate is 0.
  auto text = http_scenario("expects-too-much", R"([{"rates": {"phase": "all", "success_rate": {"min": 0.99}}}])");
  auto pos = text.find(R"("path": "/")");
  text.replace(pos, 11, R"("path": "/missing")");
  auto f = write_scenario("fail.json", text);
  EXPECT_EQ(run({"run", "--report-dir", (dir_ / "reports").string(), f}), 1) << output_;
  auto s = report()["scenarios"][0];
  EXPECT_EQ(s["verdict"], "failed");
  ASSERT_FALSE(s["expectations"].empty());
  auto e = s["expectations"][0];
  EXPECT_FALSE(e["passed"].get<bool>());
  EXPECT_NE(e["explanation"].get<std::string>().find("success_rate"), std::string::npos) << e.dump(2);
  EXPECT_NE(read_file(dir_ / "reports" / "junit.xml").find("<failure"), std::string::npos);
}

TEST_F(CliTest, InvalidScenarioExitsTwoAndNamesFileLineAndPathBeforeStartingAnything) {
  auto f = write_scenario("bad.json", R"({
  "name": "bad",
  "timeout_ms": 5000,
  "tolerance_ms": 100,
  "services": {"db": {"mock": "mock-db"}},
  "system_under_test": {"command": [")" + kChild + R"(", ")" + marker_ + R"("], "ready": {"line": true}},
  "workload": {"target": "http://127.0.0.1:1", "rate_rps": 10, "concurrency": 1, "duration_ms": 500},
  "faults": [{"label": "x", "at_ms": 100, "target": "db", "fault": {"type": "lag"}}],
  "expect": []
})");
  EXPECT_EQ(run({"run", "--report-dir", (dir_ / "reports").string(), f}), 2) << output_;
  EXPECT_NE(output_.find(f + ":8:"), std::string::npos) << output_;
  EXPECT_NE(output_.find("faults[0].fault.type"), std::string::npos) << output_;
  EXPECT_NE(output_.find("lag"), std::string::npos) << output_;
  EXPECT_EQ(count_marked(marker_), 0);
  EXPECT_FALSE(fs::exists(dir_ / "reports" / "latest.json"));
}

TEST_F(CliTest, MissingBinaryIsAnInfrastructureErrorWithExitCodeThree) {
  auto text = http_scenario("missing-binary", "[]");
  auto pos = text.find("/usr/bin/python3");
  text.replace(pos, 16, "/nonexistent/sut-binary");
  auto f = write_scenario("missing.json", text);
  EXPECT_EQ(run({"run", "--report-dir", (dir_ / "reports").string(), f}), 3) << output_;
  auto s = report()["scenarios"][0];
  EXPECT_EQ(s["verdict"], "error");
  EXPECT_NE(s["error"].get<std::string>().find("binary not found: /nonexistent/sut-binary"), std::string::npos);
}

TEST_F(CliTest, ServiceThatNeverBecomesReadyFailsAfterItsReadinessTimeoutAndIsKilled) {
  auto services = R"({"stuck": {"command": [")" + kChild + R"(", "print", ")" + marker_ +
                  R"(", "wait-forever"], "ready": {"tcp": "1", "timeout_ms": 400}}})";
  auto f = write_scenario("stuck.json", http_scenario("never-ready", "[]", 800, services));
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(run({"run", "--report-dir", (dir_ / "reports").string(), f}), 3) << output_;
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 10s);
  auto err = report()["scenarios"][0]["error"].get<std::string>();
  EXPECT_NE(err.find("service \"stuck\" never became ready"), std::string::npos) << err;
  EXPECT_NE(err.find("waited 400 ms for TCP port 1"), std::string::npos) << err;
  EXPECT_NE(err.find("last log lines:\n    | " + marker_), std::string::npos) << "its own output explains it: " << err;
  EXPECT_EQ(count_marked(marker_), 0);
}

TEST_F(CliTest, CrashingSystemUnderTestIsAFailureWithItsExitStatusAndLastLogLines) {
  auto f = write_scenario("crash.json", R"({
    "name": "sut-crashes",
    "timeout_ms": 30000,
    "tolerance_ms": 100,
    "services": {},
    "system_under_test": {"command": [")" + kChild + R"(", "ready", "0", "stderr", "fatal: out of widgets",
                                      "sleep", "300", "exit", "7"], "ready": {"line": true}},
    "workload": {"target": "http://127.0.0.1:1", "rate_rps": 10, "concurrency": 1, "duration_ms": 20000},
    "expect": []
  })");
  EXPECT_EQ(run({"run", "--report-dir", (dir_ / "reports").string(), f}), 1) << output_;
  auto s = report()["scenarios"][0];
  EXPECT_EQ(s["verdict"], "failed");
  auto err = s["error"].get<std::string>();
  EXPECT_NE(err.find("exit code 7"), std::string::npos) << err;
  EXPECT_NE(err.find("fatal: out of widgets"), std::string::npos) << err;
  // The workload would run 20 s; the crash comes at 0.3 s. The bound leaves a loaded sanitizer build
  // most of 10 s and still tells "ended at the crash" from "ran the workload out".
  EXPECT_LT(s["duration_ms"].get<double>(), 10000) << "a crash must end the scenario at once";
}

// A scenario whose processes live until they are killed: a service, and a SUT with a grandchild.
std::string long_scenario(const std::string& name, const std::string& marker) {
  return R"({
    "name": ")" + name + R"(",
    "timeout_ms": 60000,
    "tolerance_ms": 100,
    "services": {"svc": {"command": [")" + kChild + R"(", "print", ")" + marker +
         R"(", "ready", "0", "wait-forever"], "ready": {"line": true}}},
    "system_under_test": {"command": [")" + kChild + R"(", "print", ")" + marker +
         R"(", "fork-sleep", "60000", "ready", "0", "wait-forever"], "ready": {"line": true}},
    "workload": {"target": "http://127.0.0.1:1", "rate_rps": 5, "concurrency": 1, "duration_ms": 50000},
    "expect": []
  })";
}

TEST_F(CliTest, SigintMidScenarioKillsEveryProcessWithinTwoSecondsAndWritesAnInterruptedReport) {
  auto f = write_scenario("long.json", long_scenario("interrupt-me", marker_));
  auto* h = start({"run", "--report-dir", (dir_ / "reports").string(), f});
  ASSERT_NE(h, nullptr);
  ASSERT_TRUE(eventually([&] { return count_marked(marker_) == 3; }, 15s)) << count_marked(marker_);
  ::kill(h->pid(), SIGINT);
  auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(eventually([&] { return count_marked(marker_) == 0; }, 2s)) << count_marked(marker_) << " left";
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);
  ASSERT_TRUE(eventually([&] { return !h->running(); }, 10s));
  EXPECT_EQ(h->poll()->exit_code, 130);
  auto j = report();
  EXPECT_TRUE(j["interrupted"].get<bool>());
  EXPECT_EQ(j["scenarios"][0]["verdict"], "interrupted");
}

TEST_F(CliTest, SigtermMidScenarioBehavesLikeSigint) {
  auto f = write_scenario("long.json", long_scenario("terminate-me", marker_));
  auto* h = start({"run", "--report-dir", (dir_ / "reports").string(), f});
  ASSERT_NE(h, nullptr);
  ASSERT_TRUE(eventually([&] { return count_marked(marker_) == 3; }, 15s));
  ::kill(h->pid(), SIGTERM);
  ASSERT_TRUE(eventually([&] { return count_marked(marker_) == 0; }, 2s)) << count_marked(marker_) << " left";
  ASSERT_TRUE(eventually([&] { return !h->running(); }, 10s));
  EXPECT_EQ(h->poll()->exit_code, 130);
  EXPECT_TRUE(report()["interrupted"].get<bool>());
}

TEST_F(CliTest, SigkillOfTheHarnessStillKillsEveryScenarioProcess) {
  auto f = write_scenario("long.json", long_scenario("kill-me", marker_));
  auto* h = start({"run", "--report-dir", (dir_ / "reports").string(), f});
  ASSERT_NE(h, nullptr);
  ASSERT_TRUE(eventually([&] { return count_marked(marker_) == 3; }, 15s));
  ::kill(h->pid(), SIGKILL);
  ASSERT_TRUE(eventually([&] { return count_marked(marker_) == 0; }, 2s)) << count_marked(marker_) << " left";
}

TEST_F(CliTest, UsageErrorsExitTwo) {
  EXPECT_EQ(run({"frobnicate", "x.json"}), 2);
  EXPECT_NE(output_.find("unknown command"), std::string::npos);
  EXPECT_EQ(run({"run", "--jobs", "zero", "x.json"}), 2);
  EXPECT_EQ(run({"run", "/nonexistent/scenarios"}), 2);
}

}  // namespace

namespace {

TEST_F(CliTest, StoppedSystemUnderTestHitsTheScenarioTimeoutAndEverythingIsKilled) {
  // The SUT is frozen with SIGSTOP before it can announce readiness; its readiness timeout is longer
  // than the scenario's, so the scenario timeout must fire, kill everything (a stopped process too)
  // and say so. It would only announce readiness after 60 s, so however late the SIGSTOP lands on a
  // loaded machine, it lands before that.
  auto f = write_scenario("stopped.json", R"({
    "name": "sut-stopped",
    "timeout_ms": 2500,
    "tolerance_ms": 100,
    "services": {},
    "system_under_test": {"command": [")" + kChild + R"(", "print", ")" + marker_ +
      R"(", "sleep", "60000", "ready", "0", "wait-forever"], "ready": {"line": true, "timeout_ms": 90000}},
    "workload": {"target": "http://127.0.0.1:1", "rate_rps": 5, "concurrency": 1, "duration_ms": 500},
    "expect": []
  })");
  auto* h = start({"run", "--report-dir", (dir_ / "reports").string(), f});
  ASSERT_NE(h, nullptr);
  ASSERT_TRUE(eventually([&] { return count_marked(marker_) == 1; }, 10s));
  // Freeze every marked process.
  std::error_code ec;
  for (auto it = fs::directory_iterator("/proc", ec); !ec && it != fs::directory_iterator(); it.increment(ec)) {
    std::string pid = it->path().filename();
    if (pid.find_first_not_of("0123456789") != std::string::npos) continue;
    if (read_file(it->path() / "cmdline").find(marker_) != std::string::npos) ::kill(std::stoi(pid), SIGSTOP);
  }
  ASSERT_TRUE(eventually([&] { return !h->running(); }, 10s)) << "the harness must not hang on a frozen SUT";
  EXPECT_EQ(h->poll()->exit_code, 1) << "a timed-out scenario is a failed scenario for the exit code";
  EXPECT_EQ(count_marked(marker_), 0);
  auto s = report()["scenarios"][0];
  EXPECT_EQ(s["verdict"], "timed_out");
  EXPECT_NE(s["error"].get<std::string>().find("scenario timeout of 2500 ms"), std::string::npos) << s["error"];
}

}  // namespace

namespace {

TEST_F(CliTest, PortAlreadyTakenIsAnInfrastructureErrorThatShowsTheServicesOwnMessage) {
  // Hold a loopback port, then ask for a mock on exactly that port.
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(::listen(fd, 1), 0);
  socklen_t len = sizeof a;
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len), 0);
  const int port = ntohs(a.sin_port);
  auto services = R"({"rpc": {"mock": "mock-rpc", "port": )" + std::to_string(port) + "}}";
  auto f = write_scenario("taken.json", http_scenario("port-taken", "[]", 800, services));
  EXPECT_EQ(run({"run", "--report-dir", (dir_ / "reports").string(), f}), 3) << output_;
  ::close(fd);
  auto err = report()["scenarios"][0]["error"].get<std::string>();
  EXPECT_NE(err.find("service \"rpc\" never became ready: it exited first (exit code 1)"), std::string::npos) << err;
  EXPECT_NE(err.find("Address already in use"), std::string::npos) << err;
}

TEST_F(CliTest, UnwritableReportFolderIsAnInfrastructureError) {
  auto f = write_scenario("ok.json", http_scenario("unwritable-reports", "[]"));
  auto blocker = dir_ / "not-a-folder";
  std::ofstream(blocker) << "x";
  EXPECT_EQ(run({"run", "--report-dir", (blocker / "reports").string(), f}), 3) << output_;
  EXPECT_NE(output_.find("cannot create report folder"), std::string::npos) << output_;
}

}  // namespace

namespace {

TEST_F(CliTest, DiskFullWhileWritingReportsKeepsThePreviousReportAndExitsThree) {
  auto f = write_scenario("ok.json", http_scenario("disk-full", R"([{"rates": {"phase": "all",
      "success_rate": {"min": 0.9}}}])"));
  ASSERT_EQ(run({"run", "--report-dir", (dir_ / "reports").string(), f}), 0) << output_;
  const std::string before = read_file(dir_ / "reports" / "latest.json");
  ASSERT_FALSE(before.empty());
  // Same run again, with every write of the harness's atomic file writer failing as on a full disk.
  chaos::runner::LaunchSpec spec;
  spec.name = "harness";
  spec.argv = {kHarness, "run", "--report-dir", (dir_ / "reports").string(), f};
  spec.env = {{"CHAOS_FIU_ENABLE", "chaos/atomic_file/write"}};
  spec.log_path = (dir_ / "harness-diskfull.out").string();
  std::string error;
  auto* p = group_.launch(spec, nullptr, &error);
  ASSERT_NE(p, nullptr) << error;
  ASSERT_TRUE(eventually([&] { return !p->running(); }, 60s));
  EXPECT_EQ(p->poll()->exit_code, 3);
  auto out = read_file(spec.log_path);
  EXPECT_NE(out.find("writing reports failed"), std::string::npos) << out;
  EXPECT_NE(out.find("No space left on device"), std::string::npos) << out;
  EXPECT_EQ(read_file(dir_ / "reports" / "latest.json"), before) << "the previous report must stay intact";
  for (auto& e : fs::directory_iterator(dir_ / "reports"))
    EXPECT_EQ(e.path().filename().string().find(".tmp"), std::string::npos) << e.path();
}

}  // namespace

namespace {

const std::string kEventsFileSut = std::string(CHAOS_BIN_DIR) + "/events_file_sut";

// A command SUT that reports through an events file; `actions` follow its ready line.
std::string events_file_scenario(const std::string& name, const std::string& events_path, const std::string& actions,
                                 const std::string& expect) {
  return R"({
    "name": ")" + name + R"(",
    "timeout_ms": 15000,
    "tolerance_ms": 100,
    "services": {},
    "system_under_test": {"command": [")" + kEventsFileSut + R"(", "file", ")" + events_path + R"(", "ready", )" +
         actions + R"(, "wait-forever"], "ready": {"line": true},
      "events": {"source": "file", "path": ")" + events_path + R"("}},
    "workload": {"target": "http://127.0.0.1:1", "rate_rps": 5, "concurrency": 1, "duration_ms": 1500},
    "expect": )" + expect + "}";
}

TEST_F(CliTest, EventsFromAFileThatAppearsMidScenarioAreJudgedLikeStdoutEvents) {
  // The file does not exist when the scenario starts; a line arrives in two writes; a last line has no
  // newline (only the final drain can read it); a JSON line on stdout must not count as an event.
  const std::string events = (dir_ / "sut-events.jsonl").string();
  auto f = write_scenario("file-events.json", events_file_scenario("events-from-file", events,
      R"("sleep", "300", "breaker", "db", "CLOSED", "OPEN", "sleep", "200",
         "partial", "{\"type\":\"split.line\",", "sleep", "100", "append", "\"name\":\"db\"}",
         "breaker", "db", "OPEN", "CLOSED", "stdout", "{\"type\":\"stdout.only\"}",
         "partial", "{\"type\":\"unterminated.tail\"}")",
      R"([{"breaker": "db", "transitions": [{"to": "OPEN", "after": "start", "not_before_ms": 250, "within_ms": 5000},
                                           {"to": "CLOSED"}]},
          {"events": {"type": "split.line", "where": {"name": "db"}, "min": 1, "max": 1}},
          {"events": {"type": "unterminated.tail", "min": 1}},
          {"events": {"type": "stdout.only", "max": 0}},
          {"events": {"type": "events.file", "where": {"found": true}, "min": 1}}])"));
  EXPECT_EQ(run({"run", "--report-dir", (dir_ / "reports").string(), f}), 0) << output_;
  auto s = report()["scenarios"][0];
  EXPECT_EQ(s["verdict"], "passed") << s.dump(2);
  int sut_breaker_events = 0;
  for (const auto& e : s["timeline"]["events"])
    if (e.value("type", "") == "breaker.state") {
      EXPECT_EQ(e.value("source", ""), "sut") << e.dump();
      ++sut_breaker_events;
    }
  EXPECT_EQ(sut_breaker_events, 2) << s["timeline"].dump(2);
}

TEST_F(CliTest, RepeatMarksDifferingVerdictsFlakyKeepsEachRunsOwnAndCompactsPassingTimelines) {
  // The SUT skips opening its breaker on the first run only, so run 1 fails and runs 2 and 3 pass.
  // Every run also emits per-call events (left out of a compacted timeline) and one health.check that
  // an expectation cites (kept, with its original index).
  const std::string events = (dir_ / "sut-events.jsonl").string();
  const std::string first = (dir_ / "first-run-done").string();
  auto f = write_scenario("flaky.json", events_file_scenario("flaky-on-first-run", events,
      R"("event", "breaker.call", "db", "event", "breaker.call", "db", "event", "retry.attempt", "db",
         "event", "health.check", "db", "first-time", ")" + first + R"(", "breaker", "db", "CLOSED", "OPEN")",
      R"([{"breaker": "db", "transitions": [{"to": "OPEN"}]},
          {"events": {"type": "health.check", "where": {"name": "db"}, "min": 1}}])"));
  EXPECT_EQ(run({"run", "--repeat", "3", "--report-dir", (dir_ / "reports").string(), f}), 1) << output_;
  EXPECT_NE(output_.find("3 run(s): 0 passed, 0 failed, 3 flaky"), std::string::npos) << output_;
  auto runs = report()["scenarios"];
  ASSERT_EQ(runs.size(), 3u);
  std::map<int, nlohmann::json> by_repeat;
  for (const auto& r : runs) by_repeat[r["repeat_index"].get<int>()] = r;
  ASSERT_EQ(by_repeat.size(), 3u);
  for (auto& [i, r] : by_repeat) {
    EXPECT_EQ(r["verdict"], "flaky") << i;
    const std::string own = i == 0 ? "failed" : "passed";
    EXPECT_EQ(r["run_verdict"], own) << i;
    EXPECT_NE(r["error"].get<std::string>().find("(failed x1, passed x2); this run " + own), std::string::npos)
        << r["error"];
  }
  EXPECT_FALSE(by_repeat[0]["timeline"].contains("observed_events")) << "a run that did not pass keeps everything";
  int compacted = 0;
  for (int i : {1, 2}) {
    const auto& tl = by_repeat[i]["timeline"];
    if (!tl.contains("observed_events")) continue;
    ++compacted;
    const size_t observed = tl["observed_events"].get<size_t>();
    EXPECT_LT(tl["events"].size(), observed);
    EXPECT_NE(tl["omitted_note"].get<std::string>().find("repeat " + std::to_string(i == 1 ? 3 : 2)),
              std::string::npos) << tl["omitted_note"];
    std::set<size_t> kept;
    for (const auto& e : tl["events"]) {
      EXPECT_NE(e["type"], "breaker.call") << "per-call events are left out";
      EXPECT_NE(e["type"], "retry.attempt");
      EXPECT_LT(e["index"].get<size_t>(), observed);
      kept.insert(e["index"].get<size_t>());
    }
    bool health_kept = false, breaker_kept = false;
    for (const auto& e : tl["events"]) {
      health_kept |= e["type"] == "health.check";
      breaker_kept |= e["type"] == "breaker.state";
    }
    EXPECT_TRUE(health_kept) << "an event an expectation cites is kept";
    EXPECT_TRUE(breaker_kept) << "state changes that draw the picture are kept";
    for (const auto& x : by_repeat[i]["expectations"]) {
      EXPECT_FALSE(x.contains("evidence_out_of_range")) << x.dump(2);
      for (const auto& ev : x["evidence"]) EXPECT_TRUE(kept.count(ev["index"].get<size_t>())) << ev.dump();
    }
  }
  EXPECT_EQ(compacted, 1) << "one passing run keeps its whole timeline, the other is compacted";
}

TEST_F(CliTest, EventsFileThatNeverAppearsFailsTheExpectationsAndSaysSo) {
  const std::string events = (dir_ / "never-written.jsonl").string();
  auto f = write_scenario("no-file.json", events_file_scenario("events-file-missing", events, R"("sleep", "1")",
      R"([{"breaker": "db", "transitions": [{"to": "OPEN"}]}])"));
  EXPECT_EQ(run({"run", "--report-dir", (dir_ / "reports").string(), f}), 1) << output_;
  auto s = report()["scenarios"][0];
  EXPECT_EQ(s["verdict"], "failed");
  auto why = s["expectations"][0]["explanation"].get<std::string>();
  EXPECT_NE(why.find("never created its events file " + events), std::string::npos) << why;
}

}  // namespace
