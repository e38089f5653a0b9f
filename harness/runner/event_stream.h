// Turns lines of a process's stdout (or an events file) into timeline events, per docs/EVENTS.md.
// Lines that are not a JSON object with a string "type" are not events (ordinary log output).
#pragma once

#include "common/clock.h"
#include "expect/timeline.h"

#include <optional>
#include <string_view>

namespace chaos::runner {

// `origin` is scenario t=0 on the monotonic clock; `received` stamps events that carry no ts_us.
std::optional<expect::TimelineEvent> parse_event_line(std::string_view line, const std::string& source,
                                                      TimePoint origin, TimePoint received);

// A mock's or the gateway's ready line: {"event":"ready","port":N,...}; nullopt otherwise.
std::optional<nlohmann::json> parse_ready_line(std::string_view line);

}  // namespace chaos::runner
