#!/usr/bin/env bash
# Installs what is missing, builds (Release) if needed, runs the scenario suite and writes
# reports/latest.json, reports/latest.html and reports/junit.xml. Exits with the harness's verdict:
# 0 all passed, 1 a scenario failed, timed out or was flaky, 2 invalid scenario or usage,
# 3 infrastructure error, 130 interrupted (SIGINT / SIGTERM).
#
# Usage: ./run_scenarios.sh [chaos-harness run options] [scenario files or folders]
#   default scenarios: scenarios/suite (mocks) and scenarios/real (real Redis and PostgreSQL
#   behind the fault proxy)
#   e.g.   ./run_scenarios.sh --jobs 2 --tags breaker
#          ./run_scenarios.sh --repeat 5 scenarios/suite/db-down-opens-breaker.json
set -euo pipefail
cd "$(dirname "$0")"

./scripts/install_deps.sh

BUILD_DIR=${BUILD_DIR:-build}
# The scenarios' time windows are calibrated on an optimised build: a Debug folder is switched to
# Release (an explicit RelWithDebInfo is kept: it is optimised too).
build_type=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$BUILD_DIR/CMakeCache.txt" 2>/dev/null || true)
if [ ! -f "$BUILD_DIR/build.ninja" ] || { [ "$build_type" != Release ] && [ "$build_type" != RelWithDebInfo ]; }; then
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
cmake --build "$BUILD_DIR" -j "$(nproc)" --target chaos-harness gateway mock-rpc mock-cache mock-db fault-proxy >/dev/null

args=()
paths=()
while [ $# -gt 0 ]; do
  case "$1" in
    --filter|--tags|--shard|--jobs|-j|--repeat|--seed|--report-dir|--format|--bin-dir)
      args+=("$1" "$2"); shift 2 ;;
    -*) args+=("$1"); shift ;;
    *) paths+=("$1"); shift ;;
  esac
done
[ ${#paths[@]} -gt 0 ] || paths=(scenarios/suite scenarios/real)

exec "$BUILD_DIR/bin/chaos-harness" run --report-dir reports "${args[@]}" "${paths[@]}"
