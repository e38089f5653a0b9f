// The JSON report: content checks in-process, and a check against docs/report.schema.json with
// python3-jsonschema (a validator we did not write, so the schema and the writer cannot drift).
#include "report/json_report.h"

#include "expect/compact.h"
#include "fixtures.h"
#include "subprocess.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace chaos::report {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

const char kPython[] = "/usr/bin/python3";

json report() { return json::parse(render_json(testing::fixture_run())); }

TEST(JsonReport, IsSchemaVersionedAndCountsVerdicts) {
  json j = report();
  EXPECT_EQ(j["schema_version"], 1);
  EXPECT_EQ(j["summary"]["total"], 4);
  EXPECT_EQ(j["summary"]["passed"], 1);
  EXPECT_EQ(j["summary"]["failed"], 1);
  EXPECT_EQ(j["summary"]["error"], 1);
  EXPECT_EQ(j["summary"]["timed_out"], 1);
  EXPECT_EQ(j["summary"]["flaky"], 0);
  EXPECT_EQ(j["summary"]["interrupted"], 0);
  EXPECT_EQ(j["started"], "2024-05-01T12:34:56.789Z");
}

TEST(JsonReport, SaysWhichCpuGroupTheRunSharedOrWhyNone) {
  json j = report();
  EXPECT_EQ(j["cpu_group"]["path"], "/sys/fs/cgroup/cpu/chaos-harness-4242");
  expect::RunSummary none;
  none.cpu_group_note = "autogroup scheduling is off (kernel.sched_autogroup_enabled=0)";
  json n = json::parse(render_json(none));
  EXPECT_TRUE(n["cpu_group"]["path"].is_null());
  EXPECT_EQ(n["cpu_group"]["note"], none.cpu_group_note);
}

TEST(JsonReport, CarriesEachExpectationWithItsEvidenceEvents) {
  json s = report()["scenarios"][1];
  EXPECT_EQ(s["verdict"], "failed");
  EXPECT_EQ(s["expectation_counts"]["failed"], 2);
  const json& x = s["expectations"][0];
  EXPECT_EQ(x["passed"], false);
  EXPECT_EQ(x["observed"], "no breaker.state event for rpc");
  EXPECT_NE(x["explanation"].get<std::string>().find("never left CLOSED"), std::string::npos);
  EXPECT_EQ(x["window"]["from_ms"], 400.0);
  ASSERT_EQ(x["evidence"].size(), 2u);
  EXPECT_EQ(x["evidence"][0]["type"], "fault.start");
  EXPECT_EQ(x["evidence"][1]["data"]["outcome"], "slow_failure");
  EXPECT_EQ(s["expectations"][1]["evidence"].size(), 0u);
  EXPECT_EQ(s["expectations"][1]["evidence_out_of_range"], json::array({999}));
}

TEST(JsonReport, ACompactedRepeatKeepsOriginalIndexesAndSaysWhatWasLeftOut) {
  expect::RunSummary run = testing::fixture_run();
  expect::ScenarioResult& s = run.scenarios[0];
  // Per-call events after everything else, so the positions the expectations cite stay valid.
  const double last = s.timeline.events.back().t_ms;
  for (int k = 1; k <= 3; ++k)
    s.timeline.events.push_back({last + k, "sut", "breaker.call", json{{"type", "breaker.call"}, {"name", "db"}}});
  const size_t observed = s.timeline.events.size();
  expect::compact_repeat(s, "repeat 1 keeps the whole timeline");
  ASSERT_LT(s.timeline.events.size(), observed) << "the fixture should have per-call events to leave out";
  json j = to_json(run)["scenarios"][0];
  EXPECT_EQ(j["timeline"]["observed_events"], observed);
  EXPECT_EQ(j["timeline"]["omitted_note"], "repeat 1 keeps the whole timeline");
  ASSERT_EQ(j["timeline"]["events"].size(), s.timeline.events.size());
  for (size_t k = 0; k < s.timeline.events.size(); ++k)
    EXPECT_EQ(j["timeline"]["events"][k]["index"], s.timeline.original_index(k));
  size_t evidence = 0;
  for (const auto& x : j["expectations"]) {
    EXPECT_FALSE(x.contains("evidence_out_of_range")) << x.dump(2);
    evidence += x["evidence"].size();
  }
  EXPECT_GT(evidence, 0u) << "cited events are still shown";
  EXPECT_FALSE(report()["scenarios"][0]["timeline"].contains("observed_events")) << "a whole timeline says nothing";
}

TEST(JsonReport, RunVerdictIsTheRunsOwnEvenWhenTheScenarioIsFlaky) {
  expect::RunSummary run = testing::fixture_run();
  run.scenarios[1].run_verdict = run.scenarios[1].verdict;
  run.scenarios[1].verdict = expect::Verdict::kFlaky;
  json j = to_json(run);
  EXPECT_EQ(j["scenarios"][0]["run_verdict"], "passed");
  EXPECT_EQ(j["scenarios"][1]["verdict"], "flaky");
  EXPECT_EQ(j["scenarios"][1]["run_verdict"], "failed");
}

TEST(JsonReport, KeepsTheLargestSeedExactly) {
  EXPECT_EQ(report()["scenarios"][1]["seed"].get<uint64_t>(), 18446744073709551615ull);
}

TEST(JsonReport, CarriesPhasesFaultsLogsAndTimeline) {
  json s = report()["scenarios"][0];
  ASSERT_EQ(s["phases"].size(), 3u);
  EXPECT_EQ(s["phases"][1]["name"], "db-down");
  EXPECT_DOUBLE_EQ(s["phases"][1]["p99_ms"].get<double>(), 41.5 * 5);
  EXPECT_DOUBLE_EQ(s["phases"][1]["fallback_rate"].get<double>(), 0.75);
  EXPECT_EQ(s["faults"][0]["label"], "db-down");
  EXPECT_EQ(s["logs"][1]["signal"], 15);
  EXPECT_EQ(s["logs"][1]["exit_code"], nullptr);
  EXPECT_EQ(s["logs"][1]["status"], "killed by signal 15 (SIGTERM)");
  const json& ev = s["timeline"]["events"];
  ASSERT_EQ(ev.size(), testing::passing_scenario().timeline.events.size());
  for (size_t i = 1; i < ev.size(); ++i) EXPECT_LE(ev[i - 1]["t_ms"].get<double>(), ev[i]["t_ms"].get<double>());
  EXPECT_EQ(s["timeline"]["requests"]["total"], 240);
  EXPECT_EQ(s["timeline"]["requests"]["sampled"], false);
}

TEST(JsonReport, NonFiniteNumbersBecomeNull) {
  json p = report()["scenarios"][3]["phases"][0];
  EXPECT_TRUE(p["throughput_rps"].is_null());
  EXPECT_TRUE(p["success_rate"].is_null());
}

TEST(JsonReport, InvalidUtf8IsReplacedNotFatal) {
  std::string text = render_json(testing::fixture_run());
  json x = json::parse(text)["scenarios"][3]["expectations"][0];
  EXPECT_NE(x["explanation"].get<std::string>().find("\xEF\xBF\xBD"), std::string::npos);
}

TEST(JsonReport, RequestSamplesAreThinnedEvenlyToTheCapWithExactCounts) {
  expect::RunSummary run;
  run.scenarios.push_back(testing::passing_scenario());  // 240 samples
  json r = to_json(run, JsonOptions{100})["scenarios"][0]["timeline"]["requests"];
  EXPECT_EQ(r["total"], 240);
  EXPECT_EQ(r["cap"], 100);
  EXPECT_EQ(r["sampled"], true);
  EXPECT_LE(r["included"].get<size_t>(), 100u);
  EXPECT_EQ(r["included"], r["samples"].size());
  EXPECT_GE(r["included"].get<size_t>(), 50u) << "thinning should keep about cap samples";
  EXPECT_GT(r["samples"].back()["t_ms"].get<double>(), 5000) << "kept samples must span the run";
  size_t sum = r["by_outcome"]["ok"].get<size_t>() + r["by_outcome"]["fallback"].get<size_t>() +
               r["by_outcome"]["error"].get<size_t>();
  EXPECT_EQ(sum, 240u);
  json none = to_json(run, JsonOptions{0})["scenarios"][0]["timeline"]["requests"];
  EXPECT_EQ(none["samples"].size(), 0u);
  EXPECT_EQ(none["total"], 240);
}

class JsonSchemaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!testing::is_executable(kPython)) GTEST_SKIP() << kPython << " is missing";
    auto probe = testing::run_process({kPython, "-c", "import jsonschema"}, std::chrono::seconds(30));
    if (probe.exit_code != 0) {
      GTEST_SKIP() << "python3-jsonschema is not installed (apt-get install -y python3-jsonschema): "
                   << probe.describe();
    }
    dir_ = fs::temp_directory_path() / ("chaos-report-schema-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Validates `text` against docs/report.schema.json; returns the validator's outcome.
  testing::ProcessOutcome validate(const std::string& text) {
    auto path = dir_ / "report.json";
    std::ofstream(path, std::ios::binary) << text;
    const std::string script =
        "import json, sys, jsonschema\n"
        "schema = json.load(open(sys.argv[1]))\n"
        "jsonschema.Draft7Validator.check_schema(schema)\n"
        "errors = list(jsonschema.Draft7Validator(schema).iter_errors(json.load(open(sys.argv[2]))))\n"
        "for e in errors: print('/'.join(map(str, e.absolute_path)), e.message, file=sys.stderr)\n"
        "sys.exit(1 if errors else 0)\n";
    return testing::run_process({kPython, "-c", script, std::string(CHAOS_SOURCE_DIR) + "/docs/report.schema.json",
                                 path.string()},
                                std::chrono::seconds(60));
  }
  fs::path dir_;
};

TEST_F(JsonSchemaTest, GeneratedReportValidatesAgainstThePublishedSchema) {
  auto r = validate(render_json(testing::fixture_run()));
  EXPECT_EQ(r.exit_code, 0) << r.describe();
}

TEST_F(JsonSchemaTest, EmptyAndInterruptedRunsValidateToo) {
  expect::RunSummary run;
  run.interrupted = true;
  auto r = validate(render_json(run));
  EXPECT_EQ(r.exit_code, 0) << r.describe();
}

TEST_F(JsonSchemaTest, ACompactedFlakyRepeatValidatesToo) {
  expect::RunSummary run = testing::fixture_run();
  expect::compact_repeat(run.scenarios[0], "repeat 1 keeps the whole timeline");
  run.scenarios[0].run_verdict = run.scenarios[0].verdict;
  run.scenarios[0].verdict = expect::Verdict::kFlaky;
  auto r = validate(render_json(run));
  EXPECT_EQ(r.exit_code, 0) << r.describe();
}

TEST_F(JsonSchemaTest, SchemaRejectsAReportWithAnUnknownVerdict) {
  json j = to_json(testing::fixture_run());
  j["scenarios"][0]["verdict"] = "maybe";
  auto r = validate(j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  EXPECT_EQ(r.exit_code, 1) << r.describe();
  EXPECT_NE(r.err.find("scenarios/0/verdict"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace chaos::report
