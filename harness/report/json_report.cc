// Builds the JSON report (shape: docs/report.schema.json).
#include "report/json_report.h"

#include "report/text.h"

#include <cmath>
#include <map>

namespace chaos::report {
namespace {

using nlohmann::json;
using expect::RunSummary;
using expect::ScenarioResult;

// JSON has no NaN or infinity; an unknown number is null rather than a made-up value.
json num(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }

json opt_int(const std::optional<int>& v) { return v ? json(*v) : json(nullptr); }

const char* outcome_name(expect::RequestOutcome o) {
  switch (o) {
    case expect::RequestOutcome::kOk: return "ok";
    case expect::RequestOutcome::kFallback: return "fallback";
    case expect::RequestOutcome::kError: return "error";
  }
  return "error";
}

json event_json(const expect::TimelineEvent& e, size_t index) {
  return json{{"index", index}, {"t_ms", num(e.t_ms)}, {"source", e.source}, {"type", e.type},
              {"data", e.data.is_null() ? json::object() : e.data}};
}

json expectation_json(const expect::ExpectationResult& x, const expect::Timeline& timeline) {
  json evidence = json::array();
  json missing = json::array();
  for (size_t idx : x.evidence) {
    if (const auto* e = timeline.find(idx)) {
      evidence.push_back(event_json(*e, idx));
    } else {
      missing.push_back(idx);  // a bad index is reported, not silently dropped
    }
  }
  json j{{"id", x.id},
         {"kind", x.kind},
         {"description", x.description},
         {"passed", x.passed},
         {"expected", x.expected},
         {"observed", x.observed},
         {"explanation", x.explanation},
         {"window", {{"from_ms", num(x.window_from_ms)}, {"to_ms", num(x.window_to_ms)}}},
         {"evidence", std::move(evidence)}};
  if (!missing.empty()) j["evidence_out_of_range"] = std::move(missing);
  return j;
}

json phase_json(const expect::PhaseMetrics& p) {
  return json{{"name", p.name},
              {"from_ms", num(p.from_ms)},
              {"to_ms", num(p.to_ms)},
              {"requests", p.requests},
              {"ok", p.ok},
              {"fallback", p.fallback},
              {"errors", p.errors},
              {"p50_ms", num(p.p50_ms)},
              {"p95_ms", num(p.p95_ms)},
              {"p99_ms", num(p.p99_ms)},
              {"max_ms", num(p.max_ms)},
              {"throughput_rps", num(p.throughput_rps)},
              {"error_rate", num(p.error_rate)},
              {"fallback_rate", num(p.fallback_rate)},
              {"success_rate", num(p.success_rate)}};
}

json requests_json(const std::vector<expect::RequestSample>& all, size_t cap) {
  std::map<std::string, size_t> by_outcome{{"ok", 0}, {"fallback", 0}, {"error", 0}};
  std::map<std::string, size_t> by_route;
  for (const auto& r : all) {
    ++by_outcome[outcome_name(r.outcome)];
    ++by_route[r.route];
  }
  // Evenly thinned so the kept samples still span the whole run.
  size_t stride = 1;
  if (cap == 0) {
    stride = 0;
  } else if (all.size() > cap) {
    stride = (all.size() + cap - 1) / cap;
  }
  json samples = json::array();
  if (stride > 0) {
    for (size_t i = 0; i < all.size(); i += stride) {
      const auto& r = all[i];
      samples.push_back(json{{"t_ms", num(r.t_ms)},
                             {"latency_ms", num(r.latency_ms)},
                             {"outcome", outcome_name(r.outcome)},
                             {"status", r.status},
                             {"route", r.route}});
    }
  }
  return json{{"total", all.size()},
              {"by_outcome", by_outcome},
              {"by_route", by_route},
              {"cap", cap},
              {"included", samples.size()},
              {"sampled", samples.size() < all.size()},
              {"samples", std::move(samples)}};
}

json scenario_json(const ScenarioResult& s, const JsonOptions& options) {
  size_t failed = 0;
  json expectations = json::array();
  for (const auto& x : s.expectations) {
    if (!x.passed) ++failed;
    expectations.push_back(expectation_json(x, s.timeline));
  }
  json phases = json::array();
  for (const auto& p : s.phases) phases.push_back(phase_json(p));
  json faults = json::array();
  for (const auto& f : s.faults) {
    faults.push_back(json{{"label", f.label}, {"target", f.target}, {"type", f.type},
                          {"from_ms", num(f.from_ms)}, {"to_ms", num(f.to_ms)}});
  }
  json logs = json::array();
  for (const auto& l : s.logs) {
    logs.push_back(json{{"service", l.service},
                        {"path", l.path},
                        {"exit_code", opt_int(l.exit_code)},
                        {"signal", opt_int(l.signal)},
                        {"status", exit_status_text(l.exit_code, l.signal)},
                        {"tail", l.tail}});
  }
  json events = json::array();
  for (size_t i = 0; i < s.timeline.events.size(); ++i) {
    events.push_back(event_json(s.timeline.events[i], s.timeline.original_index(i)));
  }
  json timeline{{"duration_ms", num(s.timeline.duration_ms)},
                {"events", std::move(events)},
                {"requests", requests_json(s.timeline.requests, options.max_request_samples)}};
  if (s.timeline.compacted()) {
    timeline["observed_events"] = s.timeline.observed_events;
    timeline["omitted_note"] = s.timeline.omitted_note;
  }
  return json{
      {"name", s.name},
      {"file", s.file},
      {"description", s.description},
      {"tags", s.tags},
      {"seed", s.seed},
      {"verdict", expect::to_string(s.verdict)},
      {"run_verdict", expect::to_string(s.run_verdict.value_or(s.verdict))},
      {"error", s.error},
      {"started_unix_ms", num(s.started_unix_ms)},
      {"started", iso8601_utc(s.started_unix_ms)},
      {"duration_ms", num(s.duration_ms)},
      {"repeat_index", s.repeat_index},
      {"expectation_counts",
       {{"total", s.expectations.size()}, {"passed", s.expectations.size() - failed}, {"failed", failed}}},
      {"expectations", std::move(expectations)},
      {"phases", std::move(phases)},
      {"faults", std::move(faults)},
      {"logs", std::move(logs)},
      {"timeline", std::move(timeline)}};
}

}  // namespace

json to_json(const RunSummary& run, const JsonOptions& options) {
  json counts{{"total", run.scenarios.size()}, {"passed", 0}, {"failed", 0}, {"error", 0},
              {"flaky", 0},  {"timed_out", 0}, {"interrupted", 0}};
  json scenarios = json::array();
  for (const auto& s : run.scenarios) {
    counts[expect::to_string(s.verdict)] = counts[expect::to_string(s.verdict)].get<size_t>() + 1;
    scenarios.push_back(scenario_json(s, options));
  }
  return json{{"schema_version", kJsonSchemaVersion},
              {"harness_version", run.harness_version},
              {"started_unix_ms", num(run.started_unix_ms)},
              {"started", iso8601_utc(run.started_unix_ms)},
              {"duration_ms", num(run.duration_ms)},
              {"interrupted", run.interrupted},
              {"cpu_group", json{{"path", run.cpu_group ? json(*run.cpu_group) : json(nullptr)},
                                 {"note", run.cpu_group_note}}},
              {"summary", std::move(counts)},
              {"scenarios", std::move(scenarios)}};
}

std::string render_json(const RunSummary& run, const JsonOptions& options) {
  return to_json(run, options).dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

}  // namespace chaos::report
