// Builds the synthetic scenarios described in fixtures.h.
#include "fixtures.h"

#include <limits>

namespace chaos::report::testing {
namespace {

using expect::ExpectationResult;
using expect::RequestOutcome;
using expect::ScenarioResult;
using expect::TimelineEvent;
using nlohmann::json;

void add_event(ScenarioResult& s, double t, const std::string& source, json data) {
  std::string type = data["type"];
  s.timeline.add(TimelineEvent{t, source, type, std::move(data)});
}

size_t index_of(const ScenarioResult& s, const std::string& type, double t) {
  for (size_t i = 0; i < s.timeline.events.size(); ++i) {
    if (s.timeline.events[i].type == type && s.timeline.events[i].t_ms == t) return i;
  }
  return s.timeline.events.size();  // deliberately out of range: the writers must cope
}

// A steady workload with failures (or fallbacks) during [bad_from, bad_to).
void add_requests(ScenarioResult& s, double duration, double bad_from, double bad_to, RequestOutcome bad) {
  for (double t = 0; t < duration; t += 25) {
    bool in_bad = t >= bad_from && t < bad_to;
    expect::RequestSample r;
    r.t_ms = t;
    r.latency_ms = in_bad ? 40 + static_cast<double>(static_cast<int>(t) % 7) : 3 + static_cast<double>(static_cast<int>(t) % 5);
    r.outcome = in_bad && static_cast<int>(t) % 50 == 0 ? bad : (in_bad ? RequestOutcome::kFallback : RequestOutcome::kOk);
    r.status = r.outcome == RequestOutcome::kError ? 503 : 200;
    r.route = static_cast<int>(t) % 75 == 0 ? "/item" : "/items";
    s.timeline.requests.push_back(r);
  }
}

expect::PhaseMetrics phase(const std::string& name, double from, double to, size_t requests, double error_rate,
                           double fallback_rate, double p50) {
  expect::PhaseMetrics p;
  p.name = name;
  p.from_ms = from;
  p.to_ms = to;
  p.requests = requests;
  p.errors = static_cast<size_t>(static_cast<double>(requests) * error_rate);
  p.fallback = static_cast<size_t>(static_cast<double>(requests) * fallback_rate);
  p.ok = requests - p.errors - p.fallback;
  p.p50_ms = p50;
  p.p95_ms = p50 * 3;
  p.p99_ms = p50 * 5;
  p.max_ms = p50 * 8;
  p.throughput_rps = static_cast<double>(requests) / ((to - from) / 1000);
  p.error_rate = error_rate;
  p.fallback_rate = fallback_rate;
  p.success_rate = 1 - error_rate - fallback_rate;
  return p;
}

expect::ProcessLog log(const std::string& service, std::optional<int> code, std::optional<int> sig,
                       std::vector<std::string> tail) {
  expect::ProcessLog l;
  l.service = service;
  l.path = "logs/" + service + ".log";
  l.exit_code = code;
  l.signal = sig;
  l.tail = std::move(tail);
  return l;
}

}  // namespace

ScenarioResult passing_scenario() {
  ScenarioResult s;
  s.name = "db outage opens the breaker and heals";
  s.file = "scenarios/breaker/db_outage.json";
  s.description = "The database goes down for two seconds; the gateway serves from cache meanwhile.";
  s.tags = {"breaker", "db"};
  s.seed = 42;
  s.verdict = expect::Verdict::kPassed;
  s.started_unix_ms = 1714566896789;
  s.duration_ms = 6000;
  s.timeline.duration_ms = 6000;
  add_event(s, 0, "harness", {{"type", "scenario.start"}, {"name", s.name}});
  add_event(s, 120, "harness", {{"type", "process.ready"}, {"name", "db"}, {"pid", 4242}, {"port", 5433}});
  add_event(s, 1000, "harness", {{"type", "fault.start"}, {"label", "db-down"}, {"target", "db"},
                                 {"fault", {{"type", "disconnect"}}}});
  add_event(s, 1180, "sut", {{"type", "breaker.state"}, {"name", "db"}, {"from", "CLOSED"}, {"to", "OPEN"},
                             {"reason", "failure rate 100.0% >= 50.0% over 5 calls"}, {"open_wait_ms", 1000}});
  add_event(s, 1200, "sut", {{"type", "health.state"}, {"state", "DEGRADED"}, {"previous", "RUNNING"},
                             {"score", 60}, {"availability", 0.6}});
  add_event(s, 1500, "sut", {{"type", "heal.attempt"}, {"check", "db"}, {"name", "db"}, {"attempt", 1},
                             {"outcome", "failure"}, {"message", "connection refused"}, {"next_delay_ms", 500}});
  add_event(s, 2180, "sut", {{"type", "breaker.state"}, {"name", "db"}, {"from", "OPEN"}, {"to", "HALF_OPEN"}});
  add_event(s, 2200, "sut", {{"type", "breaker.state"}, {"name", "db"}, {"from", "HALF_OPEN"}, {"to", "OPEN"},
                             {"reason", "probe failed"}});
  add_event(s, 2000, "sut", {{"type", "heal.attempt"}, {"check", "db"}, {"name", "db"}, {"attempt", 2},
                             {"outcome", "failure"}, {"message", "connection refused"}});
  add_event(s, 3000, "harness", {{"type", "fault.end"}, {"label", "db-down"}, {"target", "db"}});
  add_event(s, 3120, "sut", {{"type", "heal.attempt"}, {"check", "db"}, {"name", "db"}, {"attempt", 3},
                             {"outcome", "success"}, {"message", "reconnected"}});
  add_event(s, 3200, "sut", {{"type", "breaker.state"}, {"name", "db"}, {"from", "OPEN"}, {"to", "HALF_OPEN"}});
  add_event(s, 3260, "sut", {{"type", "breaker.state"}, {"name", "db"}, {"from", "HALF_OPEN"}, {"to", "CLOSED"}});
  add_event(s, 3300, "sut", {{"type", "health.state"}, {"state", "RUNNING"}, {"previous", "DEGRADED"},
                             {"score", 100}, {"availability", 1.0}});
  add_event(s, 4000, "harness", {{"type", "fault.start"}, {"label", "cache-slow"}, {"target", "cache"},
                                 {"fault", {{"type", "latency"}, {"ms", 80}}}});
  add_event(s, 4100, "sut", {{"type", "breaker.state"}, {"name", "cache"}, {"from", "CLOSED"}, {"to", "FORCED_OPEN"},
                             {"reason", "operator"}});
  add_event(s, 4800, "harness", {{"type", "fault.end"}, {"label", "cache-slow"}, {"target", "cache"}});
  add_event(s, 4900, "sut", {{"type", "breaker.state"}, {"name", "cache"}, {"from", "FORCED_OPEN"}, {"to", "CLOSED"}});
  add_event(s, 6000, "harness", {{"type", "scenario.end"}, {"name", s.name}});
  s.faults = {{"db-down", "db", "disconnect", 1000, 3000}, {"cache-slow", "cache", "latency", 4000, 4800}};
  add_requests(s, 6000, 1000, 3260, RequestOutcome::kError);

  ExpectationResult open;
  open.id = "expect[0]";
  open.kind = "breaker_transitions";
  open.description = "breaker db opens within 500 ms after \"db-down\", then half-opens, then closes";
  open.passed = true;
  open.expected = "OPEN within 500 ms after db-down, HALF_OPEN, CLOSED within 3000 ms after db-up";
  open.observed = "OPEN at +180 ms, HALF_OPEN at 2180 ms, CLOSED at +260 ms after db-up";
  open.explanation = "every transition happened inside its window";
  open.window_from_ms = 1000;
  open.window_to_ms = 6000;
  open.evidence = {index_of(s, "breaker.state", 1180), index_of(s, "breaker.state", 3260)};
  ExpectationResult heal;
  heal.id = "expect[1]";
  heal.kind = "heal_attempts";
  heal.description = "db heals within 3 attempts";
  heal.passed = true;
  heal.expected = "<= 3 attempts, last succeeds";
  heal.observed = "3 attempts, last succeeded";
  heal.window_from_ms = 1000;
  heal.window_to_ms = 4000;
  heal.evidence = {index_of(s, "heal.attempt", 3120)};
  s.expectations = {open, heal};
  s.phases = {phase("baseline", 0, 1000, 40, 0, 0, 3.1), phase("db-down", 1000, 3000, 80, 0.1, 0.75, 41.5),
              phase("recovery", 3000, 6000, 120, 0, 0.02, 3.4)};
  s.logs = {log("sut", 0, std::nullopt, {"listening on 127.0.0.1:8080", "shutting down"}),
            log("db", std::nullopt, 15, {"ready"})};
  return s;
}

ScenarioResult failing_scenario() {
  ScenarioResult s;
  s.name = "rpc timeouts open the breaker";
  s.file = "scenarios/rpc/timeouts.json";
  s.tags = {};
  s.seed = 18446744073709551615ull;  // the largest seed must survive JSON untouched
  s.verdict = expect::Verdict::kFailed;
  s.started_unix_ms = 1714566902789;
  s.duration_ms = 1800;
  s.timeline.duration_ms = 1800;
  s.repeat_index = 1;
  add_event(s, 0, "harness", {{"type", "scenario.start"}, {"name", s.name}});
  add_event(s, 400, "harness", {{"type", "fault.start"}, {"label", "rpc-slow"}, {"target", "rpc"},
                                {"fault", {{"type", "timeout"}}}});
  add_event(s, 450, "sut", {{"type", "breaker.call"}, {"name", "rpc"}, {"outcome", "slow_failure"},
                            {"duration_us", 250000}});
  add_event(s, 1400, "harness", {{"type", "fault.end"}, {"label", "rpc-slow"}, {"target", "rpc"}});
  s.faults = {{"rpc-slow", "rpc", "timeout", 400, 1400}};
  add_requests(s, 1800, 400, 1400, RequestOutcome::kError);
  ExpectationResult open;
  open.id = "expect[0]";
  open.kind = "breaker_transitions";
  open.description = "breaker rpc opens within 300 ms after \"rpc-slow\"";
  open.passed = false;
  open.expected = "OPEN within 300 ms (tolerance 50 ms) after rpc-slow at 400 ms";
  open.observed = "no breaker.state event for rpc";
  open.explanation = "breaker rpc never left CLOSED: only 1 slow call was recorded, below the minimum of 5 calls";
  open.window_from_ms = 400;
  open.window_to_ms = 750;
  open.evidence = {index_of(s, "fault.start", 400), index_of(s, "breaker.call", 450)};
  ExpectationResult rate;
  rate.id = "expect[1]";
  rate.kind = "rates";
  rate.description = "error rate during rpc-slow at most 5%";
  rate.passed = false;
  rate.expected = "error_rate <= 5%";
  rate.observed = "error_rate 50.0%";
  rate.explanation = "20 of 40 requests failed with 503 while the breaker stayed closed";
  rate.window_from_ms = 400;
  rate.window_to_ms = 1400;
  rate.evidence = {999};  // out of range on purpose
  ExpectationResult never;
  never.id = "expect[2]";
  never.kind = "never";
  never.description = "no FORCED_OPEN";
  never.passed = true;
  never.expected = "no FORCED_OPEN";
  never.observed = "none";
  never.window_from_ms = 0;
  never.window_to_ms = 1800;
  s.expectations = {open, rate, never};
  s.phases = {phase("baseline", 0, 400, 16, 0, 0, 2.9), phase("rpc-slow", 400, 1400, 40, 0.5, 0, 250)};
  s.logs = {log("sut", 0, std::nullopt, {}), log("rpc", 0, std::nullopt, {"ok"})};
  return s;
}

ScenarioResult errored_scenario() {
  ScenarioResult s;
  s.name = "cache never ready";
  s.file = "cache_ready.json";
  s.tags = {"infra"};
  s.seed = 7;
  s.verdict = expect::Verdict::kError;
  s.error = "service cache never became ready: no TCP listener on 127.0.0.1:6390 within 2000 ms";
  s.started_unix_ms = 1714566904789;
  s.duration_ms = 2050;
  s.timeline.duration_ms = 2050;
  add_event(s, 0, "harness", {{"type", "scenario.start"}, {"name", s.name}});
  add_event(s, 2040, "harness", {{"type", "process.exit"}, {"name", "cache"}, {"pid", 5151}, {"exit_code", 1}});
  s.logs = {log("cache", 1, std::nullopt, {"mock-cache: bind 127.0.0.1:6390: Address already in use", "exiting"})};
  return s;
}

ScenarioResult nasty_scenario() {
  ScenarioResult s;
  s.name = kNastyName;
  s.file = "scenarios/<evil>/\"quoted\" & 'single'.json";
  s.description = "<img src=x onerror=alert(2)> & \"quotes\" ]]> --> <!-- ";
  s.tags = {"<b>bold</b>", "a&b", "q\"uote"};
  s.seed = 1;
  s.verdict = expect::Verdict::kTimedOut;
  s.error = "timed out after 10000 ms </div><script>alert(3)</script>";
  s.duration_ms = 10000;
  s.timeline.duration_ms = 10000;
  add_event(s, 10, "sut", {{"type", "breaker.state"}, {"name", "<svg onload=alert(4)>"}, {"from", "CLOSED"},
                           {"to", "OPEN"}, {"reason", "</text><script>alert(5)</script>"}});
  add_event(s, 20, "sut<x>", {{"type", "weird<type>"}, {"payload", "</td></tr></table><script>alert(6)</script>"}});
  add_event(s, 30, "sut", {{"type", "heal.attempt"}, {"name", "\"><script>alert(7)</script>"}, {"attempt", 1},
                           {"outcome", "failure"}, {"message", "<script>alert(8)</script>"}});
  s.faults = {{"<label onmouseover=alert(9)>", "t&t", "ty\"pe", 5, 50}};
  ExpectationResult x;
  x.id = "expect[0]<i>";
  x.kind = "never";
  x.description = "<script>alert(10)</script>";
  x.passed = false;
  x.expected = "<b>";
  x.observed = "</b>";
  x.explanation = std::string("control \x01\x02\x1b[31m chars, invalid utf-8 \xff\xfe, CDATA end ]]>");
  x.window_from_ms = 0;
  x.window_to_ms = 100;
  x.evidence = {0, 1};
  s.expectations = {x};
  s.phases = {phase("<phase>", 0, 10000, 0, 0, 0, 0)};
  s.phases[0].throughput_rps = std::numeric_limits<double>::quiet_NaN();
  s.phases[0].success_rate = std::numeric_limits<double>::infinity();
  s.logs = {log("sut", std::nullopt, 9,
                {"<script>alert(11)</script>", std::string("\x1b[31mred\x1b[0m bell\x07 nul-free \xc3\x28 bad"),
                 "line with ]]> and --> and &amp;"})};
  s.logs[0].path = "javascript:alert(12)";
  return s;
}

expect::RunSummary fixture_run() {
  expect::RunSummary run;
  run.started_unix_ms = 1714566896789;
  run.duration_ms = 19850;
  run.cpu_group = "/sys/fs/cgroup/cpu/chaos-harness-4242";
  run.cpu_group_note = "scheduled with the rest of the run";
  run.scenarios = {passing_scenario(), failing_scenario(), errored_scenario(), nasty_scenario()};
  return run;
}

}  // namespace chaos::report::testing
