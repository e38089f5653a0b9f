// The timeline picture of one scenario: what a person looks at first to see whether breakers opened
// when the fault started, healing ran, and everything closed again after it ended. The lanes are
// derived here from the timeline's events (docs/EVENTS.md) so they can be tested apart from drawing.
#pragma once

#include "expect/result.h"

#include <string>
#include <vector>

namespace chaos::report {

struct StateSegment {
  double from_ms = 0;
  double to_ms = 0;
  std::string state;   // e.g. "OPEN"; "UNKNOWN" before the first event when it names no `from`
  std::string reason;  // the event's `reason`, when it gave one
};

// One horizontal band of states over time (a breaker, or the system's health state).
struct StateLane {
  std::string name;
  std::vector<StateSegment> segments;  // contiguous, in time order, covering [0, end]
};

struct HealMark {
  double t_ms = 0;
  bool success = false;
  int attempt = 0;
  std::string message;
};

struct HealLane {
  std::string name;
  std::vector<HealMark> marks;
};

// A process becoming ready or exiting (harness events), so a crash shows where it happened.
struct ProcessMark {
  double t_ms = 0;
  std::string name;
  bool exit = false;      // false: process.ready
  bool abnormal = false;  // an exit worth attention (see text.h abnormal_exit)
  std::string status;     // "exited 1", "killed by signal 11 (SIGSEGV)"
};

struct TimelinePicture {
  double end_ms = 0;  // right edge of the time axis
  std::vector<StateLane> breakers;  // one per `breaker.state` name, in order of first appearance
  std::vector<StateLane> health;    // the `health.state` lane, when such events exist (0 or 1)
  std::vector<HealLane> heals;      // one per `heal.attempt` name
  std::vector<ProcessMark> processes;
};

// Derives the lanes. Events missing the fields a lane needs are skipped, never guessed.
TimelinePicture build_picture(const expect::ScenarioResult& s);

// Fill colour for a breaker or health state; grey for anything unknown.
const char* state_colour(const std::string& state);

// Inline SVG (no external references; every text value escaped). `id_prefix` keeps element ids unique
// when several pictures share one page.
std::string render_timeline_svg(const expect::ScenarioResult& s, const std::string& id_prefix);

}  // namespace chaos::report
