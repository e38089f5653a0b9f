// One test per class of scenario error: each checks the reported line:col (found independently by
// searching the text), the JSON path and the message. Plus the typed model of valid files.
#include "scenario/fault_kinds.h"
#include "scenario/parser.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

using namespace chaos::scenario;

namespace {

const char* kDefaultFaults =
    R"({"label": "db-down", "at_ms": 1000, "target": "db", "duration_ms": 1000, "fault": {"type": "down"}})";
const char* kDefaultExpect = R"({"never": {"breaker": "rpc", "state": "OPEN"}})";

struct Parts {
  std::string head = R"("name": "t",
  "timeout_ms": 10000,
  "tolerance_ms": 100,)";
  std::string services = R"({"db": {"mock": "mock-db"}, "rpc": {"mock": "mock-rpc"},
    "redis": {"command": ["redis-server", "--port", "${services.redis.port}"], "ready": {"tcp": "${services.redis.port}"}}})";
  std::string sut = R"({"builtin": "gateway"})";
  std::string workload = R"({"rate_rps": 10, "duration_ms": 5000})";
  std::string phases = R"([{"name": "outage", "from": "db-down", "to": "db-down.end"}])";
  std::string faults = std::string("[") + kDefaultFaults + "]";
  std::string expect = std::string("[") + kDefaultExpect + "]";
  std::string text() const {
    return "{\n  " + head + "\n  \"services\": " + services + ",\n  \"system_under_test\": " + sut +
           ",\n  \"workload\": " + workload + ",\n  \"phases\": " + phases + ",\n  \"faults\": " + faults +
           ",\n  \"expect\": " + expect + "\n}\n";
  }
};

// 1-based line:col of the n-th occurrence of `needle` (computed without the parser).
std::pair<int, int> find_pos(const std::string& text, const std::string& needle, int nth = 1) {
  size_t off = std::string::npos, from = 0;
  for (int k = 0; k < nth; ++k) {
    off = text.find(needle, from);
    if (off == std::string::npos) return {-1, -1};
    from = off + 1;
  }
  int line = 1, col = 1;
  for (size_t i = 0; i < off; ++i) {
    if (text[i] == '\n') { ++line; col = 1; }
    else if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) ++col;
  }
  return {line, col};
}

std::string dump(const ParseResult& r) { return format_errors(r.errors); }

// Exactly one error, at `needle`, with this path, whose message contains every fragment.
void expect_one_error(const std::string& text, const std::string& needle, const std::string& path,
                      std::vector<std::string> fragments, int nth = 1) {
  ParseResult r = parse_scenario_text(text, "s.json");
  ASSERT_EQ(r.errors.size(), 1u) << dump(r) << "\n" << text;
  const ScenarioError& e = r.errors[0];
  auto [line, col] = find_pos(text, needle, nth);
  ASSERT_NE(line, -1) << "needle not in text: " << needle;
  EXPECT_EQ(e.file, "s.json");
  EXPECT_EQ(std::make_pair(e.line, e.col), std::make_pair(line, col)) << e.to_string();
  EXPECT_EQ(e.json_path, path) << e.to_string();
  for (const auto& f : fragments) EXPECT_NE(e.message.find(f), std::string::npos) << "missing \"" << f << "\" in: " << e.message;
  EXPECT_FALSE(r.ok());
}

TEST(ScenarioParser, AcceptsTheBaseScenarioAndBuildsTheTypedModel) {
  Parts p;
  ParseResult r = parse_scenario_text(p.text(), "s.json");
  ASSERT_TRUE(r.ok()) << dump(r);
  const Scenario& s = *r.scenario;
  EXPECT_EQ(s.name, "t");
  EXPECT_EQ(s.seed, kDefaultSeed);
  EXPECT_EQ(s.timeout_ms, 10000);
  ASSERT_EQ(s.services.size(), 3u);
  const Service* db = s.find_service("db");
  ASSERT_TRUE(db);
  EXPECT_EQ(db->mock, MockKind::kDb);
  const Service* redis = s.find_service("redis");
  ASSERT_TRUE(redis);
  EXPECT_FALSE(redis->is_mock());
  EXPECT_EQ(redis->ready.kind, Readiness::Kind::kTcp);
  EXPECT_EQ(redis->ready.target, "${services.redis.port}");
  EXPECT_EQ(s.sut.builtin, "gateway");
  EXPECT_EQ(s.workload.target, "http://127.0.0.1:${sut.port}");
  EXPECT_EQ(s.workload.max_requests, 50);  // default: rate * duration
  EXPECT_EQ(s.workload.concurrency, 1);
  ASSERT_EQ(s.workload.mix.size(), 1u);
  EXPECT_EQ(s.workload.mix[0].path, "/");
  ASSERT_EQ(s.faults.size(), 1u);
  EXPECT_EQ(s.faults[0].type, "down");
  EXPECT_EQ(s.faults[0].fault, nlohmann::json({{"type", "down"}}));
  EXPECT_EQ(s.faults[0].duration_ms, 1000);
  ASSERT_EQ(s.phases.size(), 1u);
  EXPECT_EQ(s.phases[0].to.kind, Anchor::Kind::kFaultEnd);
  ASSERT_EQ(s.expectations.size(), 1u);
  EXPECT_EQ(s.expectations[0].id, "expect[0]");
  EXPECT_EQ(s.expectations[0].kind, "never");
  const auto& n = std::get<NeverExpect>(s.expectations[0].body);
  EXPECT_EQ(n.event_type, "breaker.state");
  EXPECT_EQ(n.tolerance_ms, 100);  // inherited from the scenario
  EXPECT_EQ(n.window.to.kind, Anchor::Kind::kEnd);
  EXPECT_TRUE(s.steady_state.enabled);
}

TEST(ScenarioParser, SortsFaultsByTimeKeepingFileOrderForTies) {
  Parts p;
  p.head += R"(
  "steady_state": {"health": "any", "min_success_rate": 0.5},)";
  p.faults = R"([{"label": "b", "at_ms": 3000, "target": "db", "action": "clear"},
    {"label": "db-down", "at_ms": 1000, "target": "db", "duration_ms": 1000, "fault": {"type": "down"}},
    {"label": "a", "at_ms": 1000, "target": "db", "duration_ms": 500, "fault": {"type": "disconnect"}}])";
  ParseResult r = parse_scenario_text(p.text(), "s.json");
  ASSERT_TRUE(r.ok()) << dump(r);
  std::vector<std::string> order;
  for (const auto& f : r.scenario->faults) order.push_back(f.label);
  EXPECT_EQ(order, (std::vector<std::string>{"db-down", "a", "b"}));
  EXPECT_EQ(r.scenario->faults[2].action, FaultStep::Action::kClear);
  EXPECT_EQ(r.scenario->faults[1].index, 2u);
  EXPECT_EQ(r.scenario->first_fault_ms(), 1000);
  EXPECT_EQ(r.scenario->steady_state.health, "");
  EXPECT_DOUBLE_EQ(r.scenario->steady_state.min_success_rate, 0.5);
}

TEST(ScenarioParser, ParsesEveryExpectationKind) {
  Parts p;
  p.expect = R"([
    {"breaker": "db", "transitions": [{"to": "open", "after": "db-down", "within_ms": 500},
      {"to": "HALF_OPEN", "not_before_ms": 900, "tolerance_ms": 50}, {"to": "CLOSED", "after": {"after": "db-down.end", "offset_ms": -100}, "within_ms": 3000}]},
    {"heal": {"check": "db", "after": "db-down", "within_ms": 4000, "min": 1, "max": 5, "outcome": "success"}},
    {"recovery": {"after": "db-down.end", "until": {"health": "healthy", "check": "db"}, "max_ms": 3000}, "tolerance_ms": 300},
    {"rates": {"phase": "outage", "fallback_rate": {"min": 0.5}, "p99_ms": {"max": 50}}},
    {"never": {"event": "heal.attempt", "name": "rpc", "where": {"outcome": "failure"}}},
    {"max_transitions": {"breaker": "db", "max": 3}},
    {"events": {"type": "retry.attempt", "where": {"name": "rpc"}, "min": 1, "max": 10, "from": "start", "to": "end"}},
    {"system_state": {"state": "RUNNING"}, "description": "all good at the end"}
  ])";
  ParseResult r = parse_scenario_text(p.text(), "s.json");
  ASSERT_TRUE(r.ok()) << dump(r);
  const auto& ex = r.scenario->expectations;
  ASSERT_EQ(ex.size(), 8u);
  std::vector<std::string> kinds;
  for (const auto& e : ex) kinds.push_back(e.kind);
  EXPECT_EQ(kinds, (std::vector<std::string>{"breaker_transitions", "heal_attempts", "recovery", "rates", "never",
                                             "max_transitions", "event_count", "system_state"}));
  const auto& t = std::get<BreakerTransitionsExpect>(ex[0].body);
  ASSERT_EQ(t.steps.size(), 3u);
  EXPECT_EQ(t.steps[0].to, "OPEN");  // case folded
  EXPECT_EQ(t.steps[1].tolerance_ms, 50);
  EXPECT_FALSE(t.steps[1].after);
  EXPECT_EQ(t.steps[2].after->offset_ms, -100);
  EXPECT_EQ(std::get<RecoveryExpect>(ex[2].body).tolerance_ms, 300);  // element tolerance wins
  EXPECT_EQ(std::get<RecoveryExpect>(ex[2].body).until.state, "HEALTHY");
  EXPECT_EQ(std::get<NeverExpect>(ex[4].body).where.at("name"), "rpc");
  EXPECT_EQ(ex[7].description, "all good at the end");
}

TEST(ScenarioParser, ReportsInvalidJsonWithItsPosition) {
  std::string text = "{\n  \"name\": \"t\",\n  \"timeout_ms\": 10000,,\n}";
  ParseResult r = parse_scenario_text(text, "s.json");
  ASSERT_EQ(r.errors.size(), 1u) << dump(r);
  EXPECT_EQ(r.errors[0].line, 3);
  EXPECT_EQ(r.errors[0].col, 23);  // the second comma
  EXPECT_NE(r.errors[0].message.find("invalid JSON"), std::string::npos);
  EXPECT_EQ(r.errors[0].to_string().rfind("s.json:3:23: invalid JSON", 0), 0u) << r.errors[0].to_string();
}

TEST(ScenarioParser, RejectsANonObjectDocument) {
  expect_one_error("[1, 2]", "[", "", {"expected a JSON object", "an array"});
}

TEST(ScenarioParser, ReportsAMissingRequiredFieldAtItsObject) {
  Parts p;
  p.faults = R"([{"label": "db-down", "target": "db", "duration_ms": 1000, "fault": {"type": "down"}}])";
  expect_one_error(p.text(), "{\"label\": \"db-down\"", "faults[0].at_ms", {"missing required field \"at_ms\"", "milliseconds"});
}

TEST(ScenarioParser, ReportsAWrongType) {
  Parts p;
  p.faults = R"([{"label": "db-down", "at_ms": "1s", "target": "db", "duration_ms": 1000, "fault": {"type": "down"}}])";
  expect_one_error(p.text(), "\"1s\"", "faults[0].at_ms", {"expected a duration in integer milliseconds", "got string \"1s\""});
}

TEST(ScenarioParser, RejectsANegativeDuration) {
  Parts p;
  p.faults = R"([{"label": "db-down", "at_ms": 1000, "target": "db", "duration_ms": -5, "fault": {"type": "down"}}])";
  expect_one_error(p.text(), "-5", "faults[0].duration_ms", {"in [1, 86400000]", "got -5"});
}

TEST(ScenarioParser, RejectsAProbabilityOutsideZeroToOne) {
  Parts p;
  p.faults = R"([{"label": "db-down", "at_ms": 1000, "target": "db", "fault": {"type": "hang", "probability": 1.5}, "duration_ms": 10}])";
  expect_one_error(p.text(), "1.5", "faults[0].fault.probability", {"probability in [0, 1]", "got 1.5"});
}

TEST(ScenarioParser, BoundsTheWorkloadRateAndConcurrency) {
  Parts p;
  p.workload = R"({"rate_rps": 0, "duration_ms": 5000})";
  expect_one_error(p.text(), "0, \"duration_ms\"", "workload.rate_rps", {"requests per second in (0, 100000]", "got 0"});
  p.workload = R"({"rate_rps": 10, "concurrency": 5000, "duration_ms": 5000})";
  expect_one_error(p.text(), "5000, \"duration_ms\"", "workload.concurrency", {"in [1, 1024]"});
}

TEST(ScenarioParser, RequiresTheWorkloadToBeBoundedInTime) {
  Parts p;
  p.workload = R"({"rate_rps": 10, "max_requests": 100})";
  expect_one_error(p.text(), "{\"rate_rps\": 10, \"max", "workload.duration_ms", {"missing required field \"duration_ms\""});
}

TEST(ScenarioParser, ReportsAnUnknownFieldAndSuggestsTheClosest) {
  Parts p;
  p.faults = R"([{"label": "db-down", "at_ms": 1000, "target": "db", "duraton_ms": 1000, "fault": {"type": "down"}}])";
  p.phases = "[]";
  expect_one_error(p.text(), "\"duraton_ms\"", "faults[0].duraton_ms", {"unknown field \"duraton_ms\"", "did you mean \"duration_ms\"?"});
}

TEST(ScenarioParser, ReportsAnUnknownFaultTypeAndListsTheKnownOnes) {
  Parts p;
  p.faults = R"([{"label": "db-down", "at_ms": 1000, "target": "db", "duration_ms": 1000, "fault": {"type": "lag", "latency_ms": 5}}])";
  expect_one_error(p.text(), "\"lag\"", "faults[0].fault.type", {"unknown fault type \"lag\"", "expected one of " + fault_kind_names()});
}

TEST(ScenarioParser, ChecksFaultFieldsPerKind) {
  Parts p;
  p.faults = R"([{"label": "db-down", "at_ms": 1000, "target": "db", "duration_ms": 1000, "fault": {"type": "latency", "jitter_ms": 5}}])";
  expect_one_error(p.text(), "{\"type\": \"latency\"", "faults[0].fault.latency_ms", {"missing required field \"latency_ms\"", "\"latency\""});
  p.faults = R"([{"label": "db-down", "at_ms": 1000, "target": "db", "duration_ms": 1000, "fault": {"type": "latency", "latency_ms": 5, "period_ms": 10}}])";
  expect_one_error(p.text(), "\"period_ms\"", "faults[0].fault.period_ms", {"unknown field \"period_ms\"", "latency_ms"});
  p.faults = R"([{"label": "db-down", "at_ms": 1000, "target": "db", "duration_ms": 1000, "fault": {"type": "latency", "latency_ms": 5, "distribution": "poisson"}}])";
  expect_one_error(p.text(), "\"poisson\"", "faults[0].fault.distribution", {"expected one of uniform, normal"});
}

TEST(ScenarioParser, RejectsAFieldThatDoesNotApplyToTheTargetMock) {
  Parts p;
  p.faults = R"([{"label": "db-down", "at_ms": 1000, "target": "rpc", "duration_ms": 1000, "fault": {"type": "error", "sqlstate": "57P01"}}])";
  p.phases = "[]";
  expect_one_error(p.text(), "\"sqlstate\"", "faults[0].fault.sqlstate", {"applies to mock-db targets only", "\"rpc\" is mock-rpc"});
}

TEST(ScenarioParser, RejectsMutuallyExclusiveFaultFields) {
  Parts p;
  p.faults = R"([{"label": "db-down", "at_ms": 1000, "target": "db", "duration_ms": 1000, "fault": {"type": "partial", "fraction": 0.5, "bytes": 10}}])";
  expect_one_error(p.text(), "\"bytes\"", "faults[0].fault.bytes", {"at most one of fraction, count, bytes"});
}

TEST(ScenarioParser, RejectsAnUnknownServiceInAFaultTarget) {
  Parts p;
  p.faults = R"([{"label": "db-down", "at_ms": 1000, "target": "dB", "duration_ms": 1000, "fault": {"type": "down"}}])";
  expect_one_error(p.text(), "\"dB\"", "faults[0].target", {"unknown service \"dB\"", "expected one of db, rpc, redis", "did you mean \"db\"?"});
}

TEST(ScenarioParser, RejectsNonFiuFaultsOnCommandServices) {
  Parts p;
  p.faults = R"([{"label": "db-down", "at_ms": 1000, "target": "redis", "duration_ms": 1000, "fault": {"type": "down"}}])";
  expect_one_error(p.text(), "\"down\"", "faults[0].fault.type", {"applies to mock-rpc, mock-db, mock-cache, fault-proxy targets", "\"redis\" is a command service"});
  p.faults = R"([{"label": "db-down", "at_ms": 1000, "target": "sut", "duration_ms": 1000, "fault": {"type": "fiu", "point": "posix/io/net/connect", "failinfo": 111}}])";
  EXPECT_TRUE(parse_scenario_text(p.text()).ok()) << dump(parse_scenario_text(p.text()));
}

// Real servers and proxies: the typed model, the gateway roles, and where each fault kind applies.
const char* kRealServices = R"({"pg": {"server": "postgres", "args": ["-c", "max_connections=20"]},
    "kv": {"server": "redis"}, "db": {"proxy": "pg"}, "cache": {"proxy": "kv", "control_port": 0},
    "rpc": {"mock": "mock-rpc"}, "rpcp": {"proxy": "rpc"}})";

TEST(ScenarioParser, ReadsServersAndProxiesAndTheirGatewayRoles) {
  Parts p;
  p.services = kRealServices;
  p.faults = R"([{"label": "db-down", "at_ms": 1000, "target": "db", "duration_ms": 1000, "fault": {"type": "reset_peer", "direction": "downstream"}}])";
  ParseResult r = parse_scenario_text(p.text(), "s.json");
  ASSERT_TRUE(r.ok()) << dump(r);
  const Scenario& s = *r.scenario;
  const Service* pg = s.find_service("pg");
  ASSERT_TRUE(pg && pg->is_server());
  EXPECT_EQ(*pg->server, ServerKind::kPostgres);
  EXPECT_EQ(pg->args, (std::vector<std::string>{"-c", "max_connections=20"}));
  EXPECT_EQ(pg->ready.kind, Readiness::Kind::kTcp);
  EXPECT_EQ(pg->target_kind(), "server");
  const Service* db = s.find_service("db");
  ASSERT_TRUE(db && db->is_proxy() && db->has_control_api());
  EXPECT_EQ(db->proxy, "pg");
  EXPECT_EQ(db->target_kind(), "fault-proxy");
  EXPECT_EQ(s.dependency_role(*db), "db");
  EXPECT_EQ(s.dependency_role(*s.find_service("cache")), "cache");
  EXPECT_EQ(s.dependency_role(*s.find_service("kv")), "cache");
  EXPECT_EQ(s.dependency_role(*s.find_service("rpcp")), "rpc");
  EXPECT_EQ(s.faults[0].fault["direction"], "downstream");
}

TEST(ScenarioParser, RejectsABadProxyUpstream) {
  Parts p;
  p.services = R"({"db": {"mock": "mock-db"}, "rpc": {"proxy": "dbb"}})";
  expect_one_error(p.text(), "\"dbb\"", "services.rpc.proxy", {"unknown service \"dbb\" as proxy upstream", "did you mean \"db\"?"});
  p.services = R"({"db": {"mock": "mock-db"}, "rpc": {"proxy": "rpc"}})";
  expect_one_error(p.text(), "\"rpc\"}", "services.rpc.proxy", {"cannot front itself"});
  p.services = R"({"db": {"mock": "mock-db"}, "a": {"proxy": "db"}, "rpc": {"proxy": "a"}})";
  expect_one_error(p.text(), "\"a\"}", "services.rpc.proxy", {"\"a\" is itself a proxy"});
  p.services = R"({"db": {"mock": "mock-db", "server": "redis"}})";
  expect_one_error(p.text(), "{\"mock\": \"mock-db\", \"server\"", "services.db", {"exactly one of", "mock, server"});
  p.services = R"({"db": {"server": "mysql"}})";
  expect_one_error(p.text(), "\"mysql\"", "services.db.server", {"redis", "postgres"});
}

TEST(ScenarioParser, EachFaultKindOnlyOnTargetsThatTakeIt) {
  Parts p;
  p.services = kRealServices;
  auto with_fault = [&](const std::string& target, const std::string& fault) {
    p.faults = R"([{"label": "db-down", "at_ms": 1000, "target": ")" + target +
               R"(", "duration_ms": 1000, "fault": )" + fault + "}]";
    return p.text();
  };
  // Proxy kinds on a proxy are fine; on a mock they are not, and the message says what the mock takes.
  for (const char* f : {R"({"type": "bandwidth", "rate_kbps": 10})", R"({"type": "timeout", "timeout_ms": 500})",
                        R"({"type": "slow_close", "delay_ms": 100})", R"({"type": "limit_data", "bytes": 10})",
                        R"({"type": "slicer", "average_size": 4, "delay_us": 100})", R"({"type": "down"})",
                        R"({"type": "latency", "latency_ms": 100, "direction": "upstream"})"}) {
    auto r = parse_scenario_text(with_fault("db", f));
    EXPECT_TRUE(r.ok()) << f << "\n" << dump(r);
  }
  expect_one_error(with_fault("rpc", R"({"type": "bandwidth", "rate_kbps": 10})"), "\"bandwidth\"", "faults[0].fault.type",
                   {"applies to fault-proxy targets", "\"rpc\" is mock-rpc", "a mock takes latency, hang, error"});
  // Mock kinds on a proxy: the message lists what the proxy takes.
  expect_one_error(with_fault("db", R"({"type": "hang"})"), "\"hang\"", "faults[0].fault.type",
                   {"\"db\" is fault-proxy", "the proxy takes latency, down, bandwidth, timeout, reset_peer"});
  // Fields limited to one side.
  expect_one_error(with_fault("rpc", R"({"type": "latency", "latency_ms": 10, "direction": "both"})"), "\"direction\": \"both\"",
                   "faults[0].fault.direction", {"applies to fault-proxy targets only", "\"rpc\" is mock-rpc"});
  expect_one_error(with_fault("db", R"({"type": "latency", "latency_ms": 10, "match": "SELECT*"})"), "\"match\": \"SELECT*\"",
                   "faults[0].fault.match", {"applies to mock-rpc, mock-db, mock-cache targets only", "\"db\" is fault-proxy"});
  expect_one_error(with_fault("db", R"({"type": "reset_peer", "direction": "sideways"})"), "\"sideways\"",
                   "faults[0].fault.direction", {"upstream", "downstream", "both"});
  expect_one_error(with_fault("db", R"({"type": "slicer", "average_size": 4, "size_variation": 4})"), "4}}",
                   "faults[0].fault.size_variation", {"smaller than average_size (4), got 4"});
  // A real server takes no fault at all, not even fiu (it runs as another user).
  expect_one_error(with_fault("pg", R"({"type": "down"})"), "\"down\"", "faults[0].fault.type",
                   {"\"pg\" is a real server (postgres)", "put a \"proxy\" service in front of it"});
  expect_one_error(with_fault("pg", R"({"type": "fiu", "point": "posix/io/net/send"})"), "\"fiu\"", "faults[0].fault.type",
                   {"cannot target \"pg\"", "fault the proxy"});
}

TEST(ScenarioParser, WhereTakesValuesRangesAndSetsOnly) {
  Parts p;
  auto with_where = [&](const std::string& w) {
    p.expect = R"([{"events": {"type": "timeout", "where": )" + w + R"(, "min": 1}}])";
    return p.text();
  };
  EXPECT_TRUE(parse_scenario_text(with_where(R"({"limit_ms": {"min": 1, "max": 2}, "op": {"in": ["read", 3]}})")).ok());
  expect_one_error(with_where(R"({"limit_ms": {"min": 5, "max": 2}})"), "2}}", "expect[0].events.where.limit_ms.max", {"max >= min (5)"});
  expect_one_error(with_where(R"({"limit_ms": {"above": 5}})"), "5}}", "expect[0].events.where.limit_ms.above", {"unknown field \"above\""});
  expect_one_error(with_where(R"({"op": {"in": []}})"), "[]", "expect[0].events.where.op.in", {"non-empty array"});
  expect_one_error(with_where(R"({"op": ["read"]})"), "[\"read\"]", "expect[0].events.where.op", {"{\"in\": [...]}"});
}

TEST(ScenarioParser, RejectsAnUnknownServiceInATemplate) {
  Parts p;
  p.sut = R"({"builtin": "gateway", "health": {"url": "http://127.0.0.1:${services.dbb.port}/health"}})";
  expect_one_error(p.text(), "\"http://127.0.0.1:${services.dbb", "system_under_test.health.url",
                   {"unknown service \"dbb\" in template \"${services.dbb.port}\"", "did you mean \"db\"?"});
}

TEST(ScenarioParser, RejectsAnUnknownTemplateOrProperty) {
  Parts p;
  p.sut = R"({"builtin": "gateway", "env": {"X": "${sut.host}"}})";
  expect_one_error(p.text(), "\"${sut.host}\"", "system_under_test.env.X", {"unknown template \"${sut.host}\""});
  p.sut = R"({"builtin": "gateway", "env": {"X": "${services.redis.control_port}"}})";
  expect_one_error(p.text(), "\"${services.redis.control_port}\"", "system_under_test.env.X", {"only built-in mocks and proxies have a control_port"});
  p.sut = R"({"builtin": "gateway", "env": {"X": "${sut.port"}})";
  expect_one_error(p.text(), "\"${sut.port\"", "system_under_test.env.X", {"unterminated"});
}

TEST(ScenarioParser, RejectsAnUnknownLabelInAnAnchor) {
  Parts p;
  p.expect = R"([{"heal": {"check": "db", "after": "db-dwn", "within_ms": 4000}}])";
  expect_one_error(p.text(), "\"db-dwn\"", "expect[0].heal.after", {"unknown fault label \"db-dwn\"", "did you mean \"db-down\"?"});
}

TEST(ScenarioParser, RejectsAnEndAnchorOfAFaultThatNeverEnds) {
  Parts p;
  p.faults = R"([{"label": "db-down", "at_ms": 1000, "target": "db", "fault": {"type": "down"}}])";
  expect_one_error(p.text(), "\"db-down.end\"", "phases[0].to", {"can never happen", "no \"duration_ms\" and no later \"clear\""});
  // A later clear step on the same target ends it.
  p.faults = R"([{"label": "db-down", "at_ms": 1000, "target": "db", "fault": {"type": "down"}},
                 {"label": "db-up", "at_ms": 3000, "target": "db", "action": "clear"}])";
  EXPECT_TRUE(parse_scenario_text(p.text()).ok()) << dump(parse_scenario_text(p.text()));
}

TEST(ScenarioParser, RejectsDuplicateLabels) {
  Parts p;
  p.faults = std::string("[") + kDefaultFaults + ",\n " + kDefaultFaults + "]";
  expect_one_error(p.text(), "\"db-down\"", "faults[1].label", {"duplicate label \"db-down\"", "first used at line"}, 3);
}

TEST(ScenarioParser, RejectsDuplicateJsonKeys) {
  Parts p;
  p.workload = R"({"rate_rps": 10, "duration_ms": 5000, "rate_rps": 20})";
  expect_one_error(p.text(), "\"rate_rps\"", "workload.rate_rps", {"duplicate key"}, 2);
}

TEST(ScenarioParser, RequiresATolerancForEveryWindow) {
  Parts p;
  p.head = R"("name": "t", "timeout_ms": 10000,)";
  p.expect = R"([{"breaker": "db", "transitions": [{"to": "OPEN"}, {"to": "CLOSED", "after": "db-down.end", "within_ms": 100}]}])";
  expect_one_error(p.text(), "{\"to\": \"CLOSED\"", "expect[0].transitions[1]", {"no tolerance", "\"tolerance_ms\""});
}

TEST(ScenarioParser, RequiresFaultsWithinTheWorkloadAndTimeout) {
  Parts p;
  p.faults = R"([{"label": "db-down", "at_ms": 6000, "target": "db", "duration_ms": 1000, "fault": {"type": "down"}}])";
  expect_one_error(p.text(), "6000", "faults[0].at_ms", {"after the workload ends at 5000 ms"});
  p.faults = R"([{"label": "db-down", "at_ms": 4000, "target": "db", "duration_ms": 7000, "fault": {"type": "down"}}])";
  expect_one_error(p.text(), "7000", "faults[0].duration_ms", {"fault ends at 11000 ms", "after the scenario timeout 10000 ms"});
}

TEST(ScenarioParser, RequiresTheTimeoutToCoverTheWorkload) {
  Parts p;
  p.head = R"("name": "t", "timeout_ms": 6500, "tolerance_ms": 100,)";
  expect_one_error(p.text(), "6500", "timeout_ms", {"5000 + workload.timeout_ms 1000 + 1000 ms margin = 7000 ms"});
}

TEST(ScenarioParser, RequiresABaselineBeforeTheFirstFaultWhenSteadyStateIsOn) {
  Parts p;
  p.faults = R"([{"label": "db-down", "at_ms": 0, "target": "db", "duration_ms": 1000, "fault": {"type": "down"}}])";
  expect_one_error(p.text(), "0, \"target\"", "faults[0].at_ms", {"steady state is checked before the first fault"});
  p.head += "\n  \"steady_state\": false,";
  EXPECT_TRUE(parse_scenario_text(p.text()).ok());
}

TEST(ScenarioParser, RejectsAnUnknownPhaseInRates) {
  Parts p;
  p.expect = R"([{"rates": {"phase": "outige", "success_rate": {"min": 0.5}}}])";
  expect_one_error(p.text(), "\"outige\"", "expect[0].rates.phase", {"unknown phase \"outige\"", "expected one of all, outage", "did you mean \"outage\"?"});
}

TEST(ScenarioParser, RejectsAnElementWithTwoExpectationKinds) {
  Parts p;
  p.expect = R"([{"never": {"breaker": "db", "state": "OPEN"}, "max_transitions": {"breaker": "db", "max": 1}}])";
  expect_one_error(p.text(), "{\"never\"", "expect[0]", {"exactly one expectation kind", "never, max_transitions"});
}

TEST(ScenarioParser, RejectsAnUnknownBreakerStateWithASuggestion) {
  Parts p;
  p.expect = R"([{"never": {"breaker": "db", "state": "HALFOPEN"}}])";
  expect_one_error(p.text(), "\"HALFOPEN\"", "expect[0].never.state", {"expected one of CLOSED, OPEN, HALF_OPEN", "did you mean \"HALF_OPEN\"?"});
}

TEST(ScenarioParser, RequiresReadinessForCommandServices) {
  Parts p;
  p.services = R"({"db": {"mock": "mock-db"}, "rpc": {"mock": "mock-rpc"}, "x": {"command": ["/bin/x"]}})";
  expect_one_error(p.text(), "{\"command\": [\"/bin/x\"]}", "services.x.ready", {"missing required field \"ready\""});
}

TEST(ScenarioParser, CollectsEveryErrorInOneFileSortedByPosition) {
  Parts p;
  p.head = R"("name": "bad name!", "timeout_ms": 10000, "tolerance_ms": 100,)";
  p.workload = R"({"rate_rps": -1, "duration_ms": 5000})";
  p.faults = R"([{"label": "db-down", "at_ms": 1000, "target": "nope", "duration_ms": 1000, "fault": {"type": "lag"}}])";
  ParseResult r = parse_scenario_text(p.text(), "s.json");
  ASSERT_EQ(r.errors.size(), 4u) << dump(r);
  std::vector<std::string> paths;
  for (const auto& e : r.errors) paths.push_back(e.json_path);
  EXPECT_EQ(paths, (std::vector<std::string>{"name", "workload.rate_rps", "faults[0].target", "faults[0].fault.type"}));
  for (size_t i = 1; i < r.errors.size(); ++i)
    EXPECT_LE(std::make_pair(r.errors[i - 1].line, r.errors[i - 1].col), std::make_pair(r.errors[i].line, r.errors[i].col));
}

TEST(ScenarioParser, NeverCrashesOnHostileInput) {
  std::string deep(10000, '[');
  ParseResult r = parse_scenario_text(deep, "deep.json");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_NE(r.errors[0].message.find("nested deeper"), std::string::npos);
  for (std::string s : {"", "null", "{\"name\": 1e999}", "{\"timeout_ms\": 18446744073709551615}", "\xff\xfe", "{\"faults\": [1, null, {}]}",
                        "{\"expect\": [[], {\"transitions\": 5, \"breaker\": 1}], \"services\": {\"A\": 1, \"sut\": {}}}"}) {
    ParseResult x = parse_scenario_text(s, "x.json");
    EXPECT_FALSE(x.ok()) << s;
    EXPECT_FALSE(x.errors.empty());
  }
}

TEST(ScenarioParser, ReportsAnUnreadableFile) {
  ParseResult r = parse_scenario_file("/nonexistent/dir/s.json");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].line, 0);
  EXPECT_NE(r.errors[0].message.find("cannot read"), std::string::npos);
  EXPECT_EQ(r.errors[0].to_string().rfind("/nonexistent/dir/s.json: cannot read", 0), 0u);
}

TEST(ScenarioExamples, EveryShippedExampleValidates) {
  namespace fs = std::filesystem;
  fs::path dir = fs::path(CHAOS_REPO_DIR) / "scenarios" / "examples";
  int n = 0;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() != ".json") continue;
    ++n;
    ParseResult r = parse_scenario_file(entry.path().string());
    EXPECT_TRUE(r.ok()) << dump(r);
    if (r.ok()) {
      EXPECT_EQ(r.scenario->name + ".json", entry.path().filename().string());
    }
  }
  EXPECT_GE(n, 3);
}

// The fault-kind table is the source of truth; the docs and the JSON Schema must list every kind.
TEST(FaultKinds, DocsAndSchemaListEveryKind) {
  auto slurp = [](const std::string& p) {
    std::ifstream in(p);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  };
  std::string docs = slurp(std::string(CHAOS_REPO_DIR) + "/docs/SCENARIOS.md");
  std::string schema = slurp(std::string(CHAOS_REPO_DIR) + "/scenarios/schema.json");
  ASSERT_FALSE(docs.empty());
  ASSERT_FALSE(schema.empty());
  auto schema_json = nlohmann::json::parse(schema, nullptr, false);
  ASSERT_FALSE(schema_json.is_discarded());
  for (const auto& k : fault_kinds()) {
    EXPECT_NE(docs.find("`" + k.name + "`"), std::string::npos) << k.name << " missing from docs/SCENARIOS.md";
    EXPECT_NE(schema.find("\"const\": \"" + k.name + "\""), std::string::npos) << k.name << " missing from schema.json";
    for (const auto& f : k.fields)
      EXPECT_NE(docs.find("`" + f.name + "`"), std::string::npos) << k.name << "." << f.name << " missing from docs";
  }
  // The schema's per-kind fault objects allow exactly the table's fields.
  const auto& variants = schema_json["$defs"]["fault"]["oneOf"];
  ASSERT_EQ(variants.size(), fault_kinds().size());
  for (const auto& v : variants) {
    std::string name = v["properties"]["type"]["const"];
    const FaultKind* k = find_fault_kind(name);
    ASSERT_TRUE(k) << name;
    std::set<std::string> want, got;
    for (const auto& f : common_fault_fields()) want.insert(f.name);
    for (const auto& f : k->fields) want.insert(f.name);
    for (auto it = v["properties"].begin(); it != v["properties"].end(); ++it) got.insert(it.key());
    EXPECT_EQ(got, want) << name;
  }
}

}  // namespace

namespace {

// Deterministic mutation smoke test (the libFuzzer target of issue 5 goes further): byte flips,
// deletions and splices of a valid scenario must come back as ok or as errors, never a crash, and
// every message must be valid UTF-8 (it ends up in JSON reports).
TEST(ScenarioParser, SurvivesMutatedInputAndKeepsMessagesValidUtf8) {
  std::ifstream in(std::string(CHAOS_REPO_DIR) + "/scenarios/examples/db-outage-breaker-heals.json");
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string base = ss.str();
  ASSERT_FALSE(base.empty());
  uint64_t x = 0x9E3779B97F4A7C15ull;
  auto next = [&x] { x ^= x << 13; x ^= x >> 7; x ^= x << 17; return x; };
  const char tokens[] = "{}[]\":,-0123456789.eE \n\\u\xC3\xA9tfn";
  int rejected = 0;
  for (int i = 0; i < 3000; ++i) {
    std::string s = base;
    int edits = 1 + static_cast<int>(next() % 4);
    for (int k = 0; k < edits && !s.empty(); ++k) {
      size_t at = next() % s.size();
      switch (next() % 3) {
        case 0: s[at] = tokens[next() % (sizeof(tokens) - 1)]; break;
        case 1: s.erase(at, 1 + next() % 8); break;
        default: s.insert(at, s.substr(next() % s.size(), 1 + next() % 30)); break;
      }
    }
    ParseResult r = parse_scenario_text(s, "m.json");
    if (!r.ok()) {
      ++rejected;
      for (const auto& e : r.errors) {
        EXPECT_NO_THROW((void)nlohmann::json(e.message).dump()) << e.message;
        EXPECT_GE(e.line, 1) << e.to_string();
      }
    }
  }
  EXPECT_GT(rejected, 1000);  // the mutations really do break most files
}

}  // namespace

namespace {

TEST(ScenarioParser, WindowsTakeANamedPhaseButNotAlsoFromOrTo) {
  Parts p;
  p.expect = R"([{"never": {"breaker": "rpc", "state": "OPEN", "phase": "outage"}},
                 {"max_transitions": {"breaker": "db", "max": 2, "phase": "all"}}])";
  ParseResult r = parse_scenario_text(p.text(), "s.json");
  ASSERT_TRUE(r.ok()) << dump(r);
  const auto& n = std::get<NeverExpect>(r.scenario->expectations[0].body);
  EXPECT_EQ(n.window.phase, "outage");
  EXPECT_EQ(n.window.from.kind, Anchor::Kind::kFaultStart);
  EXPECT_EQ(n.window.to.kind, Anchor::Kind::kFaultEnd);
  p.expect = R"([{"never": {"breaker": "rpc", "state": "OPEN", "phase": "outgae"}}])";
  expect_one_error(p.text(), "\"outgae\"", "expect[0].never.phase", {"unknown phase \"outgae\"", "did you mean \"outage\"?"});
  p.expect = R"([{"max_transitions": {"breaker": "db", "max": 2, "from": "start", "phase": "outage"}}])";
  expect_one_error(p.text(), "\"phase\"", "expect[0].max_transitions.phase", {"either \"phase\" or \"from\"/\"to\""});
}

TEST(ScenarioParser, AnchorsCanBeTheFirstMatchingEvent) {
  Parts p;
  p.expect = R"([{"never": {"breaker": "rpc", "state": "OPEN",
      "from": {"after_event": {"type": "heal.attempt", "where": {"outcome": "success"}}, "offset_ms": 50}}}])";
  ParseResult r = parse_scenario_text(p.text(), "s.json");
  ASSERT_TRUE(r.ok()) << dump(r);
  const auto& from = std::get<NeverExpect>(r.scenario->expectations[0].body).window.from;
  EXPECT_EQ(from.kind, Anchor::Kind::kEvent);
  EXPECT_EQ(from.event_type, "heal.attempt");
  EXPECT_EQ(from.where.at("outcome"), "success");
  EXPECT_EQ(from.offset_ms, 50);
  p.expect = R"([{"never": {"breaker": "rpc", "state": "OPEN", "from": {"after_event": {"where": {"outcome": "x"}}}}}])";
  expect_one_error(p.text(), "{\"where\"", "expect[0].never.from.after_event.type", {"missing required field \"type\""});
  p.expect = R"([{"never": {"breaker": "rpc", "state": "OPEN", "from": {"after": "start", "after_event": {"type": "x"}}}}])";
  expect_one_error(p.text(), "\"after_event\"", "expect[0].never.from.after_event", {"either \"after\" or \"after_event\""});
}

TEST(ScenarioParser, WhereKeysMayBeDottedPathsButNotEmptySegments) {
  Parts p;
  p.expect = R"([{"events": {"type": "health.poll", "where": {"components.db.breaker_state": "OPEN"}, "min": 1}}])";
  EXPECT_TRUE(parse_scenario_text(p.text()).ok());
  p.expect = R"([{"events": {"type": "health.poll", "where": {"components..breaker_state": "OPEN"}, "min": 1}}])";
  expect_one_error(p.text(), "\"components..breaker_state\"", "expect[0].events.where[\"components..breaker_state\"]",
                   {"dotted path", "components.rpc.breaker_state"});
}

TEST(ScenarioParser, EventsSourceNoneRejectsExpectationsThatNeedTheSutsOwnEvents) {
  Parts p;
  p.sut = R"({"builtin": "gateway", "events": {"source": "none"}})";
  p.expect = R"([{"breaker": "db", "transitions": [{"to": "OPEN"}]}])";
  expect_one_error(p.text(), "[{\"to\"", "expect[0].transitions", {"needs breaker.state events", "source is \"none\""});
  p.expect = R"([{"events": {"type": "process.exit", "max": 0}}])";
  EXPECT_TRUE(parse_scenario_text(p.text()).ok()) << "harness events need no SUT stream";
  // With health polling, health conditions are observable without the stream.
  p.sut = R"({"builtin": "gateway", "events": {"source": "none"}, "health": {"url": "http://127.0.0.1:${sut.port}/health"}})";
  p.expect = R"([{"recovery": {"after": "db-down.end", "until": {"health": "HEALTHY"}, "max_ms": 1000}},
                 {"system_state": {"state": "RUNNING"}}])";
  EXPECT_TRUE(parse_scenario_text(p.text()).ok());
}

TEST(ScenarioParser, OverallHealthRecoveryNeedsHealthPolling) {
  Parts p;
  p.expect = R"([{"recovery": {"after": "db-down.end", "until": {"health": "HEALTHY"}, "max_ms": 1000}}])";
  expect_one_error(p.text(), "{\"health\": \"HEALTHY\"}", "expect[0].recovery.until", {"overall health", "\"health\": {\"url\""});
}

}  // namespace
