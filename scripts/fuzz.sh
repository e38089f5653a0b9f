#!/usr/bin/env bash
# Builds the libFuzzer targets with clang and runs them.
#   scripts/fuzz.sh [SECONDS] [RUNS]    default: 60 s per target (the CI smoke), no run limit
#   scripts/fuzz.sh 0 10000000          10 million executions per target
# Seeds: every scenario file in scenarios/ (the corpus grows in build-fuzz/corpus-<target>/).
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_TARGET=${1:-60}
RUNS=${2:--1}

./scripts/install_deps.sh
CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCHAOS_FUZZ=ON \
  -DCHAOS_BUILD_BENCHMARKS=OFF "-DCHAOS_ONLY_AREAS=harness/common;harness/scenario;tests/fuzz" >/tmp/chaos-cmake-fuzz.log \
  || { cat /tmp/chaos-cmake-fuzz.log; exit 1; }
cmake --build build-fuzz -j "$(nproc)" --target scenario_fuzz

run_target() {  # run_target <name> <seed folder>
  local name=$1 seeds=$2 corpus="build-fuzz/corpus-$1"
  mkdir -p "$corpus"
  local limits=(-max_len=65536 -timeout=10 -rss_limit_mb=2048)
  [ "$SECONDS_PER_TARGET" != 0 ] && limits+=(-max_total_time="$SECONDS_PER_TARGET")
  [ "$RUNS" != -1 ] && limits+=(-runs="$RUNS")
  echo "== fuzz $name (${limits[*]})"
  ASAN_OPTIONS=detect_leaks=1 "build-fuzz/bin/$name" "${limits[@]}" -print_final_stats=1 "$corpus" "$seeds" 2>&1 \
    | grep -E "^(#[0-9]+.*(DONE|pulse)|stat::number_of_executed_units|==[0-9]+==ERROR|SUMMARY|Done)" || true
  # libFuzzer exits non-zero on any crash, leak or sanitizer report.
  return "${PIPESTATUS[0]}"
}

run_target scenario_fuzz scenarios
