#include "runner/event_stream.h"

namespace chaos::runner {

std::optional<expect::TimelineEvent> parse_event_line(std::string_view line, const std::string& source,
                                                      TimePoint origin, TimePoint received) {
  if (line.empty() || line.front() != '{') return std::nullopt;
  auto j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return std::nullopt;
  auto type = j.find("type");
  if (type == j.end() || !type->is_string()) return std::nullopt;
  expect::TimelineEvent e;
  e.source = source;
  e.type = type->get<std::string>();
  auto ts = j.find("ts_us");
  if (ts != j.end() && ts->is_number()) {
    double ts_us = ts->get<double>();
    e.t_ms = (ts_us - static_cast<double>(to_us(origin))) / 1000.0;
  } else {
    e.t_ms = to_ms(received - origin);
  }
  e.data = std::move(j);
  return e;
}

std::optional<nlohmann::json> parse_ready_line(std::string_view line) {
  if (line.empty() || line.front() != '{') return std::nullopt;
  auto j = nlohmann::json::parse(line, nullptr, false);
  if (!j.is_object()) return std::nullopt;
  auto ev = j.find("event");
  if (ev == j.end() || !ev->is_string() || ev->get<std::string>() != "ready") return std::nullopt;
  return j;
}

}  // namespace chaos::runner
