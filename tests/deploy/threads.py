#!/usr/bin/env python3
"""Sample the threads of the lb.sh instances: what each one ran and waited for a CPU.

    tests/deploy/threads.py record SECONDS OUT   # every 50 ms, for at most SECONDS
    tests/deploy/threads.py worst OUT [N]        # the N samples with the longest CPU waits

lb.sh runs `record` during each phase when LB_THREADS=1 (the file lands in LB_KEEP's copy).
Each line of OUT is one process at one moment: the time, the pid, then per thread
`tid:state:cpu:ran_ns,waited_ns,timeslices:wchan` from /proc/PID/task/TID/{stat,schedstat,
wchan}. `waited_ns` is the kernel's run_delay: time runnable but not running, added when a
wait ends. A thread in state R whose `ran_ns` does not move while `waited_ns` jumps was
starved of its CPU (what the stalls of docs/deploy.md's finding were).
"""
import os
import re
import sys
import time

INSTANCE = re.compile(rb'hello[^\x00]*\x00-b\x00127\.0\.0\.[234]\x00')


def record(seconds, out_path):
    end = time.time() + seconds
    with open(out_path, 'w') as out:
        while time.time() < end:
            now = time.time()
            for pid in filter(str.isdigit, os.listdir('/proc')):
                try:
                    with open(f'/proc/{pid}/cmdline', 'rb') as f:
                        if not INSTANCE.search(f.read()):
                            continue
                    parts = [f'{now:.3f}', pid]
                    for tid in os.listdir(f'/proc/{pid}/task'):
                        base = f'/proc/{pid}/task/{tid}'
                        try:
                            with open(f'{base}/stat') as f:
                                stat = f.read()
                            fields = stat[stat.rindex(')') + 2:].split()
                            with open(f'{base}/schedstat') as f:
                                ran, waited, slices = f.read().split()[:3]
                            with open(f'{base}/wchan') as f:
                                wchan = f.read() or '-'
                        except (OSError, ValueError):
                            continue
                        parts.append(f'{tid}:{fields[0]}:{fields[36]}:{ran},{waited},{slices}:{wchan}')
                    out.write(' '.join(parts) + '\n')
                except OSError:
                    continue
            out.flush()
            time.sleep(0.05)


def worst(path, n):
    previous, rows = {}, []
    with open(path) as f:
        for line in f:
            parts = line.split()
            at, pid = float(parts[0]), parts[1]
            for thread in parts[2:]:
                tid, state, cpu, times, _ = thread.split(':', 4)
                ran, waited, _ = map(int, times.split(','))
                key = (pid, tid)
                if key in previous:
                    p_at, p_ran, p_waited, p_state = previous[key]
                    rows.append(((waited - p_waited) / 1e6, (ran - p_ran) / 1e6, at - p_at,
                                 pid, tid, p_state + '>' + state, cpu, at))
                previous[key] = (at, ran, waited, state)
    rows.sort(reverse=True)
    for row in rows[:n]:
        print('waited +%.0f ms, ran +%.1f ms, in %.2f s: pid %s thread %s %s, cpu %s, at %.3f' % row)


if __name__ == '__main__':
    if len(sys.argv) >= 4 and sys.argv[1] == 'record':
        record(float(sys.argv[2]), sys.argv[3])
    elif len(sys.argv) >= 3 and sys.argv[1] == 'worst':
        worst(sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 12)
    else:
        sys.exit(__doc__)
