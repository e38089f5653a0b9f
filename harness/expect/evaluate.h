// The expectation engine: judges a scenario's expectations on what the runner observed. A pure
// function of (Scenario, Timeline): no clock, no I/O, so the same timeline always gives the same
// verdicts, and every verdict explains itself (expected, observed, deciding events).
#pragma once

#include "expect/result.h"
#include "expect/timeline.h"
#include "scenario/model.h"

#include <optional>
#include <string>
#include <vector>

namespace chaos::expect {

// An anchor resolved on a timeline: "start" = 0, "end" = timeline.duration_ms, "<label>" = the first
// fault.start event whose "label" field is that label, "<label>.end" = the first fault.end event of
// that label at or after its start; plus the anchor's offset. nullopt when the event never happened.
struct ResolvedAnchor {
  std::optional<double> t_ms;
  std::optional<size_t> event;  // index into timeline.events of the deciding event, if any
  std::string error;            // why it did not resolve
};
ResolvedAnchor resolve_anchor(const scenario::Anchor& a, const Timeline& tl);

// One result per scenario expectation, in order, with ExpectationResult::id = Expectation::id.
std::vector<ExpectationResult> evaluate(const scenario::Scenario& s, const Timeline& tl);
ExpectationResult evaluate_one(const scenario::Expectation& e, const scenario::Scenario& s,
                               const Timeline& tl);

// The steady-state check on [0, first fault) (or [0, tl.duration_ms] without faults): kind
// "steady_state", id "steady_state". The runner calls it when the first fault is due, on the timeline
// so far; a failed steady state makes the scenario fail as such.
ExpectationResult evaluate_steady_state(const scenario::Scenario& s, const Timeline& tl,
                                        std::optional<double> until_ms = std::nullopt);

// Metrics of the workload's RequestSamples (t_ms in [from, to)) for one window.
PhaseMetrics compute_metrics(const std::string& name, double from_ms, double to_ms,
                             const Timeline& tl);
// Metrics for the implicit phase "all" (start..end) followed by every declared phase whose anchors
// resolve (a phase with an unresolved anchor is reported with requests = 0 and from = to = 0).
std::vector<PhaseMetrics> compute_phases(const scenario::Scenario& s, const Timeline& tl);

}  // namespace chaos::expect
