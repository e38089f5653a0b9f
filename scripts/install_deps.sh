#!/usr/bin/env bash
# Installs every Debian package the build, the tests and the scenario suite need.
# Idempotent: skips apt entirely when everything is already present.
set -euo pipefail

PACKAGES=(
  build-essential cmake pkg-config ninja-build
  libgtest-dev libgmock-dev libbenchmark-dev
  nlohmann-json3-dev
  libboost-dev libboost-filesystem-dev
  libfiu-dev fiu-utils
  libcpp-httplib-dev libhiredis-dev libpq-dev libsqlite3-dev
  redis-server redis-tools postgresql postgresql-client curl wrk stress-ng python3 python3-jsonschema chromium
  zlib1g-dev libssl-dev libbrotli-dev
  clang libclang-rt-14-dev
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "install_deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
