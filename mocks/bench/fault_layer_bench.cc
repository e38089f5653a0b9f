// Cost of the fault layer on the request path (target: < 1 us per request when no fault matches).
// BM_Evaluate*: FaultTable::evaluate alone, with no faults, with faults scoped to other requests, and
// with a matching latency fault. BM_RequestPath*: everything the runtime runs per request through
// FaultHooks (the same inline code server.cc calls): the read point, the handle point plus the table,
// and the write point, for one request in one read and one write, which is the most hook calls per
// request (pipelining shares reads and writes); with no faults, with non-matching request faults, and
// with a libfiu point enabled elsewhere (so libfiu has a table to search). BM_NewConnectionPath: the
// accept point plus the table's connection-drop check, once per connection.
#include "core/fault_hooks.h"
#include "core/fault_table.h"

#include <benchmark/benchmark.h>
#include <fiu-control.h>

namespace {

using namespace chaos;
using namespace chaos::mocks;

class NullService : public ServiceControl {
 public:
  void drop_open_connections(bool, const std::function<bool()>&) override {}
  void hold_listener_down() override {}
  void release_listener_down() override {}
  void break_open_connections(BrokenMode, const std::function<bool()>&) override {}
  void crash(int) override {}
  void log(const std::string&) override {}
};

void BM_EvaluateNoFaults(benchmark::State& state) {
  NullService svc;
  SeededRandom rng(1);
  FaultTable table(SteadyClock::instance(), rng, svc);
  for (auto _ : state) benchmark::DoNotOptimize(table.evaluate("GET"));
}
BENCHMARK(BM_EvaluateNoFaults);

void BM_EvaluateNonMatchingFaults(benchmark::State& state) {
  NullService svc;
  SeededRandom rng(1);
  FaultTable table(SteadyClock::instance(), rng, svc);
  for (int i = 0; i < state.range(0); ++i) {
    table.add({{"type", "error"}, {"match", "user.update*"}});
  }
  for (auto _ : state) benchmark::DoNotOptimize(table.evaluate("GET"));
}
BENCHMARK(BM_EvaluateNonMatchingFaults)->Arg(1)->Arg(4)->Arg(16);

void BM_EvaluateMatchingLatencyFault(benchmark::State& state) {
  NullService svc;
  SeededRandom rng(1);
  FaultTable table(SteadyClock::instance(), rng, svc);
  table.add({{"type", "latency"}, {"latency_ms", 10}, {"jitter_ms", 2}, {"distribution", "normal"}});
  for (auto _ : state) benchmark::DoNotOptimize(table.evaluate("GET"));
}
BENCHMARK(BM_EvaluateMatchingLatencyFault);

// One request's worth of hooks, as Connection::on_read / handle_request / flush call them.
bool request_path(FaultHooks& hooks, std::string_view key) {
  bool closed = hooks.read_fails();
  RequestEffect effect = hooks.on_request(key);
  closed = hooks.write_fails() || closed;
  return closed || !effect.empty();
}

struct HookedTable {
  HookedTable() : table(SteadyClock::instance(), rng, svc), hooks(table, "mock/bench") { fiu_init(0); }
  NullService svc;
  SeededRandom rng{1};
  FaultTable table;
  FaultHooks hooks;
};

void BM_RequestPathNoFaults(benchmark::State& state) {
  HookedTable h;
  for (auto _ : state) benchmark::DoNotOptimize(request_path(h.hooks, "GET"));
  if (request_path(h.hooks, "GET")) state.SkipWithError("a request was faulted with no faults registered");
}
BENCHMARK(BM_RequestPathNoFaults);

void BM_RequestPathNonMatchingFaults(benchmark::State& state) {
  HookedTable h;
  for (int i = 0; i < state.range(0); ++i) h.table.add({{"type", "error"}, {"match", "user.update*"}});
  for (auto _ : state) benchmark::DoNotOptimize(request_path(h.hooks, "GET"));
  if (request_path(h.hooks, "GET")) state.SkipWithError("a non-matching fault touched the request");
}
BENCHMARK(BM_RequestPathNonMatchingFaults)->Arg(1)->Arg(4)->Arg(16);

void BM_RequestPathOtherFiuPointEnabled(benchmark::State& state) {
  HookedTable h;
  // A fiu fault on another service's point: this mock's points must still pass, after a lookup.
  h.table.add({{"type", "fiu"}, {"point", "mock/elsewhere/read"}});
  for (auto _ : state) benchmark::DoNotOptimize(request_path(h.hooks, "GET"));
  if (request_path(h.hooks, "GET")) state.SkipWithError("a libfiu point of another service failed this one");
  h.table.clear();  // disables the point before the next benchmark
}
BENCHMARK(BM_RequestPathOtherFiuPointEnabled);

void BM_NewConnectionPathNoFaults(benchmark::State& state) {
  HookedTable h;
  bool reset = false;
  for (auto _ : state) benchmark::DoNotOptimize(h.hooks.drop_new_connection(&reset));
  if (h.hooks.drop_new_connection(&reset)) state.SkipWithError("a new connection was dropped with no faults");
}
BENCHMARK(BM_NewConnectionPathNoFaults);

}  // namespace

BENCHMARK_MAIN();
