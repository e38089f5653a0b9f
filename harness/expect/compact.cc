#include "expect/compact.h"

#include <set>
#include <utility>
#include <vector>

namespace chaos::expect {

bool bulk_event_type(const std::string& type) {
  static const std::set<std::string> kBulk = {
      "request",       "breaker.call",    "breaker.rejected", "bulkhead.rejected", "retry.attempt",
      "retry.success", "retry.exhausted", "retry.skipped",    "fallback",          "timeout",
      "health.check",  "health.poll",     "degraded.shed"};
  return kBulk.count(type) > 0;
}

void compact_repeat(ScenarioResult& r, const std::string& note) {
  Timeline& tl = r.timeline;
  if (tl.compacted()) return;
  std::vector<bool> cited(tl.events.size(), false);
  for (const auto& x : r.expectations) {
    for (size_t i : x.evidence) {
      if (i < cited.size()) cited[i] = true;
    }
  }
  std::vector<TimelineEvent> kept;
  std::vector<size_t> index;
  for (size_t i = 0; i < tl.events.size(); ++i) {
    if (!cited[i] && bulk_event_type(tl.events[i].type)) continue;
    kept.push_back(std::move(tl.events[i]));
    index.push_back(i);
  }
  tl.observed_events = tl.events.size();
  tl.events = std::move(kept);
  tl.events.shrink_to_fit();
  tl.event_index = std::move(index);
  tl.omitted_note = note;
}

}  // namespace chaos::expect
