// Costs of the resilience library on its hot paths, each beside a plain call in the same run so the
// overhead can be read as a difference and a ratio (docs/BENCHMARKS.md records the figures).
#include <benchmark/benchmark.h>

#include <atomic>
#include <memory>

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

// Reference floors on this machine: one atomic read-modify-write (the breaker's CLOSED path does one,
// to number the call for its window) and one read of the monotonic clock.
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

// Rejection in OPEN when the transition happens on the next call: each rejection reads the clock.
void BM_BreakerOpen_Reject_NextCallMode(benchmark::State& state) {
  auto c = bench_breaker_config();
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

}  // namespace
}  // namespace chaos::resilience

BENCHMARK_MAIN();
