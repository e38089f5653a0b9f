#!/usr/bin/env bash
# Installs dependencies, builds, and runs every test. Usage: scripts/run_tests.sh [--quick]
#   default : normal build (build/) + all CTest tests.
# Exit code: 0 when every test passed.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/install_deps.sh

JOBS=${JOBS:-$(nproc)}

build_and_test() {  # build_and_test <build-dir> <cmake args...>
  local dir=$1; shift
  echo "== configure $dir $*"
  cmake -S . -B "$dir" -G Ninja "$@" >"/tmp/chaos-cmake-$(basename "$dir").log" \
    || { cat "/tmp/chaos-cmake-$(basename "$dir").log"; return 1; }
  echo "== build $dir"
  cmake --build "$dir" -j "$JOBS"
  echo "== test $dir"
  (cd "$dir" && ctest --output-on-failure -j "$JOBS" --timeout 120)
}

build_and_test build -DCMAKE_BUILD_TYPE=Release
