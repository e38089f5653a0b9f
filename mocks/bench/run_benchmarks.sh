#!/usr/bin/env bash
# Side-by-side throughput of mock-cache and a real redis-server (redis-benchmark, same flags, same run),
# wrk against mock-rpc, and the fault layer's per-request cost (Google Benchmark). Every step is
# bounded in requests and in time. Prints a Markdown report on stdout; progress goes to stderr.
#
# usage: mocks/bench/run_benchmarks.sh [BIN_DIR]   (default: build/bin)
set -euo pipefail

BIN_DIR=${1:-build/bin}
REQUESTS=${REQUESTS:-200000}
CLIENTS=${CLIENTS:-50}
STEP_TIMEOUT=${STEP_TIMEOUT:-120}
WRK_SECONDS=${WRK_SECONDS:-5}

for tool in redis-server redis-benchmark redis-cli wrk curl; do
  command -v "$tool" >/dev/null || { echo "run_benchmarks: $tool not found (apt-get install redis-server redis-tools wrk)" >&2; exit 2; }
done
for bin in mock-cache mock-rpc; do
  [ -x "$BIN_DIR/$bin" ] || { echo "run_benchmarks: $BIN_DIR/$bin not built" >&2; exit 2; }
done

WORK=$(mktemp -d /tmp/chaos-bench-XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

# Starts a mock in this shell (so it is ours to stop) and sets PORT from its ready line.
start_mock() {
  local bin=$1 out="$WORK/$1.ready"
  "$BIN_DIR/$bin" --seed 1 >"$out" 2>"$WORK/$bin.log" </dev/null &
  PIDS+=($!)
  for _ in $(seq 1 200); do
    if [ -s "$out" ]; then PORT=$(sed -E 's/.*"port":([0-9]+).*/\1/' "$out"); return; fi
    sleep 0.05
  done
  echo "run_benchmarks: $bin did not become ready" >&2; exit 1
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null ||
    echo $((20000 + RANDOM % 30000))
}

start_redis() {
  PORT=$(free_port)
  redis-server --bind 127.0.0.1 --port "$PORT" --save '' --appendonly no --dir "$WORK" \
    --logfile "$WORK/redis.log" --daemonize no </dev/null >/dev/null 2>&1 &
  PIDS+=($!)
  for _ in $(seq 1 200); do
    if redis-cli -p "$PORT" ping >/dev/null 2>&1; then return; fi
    sleep 0.05
  done
  echo "run_benchmarks: redis-server did not start" >&2; exit 1
}

# Echoes "<get rps> <set rps>" for one redis-benchmark run.
bench_redis_protocol() {
  local port=$1 pipeline=$2
  timeout "$STEP_TIMEOUT" redis-benchmark -h 127.0.0.1 -p "$port" -t get,set -c "$CLIENTS" -n "$REQUESTS" \
    -P "$pipeline" --csv 2>/dev/null |
    awk -F'","' '/^"SET"/ {set=$2} /^"GET"/ {get=$2} END {gsub(/"/,"",get); gsub(/"/,"",set); print get, set}'
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }

echo "run_benchmarks: starting servers" >&2
start_mock mock-cache; MOCK_CACHE_PORT=$PORT
start_mock mock-rpc; MOCK_RPC_PORT=$PORT
start_redis; REDIS_PORT=$PORT

echo "# Mock benchmarks"
echo
echo "- date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "- machine: $(nproc) cores, $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr)"
echo "- redis-server: $(redis-server --version | awk '{print $3}' | tr -d 'v='), clients $CLIENTS, requests $REQUESTS per test"
echo
echo "## mock-cache vs redis-server (redis-benchmark -t get,set -c $CLIENTS -n $REQUESTS)"
echo
echo "| pipeline | command | mock-cache rps | redis-server rps | ratio |"
echo "| --- | --- | ---: | ---: | ---: |"
for p in 1 16; do
  # Alternate the order so neither server always runs on the warmer machine.
  echo "run_benchmarks: redis-benchmark -P $p" >&2
  read -r mget mset < <(bench_redis_protocol "$MOCK_CACHE_PORT" "$p")
  read -r rget rset < <(bench_redis_protocol "$REDIS_PORT" "$p")
  echo "| $p | GET | $mget | $rget | $(ratio "$mget" "$rget") |"
  echo "| $p | SET | $mset | $rset | $(ratio "$mset" "$rset") |"
done
echo
echo "## mock-cache with faults registered that match no request (end-to-end fault-layer cost)"
echo
CONTROL=$(sed -E 's/.*"control_port":([0-9]+).*/\1/' "$WORK/mock-cache.ready")
for i in 1 2 3 4; do
  curl -sf -X POST "http://127.0.0.1:$CONTROL/faults" -d '{"type":"error","match":"NOSUCH*"}' >/dev/null
done
echo "run_benchmarks: redis-benchmark -P 16 with 4 non-matching faults" >&2
read -r fget fset < <(bench_redis_protocol "$MOCK_CACHE_PORT" 16)
echo "| pipeline | command | mock-cache rps, 4 non-matching faults | mock-cache rps, no faults (above) |"
echo "| --- | --- | ---: | ---: |"
echo "| 16 | GET | $fget | $mget |"
echo "| 16 | SET | $fset | $mset |"
curl -sf -X DELETE "http://127.0.0.1:$CONTROL/faults" >/dev/null
echo
echo "## wrk against mock-rpc (GET /rpc/ping, keep-alive, ${WRK_SECONDS}s)"
echo
echo "run_benchmarks: wrk" >&2
WRK_OUT=$(timeout "$STEP_TIMEOUT" wrk -t 2 -c "$CLIENTS" -d "${WRK_SECONDS}s" --latency "http://127.0.0.1:$MOCK_RPC_PORT/rpc/ping")
echo '```'
echo "$WRK_OUT"
echo '```'
if [ -x "$BIN_DIR/mock_fault_layer_bench" ]; then
  echo
  echo "## Fault layer cost per request (FaultTable::evaluate)"
  echo
  echo "run_benchmarks: fault layer" >&2
  echo '```'
  timeout "$STEP_TIMEOUT" "$BIN_DIR/mock_fault_layer_bench" --benchmark_min_time=0.2 2>/dev/null | grep -E '^(BM_|Benchmark|-)'
  echo '```'
fi
