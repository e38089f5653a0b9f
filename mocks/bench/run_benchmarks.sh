#!/usr/bin/env bash
# Side-by-side throughput of mock-cache and a real redis-server (redis-benchmark, same flags, same run),
# wrk against mock-rpc, and the fault layer's per-request cost (Google Benchmark). Every step is
# bounded in requests and in time. Prints a Markdown report on stdout; progress goes to stderr.
#
# usage: mocks/bench/run_benchmarks.sh [--smoke] [BIN_DIR]   (default: build/bin)
#
# --smoke (or SMOKE=1): a CI check, under 60 s in all: the same redis-benchmark comparison with few
# requests, each rate the best of ROUNDS (3) runs alternating the two servers (a loaded machine only
# ever lowers a rate, so the best run is the fair one), and a 2 s wrk; no microbenchmark. Exits 1 if any tool fails, wrk sees a non-2xx answer, or
# mock-cache reaches less than MIN_RATIO (0.5) of redis-server's rate on any row. Every server binds
# 127.0.0.1 and is stopped and reaped on every exit path (trap).
set -euo pipefail

SMOKE=${SMOKE:-0}
if [ "${1:-}" = "--smoke" ]; then
  SMOKE=1
  shift
fi
BIN_DIR=${1:-build/bin}
if [ "$SMOKE" = 1 ]; then
  REQUESTS=${REQUESTS:-50000}
  CLIENTS=${CLIENTS:-20}
  ROUNDS=${ROUNDS:-3}
  WRK_SECONDS=${WRK_SECONDS:-2}
  BUDGET_SECONDS=${BUDGET_SECONDS:-55}  # the whole run, start-up included
else
  REQUESTS=${REQUESTS:-200000}
  CLIENTS=${CLIENTS:-50}
  ROUNDS=${ROUNDS:-1}
  WRK_SECONDS=${WRK_SECONDS:-5}
  BUDGET_SECONDS=${BUDGET_SECONDS:-1800}
fi
STEP_TIMEOUT=${STEP_TIMEOUT:-120}
MIN_RATIO=${MIN_RATIO:-0.5}

fail() { echo "run_benchmarks: $*" >&2; exit 1; }

for tool in redis-server redis-benchmark redis-cli wrk curl timeout; do
  command -v "$tool" >/dev/null || { echo "run_benchmarks: $tool not found (apt-get install redis-server redis-tools wrk)" >&2; exit 2; }
done
for bin in mock-cache mock-rpc; do
  [ -x "$BIN_DIR/$bin" ] || { echo "run_benchmarks: $BIN_DIR/$bin not built" >&2; exit 2; }
done

WORK=$(mktemp -d /tmp/chaos-bench-XXXXXX)
PIDS=()
cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
# A signal ends the script through exit, so the EXIT trap stops the servers then too.
trap 'exit 130' INT
trap 'exit 143' TERM HUP

# Every wait and every tool run is cut to what is left of the budget, so the whole run is bounded.
DEADLINE=$((SECONDS + BUDGET_SECONDS))
step_timeout() {
  local left=$((DEADLINE - SECONDS))
  [ "$left" -gt 0 ] || fail "time budget of ${BUDGET_SECONDS}s used up"
  [ "$left" -lt "$STEP_TIMEOUT" ] && echo "$left" || echo "$STEP_TIMEOUT"
}

# Starts a mock in this shell (so it is ours to stop) and sets PORT from its ready line.
start_mock() {
  local bin=$1 out="$WORK/$1.ready"
  "$BIN_DIR/$bin" --seed 1 >"$out" 2>"$WORK/$bin.log" </dev/null &
  PIDS+=($!)
  while [ "$SECONDS" -lt "$DEADLINE" ]; do
    if [ -s "$out" ]; then PORT=$(sed -E 's/.*"port":([0-9]+).*/\1/' "$out"); return; fi
    kill -0 "${PIDS[-1]}" 2>/dev/null || fail "$bin exited before its ready line: $(tail -n 5 "$WORK/$bin.log")"
    sleep 0.05
  done
  fail "$bin did not become ready"
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
  while [ "$SECONDS" -lt "$DEADLINE" ]; do
    if redis-cli -h 127.0.0.1 -p "$PORT" ping >/dev/null 2>&1; then return; fi
    kill -0 "${PIDS[-1]}" 2>/dev/null || fail "redis-server exited: $(tail -n 5 "$WORK/redis.log" 2>/dev/null)"
    sleep 0.05
  done
  fail "redis-server did not start"
}

# Sets BENCH_GET and BENCH_SET (requests per second) from one redis-benchmark run; fails the script if
# redis-benchmark fails or reports no rate, so a broken server cannot pass as a slow one.
bench_redis_protocol() {
  local port=$1 pipeline=$2 csv="$WORK/redis-benchmark.csv" limit
  limit=$(step_timeout)
  if ! timeout "$limit" redis-benchmark -h 127.0.0.1 -p "$port" -t get,set -c "$CLIENTS" -n "$REQUESTS" \
      -P "$pipeline" --csv >"$csv" 2>"$WORK/redis-benchmark.err"; then
    fail "redis-benchmark -p $port -P $pipeline failed: $(tail -n 3 "$WORK/redis-benchmark.err")"
  fi
  read -r BENCH_GET BENCH_SET < <(awk -F'","' '/^"SET"/ {set=$2} /^"GET"/ {get=$2}
    END {gsub(/"/,"",get); gsub(/"/,"",set); print (get == "" ? 0 : get), (set == "" ? 0 : set)}' "$csv")
  awk -v g="$BENCH_GET" -v s="$BENCH_SET" 'BEGIN { exit !(g > 0 && s > 0) }' ||
    fail "redis-benchmark -p $port -P $pipeline reported no rate: $(head -c 300 "$csv")"
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }

LOW_RATIOS=()
check_ratio() {  # pipeline command mock redis
  awk -v a="$3" -v b="$4" -v m="$MIN_RATIO" 'BEGIN { exit !(b > 0 && a / b >= m) }' ||
    LOW_RATIOS+=("-P $1 $2: mock-cache $3 rps vs redis-server $4 rps (ratio $(ratio "$3" "$4") < $MIN_RATIO)")
}

echo "run_benchmarks: starting servers$([ "$SMOKE" = 1 ] && echo " (smoke run)")" >&2
start_mock mock-cache; MOCK_CACHE_PORT=$PORT
start_mock mock-rpc; MOCK_RPC_PORT=$PORT
start_redis; REDIS_PORT=$PORT

echo "# Mock benchmarks$([ "$SMOKE" = 1 ] && echo " (smoke run: few requests, not for recording)")"
echo
echo "- date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "- machine: $(nproc) cores, $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr)"
echo "- redis-server: $(redis-server --version | awk '{print $3}' | tr -d 'v='), clients $CLIENTS, requests $REQUESTS per test, best of $ROUNDS run(s)"
echo
echo "## mock-cache vs redis-server (redis-benchmark -t get,set -c $CLIENTS -n $REQUESTS)"
echo
echo "| pipeline | command | mock-cache rps | redis-server rps | ratio |"
echo "| --- | --- | ---: | ---: | ---: |"
max() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (a > b ? a : b) }'; }
for p in 1 16; do
  mget=0; mset=0; rget=0; rset=0
  for round in $(seq 1 "$ROUNDS"); do
    # Alternate the order so neither server always runs on the warmer machine.
    echo "run_benchmarks: redis-benchmark -P $p (round $round of $ROUNDS)" >&2
    for server in $( [ $(((p + round) % 2)) = 1 ] && echo "mock redis" || echo "redis mock"); do
      if [ "$server" = mock ]; then
        bench_redis_protocol "$MOCK_CACHE_PORT" "$p"; mget=$(max "$mget" "$BENCH_GET"); mset=$(max "$mset" "$BENCH_SET")
      else
        bench_redis_protocol "$REDIS_PORT" "$p"; rget=$(max "$rget" "$BENCH_GET"); rset=$(max "$rset" "$BENCH_SET")
      fi
    done
  done
  echo "| $p | GET | $mget | $rget | $(ratio "$mget" "$rget") |"
  echo "| $p | SET | $mset | $rset | $(ratio "$mset" "$rset") |"
  check_ratio "$p" GET "$mget" "$rget"
  check_ratio "$p" SET "$mset" "$rset"
done
if [ "$SMOKE" != 1 ]; then
  echo
  echo "## mock-cache with faults registered that match no request (end-to-end fault-layer cost)"
  echo
  CONTROL=$(sed -E 's/.*"control_port":([0-9]+).*/\1/' "$WORK/mock-cache.ready")
  for _ in 1 2 3 4; do
    curl -sf -X POST "http://127.0.0.1:$CONTROL/faults" -d '{"type":"error","match":"NOSUCH*"}' >/dev/null
  done
  echo "run_benchmarks: redis-benchmark -P 16 with 4 non-matching faults" >&2
  bench_redis_protocol "$MOCK_CACHE_PORT" 16; fget=$BENCH_GET; fset=$BENCH_SET
  echo "| pipeline | command | mock-cache rps, 4 non-matching faults | mock-cache rps, no faults (above) |"
  echo "| --- | --- | ---: | ---: |"
  echo "| 16 | GET | $fget | $mget |"
  echo "| 16 | SET | $fset | $mset |"
  curl -sf -X DELETE "http://127.0.0.1:$CONTROL/faults" >/dev/null
fi
echo
echo "## wrk against mock-rpc (GET /rpc/ping, keep-alive, ${WRK_SECONDS}s)"
echo
echo "run_benchmarks: wrk" >&2
if ! WRK_OUT=$(timeout "$(step_timeout)" wrk -t 2 -c "$CLIENTS" -d "${WRK_SECONDS}s" --latency \
    "http://127.0.0.1:$MOCK_RPC_PORT/rpc/ping" 2>&1); then
  fail "wrk failed: $WRK_OUT"
fi
echo '```'
echo "$WRK_OUT"
echo '```'
WRK_RPS=$(awk '/^Requests\/sec:/ {print $2}' <<<"$WRK_OUT")
awk -v r="${WRK_RPS:-0}" 'BEGIN { exit !(r > 0) }' || fail "wrk reported no request rate"
if grep -q 'Non-2xx or 3xx responses' <<<"$WRK_OUT"; then fail "mock-rpc answered wrk with errors"; fi
if [ "$SMOKE" != 1 ] && [ -x "$BIN_DIR/mock_fault_layer_bench" ]; then
  echo
  echo "## Fault layer cost per request (FaultTable::evaluate, and the whole per-request hook path)"
  echo
  echo "run_benchmarks: fault layer" >&2
  echo '```'
  timeout "$(step_timeout)" "$BIN_DIR/mock_fault_layer_bench" --benchmark_min_time=0.2 2>/dev/null | grep -E '^(BM_|Benchmark|-)'
  echo '```'
fi
if [ "${#LOW_RATIOS[@]}" -gt 0 ]; then
  if [ "$SMOKE" = 1 ]; then
    printf 'run_benchmarks: %s\n' "${LOW_RATIOS[@]}" >&2
    fail "mock-cache is below $MIN_RATIO of redis-server's rate"
  fi
  printf 'run_benchmarks: note: %s\n' "${LOW_RATIOS[@]}" >&2
fi
echo "run_benchmarks: done in ${SECONDS}s" >&2
