// Checks on the shipped scenario files themselves, without running them:
//  - every file under scenarios/{suite,real,examples,must-fail} validates against scenarios/schema.json,
//    judged by python3-jsonschema (a validator we did not write, so the schema and the files cannot
//    drift together unnoticed). A missing validator FAILS the test: skipping would let drift through;
//  - every suite and real scenario is designed to finish in under 10 s (the issue's limit): its
//    workload and its last fault both end before 10 000 ms.
#include "subprocess.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

const fs::path kScenarios = fs::path(CHAOS_SOURCE_DIR) / "scenarios";
const char kPython[] = "/usr/bin/python3";
constexpr int64_t kLimitMs = 10000;

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<fs::path> json_files(const std::vector<std::string>& folders) {
  std::vector<fs::path> out;
  for (const auto& f : folders)
    for (const auto& e : fs::directory_iterator(kScenarios / f))
      if (e.path().extension() == ".json") out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

struct Outcome {
  int exit_code = -1;  // -signal when killed
  std::string output;  // stdout and stderr
};

// Runs argv (no shell) under a deadline, through the report tests' bounded subprocess runner.
Outcome run(const std::vector<std::string>& argv, std::chrono::seconds limit) {
  auto p = chaos::report::testing::run_process(argv, limit);
  Outcome o;
  o.exit_code = p.exit_code >= 0 ? p.exit_code : -p.signal;
  o.output = p.out + p.err;
  if (p.timed_out) o.output += "\n(killed after " + std::to_string(limit.count()) + " s)";
  if (!p.started) o.output += "\n" + p.describe();
  return o;
}

const char kValidator[] =
    "import json, sys\n"
    "try:\n"
    "    import jsonschema\n"
    "except ImportError as e:\n"
    "    print('python3-jsonschema is missing (apt-get install -y python3-jsonschema):', e)\n"
    "    sys.exit(3)\n"
    "schema = json.load(open(sys.argv[1]))\n"
    "cls = jsonschema.validators.validator_for(schema)\n"
    "cls.check_schema(schema)\n"
    "validator = cls(schema)\n"
    "bad = 0\n"
    "for f in sys.argv[2:]:\n"
    "    for e in validator.iter_errors(json.load(open(f))):\n"
    "        bad += 1\n"
    "        print(f + ': ' + '/'.join(map(str, e.absolute_path)) + ': ' + e.message)\n"
    "print('checked', len(sys.argv) - 2, 'files,', bad, 'errors')\n"
    "sys.exit(1 if bad else 0)\n";

Outcome validate(const std::vector<fs::path>& files) {
  std::vector<std::string> argv{kPython, "-c", kValidator, (kScenarios / "schema.json").string()};
  for (const auto& f : files) argv.push_back(f.string());
  return run(argv, std::chrono::seconds(120));
}

// What makes a scenario run 10 s or longer by design; empty when it fits.
std::vector<std::string> over_ten_seconds(const json& s) {
  std::vector<std::string> why;
  const int64_t workload = s.contains("workload") ? s["workload"].value("duration_ms", int64_t{0}) : 0;
  if (workload >= kLimitMs) why.push_back("workload.duration_ms " + std::to_string(workload));
  if (s.contains("faults")) {
    for (const auto& f : s["faults"]) {
      const int64_t end = f.value("at_ms", int64_t{0}) + f.value("duration_ms", int64_t{0});
      if (end >= kLimitMs)
        why.push_back("fault \"" + f.value("label", std::string("?")) + "\" ends at " + std::to_string(end) + " ms");
    }
  }
  return why;
}

TEST(ScenarioFiles, EveryShippedScenarioValidatesAgainstTheSchema) {
  const auto files = json_files({"suite", "real", "examples", "must-fail"});
  // The four folders hold dozens of files; a handful means the folders were not found.
  ASSERT_GE(files.size(), 30u) << "scenario folders under " << kScenarios << " look empty";
  ASSERT_EQ(::access(kPython, X_OK), 0) << kPython << " is missing: the schema check cannot run (apt-get install -y python3)";
  Outcome o = validate(files);
  EXPECT_EQ(o.exit_code, 0) << o.output;
  EXPECT_NE(o.output.find("checked " + std::to_string(files.size()) + " files, 0 errors"), std::string::npos) << o.output;
}

TEST(ScenarioFiles, TheSchemaCheckRejectsABrokenScenarioNamingFileAndPath) {
  // Proves the check above can fail: a suite file with one wrong type and one unknown key.
  json s = json::parse(slurp(kScenarios / "suite" / "timeout-cache-hang.json"));
  s["workload"]["rate_rps"] = "fast";
  s["surprise"] = true;
  const fs::path bad = fs::temp_directory_path() / ("chaos-broken-scenario-" + std::to_string(::getpid()) + ".json");
  std::ofstream(bad) << s.dump(2);
  Outcome o = validate({bad});
  fs::remove(bad);
  EXPECT_EQ(o.exit_code, 1) << o.output;
  EXPECT_NE(o.output.find(bad.string() + ": workload/rate_rps: "), std::string::npos) << o.output;
  EXPECT_NE(o.output.find("surprise"), std::string::npos) << o.output;
}

TEST(ScenarioFiles, SuiteAndRealScenariosAreDesignedToFinishUnderTenSeconds) {
  const auto files = json_files({"suite", "real"});
  ASSERT_GE(files.size(), 25u);
  for (const auto& f : files) {
    json s = json::parse(slurp(f), nullptr, false);
    ASSERT_TRUE(s.is_object()) << f << " is not JSON";
    ASSERT_TRUE(s.contains("workload")) << f << ": no workload, so no designed duration";
    for (const auto& why : over_ten_seconds(s)) ADD_FAILURE() << f.filename() << ": " << why << " (limit " << kLimitMs << " ms)";
  }
}

TEST(ScenarioFiles, TheDurationCheckFlagsALongWorkloadAndALateFault) {
  json s = json::parse(R"({"workload": {"duration_ms": 12000},
                           "faults": [{"label": "early", "at_ms": 1000, "duration_ms": 2000},
                                      {"label": "late", "at_ms": 8000, "duration_ms": 2500},
                                      {"label": "crash", "at_ms": 9000}]})");
  EXPECT_EQ(over_ten_seconds(s), (std::vector<std::string>{"workload.duration_ms 12000", "fault \"late\" ends at 10500 ms"}));
  s["workload"]["duration_ms"] = 9999;
  s["faults"][1]["duration_ms"] = 1999;
  EXPECT_TRUE(over_ten_seconds(s).empty());
}

}  // namespace
