#!/bin/bash
# Records the kernel scheduler's view of a command's run: wake-ups and context switches of the
# processes named postgres, fault-proxy and gateway, and their socket reads and writes, into a tracefs
# text dump; then prints how long PostgreSQL's processes waited for a CPU (scripts/sched_waits.py).
# Root only. Usage: scripts/sched_trace.sh OUT_DIR -- COMMAND...
# Example (how docs/RELIABILITY.md "Session 10" found the stall):
#   stress-ng --cpu 2 --timeout 10m --quiet & scripts/sched_trace.sh /tmp/trace -- \
#     build/bin/chaos-harness run --repeat 20 --quiet --report-dir /tmp/trace/out scenarios/real/redis-latency-past-read-timeout.json
set -euo pipefail
out=$1; shift
[ "${1:-}" = "--" ] && shift
[ $# -gt 0 ] || { echo "usage: $0 OUT_DIR -- COMMAND..." >&2; exit 2; }
T=/sys/kernel/tracing
[ -e $T/trace ] || mount -t tracefs nodev $T
mkdir -p "$out"
comms='comm == "postgres" || comm == "fault-proxy" || comm == "gateway"'
cleanup() {
  echo 0 > $T/tracing_on
  for e in sched/sched_switch sched/sched_wakeup syscalls/sys_enter_sendto syscalls/sys_enter_sendmsg \
           syscalls/sys_exit_recvfrom syscalls/sys_exit_recvmsg syscalls/sys_enter_recvfrom; do
    echo 0 > $T/events/$e/enable
    echo 0 > $T/events/$e/filter
  done
}
trap cleanup EXIT
echo 0 > $T/tracing_on
echo > $T/trace
echo mono > $T/trace_clock
echo 120000 > $T/buffer_size_kb
echo 'prev_comm == "postgres" || next_comm == "postgres" || prev_comm == "fault-proxy" || next_comm == "fault-proxy" || prev_comm == "gateway" || next_comm == "gateway"' \
  > $T/events/sched/sched_switch/filter
echo "$comms" > $T/events/sched/sched_wakeup/filter
for e in sys_enter_sendto sys_enter_sendmsg sys_exit_recvfrom sys_exit_recvmsg sys_enter_recvfrom; do
  echo "$comms" > $T/events/syscalls/$e/filter
done
for e in sched/sched_switch sched/sched_wakeup syscalls/sys_enter_sendto syscalls/sys_enter_sendmsg \
         syscalls/sys_exit_recvfrom syscalls/sys_exit_recvmsg syscalls/sys_enter_recvfrom; do
  echo 1 > $T/events/$e/enable
done
echo "WALL $(date +%s.%N) (trace clock: CLOCK_MONOTONIC)" > $T/trace_marker
echo 1 > $T/tracing_on
rc=0
"$@" || rc=$?
echo "WALL $(date +%s.%N)" > $T/trace_marker
echo 0 > $T/tracing_on
cat $T/trace > "$out/trace.txt"
grep -h "overrun" $T/per_cpu/cpu*/stats | sed 's/^/trace buffer /'
python3 "$(dirname "$0")/sched_waits.py" "$out/trace.txt" | tee "$out/waits.txt"
exit $rc
