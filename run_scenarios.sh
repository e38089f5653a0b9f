#!/usr/bin/env bash
# Installs what is missing, builds (Release) if needed, runs the scenario suite and writes
# reports/latest.json, reports/latest.html and reports/junit.xml. Exits with the harness's verdict:
# 0 all passed, 1 a scenario failed or was flaky, 2 invalid scenario, 3 infrastructure error.
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
if [ ! -f "$BUILD_DIR/build.ninja" ]; then
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
