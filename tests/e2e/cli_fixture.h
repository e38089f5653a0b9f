// The fixture the chaos-harness end-to-end tests share: a scratch folder per test, a marker that
// tags every process a test's scenario starts (so leftovers can be counted in /proc), and a bounded
// run of the harness binary.
#pragma once

#include "runner/process.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

namespace chaos::e2e {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

inline const std::string kHarness = std::string(CHAOS_BIN_DIR) + "/chaos-harness";
inline const std::string kChild = std::string(CHAOS_BIN_DIR) + "/runner_test_child";

inline std::string read_file(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Processes whose command line contains `marker` (our scenario children carry one as an argument).
inline int count_marked(const std::string& marker) {
  int n = 0;
  std::error_code ec;
  for (auto it = fs::directory_iterator("/proc", ec); !ec && it != fs::directory_iterator(); it.increment(ec)) {
    std::string pid = it->path().filename();
    if (pid.find_first_not_of("0123456789") != std::string::npos) continue;
    std::string cmd = read_file(it->path() / "cmdline");
    std::string stat = read_file(it->path() / "stat");
    auto close = stat.rfind(')');
    if (close != std::string::npos && close + 2 < stat.size() && stat[close + 2] == 'Z') continue;
    if (cmd.find(marker) != std::string::npos) ++n;
  }
  return n;
}

template <class F>
bool eventually(F cond, std::chrono::milliseconds limit) {
  auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (cond()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return cond();
}

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    name_ = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    dir_ = fs::temp_directory_path() / ("chaos-e2e-" + std::to_string(::getpid()) + "-" + name_);
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    marker_ = "chaos-marker-" + std::to_string(::getpid()) + "-" + name_;
  }
  void TearDown() override {
    group_.terminate_all(200ms);
    fs::remove_all(dir_);
  }

  std::string write_scenario(const std::string& file, const std::string& text) {
    auto p = dir_ / file;
    std::ofstream(p) << text;
    return p.string();
  }

  // A scenario with a python HTTP server as the SUT and the given extra parts.
  std::string http_scenario(const std::string& name, const std::string& expect, int duration_ms = 800,
                            const std::string& services = "{}") {
    return R"({
      "name": ")" + name + R"(",
      "timeout_ms": 15000,
      "tolerance_ms": 100,
      "services": )" + services + R"(,
      "system_under_test": {
        "command": ["/usr/bin/python3", "-m", "http.server", "${sut.port}", "--bind", "127.0.0.1"],
        "ready": {"tcp": "${sut.port}", "timeout_ms": 8000}
      },
      "workload": {"target": "http://127.0.0.1:${sut.port}", "rate_rps": 40, "concurrency": 2,
                   "duration_ms": )" + std::to_string(duration_ms) + R"(, "mix": [{"method": "GET", "path": "/"}]},
      "expect": )" + expect + "}";
  }

  // Runs the harness to completion (bounded), returning its exit code.
  int run(std::vector<std::string> args, std::chrono::milliseconds limit = 60000ms) {
    auto* p = start(std::move(args));
    if (!p) return -1;
    if (!eventually([&] { return !p->running(); }, limit)) {
      ADD_FAILURE() << "harness did not finish within " << limit.count() << " ms";
      return -1;
    }
    output_ = read_file(p->log_path());
    auto st = *p->poll();
    return st.exit_code ? *st.exit_code : 128 + st.signal.value_or(0);
  }

  chaos::runner::Process* start(std::vector<std::string> args) {
    chaos::runner::LaunchSpec spec;
    spec.name = "harness";
    spec.argv = {kHarness};
    spec.argv.insert(spec.argv.end(), args.begin(), args.end());
    spec.log_path = (dir_ / "harness.out").string();
    std::string error;
    auto* p = group_.launch(spec, nullptr, &error);
    EXPECT_NE(p, nullptr) << error;
    return p;
  }

  nlohmann::json report() { return nlohmann::json::parse(read_file(dir_ / "reports" / "latest.json")); }

  std::string name_, marker_, output_;
  fs::path dir_;
  chaos::runner::ProcessGroup group_;
};

}  // namespace chaos::e2e
