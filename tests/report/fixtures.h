// Synthetic RunSummary fixtures for the report tests: one builder, reused by every report test, so
// each writer is checked against the same passing, failing, errored and hostile scenarios.
#pragma once

#include "expect/result.h"

namespace chaos::report::testing {

// A breaker that opens during "db-down", heals and closes again; every expectation passes.
expect::ScenarioResult passing_scenario();
// The breaker never opens; two expectations fail with explanations and evidence.
expect::ScenarioResult failing_scenario();
// A service never became ready: verdict error, a crashed process log.
expect::ScenarioResult errored_scenario();
// Every text field hostile: markup, quotes, control characters, invalid UTF-8.
expect::ScenarioResult nasty_scenario();

inline constexpr const char* kNastyName = "<script>alert(1)</script>";

// All four, in that order, as one run.
expect::RunSummary fixture_run();

}  // namespace chaos::report::testing
