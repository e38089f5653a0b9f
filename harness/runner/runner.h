// Runs one validated scenario end to end: launch services and the system under test, check the steady
// state, play the fault timeline on the monotonic clock while driving the workload, collect every
// event into one Timeline, then judge the expectations. Whatever happens, every process it started is
// killed and reaped before it returns.
#pragma once

#include "expect/result.h"
#include "scenario/model.h"

#include <atomic>
#include <functional>
#include <optional>
#include <string>

namespace chaos::runner {

struct RunOptions {
  std::string bin_dir;                      // where mock-*, gateway live (build/bin)
  std::string log_dir;                      // this run's process logs go here (created)
  std::string report_dir;                   // reports folder (for ${report.dir} and relative log paths)
  std::optional<uint64_t> seed_override;
  int repeat_index = 0;
  const std::atomic<bool>* interrupted = nullptr;  // set by SIGINT/SIGTERM: stop now, report partial
  std::function<void(const std::string&)> progress;  // optional one-line progress messages
};

// Verdicts: kPassed / kFailed (an expectation or the steady state failed, or the SUT crashed) /
// kError (infrastructure: a binary missing, a service never ready, a control API refused a fault) /
// kTimedOut (scenario timeout_ms) / kInterrupted.
expect::ScenarioResult run_scenario(const scenario::Scenario& s, const RunOptions& options);

}  // namespace chaos::runner
