#!/usr/bin/env bash
# Installs dependencies, builds and runs every test. This is what CI runs (.ci/run).
#
#   scripts/run_tests.sh          1. Release build + every test (the scenario suite itself is run by
#                                    ./run_scenarios.sh) + a bounded benchmark smoke (incl. the
#                                    mock-cache vs redis-server ratio, mocks/bench/run_benchmarks.sh)
#                                 2. ThreadSanitizer build of the concurrent parts (resilience library,
#                                    runner I/O, the gateway and its connection pools; the mocks, which
#                                    the gateway's integration tests start) + their tests
#                                 3. AddressSanitizer + UndefinedBehaviorSanitizer build of everything
#                                    but the benchmarks + every test but the real-time scenario suite
#                                 4. libFuzzer smoke: scripts/fuzz.sh 60 (clang, its own ASan + UBSan
#                                    build, 60 s of fuzzing shared by the five targets)
#   scripts/run_tests.sh --quick  step 1 only, for local iteration (CI always runs all four)
#
# Build folders: build/ (Release), build-tsan/, build-asan/, build-fuzz/. Exit code 0 when every test
# passed and no sanitizer or fuzzer reported anything.
#
# Time on the 2-core CI machine (docs/RELIABILITY.md, "Sanitizers"), with ./run_scenarios.sh after
# it: about 29-37 min from a clean checkout, most of it the ASan + UBSan build (13.5-21 min); about
# 5 min when the build folders are kept.
set -euo pipefail
cd "$(dirname "$0")/.."

QUICK=0
case "${1:-}" in
  "") ;;
  --quick) QUICK=1 ;;
  # The sanitizer builds used to be opt-in with --sanitizers; they are now the default.
  --sanitizers) ;;
  *) echo "usage: scripts/run_tests.sh [--quick]" >&2; exit 2 ;;
esac

./scripts/install_deps.sh

JOBS=${JOBS:-$(nproc)}
export CTEST_OUTPUT_ON_FAILURE=1

configure() {  # configure <build-dir> <cmake args...>
  local dir=$1; shift
  local log="/tmp/chaos-cmake-$(basename "$dir").log"
  cmake -S . -B "$dir" -G Ninja "$@" >"$log" 2>&1 || { cat "$log"; return 1; }
}

step() { echo; echo "=== $* ($(date +%H:%M:%S))"; }

# ctest_strict <build-dir> <ctest args...>: ctest, and a skipped test fails the step. Every tool a
# test needs is installed by install_deps.sh, so a skip means a broken set-up that would otherwise
# pass silently (CHAOS_ALLOW_SKIPS=1 to run anyway on a machine without, e.g., chromium).
ctest_strict() {
  local dir=$1; shift
  local out="/tmp/chaos-ctest-$(basename "$dir").log" rc=0
  (cd "$dir" && ctest "$@") 2>&1 | tee "$out" || rc=$?  # pipefail: ctest's status
  if grep -q '(Skipped)' "$out" && [ "${CHAOS_ALLOW_SKIPS:-0}" != 1 ]; then
    echo "skipped tests in $dir (a tool is missing; see the skip messages above):" >&2
    grep '(Skipped)' "$out" >&2
    rc=1
  fi
  return $rc
}

step "Release build"
configure build -DCMAKE_BUILD_TYPE=Release
cmake --build build -j "$JOBS"
step "Release tests"
# The scenario suite itself is the README's first command (run_scenarios.sh); here only its
# must-fail checks run, so a suite scenario is not run twice in CI.
ctest_strict build -j "$JOBS" --timeout 180 -LE scenario
# Benchmarks must keep running; their figures are recorded in docs/BENCHMARKS.md, not judged here.
step "Benchmark smoke (bounded, figures not judged)"
build/bin/resilience_bench --benchmark_min_time=0.01 >/dev/null
build/bin/mock_fault_layer_bench --benchmark_min_time=0.01 >/dev/null
# Side by side with a real redis-server (redis-benchmark) and wrk against mock-rpc, under a 55 s
# budget; fails if a tool fails or mock-cache falls under 0.5x redis (best of 3 short runs each).
mocks/bench/run_benchmarks.sh --smoke build/bin
echo "benchmarks ran"

if [ "$QUICK" = 1 ]; then
  echo; echo "=== Release build and tests passed; sanitizer builds and fuzz smoke skipped (--quick) ($(date +%H:%M:%S))"
  exit 0
fi

# Sanitizer reports go to files (log_path) as well as failing the process that made them, because a
# test does not always look at how every child it starts exits (a mock stopped with SIGTERM, the
# harness's services): a report in any process of a test, even a child nobody waits for, fails the step.
# sanitized_ctest <build-dir> <VAR=options...> -- <ctest args...>
sanitized_ctest() {
  local dir=$1; shift
  local reports="$PWD/$dir/sanitizer-reports" env=()
  rm -rf "$reports" && mkdir -p "$reports"
  while [ "$1" != "--" ]; do
    local var=${1%%=*} tool
    tool=$(echo "${var%_OPTIONS}" | tr '[:upper:]' '[:lower:]')
    env+=("$1:log_path=$reports/$tool")
    shift
  done
  shift
  local rc=0
  (export "${env[@]}"; ctest_strict "$dir" -j "$JOBS" "$@") || rc=$?
  if [ -n "$(ls -A "$reports")" ]; then
    echo "sanitizer reports in $reports:" >&2
    for f in "$reports"/*; do echo "--- $f" >&2; head -80 "$f" >&2; done
    rc=1
  fi
  return $rc
}

step "ThreadSanitizer build (concurrent parts)"
configure build-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCHAOS_SANITIZE=thread -DCHAOS_BUILD_BENCHMARKS=OFF \
  "-DCHAOS_ONLY_AREAS=harness/common;harness/resilience;harness/runner;harness/gateway;mocks;tests/common;tests/resilience;tests/runner;tests/gateway"
cmake --build build-tsan -j "$JOBS"
step "ThreadSanitizer tests"
sanitized_ctest build-tsan TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 -- --timeout 300

# AddressSanitizer + UBSan (one build; -fno-sanitize-recover makes any UB fatal, LeakSanitizer runs at
# every instrumented process's exit). Everything is built but the benchmark programs (timings under
# a sanitizer mean nothing; CHAOS_BUILD_BENCHMARKS=OFF drops them all); nothing else needs trimming
# for time: on the 2-core machine the whole build from scratch is about
# 30 min of CPU (13.5 min wall on a quiet machine, 21 min on a shared one), spread over every area
# with no single dominant unit, and the tests take under a minute. The libFuzzer targets
# are not in it: they need clang and have their own ASan + UBSan build (step 4).
# Excluded from the run: the real-time scenario suite (label "scenario"): CI runs it on the Release
# build (./run_scenarios.sh), its windows are calibrated for that build, and every binary it launches
# (harness, gateway, mocks) runs under ASan here through cli_e2e_test, gateway_mocks_test, the mock
# tests and must_fail_test (which runs the harness on real scenarios and does pass under ASan).
step "AddressSanitizer + UndefinedBehaviorSanitizer build"
configure build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCHAOS_SANITIZE=address -DCHAOS_BUILD_BENCHMARKS=OFF
cmake --build build-asan -j "$JOBS"
step "AddressSanitizer + UndefinedBehaviorSanitizer tests"
sanitized_ctest build-asan ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  -- --timeout 300 -LE scenario

# Exits non-zero on any crash, leak, timeout, OOM or sanitizer report in any target; the time budget
# is fixed (each target stops after its share), so it never fuzzes on.
step "libFuzzer smoke (60 s)"
./scripts/fuzz.sh 60

echo
echo "=== all test builds passed ($(date +%H:%M:%S))"
