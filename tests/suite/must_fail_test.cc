// Proves that the harness catches and explains wrong expectations against the real gateway and mocks:
// every scenario in scenarios/must-fail/ must fail (exit code 1, verdict "failed") because of the one
// result listed below (its deliberately wrong expect[0], or the steady-state check for a baseline that
// is not steady), with the explanation listed below, while every other result passes.
// A suite that could not fail would prove nothing, so this is the suite's own negative control.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <ostream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace {

const fs::path kMustFailDir = fs::path(CHAOS_SOURCE_DIR) / "scenarios" / "must-fail";
const std::string kBinDir = CHAOS_BIN_DIR;

struct MustFail {
  std::string file;                    // in scenarios/must-fail/
  std::string explanation;             // must appear in the failing result's explanation
  std::string failing_id = "expect[0]";  // the report result that must fail: "expect[0]" or "steady_state"
};

// One row per file; MustFailTest.EveryFileHasARow keeps this table and the folder in step.
const std::vector<MustFail> kCases = {
    {"wrong-breaker-never-opens.json", "expected none, first at"},
    {"wrong-closes-during-wait.json", "found no match in the allowed window"},
    {"wrong-recovery-instant.json", "more than 100 ms"},
    {"wrong-third-retry.json", "expected at least 1"},
    {"wrong-no-heal.json", "expected at most 0 attempts"},
    {"wrong-running-while-degraded.json", "expected RUNNING"},
    {"wrong-fallback-counts-as-success.json", "success_rate"},
    {"baseline-not-steady.json", "the baseline was not steady, so the scenario's verdict would mean nothing: success rate 0.000",
     "steady_state"},
};

// Test names and failure messages show the file, not the bytes of the struct.
void PrintTo(const MustFail& c, std::ostream* os) { *os << c.file; }

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Runs argv with stdout and stderr into `log`; returns the exit code, or -signal. The child dies with
// this test (PR_SET_PDEATHSIG), and is always reaped.
int run(const std::vector<std::string>& argv, const fs::path& log) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) return -1000;
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
    }
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return -WTERMSIG(status);
  return -1001;
}

class MustFailTest : public ::testing::TestWithParam<MustFail> {};

TEST_P(MustFailTest, FailsForItsStatedReason) {
  const MustFail& c = GetParam();
  const fs::path scenario = kMustFailDir / c.file;
  ASSERT_TRUE(fs::exists(scenario)) << scenario;
  const fs::path dir = fs::temp_directory_path() /
                       ("chaos-must-fail-" + std::to_string(::getpid()) + "-" + scenario.stem().string());
  fs::remove_all(dir);
  fs::create_directories(dir);
  const fs::path log = dir / "harness.log";

  int code = run({kBinDir + "/chaos-harness", "run", "--quiet", "--bin-dir", kBinDir, "--report-dir", dir.string(),
                  "--format", "json", scenario.string()},
                 log);
  ASSERT_EQ(code, 1) << "chaos-harness run must exit 1 (a scenario failed) for " << c.file
                     << "; its output:\n" << slurp(log);

  auto report = nlohmann::json::parse(slurp(dir / "latest.json"), nullptr, false);
  ASSERT_TRUE(report.is_object()) << "latest.json is not JSON:\n" << slurp(dir / "latest.json");
  ASSERT_EQ(report["scenarios"].size(), 1u);
  const auto& s = report["scenarios"][0];
  ASSERT_EQ(s["verdict"], "failed") << "error: " << s["error"].dump();

  bool saw_wrong = false;
  for (const auto& e : s["expectations"]) {
    const std::string id = e["id"].get<std::string>();
    const std::string explanation = e["explanation"].is_string() ? e["explanation"].get<std::string>() : "";
    if (id == c.failing_id) {
      saw_wrong = true;
      EXPECT_FALSE(e["passed"].get<bool>()) << c.file << ": " << c.failing_id << " passed, but it is what must fail";
      EXPECT_NE(explanation.find(c.explanation), std::string::npos)
          << c.file << ": expected the explanation to contain \"" << c.explanation << "\", got: " << explanation;
      EXPECT_FALSE(e["observed"].get<std::string>().empty()) << c.file << ": no observed value reported";
    } else {
      // Control expectations (and the steady state, unless it is the one that must fail) hold: the
      // scenario fails for its stated reason only.
      EXPECT_TRUE(e["passed"].get<bool>())
          << c.file << ": control expectation " << id << " failed too: " << explanation;
    }
  }
  EXPECT_TRUE(saw_wrong) << c.file << ": no result for " << c.failing_id;
  if (!HasFailure()) fs::remove_all(dir);
}

std::string case_name(const ::testing::TestParamInfo<MustFail>& info) {
  std::string n = fs::path(info.param.file).stem().string();
  std::replace(n.begin(), n.end(), '-', '_');
  return n;
}

INSTANTIATE_TEST_SUITE_P(MustFail, MustFailTest, ::testing::ValuesIn(kCases), case_name);

TEST(MustFailFolder, EveryFileHasARow) {
  std::set<std::string> listed;
  for (const auto& c : kCases) listed.insert(c.file);
  std::set<std::string> present;
  for (const auto& entry : fs::directory_iterator(kMustFailDir))
    if (entry.path().extension() == ".json") present.insert(entry.path().filename().string());
  EXPECT_EQ(listed, present) << "scenarios/must-fail/ and the table in must_fail_test.cc must list the same files";
}

}  // namespace
