// The verdict of one scenario run, as the report writers receive it. The runner fills it in; the
// expectation engine supplies `expectations`; report writers only read it.
#pragma once

#include "expect/timeline.h"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace chaos::expect {

enum class Verdict { kPassed, kFailed, kError, kTimedOut, kInterrupted, kFlaky };

inline const char* to_string(Verdict v) {
  switch (v) {
    case Verdict::kPassed: return "passed";
    case Verdict::kFailed: return "failed";
    case Verdict::kError: return "error";
    case Verdict::kTimedOut: return "timed_out";
    case Verdict::kInterrupted: return "interrupted";
    case Verdict::kFlaky: return "flaky";
  }
  return "error";
}

struct ExpectationResult {
  std::string id;           // stable id, e.g. "expect[2]" (its JSON path in the scenario)
  std::string kind;         // e.g. "breaker_transitions", "heal_attempts", "recovery", "never"
  std::string description;  // human sentence of what was expected
  bool passed = false;
  std::string expected;     // what the scenario asked for
  std::string observed;     // what happened
  std::string explanation;  // why it failed (or how it passed)
  // The part of the timeline that decided it, for the report to show.
  double window_from_ms = 0;
  double window_to_ms = 0;
  std::vector<size_t> evidence;  // indexes into Timeline::events
};

struct PhaseMetrics {
  std::string name;
  double from_ms = 0, to_ms = 0;
  size_t requests = 0, ok = 0, fallback = 0, errors = 0;
  double p50_ms = 0, p95_ms = 0, p99_ms = 0, max_ms = 0;
  double throughput_rps = 0;
  double error_rate = 0, fallback_rate = 0, success_rate = 0;
};

struct ProcessLog {
  std::string service;      // service id in the scenario ("sut" for the system under test)
  std::string path;         // file with the process's stdout+stderr, relative to the report folder
  std::optional<int> exit_code;
  std::optional<int> signal;
  std::vector<std::string> tail;  // last lines, for crash explanations
};

struct ScenarioResult {
  std::string name;
  std::string file;         // scenario file path as given
  std::string description;
  std::vector<std::string> tags;
  uint64_t seed = 0;
  Verdict verdict = Verdict::kError;
  // Set with --repeat when `verdict` became kFlaky: what this run alone gave.
  std::optional<Verdict> run_verdict;
  std::string error;        // for kError / kTimedOut / kInterrupted: what went wrong
  double started_unix_ms = 0;
  double duration_ms = 0;
  int repeat_index = 0;     // 0-based, with --repeat
  std::vector<ExpectationResult> expectations;
  std::vector<PhaseMetrics> phases;
  std::vector<ProcessLog> logs;
  Timeline timeline;
  // Fault windows, for the HTML picture: label -> [start, end] ms.
  struct FaultWindow { std::string label, target, type; double from_ms = 0, to_ms = 0; };
  std::vector<FaultWindow> faults;
};

struct RunSummary {
  std::vector<ScenarioResult> scenarios;
  double started_unix_ms = 0;
  double duration_ms = 0;
  bool interrupted = false;
  std::string harness_version = "0.1.0";
  // The cpu cgroup every process of the run shared (harness/runner/cpu_group.h); none: why not.
  std::optional<std::string> cpu_group;
  std::string cpu_group_note;
};

}  // namespace chaos::expect
