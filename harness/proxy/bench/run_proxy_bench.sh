#!/usr/bin/env bash
# Bounded side-by-side benchmark: redis-benchmark straight against redis-server and through fault-proxy
# with no fault, for -P 1 and -P 16 (-t get,set -n 100000 -c 50 by default). Each configuration runs
# ROUNDS times, direct and proxied interleaved so machine noise hits both alike; the median round is
# reported. Prints a Markdown table: throughput ratio (proxy / direct) and the latency the proxy adds
# at p50 and p99 (from redis-benchmark --csv).
#
# usage: harness/proxy/bench/run_proxy_bench.sh [BIN_DIR] [ROUNDS] [REQUESTS]
set -euo pipefail

BIN_DIR=${1:-build/bin}
ROUNDS=${2:-3}
REQUESTS=${3:-100000}
CLIENTS=50
PROXY=$BIN_DIR/fault-proxy
for tool in redis-server redis-benchmark; do
  command -v "$tool" >/dev/null || { echo "$tool not found (Debian packages redis-server redis-tools)" >&2; exit 2; }
done
[ -x "$PROXY" ] || { echo "fault-proxy not found at $PROXY (build the fault-proxy target)" >&2; exit 2; }

WORK=$(mktemp -d /tmp/chaos-proxy-bench-XXXXXX)
REDIS_PID= PROXY_PID=
cleanup() {
  for pid in $PROXY_PID $REDIS_PID; do kill "$pid" 2>/dev/null || true; done
  for pid in $PROXY_PID $REDIS_PID; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

# A free port: let the kernel pick one for a listener that exits at once.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null \
  || shuf -i 20000-40000 -n 1; }

deadline_wait() {  # deadline_wait SECONDS COMMAND...: poll until COMMAND succeeds
  local end=$((SECONDS + $1)); shift
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $end ] || return 1
    sleep 0.05
  done
}

REDIS_PORT=$(free_port)
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no --dir "$WORK" --daemonize no \
  --logfile "$WORK/redis.log" &
REDIS_PID=$!
deadline_wait 10 redis-cli -p "$REDIS_PORT" ping || { echo "redis-server did not start" >&2; cat "$WORK/redis.log" >&2; exit 3; }

"$PROXY" --port 0 --control-port 0 --upstream "127.0.0.1:$REDIS_PORT" --seed 1 --name bench >"$WORK/ready" 2>"$WORK/proxy.log" &
PROXY_PID=$!
deadline_wait 10 grep -q '"event":"ready"' "$WORK/ready" || { echo "fault-proxy not ready" >&2; cat "$WORK/proxy.log" >&2; exit 3; }
PROXY_PORT=$(sed -n 's/.*"port":\([0-9]*\),.*/\1/p' "$WORK/ready")

# run PORT PIPELINE -> CSV lines "test,rps,avg,min,p50,p95,p99,max" (quotes stripped)
run() {
  timeout 300 redis-benchmark -h 127.0.0.1 -p "$1" -t get,set -n "$REQUESTS" -c "$CLIENTS" -P "$2" --csv 2>/dev/null \
    | tr -d '"' | grep -E '^(SET|GET),'
}

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }  # utime + stime, in clock ticks
HZ=$(getconf CLK_TCK)
PROXY_TICKS=0 REDIS_TICKS=0 PROXIED_REQUESTS=0
run_proxied() {  # like run, through the proxy, adding up the CPU both processes spend meanwhile
  local p0 r0
  p0=$(cpu_ticks "$PROXY_PID"); r0=$(cpu_ticks "$REDIS_PID")
  run "$PROXY_PORT" "$1"
  PROXY_TICKS=$((PROXY_TICKS + $(cpu_ticks "$PROXY_PID") - p0))
  REDIS_TICKS=$((REDIS_TICKS + $(cpu_ticks "$REDIS_PID") - r0))
  PROXIED_REQUESTS=$((PROXIED_REQUESTS + 2 * REQUESTS))
}

echo "# fault-proxy vs direct redis-server"
echo
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "date: $(date -u '+%Y-%m-%d %H:%M UTC'); redis $(redis-server --version | sed -n 's/.*v=\([^ ]*\).*/\1/p');" \
     "redis-benchmark -t get,set -n $REQUESTS -c $CLIENTS; median of $ROUNDS interleaved rounds"
echo
echo "| test | -P | direct rps | proxy rps | ratio | direct p50 ms | proxy p50 ms | added p50 µs | direct p99 ms | proxy p99 ms | added p99 µs |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
for P in 1 16; do
  : >"$WORK/direct.csv"; : >"$WORK/proxy.csv"
  for ((r = 0; r < ROUNDS; r++)); do
    run "$REDIS_PORT" "$P" >>"$WORK/direct.csv"
    run_proxied "$P" >>"$WORK/proxy.csv"
  done
  for T in SET GET; do
    col() { grep "^$T," "$1" | cut -d, -f"$2" | median; }
    d_rps=$(col "$WORK/direct.csv" 2); p_rps=$(col "$WORK/proxy.csv" 2)
    d50=$(col "$WORK/direct.csv" 5);  p50=$(col "$WORK/proxy.csv" 5)
    d99=$(col "$WORK/direct.csv" 7);  p99=$(col "$WORK/proxy.csv" 7)
    awk -v t="$T" -v P="$P" -v dr="$d_rps" -v pr="$p_rps" -v d50="$d50" -v p50="$p50" -v d99="$d99" -v p99="$p99" \
      'BEGIN { printf "| %s | %s | %.0f | %.0f | %.2fx | %.3f | %.3f | %.0f | %.3f | %.3f | %.0f |\n",
               t, P, dr, pr, pr / dr, d50, p50, (p50 - d50) * 1000, d99, p99, (p99 - d99) * 1000 }'
  done
done

# One client, one request at a time: the latency the proxy adds per round trip, without queueing.
: >"$WORK/direct1.csv"; : >"$WORK/proxy1.csv"
for ((r = 0; r < ROUNDS; r++)); do
  timeout 300 redis-benchmark -h 127.0.0.1 -p "$REDIS_PORT" -t get -n $((REQUESTS / 5)) -c 1 --csv 2>/dev/null | tr -d '"' | grep '^GET,' >>"$WORK/direct1.csv"
  timeout 300 redis-benchmark -h 127.0.0.1 -p "$PROXY_PORT" -t get -n $((REQUESTS / 5)) -c 1 --csv 2>/dev/null | tr -d '"' | grep '^GET,' >>"$WORK/proxy1.csv"
done
col1() { cut -d, -f"$2" "$1" | median; }
awk -v dr="$(col1 "$WORK/direct1.csv" 2)" -v pr="$(col1 "$WORK/proxy1.csv" 2)" \
    -v d50="$(col1 "$WORK/direct1.csv" 5)" -v p50="$(col1 "$WORK/proxy1.csv" 5)" \
    -v d99="$(col1 "$WORK/direct1.csv" 7)" -v p99="$(col1 "$WORK/proxy1.csv" 7)" \
  'BEGIN { printf "| GET, 1 client | 1 | %.0f | %.0f | %.2fx | %.3f | %.3f | %.0f | %.3f | %.3f | %.0f |\n",
           dr, pr, pr / dr, d50, p50, (p50 - d50) * 1000, d99, p99, (p99 - d99) * 1000 }'
echo
awk -v pt="$PROXY_TICKS" -v rt="$REDIS_TICKS" -v hz="$HZ" -v n="$PROXIED_REQUESTS" \
  'BEGIN { printf "CPU during the proxied -c %d runs: fault-proxy %.2f µs per request, redis-server %.2f µs per request (user + system; ratio %.2f)\n",
           '"$CLIENTS"', pt / hz / n * 1e6, rt / hz / n * 1e6, (rt > 0 ? pt / rt : 0) }'
echo
echo "proxy stats after the runs: $(curl -s "127.0.0.1:$(sed -n 's/.*"control_port":\([0-9]*\),.*/\1/p' "$WORK/ready")/stats" 2>/dev/null || echo unavailable)"
