// The Timeline is what the runner observed during one scenario: the SUT's events (docs/EVENTS.md),
// the harness's own events (faults, process exits) and the workload's request samples, all on one
// time axis in milliseconds since scenario start. Expectations are judged on it and nothing else.
#pragma once

#include <nlohmann/json.hpp>

#include <algorithm>
#include <string>
#include <vector>

namespace chaos::expect {

struct TimelineEvent {
  double t_ms = 0;       // milliseconds since scenario start
  std::string source;    // "sut", "harness", or a service id from the scenario
  std::string type;      // event type, e.g. "breaker.state", "fault.start"
  nlohmann::json data;   // the whole event object as received (type and ts_us included)
};

enum class RequestOutcome { kOk, kFallback, kError };

// One workload request as the harness's load driver saw it.
struct RequestSample {
  double t_ms = 0;          // when it was sent, since scenario start
  double latency_ms = 0;
  RequestOutcome outcome = RequestOutcome::kOk;
  int status = 0;           // HTTP status, 0 when no response
  std::string route;        // which request of the mix
};

struct Timeline {
  std::vector<TimelineEvent> events;     // kept sorted by t_ms (stable for equal times)
  std::vector<RequestSample> requests;   // in send order
  double duration_ms = 0;                // scenario start -> end of observation

  // Set by compact_repeat() (--repeat): `events` then holds only some of the observed events, and
  // event_index[i] is the position events[i] had among all `observed_events`; expectations' evidence
  // keeps those original positions. Empty: `events` is the whole timeline.
  std::vector<size_t> event_index;
  size_t observed_events = 0;
  std::string omitted_note;  // why events were left out, for the reports

  bool compacted() const { return !event_index.empty() || observed_events > events.size(); }
  // Position in the full timeline of events[i].
  size_t original_index(size_t i) const { return event_index.empty() ? i : event_index[i]; }
  // The event that had position `original` in the full timeline, or nullptr when it was left out.
  const TimelineEvent* find(size_t original) const {
    if (event_index.empty()) return original < events.size() && !compacted() ? &events[original] : nullptr;
    auto it = std::lower_bound(event_index.begin(), event_index.end(), original);
    if (it == event_index.end() || *it != original) return nullptr;
    return &events[static_cast<size_t>(it - event_index.begin())];
  }

  void add(TimelineEvent e) {
    auto it = std::upper_bound(events.begin(), events.end(), e.t_ms,
                               [](double t, const TimelineEvent& x) { return t < x.t_ms; });
    events.insert(it, std::move(e));
  }
};

}  // namespace chaos::expect
