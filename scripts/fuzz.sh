#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan + UBSan) and runs them; exits non-zero on any finding
# (crash, leak, timeout, out-of-memory, sanitizer report) in any target.
#   scripts/fuzz.sh [SECONDS] [RUNS] [TARGET...]
#     SECONDS  total time budget shared equally by the selected targets (default 60: the CI smoke);
#              0 = no time limit (then RUNS bounds each target)
#     RUNS     executions per target (default: unlimited, the time budget bounds it)
#     TARGET   any of: scenario_fuzz resp_fuzz pg_fuzz rpc_http_fuzz control_api_fuzz (default: all)
#   scripts/fuzz.sh 60                            CI smoke: all targets, 60 s in all (+ build time)
#   scripts/fuzz.sh 0 10000000 scenario_fuzz      10 million executions of the scenario parser
#   FUZZ_WORKERS=2 scripts/fuzz.sh 0 10000000 scenario_fuzz
#                                                 the same 10 million, split over two processes that share
#                                                 one corpus (one per core); logs build-fuzz/<target>.w<i>.log
# Seeds: scenarios/ for scenario_fuzz, tests/fuzz/seeds/<target>/ for the others; every file in
# tests/fuzz/regressions/<target>/ (inputs that once failed) is replayed first. The corpus grows in
# build-fuzz/corpus-<target>/, failing inputs land in build-fuzz/artifacts/<target>/.
set -euo pipefail
cd "$(dirname "$0")/.."
TOTAL_SECONDS=${1:-60}
RUNS=${2:--1}
shift $(($# < 2 ? $# : 2))
WORKERS=${FUZZ_WORKERS:-1}
[[ "$WORKERS" =~ ^[1-9][0-9]*$ ]] || { echo "fuzz.sh: FUZZ_WORKERS must be a positive number, got '$WORKERS'" >&2; exit 2; }
ALL_TARGETS=(scenario_fuzz resp_fuzz pg_fuzz rpc_http_fuzz control_api_fuzz)
TARGETS=("$@")
[ ${#TARGETS[@]} -eq 0 ] && TARGETS=("${ALL_TARGETS[@]}")
for t in "${TARGETS[@]}"; do
  [[ " ${ALL_TARGETS[*]} " == *" $t "* ]] || { echo "fuzz.sh: unknown target '$t' (known: ${ALL_TARGETS[*]})" >&2; exit 2; }
done
if [ "$TOTAL_SECONDS" = 0 ] && [ "$RUNS" = -1 ]; then
  echo "fuzz.sh: SECONDS=0 needs RUNS, or the run never ends" >&2
  exit 2
fi

./scripts/install_deps.sh
CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCHAOS_FUZZ=ON \
  -DCHAOS_BUILD_BENCHMARKS=OFF "-DCHAOS_ONLY_AREAS=harness/common;harness/scenario;mocks;tests/fuzz" \
  >/tmp/chaos-cmake-fuzz.log || { cat /tmp/chaos-cmake-fuzz.log; exit 1; }
cmake --build build-fuzz -j "$(nproc)" --target "${TARGETS[@]}"

# Each target's share of the budget, at least 5 s so a smoke run still explores a little.
PER_TARGET=0
if [ "$TOTAL_SECONDS" != 0 ]; then
  PER_TARGET=$((TOTAL_SECONDS / ${#TARGETS[@]}))
  [ "$PER_TARGET" -lt 5 ] && PER_TARGET=5
fi

seeds_of() {
  case $1 in
    scenario_fuzz) echo scenarios ;;
    *) echo "tests/fuzz/seeds/$1" ;;
  esac
}
max_len_of() {
  case $1 in
    scenario_fuzz) echo 16384 ;;     # 4x the largest real scenario
    control_api_fuzz) echo 70000 ;;  # just over the control API's 64 KiB body limit
    *) echo 32768 ;;
  esac
}

# Leaks are findings; UB stops the run (the build does not recover from it either).
SANITIZER_ENV=(ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1)

failed=()
run_target() {  # run_target <name>
  local name=$1 corpus="build-fuzz/corpus-$1" artifacts="build-fuzz/artifacts/$1/" regressions="tests/fuzz/regressions/$1"
  local bin="build-fuzz/bin/$name" dict="tests/fuzz/dict/${name%_fuzz}.dict"
  mkdir -p "$corpus" "$artifacts"
  # Declared lengths must never turn into big allocations: a protocol target may not malloc 64 MiB at once.
  local malloc_mb=2048
  [ "$name" != scenario_fuzz ] && malloc_mb=64
  local opts=(-max_len="$(max_len_of "$name")" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb="$malloc_mb"
              -artifact_prefix="$artifacts" -print_final_stats=1)
  [ -f "$dict" ] && opts+=(-dict="$dict")
  if [ -d "$regressions" ] && [ -n "$(ls -A "$regressions")" ]; then
    echo "== replay $regressions"
    if ! env "${SANITIZER_ENV[@]}" "$bin" "${opts[@]}" "$regressions"/* >"build-fuzz/$name-regressions.log" 2>&1; then
      tail -40 "build-fuzz/$name-regressions.log"
      failed+=("$name (regression replay)")
      return
    fi
  fi
  [ "$PER_TARGET" != 0 ] && opts+=(-max_total_time="$PER_TARGET")
  if [ "$WORKERS" = 1 ]; then
    [ "$RUNS" != -1 ] && opts+=(-runs="$RUNS")
    fuzz_one "$name" "build-fuzz/$name.log" "${opts[@]}" || failed+=("$name (log build-fuzz/$name.log)")
    return
  fi
  # Several processes on one corpus: libFuzzer reloads the corpus folder, so each sees what the others
  # found; the executions are split so that together they run RUNS.
  [ "$RUNS" != -1 ] && opts+=(-runs="$(((RUNS + WORKERS - 1) / WORKERS))")
  local pids=() logs=() i
  for ((i = 1; i <= WORKERS; i++)); do
    logs+=("build-fuzz/$name.w$i.log")
    fuzz_one "$name" "build-fuzz/$name.w$i.log" "${opts[@]}" &
    pids+=($!)
  done
  local worker_failed=0
  for i in "${!pids[@]}"; do wait "${pids[$i]}" || worker_failed=1; done
  local total
  total=$(grep -ahE "^stat::number_of_executed_units" "${logs[@]}" | awk '{s += $2} END {print s + 0}')
  echo "== $name: $total executions in $WORKERS workers"
  [ "$worker_failed" = 0 ] || failed+=("$name (a worker failed, logs ${logs[*]})")
}

# fuzz_one <name> <log> <libFuzzer options...>: one fuzzing process; returns non-zero on a finding.
# It reports by its exit status, not by failed+=, since with workers it runs in a background subshell.
fuzz_one() {
  local name=$1 log=$2
  shift 2
  local bin="build-fuzz/bin/$name" corpus="build-fuzz/corpus-$name" rc=0
  echo "== fuzz $name ($*) > $log"
  env "${SANITIZER_ENV[@]}" "$bin" "$@" "$corpus" "$(seeds_of "$name")" >"$log" 2>&1 || rc=$?
  grep -aE "^(#[0-9]+.*(DONE|pulse)|stat::|Done)" "$log" | tail -6 || true
  # UBSan is built not to recover; this catches a report from code built without that flag.
  if [ "$rc" = 0 ] && grep -aq "runtime error:" "$log"; then
    grep -a -A8 "runtime error:" "$log" | head -40
    rc=99
  fi
  if [ "$rc" != 0 ]; then
    # libFuzzer exits non-zero on any crash, leak, timeout, OOM or sanitizer report.
    grep -aE -B2 -A12 "contract broken|==[0-9]+==ERROR|runtime error:|^SUMMARY|Test unit written" "$log" | head -60 || tail -40 "$log"
    echo "fuzz.sh: finding in $name (exit $rc, log $log)" >&2
    return 1
  fi
}

for t in "${TARGETS[@]}"; do run_target "$t"; done
if [ ${#failed[@]} -ne 0 ]; then
  echo "fuzz.sh: FINDINGS in: ${failed[*]}" >&2
  exit 1
fi
echo "fuzz.sh: no findings in ${TARGETS[*]}"
