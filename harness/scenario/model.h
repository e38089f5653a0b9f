// The validated, typed form of a scenario file. The parser (parser.h) is the only code that reads raw
// scenario JSON; everything downstream (runner, expectation engine, reports) works on these types and
// never re-checks them. Strings that may hold templates such as "${services.db.port}" are kept as
// written: the runner resolves them (templates.h) once ports and pids are known.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace chaos::scenario {

// Where a value sits in the scenario file, 1-based; 0 when unknown (e.g. a defaulted field).
struct SourcePos {
  int line = 0;
  int col = 0;
};

// Limits the validator enforces; exposed so the runner and docs agree with it.
inline constexpr int64_t kMaxDurationMs = 24LL * 3600 * 1000;   // any *_ms field
inline constexpr int64_t kMaxScenarioTimeoutMs = 3600LL * 1000;  // timeout_ms
inline constexpr double kMaxRateRps = 100000;
inline constexpr int kMaxConcurrency = 1024;
inline constexpr int64_t kMaxRequests = 10000000;
// timeout_ms must cover workload.duration_ms + workload.timeout_ms + this margin (process start,
// readiness, teardown), so a scenario cannot be cut off by its own timeout in the normal case.
inline constexpr int64_t kTimeoutMarginMs = 1000;
inline constexpr int64_t kDefaultReadyTimeoutMs = 5000;
inline constexpr int64_t kDefaultRequestTimeoutMs = 1000;
inline constexpr uint64_t kDefaultSeed = 1;

// ---------------------------------------------------------------------------------------------
// Anchors: points on the scenario time axis. Resolved against a Timeline by the expectation engine
// ("<label>" = the fault.start event of that label, "<label>.end" = its fault.end event, an event
// anchor = the first event of that type whose fields match `where`).
struct Anchor {
  enum class Kind { kStart, kEnd, kFaultStart, kFaultEnd, kEvent };
  Kind kind = Kind::kStart;
  std::string label;      // fault label for kFaultStart / kFaultEnd
  int64_t offset_ms = 0;  // added to the base time; may be negative
  std::string event_type;                       // kEvent: e.g. "heal.attempt"
  std::map<std::string, nlohmann::json> where;  // kEvent: field matches, as in expectations' "where"
  Anchor() = default;
  Anchor(Kind k, std::string fault_label = "", int64_t offset = 0)  // NOLINT: {kind, label, offset} reads well
      : kind(k), label(std::move(fault_label)), offset_ms(offset) {}
  std::string text() const;  // "start", "db-down.end", "db-down.end+1000ms", "first heal.attempt {...}"
};

// ---------------------------------------------------------------------------------------------
// Processes

enum class MockKind { kRpc, kDb, kCache };
const char* to_string(MockKind k);  // "mock-rpc", "mock-db", "mock-cache"

// Real servers the harness starts itself from the Debian packages, in a temporary folder on an
// ephemeral loopback port (runner/real_servers.h).
enum class ServerKind { kRedis, kPostgres };
const char* to_string(ServerKind k);  // "redis", "postgres"

struct Readiness {
  enum class Kind { kLine, kTcp, kHttp };
  Kind kind = Kind::kLine;  // kLine: the process prints its {"event":"ready",...} JSON line
  std::string target;       // kTcp: port (template allowed); kHttp: URL (template allowed)
  int64_t timeout_ms = kDefaultReadyTimeoutMs;
};

struct Service {
  std::string id;                          // key in "services", [a-z][a-z0-9_-]*
  std::optional<MockKind> mock;            // built-in mock, or ...
  std::optional<ServerKind> server;        // ... a real server the harness runs, or ...
  std::string proxy;                       // ... a fault-proxy in front of this service id, or ...
  std::vector<std::string> command;        // ... argv of any program (templates allowed)
  std::vector<std::string> args;           // mock / server / proxy: extra argv after the harness's own
  std::map<std::string, std::string> env;  // extra environment (templates allowed)
  int port = 0;                            // 0: the harness picks a free port
  int control_port = 0;                    // mock / proxy only; 0: ephemeral
  Readiness ready;                         // mocks, proxies: kLine; servers: kTcp; commands: as given
  SourcePos pos;
  bool is_mock() const { return mock.has_value(); }
  bool is_server() const { return server.has_value(); }
  bool is_proxy() const { return !proxy.empty(); }
  bool is_command() const { return !is_mock() && !is_server() && !is_proxy(); }
  // Mocks and proxies take faults through their control API and report ports in a ready line.
  bool has_control_api() const { return is_mock() || is_proxy(); }
  // "mock-db", "fault-proxy", "server", "command": the fault table's target kinds.
  std::string target_kind() const;
};

struct EventSource {
  enum class Kind { kStdout, kFile, kNone };
  Kind kind = Kind::kStdout;
  std::string path;  // kFile only (templates allowed)
};

struct HealthPolling {
  std::string url;          // templates allowed
  int64_t interval_ms = 200;
};

struct SystemUnderTest {
  std::string builtin;                     // "gateway", or empty when `command` is used
  std::vector<std::string> command;        // argv (templates allowed)
  std::vector<std::string> args;           // builtin only: extra argv
  std::map<std::string, std::string> env;  // templates allowed
  nlohmann::json config;                   // builtin only: object passed to it as a JSON file (null if absent)
  int port = 0;                            // 0: the harness picks a free port (${sut.port})
  Readiness ready;                         // builtin: kLine
  EventSource events;
  std::optional<HealthPolling> health;
  SourcePos pos;
  bool is_builtin() const { return !builtin.empty(); }
};

// ---------------------------------------------------------------------------------------------
// Workload: always bounded in both time (duration_ms) and count (max_requests).

struct RequestSpec {
  std::string method = "GET";
  std::string path;                           // starts with '/' (templates allowed)
  int weight = 1;                             // >= 1
  std::string body;                           // optional request body
  std::map<std::string, std::string> headers;
};

struct Workload {
  std::string target;  // base URL; default for the builtin SUT "http://127.0.0.1:${sut.port}"
  double rate_rps = 0;            // (0, kMaxRateRps]
  int concurrency = 1;            // [1, kMaxConcurrency]
  int64_t duration_ms = 0;        // (0, kMaxScenarioTimeoutMs]
  int64_t max_requests = 0;       // default ceil(rate_rps * duration_ms / 1000)
  int64_t timeout_ms = kDefaultRequestTimeoutMs;  // per request
  std::vector<RequestSpec> mix;   // never empty (default: one GET "/")
};

struct Phase {
  std::string name;
  Anchor from, to;
  SourcePos pos;
};

struct SteadyState {
  bool enabled = true;             // checked on [start, first fault] before the first fault
  double min_success_rate = 0.99;
  int64_t min_requests = 1;
  bool breakers_closed = true;     // no breaker.state event leaving CLOSED before the first fault
  std::string health = "HEALTHY";  // last status of every health check seen; "" (written "ANY") = not checked
};

// ---------------------------------------------------------------------------------------------
// Faults

struct FaultStep {
  enum class Action { kInject, kClear };
  std::string label;                  // unique; anchors "<label>" and "<label>.end"
  int64_t at_ms = 0;                  // since scenario start
  std::string target;                 // a service id, or "sut" (fiu faults only)
  Action action = Action::kInject;
  std::string type;                   // fault.type (kInject)
  nlohmann::json fault;               // the validated fault object as written (kInject); what the
                                      // mock control API receives, plus duration_ms
  std::optional<int64_t> duration_ms; // absent: until a clear action on the target or scenario end
  size_t index = 0;                   // position in "faults"
  SourcePos pos;
};

// ---------------------------------------------------------------------------------------------
// Expectations. Every window carries its resolved tolerance (element, else scenario tolerance_ms).
// Tolerance rule (docs/SCENARIOS.md): it is always slack granted to the system under test. Windows in
// which something must happen are widened by it; windows in which something must not happen (never,
// max counts) are narrowed by it.

struct Bound {
  std::optional<double> min, max;
  bool empty() const { return !min && !max; }
};

struct Window {
  Anchor from;  // default "start"
  Anchor to;    // default "end"
  std::string phase;  // set when written as "phase": the name; from/to are then that phase's anchors
  std::string text() const;  // "between start and end" / "in phase \"outage\" (db-down .. db-down.end)"
};

struct TransitionStep {
  std::string to;                        // CLOSED | OPEN | HALF_OPEN | FORCED_OPEN | DISABLED
  std::optional<Anchor> after;           // base of the window; absent: the previous step's event
  std::optional<int64_t> within_ms;      // event in [base, base + within + tol]
  std::optional<int64_t> not_before_ms;  // event >= base + not_before - tol
  int64_t tolerance_ms = 0;
  SourcePos pos;
  bool has_window() const { return within_ms.has_value() || not_before_ms.has_value(); }
};

struct BreakerTransitionsExpect {
  std::string breaker;
  std::vector<TransitionStep> steps;
};

struct HealExpect {
  std::string check;            // matches the event's "check" (or "name")
  Anchor after;
  int64_t within_ms = 0;
  int64_t tolerance_ms = 0;
  std::optional<int64_t> min, max;
  std::string outcome;          // "", "success" (last attempt in window succeeded) or "failure"
};

// Where the expectation engine observes a condition (docs/SCENARIOS.md, "recovery"): the SUT's event
// stream when the timeline has events of that kind, else the harness's health polls (health.poll):
//   kBreakerState  breaker.state "to"        else poll components.<name>.breaker_state
//   kHealthStatus  health.check "status"     else poll components.<name>.status; with no name (the
//                                            overall health) poll overall_status only
//   kSystemState   health.state "state"      else poll system_state
struct Condition {
  enum class Kind { kBreakerState, kHealthStatus, kSystemState };
  Kind kind = Kind::kBreakerState;
  std::string name;   // breaker / health check name; empty for kSystemState and for overall health
  std::string state;  // CLOSED... / HEALTHY... / RUNNING...
  std::string text() const;
};

struct RecoveryExpect {
  Anchor after;
  Condition until;
  int64_t max_ms = 0;
  int64_t tolerance_ms = 0;
};

struct RatesExpect {
  std::string phase;  // a phase name, or "all" (start..end) when not declared
  Bound success_rate, error_rate, fallback_rate, p50_ms, p95_ms, p99_ms, throughput_rps;
  int64_t min_requests = 1;
  int64_t tolerance_ms = 0;
};

// Covers both {"never":{"breaker","state"}} (type breaker.state, where name/to) and the generic
// {"never":{"event","name","where"}} form.
struct NeverExpect {
  std::string event_type;
  std::map<std::string, nlohmann::json> where;  // top-level field equality
  Window window;
  int64_t tolerance_ms = 0;
  std::string breaker, state;  // set for the breaker form (for messages)
};

struct MaxTransitionsExpect {
  std::string breaker;
  int64_t max = 0;
  Window window;
  int64_t tolerance_ms = 0;
};

struct EventCountExpect {
  std::string type;
  std::map<std::string, nlohmann::json> where;
  std::optional<int64_t> min, max;
  Window window;
  int64_t tolerance_ms = 0;
};

struct SystemStateExpect {
  std::string state;  // RUNNING | DEGRADED | CRITICAL
  Anchor at;          // default "end"
  int64_t tolerance_ms = 0;
};

using ExpectationBody =
    std::variant<BreakerTransitionsExpect, HealExpect, RecoveryExpect, RatesExpect, NeverExpect,
                 MaxTransitionsExpect, EventCountExpect, SystemStateExpect>;

struct Expectation {
  std::string id;           // "expect[2]"
  std::string kind;         // breaker_transitions | heal_attempts | recovery | rates | never |
                            // max_transitions | event_count | system_state
  std::string description;  // user-written "description", else generated
  ExpectationBody body;
  SourcePos pos;
};

// ---------------------------------------------------------------------------------------------

struct Scenario {
  std::string file;  // path as given to the parser
  std::string name;
  std::string description;
  std::vector<std::string> tags;
  uint64_t seed = kDefaultSeed;
  int64_t timeout_ms = 0;
  std::optional<int64_t> tolerance_ms;
  std::vector<Service> services;  // in file order
  SystemUnderTest sut;
  Workload workload;
  std::vector<Phase> phases;      // as declared (rates may also name the implicit "all")
  SteadyState steady_state;
  std::vector<FaultStep> faults;  // sorted by at_ms (stable: file order for equal times)
  std::vector<Expectation> expectations;

  const Service* find_service(const std::string& id) const;
  // The dependency role a service plays for the built-in gateway ("cache", "db", "rpc"), from its
  // mock or server kind, or for a proxy from its upstream; "" for a command service.
  std::string dependency_role(const Service& s) const;
  const Phase* find_phase(const std::string& name) const;
  const FaultStep* find_fault(const std::string& label) const;
  // Time of the first inject step, if any (steady state is judged before it).
  std::optional<int64_t> first_fault_ms() const;
};

}  // namespace chaos::scenario
