#!/usr/bin/env bash
# Installs dependencies, builds and runs every test.
#
#   scripts/run_tests.sh               Release build + every test (the scenario suite itself is
#                                      run by ./run_scenarios.sh); ThreadSanitizer build of the
#                                      concurrent parts (resilience library, runner I/O) + their tests
#   scripts/run_tests.sh --sanitizers  also: AddressSanitizer + UndefinedBehaviorSanitizer build +
#                                      every test
#
# Build folders: build/ (Release), build-asan/, build-tsan/. Exit code 0 when every test passed.
set -euo pipefail
cd "$(dirname "$0")/.."

SANITIZERS=0
[ "${1:-}" = "--sanitizers" ] && SANITIZERS=1

./scripts/install_deps.sh

JOBS=${JOBS:-$(nproc)}
export CTEST_OUTPUT_ON_FAILURE=1

configure() {  # configure <build-dir> <cmake args...>
  local dir=$1; shift
  local log="/tmp/chaos-cmake-$(basename "$dir").log"
  cmake -S . -B "$dir" -G Ninja "$@" >"$log" 2>&1 || { cat "$log"; return 1; }
}

step() { echo; echo "=== $* ($(date +%H:%M:%S))"; }

step "Release build"
configure build -DCMAKE_BUILD_TYPE=Release
cmake --build build -j "$JOBS"
step "Release tests"
# The scenario suite itself is the README's first command (run_scenarios.sh); here only its
# must-fail checks run, so a suite scenario is not run twice in CI.
(cd build && ctest -j "$JOBS" --timeout 180 -LE scenario)
# Benchmarks must keep running; their figures are recorded in docs/BENCHMARKS.md, not judged here.
step "Benchmark smoke (bounded, figures not judged)"
build/bin/resilience_bench --benchmark_min_time=0.01 >/dev/null
build/bin/mock_fault_layer_bench --benchmark_min_time=0.01 >/dev/null
echo "benchmarks ran"

step "ThreadSanitizer build (concurrent parts)"
configure build-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCHAOS_SANITIZE=thread -DCHAOS_BUILD_BENCHMARKS=OFF \
  "-DCHAOS_ONLY_AREAS=harness/common;harness/resilience;harness/runner;tests/common;tests/resilience;tests/runner"
cmake --build build-tsan -j "$JOBS"
step "ThreadSanitizer tests"
(cd build-tsan && TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 ctest -j "$JOBS" --timeout 300)

if [ "$SANITIZERS" = 0 ]; then
  echo; echo "=== all test builds passed ($(date +%H:%M:%S))"
  exit 0
fi

# Sanitizer builds skip benchmarks (timings under a sanitizer mean nothing) and the Chromium render
# test (Chromium is not ours to sanitize), and the real-time scenario suite (its timing windows are
# for the Release build; the sanitizers check the same code through the unit and e2e tests).
step "AddressSanitizer + UndefinedBehaviorSanitizer build"
configure build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCHAOS_SANITIZE=address -DCHAOS_BUILD_BENCHMARKS=OFF
cmake --build build-asan -j "$JOBS"
step "AddressSanitizer + UndefinedBehaviorSanitizer tests"
(cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
   ctest -j "$JOBS" --timeout 300 -LE "render|bench|scenario|must-fail")


echo
echo "=== all test builds passed ($(date +%H:%M:%S))"
