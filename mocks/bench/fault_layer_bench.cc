// Cost of the fault layer on the request path (target: < 1 us per request when no fault matches):
// FaultTable::evaluate with no faults, with faults scoped to other requests, and with an inactive
// (pending) fault.
#include "core/fault_table.h"

#include <benchmark/benchmark.h>

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

}  // namespace

BENCHMARK_MAIN();
