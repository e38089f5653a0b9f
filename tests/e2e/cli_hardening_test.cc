// End-to-end hardening checks of the chaos-harness binary, beyond cli_test.cc: a system under test that
// is not executable, dies of a signal or freezes in the middle of the load; an interruption with one
// scenario done and one running; scenario values with shell syntax; and every socket a scenario's
// processes listen on, real PostgreSQL and Redis included, bound to loopback.
#include "cli_fixture.h"

#include <tuple>

namespace {

using namespace chaos::e2e;

// pid -> parent pid, for every process in /proc.
std::map<int, int> parents() {
  std::map<int, int> out;
  std::error_code ec;
  for (auto it = fs::directory_iterator("/proc", ec); !ec && it != fs::directory_iterator(); it.increment(ec)) {
    std::string pid = it->path().filename();
    if (pid.find_first_not_of("0123456789") != std::string::npos) continue;
    std::string stat = read_file(it->path() / "stat");
    auto close = stat.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream rest(stat.substr(close + 2));
    char state = 0;
    int ppid = 0;
    rest >> state >> ppid;
    out[std::stoi(pid)] = ppid;
  }
  return out;
}

std::set<int> descendants_of(int root) {
  auto pp = parents();
  std::set<int> out;
  bool grew = true;
  while (grew) {
    grew = false;
    for (auto [pid, ppid] : pp)
      if ((ppid == root || out.count(ppid)) && out.insert(pid).second) grew = true;
  }
  return out;
}

std::string comm_of(int pid) {
  std::string c = read_file("/proc/" + std::to_string(pid) + "/comm");
  while (!c.empty() && c.back() == '\n') c.pop_back();
  return c;
}

// A listening TCP socket: who owns it and its local address as /proc/net/tcp{,6} writes it.
struct Listener {
  std::string process, family, address;
  bool operator<(const Listener& o) const {
    return std::tie(process, family, address) < std::tie(o.process, o.family, o.address);
  }
};

// Every listening socket owned by one of `pids`.
std::set<Listener> listeners_of(const std::set<int>& pids) {
  std::map<std::string, std::string> owner;  // socket inode -> process name
  for (int pid : pids) {
    std::error_code ec;
    for (auto it = fs::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec);
         !ec && it != fs::directory_iterator(); it.increment(ec)) {
      auto target = fs::read_symlink(it->path(), ec);
      if (ec) {
        ec.clear();
        continue;
      }
      std::string t = target.string();
      if (t.rfind("socket:[", 0) == 0) owner[t.substr(8, t.size() - 9)] = comm_of(pid);
    }
  }
  std::set<Listener> out;
  for (std::string family : {"tcp", "tcp6"}) {
    std::istringstream table(read_file("/proc/net/" + family));
    std::string line;
    std::getline(table, line);  // header
    while (std::getline(table, line)) {
      std::istringstream f(line);
      std::string sl, local, remote, state, queues, timer, retr, uid, timeout, inode;
      f >> sl >> local >> remote >> state >> queues >> timer >> retr >> uid >> timeout >> inode;
      if (state != "0A") continue;  // TCP_LISTEN
      auto o = owner.find(inode);
      if (o != owner.end()) out.insert({o->second, family, local});
    }
  }
  return out;
}

// 127.0.0.0/8, ::1 or ::ffff:127.x.y.z, in /proc/net's hex (IPv4 little-endian per 32-bit word).
bool is_loopback(const Listener& l) {
  std::string addr = l.address.substr(0, l.address.find(':'));
  if (l.family == "tcp") return addr.size() == 8 && addr.substr(6, 2) == "7F";
  if (addr == "00000000000000000000000001000000") return true;
  return addr.substr(0, 24) == "0000000000000000FFFF0000" && addr.substr(30, 2) == "7F";
}

// A scenario whose SUT runs `sut_argv`, beside a service that carries `marker` and lives until killed;
// `duration_ms` of load against a closed port only paces it.
std::string child_scenario(const std::string& name, const std::string& marker, const std::vector<std::string>& sut_argv,
                           int duration_ms) {
  nlohmann::json s = {
      {"name", name},
      {"timeout_ms", 60000},
      {"tolerance_ms", 100},
      {"services",
       {{"svc", {{"command", {kChild, "print", marker, "ready", "0", "wait-forever"}}, {"ready", {{"line", true}}}}}}},
      {"system_under_test", {{"command", sut_argv}, {"ready", {{"line", true}}}}},
      {"workload", {{"target", "http://127.0.0.1:1"}, {"rate_rps", 5}, {"concurrency", 1}, {"duration_ms", duration_ms}}},
      {"expect", nlohmann::json::array()}};
  return s.dump();
}

TEST_F(CliTest, NonExecutableSystemUnderTestIsAnInfrastructureErrorWithExitCodeThree) {
  auto binary = dir_ / "sut-without-exec-bit";
  std::ofstream(binary) << "#!/bin/sh\nexit 0\n";
  fs::permissions(binary, fs::perms::owner_read | fs::perms::owner_write);
  auto f = write_scenario("not-exec.json", child_scenario("sut-not-executable", marker_, {binary.string()}, 500));
  EXPECT_EQ(run({"run", "--report-dir", (dir_ / "reports").string(), f}), 3) << output_;
  auto s = report()["scenarios"][0];
  EXPECT_EQ(s["verdict"], "error");
  auto err = s["error"].get<std::string>();
  EXPECT_NE(err.find(binary.string()), std::string::npos) << err;
  EXPECT_NE(err.find("is not executable"), std::string::npos) << err;
  EXPECT_NE(output_.find("is not executable"), std::string::npos) << output_;
  EXPECT_EQ(count_marked(marker_), 0) << "the service started before the failed launch is stopped";
}

TEST_F(CliTest, SystemUnderTestKilledBySignalMidWorkloadIsAFailureNamingTheSignalAndItsLastLogLines) {
  auto f = write_scenario("segv.json", child_scenario("sut-segfaults", marker_,
      {kChild, "ready", "0", "stderr", "about to dereference null", "sleep", "300", "segv"}, 20000));
  EXPECT_EQ(run({"run", "--report-dir", (dir_ / "reports").string(), f}), 1) << output_;
  auto s = report()["scenarios"][0];
  EXPECT_EQ(s["verdict"], "failed");
  auto err = s["error"].get<std::string>();
  EXPECT_NE(err.find("killed by signal " + std::to_string(SIGSEGV)), std::string::npos) << err;
  EXPECT_NE(err.find("about to dereference null"), std::string::npos) << err;
  EXPECT_LT(s["duration_ms"].get<double>(), 10000) << "the crash must end the scenario, not the 20 s load";
  EXPECT_EQ(count_marked(marker_), 0) << "the other processes of the scenario are stopped too";
}

TEST_F(CliTest, SystemUnderTestFrozenMidWorkloadEndsOnRequestTimeoutsAndIsKilled) {
  // A python http.server as the SUT; its folder name carries the marker, so /proc finds it. Once it
  // has served the load, it is frozen (SIGSTOP): requests must end on their own 300 ms timeout, the
  // scenario at the end of its load (well before the 60 s scenario timeout), the frozen process must
  // be killed, and the verdict must say what the load saw.
  auto root = dir_ / marker_;
  fs::create_directories(root);
  auto f = write_scenario("frozen.json", R"({
    "name": "sut-frozen",
    "timeout_ms": 60000,
    "tolerance_ms": 100,
    "services": {},
    "system_under_test": {
      "command": ["/usr/bin/python3", "-m", "http.server", "${sut.port}", "--bind", "127.0.0.1", "--directory", ")" +
      root.string() + R"("],
      "ready": {"tcp": "${sut.port}", "timeout_ms": 8000}
    },
    "workload": {"target": "http://127.0.0.1:${sut.port}", "rate_rps": 20, "concurrency": 2, "duration_ms": 4000,
                 "timeout_ms": 300, "mix": [{"method": "GET", "path": "/"}]},
    "expect": [{"rates": {"phase": "all", "success_rate": {"min": 0.99}}}]
  })");
  auto t0 = std::chrono::steady_clock::now();
  auto* h = start({"run", "--report-dir", (dir_ / "reports").string(), f});
  ASSERT_NE(h, nullptr);
  // Served at least once: python's access log line is in the SUT's log.
  auto served = [&] {
    std::error_code ec;
    if (!fs::exists(dir_ / "reports" / "logs", ec)) return false;
    for (auto it = fs::recursive_directory_iterator(dir_ / "reports" / "logs", ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec))
      if (it->is_regular_file(ec) && read_file(it->path()).find("\"GET / HTTP/1.1\" 200") != std::string::npos)
        return true;
    return false;
  };
  ASSERT_TRUE(eventually(served, 20s)) << "the SUT never served a request";
  int frozen = 0;
  for (int pid : descendants_of(h->pid()))
    if (read_file("/proc/" + std::to_string(pid) + "/cmdline").find(marker_) != std::string::npos &&
        ::kill(pid, SIGSTOP) == 0)
      ++frozen;
  ASSERT_EQ(frozen, 1);
  ASSERT_TRUE(eventually([&] { return !h->running(); }, 40s)) << "the harness must not hang on a frozen SUT";
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 40s);
  EXPECT_EQ(h->poll()->exit_code, 1);
  EXPECT_EQ(count_marked(marker_), 0) << "the frozen SUT is killed";
  auto s = report()["scenarios"][0];
  EXPECT_EQ(s["verdict"], "failed") << s.dump(2).substr(0, 2000);
  ASSERT_FALSE(s["expectations"].empty());
  EXPECT_FALSE(s["expectations"][0]["passed"].get<bool>());
  EXPECT_NE(s["expectations"][0]["explanation"].get<std::string>().find("success_rate"), std::string::npos);
}

TEST_F(CliTest, SigtermAfterOneScenarioKeepsItsVerdictAndMarksTheRunningOneInterrupted) {
  const std::string first_marker = marker_ + "-first", second_marker = marker_ + "-second";
  write_scenario("a.json", child_scenario("a-finishes-first", first_marker,
                                          {kChild, "print", first_marker, "ready", "0", "wait-forever"}, 300));
  write_scenario("b.json", child_scenario("b-is-interrupted", second_marker,
                                          {kChild, "print", second_marker, "ready", "0", "wait-forever"}, 50000));
  auto* h = start({"run", "--report-dir", (dir_ / "reports").string(), (dir_ / "a.json").string(),
                   (dir_ / "b.json").string()});
  ASSERT_NE(h, nullptr);
  ASSERT_TRUE(eventually([&] { return count_marked(second_marker) == 2; }, 20s)) << count_marked(second_marker);
  EXPECT_EQ(count_marked(first_marker), 0) << "the first scenario's processes were stopped when it ended";
  ::kill(h->pid(), SIGTERM);
  ASSERT_TRUE(eventually([&] { return count_marked(second_marker) == 0; }, 2s)) << count_marked(second_marker);
  ASSERT_TRUE(eventually([&] { return !h->running(); }, 10s));
  EXPECT_EQ(h->poll()->exit_code, 130);
  auto j = report();  // parses: valid JSON
  EXPECT_TRUE(j["interrupted"].get<bool>());
  std::map<std::string, std::string> verdicts;
  for (const auto& s : j["scenarios"]) verdicts[s["name"].get<std::string>()] = s["verdict"].get<std::string>();
  EXPECT_EQ(verdicts["a-finishes-first"], "passed") << j["scenarios"].dump(2).substr(0, 2000);
  EXPECT_EQ(verdicts["b-is-interrupted"], "interrupted");
  EXPECT_NE(read_file(dir_ / "reports" / "junit.xml").find("b-is-interrupted"), std::string::npos);
}

TEST_F(CliTest, ScenarioValuesWithShellSyntaxReachArgvAndEnvAsPlainData) {
  // Were any of these run through a shell, a file named pwned-* would appear in the test folder.
  const std::string d = dir_.string();
  const std::string arg = "$(touch " + d + "/pwned-subst); touch " + d + "/pwned-semicolon && `touch " + d +
                          "/pwned-backtick` | tee " + d + "/pwned-pipe > " + d + "/pwned-redirect";
  const std::string env = "$(touch " + d + "/pwned-env)'\"; touch " + d + "/pwned-env-semicolon";
  nlohmann::json scenario = {
      {"name", "shell-syntax-is-data"},
      {"timeout_ms", 15000},
      {"tolerance_ms", 100},
      {"services", nlohmann::json::object()},
      {"system_under_test",
       {{"command", {kChild, "ready", "0", "print", arg, "env", "HOSTILE", "sleep", "200", "exit", "7"}},
        {"env", {{"HOSTILE", env}}},
        {"ready", {{"line", true}}}}},
      {"workload", {{"target", "http://127.0.0.1:1"}, {"rate_rps", 5}, {"concurrency", 1}, {"duration_ms", 5000}}},
      {"expect", nlohmann::json::array()}};
  auto f = write_scenario("shell.json", scenario.dump());
  EXPECT_EQ(run({"run", "--report-dir", (dir_ / "reports").string(), f}), 1) << output_;
  auto err = report()["scenarios"][0]["error"].get<std::string>();
  EXPECT_NE(err.find("exit code 7"), std::string::npos) << err;
  EXPECT_NE(err.find(arg), std::string::npos) << "argv reaches the SUT verbatim: " << err;
  EXPECT_NE(err.find("HOSTILE=" + env), std::string::npos) << "env reaches the SUT verbatim: " << err;
  for (const auto& e : fs::directory_iterator(dir_))
    EXPECT_EQ(e.path().filename().string().find("pwned"), std::string::npos) << "a shell ran: " << e.path();
}

TEST_F(CliTest, EveryListeningSocketOfAScenarioIsOnLoopback) {
  // The three mocks, two fault proxies, real PostgreSQL and Redis, and the gateway: every socket any
  // process of the scenario listens on, sampled through the run, must be bound to a loopback address.
  auto f = write_scenario("loopback.json", R"({
    "name": "listens-on-loopback-only",
    "timeout_ms": 60000,
    "tolerance_ms": 100,
    "services": {
      "pg": {"server": "postgres"},
      "kv": {"server": "redis"},
      "db": {"proxy": "pg"},
      "cache": {"proxy": "kv"},
      "rpc": {"mock": "mock-rpc"},
      "spare-db": {"mock": "mock-db"},
      "spare-cache": {"mock": "mock-cache"}
    },
    "system_under_test": {"builtin": "gateway", "env": {"PGUSER": "postgres", "PGDATABASE": "postgres"}},
    "workload": {"rate_rps": 10, "concurrency": 1, "duration_ms": 3000, "mix": [{"path": "/item/1"}]},
    "expect": []
  })");
  auto* h = start({"run", "--report-dir", (dir_ / "reports").string(), f});
  ASSERT_NE(h, nullptr);
  // Sampled every 100 ms: each listener lives for seconds (the whole scenario), so none is missed.
  std::set<Listener> seen;
  const auto until = std::chrono::steady_clock::now() + 100s;
  while (h->running() && std::chrono::steady_clock::now() < until) {
    for (const auto& l : listeners_of(descendants_of(h->pid()))) seen.insert(l);
    std::this_thread::sleep_for(100ms);
  }
  ASSERT_FALSE(h->running()) << "the scenario did not end";
  auto st = *h->poll();
  ASSERT_TRUE(st.exit_code == 0 || st.exit_code == 1) << read_file(h->log_path());
  std::set<std::string> processes;
  for (const auto& l : seen) {
    processes.insert(l.process);
    EXPECT_TRUE(is_loopback(l)) << l.process << " listens on " << l.family << " " << l.address;
  }
  // The sampling saw every kind of process listen, so "all on loopback" covers each of them.
  for (std::string p : {"mock-rpc", "mock-db", "mock-cache", "fault-proxy", "gateway", "postgres", "redis-server"})
    EXPECT_TRUE(processes.count(p)) << p << " was never seen listening; seen: " << ::testing::PrintToString(processes);
}

}  // namespace
