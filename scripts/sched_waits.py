#!/usr/bin/env python3
"""How long PostgreSQL processes waited for a CPU, from a tracefs text dump (scripts/sched_trace.sh).

For every wake-up or preemption of a process named `postgres`, the time until it next ran. Backends
(processes that read a client socket, seen as sys_recvfrom) are listed apart from PostgreSQL's other
processes. Usage: sched_waits.py TRACE.txt [COMM]  (COMM defaults to postgres)
"""
import re
import sys

SWITCH = re.compile(r'\[(\d+)\] \S+ (\d+\.\d+): sched_switch: prev_comm=(.*?) prev_pid=(\d+) prev_prio=\d+ '
                    r'prev_state=(\S+) ==> next_comm=(.*?) next_pid=(\d+)')
WAKEUP = re.compile(r'\[(\d+)\] \S+ (\d+\.\d+): sched_wakeup: comm=(.*?) pid=(\d+)')


def main():
    path = sys.argv[1]
    comm = sys.argv[2] if len(sys.argv) > 2 else 'postgres'
    reads = re.compile(r'^\s*' + re.escape(comm) + r'-(\d+)\s.*sys_recvfrom')
    ready = {}  # pid -> (since, why, cpu)
    readers = set()
    waits = []
    with open(path, errors='replace') as f:
        for line in f:
            m = reads.match(line)
            if m:
                readers.add(int(m.group(1)))
                continue
            m = SWITCH.search(line)
            if m:
                t, prev, state, nxt = float(m.group(2)), int(m.group(4)), m.group(5), int(m.group(7))
                if state.startswith('R') and m.group(3) == comm:
                    ready[prev] = (t, 'preempted', m.group(1))
                else:
                    ready.pop(prev, None)
                if nxt in ready and m.group(6) == comm:
                    since, why, cpu = ready.pop(nxt)
                    waits.append((t - since, since, nxt, why, cpu))
                continue
            m = WAKEUP.search(line)
            if m and m.group(3) == comm:
                pid = int(m.group(4))
                ready.setdefault(pid, (float(m.group(2)), 'woken', m.group(1)))
    groups = (('backends', [w for w in waits if w[2] in readers]), ('other', [w for w in waits if w[2] not in readers]))
    for name, v in groups:
        if not v:
            print(name, 'none')
            continue
        v.sort()
        n = len(v)
        print('%s: %d waits, p50 %.2f ms, p99 %.2f ms, p99.9 %.2f ms, max %.1f ms' %
              (name, n, v[n // 2][0] * 1e3, v[int(n * .99)][0] * 1e3, v[int(n * .999)][0] * 1e3, v[-1][0] * 1e3))
        for w in v[-5:]:
            print('    %.1f ms from %.6f s, pid %d, %s, cpu %s' % (w[0] * 1e3, w[1], w[2], w[3], w[4]))


if __name__ == '__main__':
    main()
