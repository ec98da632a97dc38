#!/usr/bin/env python3
"""Clients for bench/load.sh (stdlib only; talk to the given host only, use 127.0.0.1).

    load_client.py probe HOST PORT [--path /] [--duration S] [--count N] [--gap S] [--timeout S]
    load_client.py slow HOST PORT --conns N [--requests K] [--period S] [--settle S]
                        [--pid PID] [probe options]

probe: one client that sends trivial requests one after the other, each on a new connection
(an unrelated visitor, not one of the loaded connections), waiting GAP seconds between them,
until DURATION has passed or COUNT requests were sent; each request is given up after TIMEOUT
seconds. Prints one JSON object:

    {"sent": n, "answered": a, "median_ms": .., "p99_ms": .., "max_ms": ..}

where a request that failed or timed out counts with the time it took to fail, so a stalled
server shows up in the latencies and in `answered`, never as a fast answer.

slow: N slow readers, then the probe. Each reader connects, writes K pipelined
"GET /demo HTTP/1.1" requests in one write (the rest of it whenever the socket takes more),
and reads 256 bytes every PERIOD seconds, never more. After SETTLE seconds (the server has
read what it could and queued its answers) the probe runs as above while the readers go on.
With --pid, the server's VmRSS is read from /proc before the readers connect and every 0.2 s
after; the JSON gains the readers' figures and "rss_before_kb", "rss_max_kb" and
"rss_growth_per_reader_kb".

Bounded: COUNT and DURATION bound the probe, N and K the readers, and the readers stop when
the probe does.
"""
import argparse
import http.client
import json
import selectors
import socket
import statistics
import threading
import time


def one_request(host, port, path, timeout):
    """(answered, seconds) for one GET on a fresh connection."""
    start = time.monotonic()
    deadline = start + timeout
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request("GET", path, headers={"Connection": "close"})
        conn.sock.settimeout(max(deadline - time.monotonic(), 0.001))
        response = conn.getresponse()
        response.read()
        ok = response.status == 200 and time.monotonic() <= deadline
    except (OSError, http.client.HTTPException):
        ok = False
    finally:
        conn.close()
    return ok, time.monotonic() - start


def probe(host, port, path, duration, count, gap, timeout, stop=None):
    latencies, answered = [], 0
    end = time.monotonic() + duration
    while len(latencies) < count and time.monotonic() < end:
        if stop is not None and stop.is_set():
            break
        ok, seconds = one_request(host, port, path, timeout)
        latencies.append(seconds * 1000.0)
        answered += ok
        time.sleep(gap)
    result = {"sent": len(latencies), "answered": answered}
    if latencies:
        ordered = sorted(latencies)
        p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
        result.update(
            median_ms=round(statistics.median(ordered), 3),
            p99_ms=round(p99, 3),
            max_ms=round(ordered[-1], 3),
        )
    return result


def vm_rss_kb(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def slow(args):
    rss_before = vm_rss_kb(args.pid) if args.pid else None
    rss_max = rss_before
    payload = b"GET /demo HTTP/1.1\r\nHost: x\r\n\r\n" * args.requests
    sel = selectors.DefaultSelector()
    readers = {}  # socket -> bytes still to send
    failed = 0
    for _ in range(args.conns):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(5)
        try:
            s.connect((args.host, args.port))
        except OSError:
            failed += 1
            s.close()
            continue
        s.setblocking(False)
        readers[s] = memoryview(payload)
        sel.register(s, selectors.EVENT_WRITE)
    read_total = closed = 0
    stop = threading.Event()
    outcome = {}

    def run_probe():
        outcome.update(probe(args.host, args.port, args.path, args.duration, args.count,
                             args.gap, args.timeout, stop))

    start = time.monotonic()
    probe_thread = None
    next_read = start + args.period
    hard_end = start + args.settle + args.duration + args.timeout + 5
    while time.monotonic() < hard_end:
        now = time.monotonic()
        if probe_thread is None and now >= start + args.settle:
            probe_thread = threading.Thread(target=run_probe, daemon=True)
            probe_thread.start()
        if probe_thread is not None and not probe_thread.is_alive():
            break
        for key, _ in sel.select(timeout=0.2):
            s = key.fileobj
            try:
                sent = s.send(readers[s])
                readers[s] = readers[s][sent:]
            except BlockingIOError:
                continue
            except OSError:
                readers[s] = memoryview(b"")
            if not readers[s]:
                sel.unregister(s)
        if now >= next_read:
            next_read += args.period
            for s in list(readers):
                if s.fileno() < 0:
                    continue
                try:
                    data = s.recv(256)
                    read_total += len(data)
                    if not data:
                        closed += 1
                        if s in sel.get_map():
                            sel.unregister(s)
                        s.close()
                except BlockingIOError:
                    pass
                except OSError:
                    closed += 1
                    if s in sel.get_map():
                        sel.unregister(s)
                    s.close()
        if args.pid:
            rss = vm_rss_kb(args.pid)
            if rss is not None and (rss_max is None or rss > rss_max):
                rss_max = rss
    stop.set()
    if probe_thread is not None:
        probe_thread.join(args.timeout + 1)
    unsent = sum(len(v) for v in readers.values())
    for s in readers:
        s.close()
    result = dict(outcome)
    result.update(
        readers=args.conns - failed,
        failed_to_connect=failed,
        requests_per_reader=args.requests,
        request_bytes_unsent=unsent,
        bytes_read=read_total,
        closed_by_server=closed,
    )
    if args.pid:
        result.update(rss_before_kb=rss_before, rss_max_kb=rss_max)
        if rss_before is not None and rss_max is not None and args.conns:
            result["rss_growth_per_reader_kb"] = round((rss_max - rss_before) / args.conns, 1)
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("mode", choices=["probe", "slow"])
    parser.add_argument("host")
    parser.add_argument("port", type=int)
    parser.add_argument("--path", default="/")
    parser.add_argument("--duration", type=float, default=8.0)
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--gap", type=float, default=0.01)
    parser.add_argument("--timeout", type=float, default=10.0)
    parser.add_argument("--conns", type=int, default=4)
    parser.add_argument("--requests", type=int, default=20000)
    parser.add_argument("--period", type=float, default=15.0)
    parser.add_argument("--settle", type=float, default=2.0)
    parser.add_argument("--pid", type=int, default=0)
    args = parser.parse_args()
    if args.mode == "probe":
        result = probe(args.host, args.port, args.path, args.duration, args.count, args.gap,
                       args.timeout)
    else:
        result = slow(args)
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
