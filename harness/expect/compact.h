// Keeping a --repeat run's report small: see compact_repeat().
#pragma once

#include <string>

#include "expect/result.h"

namespace chaos::expect {

// With --repeat, every run's whole timeline made the reports grow by about 0.5 MB per run (620 runs:
// a 317 MB JSON report, and the harness held all of it in memory until the end). The harness keeps
// one passing run's whole timeline per scenario and every run that did not pass in full; the other
// passing runs go through this: their timeline keeps every event an expectation cites and everything
// but the per-call and per-check events (requests, breaker calls and rejections, retries, fallbacks,
// timeouts, health checks and polls, degraded-mode sheds), which are what make up the bulk. The
// timeline picture (state changes, heals, faults, processes) is drawn from what is kept; the
// expectations, phase metrics and request samples are untouched. `note` says where the whole
// timeline is. Idempotent.
void compact_repeat(ScenarioResult& r, const std::string& note);

// Whether compact_repeat() leaves events of this type out (when no expectation cites them).
bool bulk_event_type(const std::string& type);

}  // namespace chaos::expect
