#!/usr/bin/env python3
"""Turn one wrk report into a CSV row of bench/run.sh's results.

usage: parse_wrk.py WRK_OUTPUT ROUND SCENARIO SERVER CPU_TICKS CLK_TCK

Columns: round, scenario, server, requests, seconds, req_per_s, p99_ms, errors (socket
errors plus non-2xx/3xx responses), cpu_us_per_req (server utime+stime over the run divided by
the completed requests). A run that completed nothing gets empty figures rather than zeros, so
a missing measurement never looks like a slow one.
"""
import re
import sys

UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def main():
    path, rnd, scenario, server, ticks, clk_tck = sys.argv[1:7]
    text = open(path, encoding="utf-8", errors="replace").read()
    done = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m),", text)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", text)
    p99 = re.search(r"^\s*99%\s+([\d.]+)(us|ms|s|m)\s*$", text, re.M)
    errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", text))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    if non2xx:
        errors += int(non2xx.group(1))
    if not done or int(done.group(1)) == 0 or not rps:
        print(f"{rnd},{scenario},{server},0,,,,{errors},")
        sys.stderr.write(f"wrk against {server} ({scenario}) completed nothing:\n{text}\n")
        return
    requests = int(done.group(1))
    seconds = float(done.group(2)) * UNITS[done.group(3)] / 1000.0
    p99_ms = float(p99.group(1)) * UNITS[p99.group(2)] if p99 else float("nan")
    cpu_us = int(ticks) / int(clk_tck) * 1e6 / requests
    print(f"{rnd},{scenario},{server},{requests},{seconds:.2f},{float(rps.group(1)):.0f},"
          f"{p99_ms:.3f},{errors},{cpu_us:.2f}")


if __name__ == "__main__":
    main()
