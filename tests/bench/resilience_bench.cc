// Costs of the resilience library on its hot paths, each beside a plain call in the same run. Every row
// carries two extra columns computed against BM_PlainCall with the same thread count (same run, same
// statistic, e.g. the median with --benchmark_repetitions): `x_plain` (CPU time / plain-call CPU time)
// and `plus_ns` (CPU time - plain-call CPU time, in ns). CPU time, not wall time, because the figures
// in docs/BENCHMARKS.md are CPU time: on a shared machine wall time mostly measures preemption.
#include <benchmark/benchmark.h>

#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "resilience/circuit_breaker.h"
#include "resilience/guard.h"
#include "resilience/retry.h"

namespace chaos::resilience {
namespace {

// The "dependency": an opaque call the compiler cannot inline or fold away.
__attribute__((noinline)) Result<int> dependency(int x) {
  benchmark::ClobberMemory();
  return x + 1;
}

CircuitBreakerConfig bench_breaker_config() {
  CircuitBreakerConfig c;  // defaults: count window of 100, no slow-call detection
  c.emit_call_events = false;
  return c;
}

void BM_PlainCall(benchmark::State& state) {
  int i = 0;
  for (auto _ : state) {
    auto r = dependency(i++);
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_PlainCall)->Threads(1)->Threads(2);

// Reference floors on this machine: one locked atomic read-modify-write (what the breaker's CLOSED path
// avoids: it bumps a counter private to the calling thread with a relaxed load and store,
// internal/sharded_counter.h) and one read of the monotonic clock (also kept off the CLOSED path).
void BM_Reference_AtomicFetchAdd(benchmark::State& state) {
  static std::atomic<uint64_t> counter{0};
  for (auto _ : state) {
    auto v = counter.fetch_add(1, std::memory_order_relaxed);
    benchmark::DoNotOptimize(v);
  }
}
BENCHMARK(BM_Reference_AtomicFetchAdd)->Threads(1)->Threads(2);

void BM_Reference_SteadyClockRead(benchmark::State& state) {
  const Clock& clock = SteadyClock::instance();
  for (auto _ : state) {
    auto t = clock.now();
    benchmark::DoNotOptimize(t);
  }
}
BENCHMARK(BM_Reference_SteadyClockRead);

// The coarse reading the default (next-call) OPEN rejection path makes instead.
void BM_Reference_SteadyClockCoarseRead(benchmark::State& state) {
  const Clock& clock = SteadyClock::instance();
  for (auto _ : state) {
    auto t = clock.coarse_now();
    benchmark::DoNotOptimize(t);
  }
}
BENCHMARK(BM_Reference_SteadyClockCoarseRead);

// One breaker shared by all benchmark threads, as one dependency's breaker is in a server.
CircuitBreaker& shared_closed_breaker() {
  static CircuitBreaker b("bench", bench_breaker_config(), Environment{});
  return b;
}

void BM_BreakerClosed_AcquireCallRecord(benchmark::State& state) {
  CircuitBreaker& b = shared_closed_breaker();
  int i = 0;
  for (auto _ : state) {
    if (b.try_acquire()) {
      auto r = dependency(i++);
      benchmark::DoNotOptimize(r);
      b.on_success();
    }
  }
  if (state.thread_index() == 0 && b.state() != BreakerState::kClosed)
    state.SkipWithError("breaker left CLOSED");
}
BENCHMARK(BM_BreakerClosed_AcquireCallRecord)->Threads(1)->Threads(2);

void BM_BreakerClosed_Execute(benchmark::State& state) {
  CircuitBreaker& b = shared_closed_breaker();
  int i = 0;
  for (auto _ : state) {
    auto r = b.execute([&] { return dependency(i++); });
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_BreakerClosed_Execute)->Threads(1)->Threads(2);

// Rejection in OPEN with the timer-driven transition: no clock read, no exception.
void BM_BreakerOpen_Reject_TimerMode(benchmark::State& state) {
  static ManualClock clock;
  static ManualScheduler scheduler(clock);  // never advanced: the breaker stays OPEN
  auto c = bench_breaker_config();
  c.automatic_transition = true;
  Environment env;
  env.clock = &clock;
  env.scheduler = &scheduler;
  CircuitBreaker b("bench", c, env);
  b.transition_to_half_open("bench");
  for (int k = 0; k < 10; ++k) {
    if (b.try_acquire()) b.on_error(Error::server("x"));
  }
  if (b.state() != BreakerState::kOpen) state.SkipWithError("breaker not OPEN");
  for (auto _ : state) {
    bool ok = b.try_acquire();
    benchmark::DoNotOptimize(ok);
  }
}
BENCHMARK(BM_BreakerOpen_Reject_TimerMode);

// Rejection in OPEN in the DEFAULT configuration: CircuitBreakerConfig{} (next-call transition, 60 s
// wait) on the default Environment (real clock, no scheduler, no publisher). Each rejection reads
// Clock::coarse_now() (CLOCK_MONOTONIC_COARSE), not the precise clock.
void BM_BreakerOpen_Reject_NextCallMode(benchmark::State& state) {
  const CircuitBreakerConfig c{};
  CircuitBreaker b("bench", c, Environment{});
  b.transition_to_half_open("bench");
  for (int k = 0; k < 10; ++k) {
    if (b.try_acquire()) b.on_error(Error::server("x"));
  }
  if (b.state() != BreakerState::kOpen) state.SkipWithError("breaker not OPEN");
  for (auto _ : state) {
    bool ok = b.try_acquire();
    benchmark::DoNotOptimize(ok);
  }
  if (b.state() != BreakerState::kOpen) state.SkipWithError("breaker left OPEN during the run");
}
BENCHMARK(BM_BreakerOpen_Reject_NextCallMode);

void BM_Retry_SuccessFirstTime(benchmark::State& state) {
  Retry retry("bench", RetryConfig{}, Environment{});
  int i = 0;
  for (auto _ : state) {
    auto r = retry.execute([&] { return dependency(i++); });
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_Retry_SuccessFirstTime);

// Deadline (10 s overall) + retry + breaker + bulkhead, no fallback needed, events off.
void BM_Guard_FullPipeline(benchmark::State& state) {
  static Guard<int>* guard = [] {
    GuardConfig c;
    c.breaker->emit_call_events = false;
    c.bulkhead->max_concurrent = 64;
    return new Guard<int>("bench", c, Environment{});
  }();
  int i = 0;
  for (auto _ : state) {
    auto r = guard->call([&](const CallContext&) { return dependency(i++); });
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_Guard_FullPipeline)->Threads(1)->Threads(2);

// The same pipeline with no overall timeout: shows what the deadline's clock reads cost.
void BM_Guard_NoDeadline(benchmark::State& state) {
  static Guard<int>* guard = [] {
    GuardConfig c;
    c.breaker->emit_call_events = false;
    c.bulkhead->max_concurrent = 64;
    c.timeouts.overall = Duration::zero();
    return new Guard<int>("bench", c, Environment{});
  }();
  int i = 0;
  for (auto _ : state) {
    auto r = guard->call([&](const CallContext&) { return dependency(i++); });
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_Guard_NoDeadline);

// Adds `x_plain` and `plus_ns` to every row, then hands the rows to the reporter the command line asked
// for (console, JSON, CSV), so the ratio reaches every output format. BM_PlainCall is registered first,
// so its rows (per thread count; per aggregate such as mean/median with --benchmark_repetitions) are
// known before the rows they divide.
class VsPlainCallReporter final : public benchmark::BenchmarkReporter {
 public:
  explicit VsPlainCallReporter(benchmark::BenchmarkReporter* inner) : inner_(inner) {}
  bool ReportContext(const Context& context) override { return inner_->ReportContext(context); }
  void ReportRuns(const std::vector<Run>& runs) override {
    std::vector<Run> rows = runs;
    for (Run& r : rows) {
      if (r.error_occurred) continue;
      // Only rows that carry a time: plain runs and the mean/median aggregates, not stddev/cv.
      const bool timed = r.run_type == Run::RT_Iteration ||
                         r.aggregate_name == "mean" || r.aggregate_name == "median";
      if (!timed) continue;
      const auto key = std::make_pair(r.threads, r.aggregate_name);
      if (r.run_name.function_name == "BM_PlainCall") {
        plain_[key] = r.GetAdjustedCPUTime();
        continue;
      }
      auto it = plain_.find(key);
      if (it == plain_.end() || it->second <= 0) continue;
      r.counters["x_plain"] = benchmark::Counter(r.GetAdjustedCPUTime() / it->second);
      r.counters["plus_ns"] = benchmark::Counter(r.GetAdjustedCPUTime() - it->second);
    }
    inner_->ReportRuns(rows);
  }
  void Finalize() override { inner_->Finalize(); }

 private:
  benchmark::BenchmarkReporter* inner_;  // the library's, not owned
  std::map<std::pair<int64_t, std::string>, double> plain_;
};

}  // namespace
}  // namespace chaos::resilience

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  chaos::resilience::VsPlainCallReporter reporter(benchmark::CreateDefaultDisplayReporter());
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  return 0;
}
