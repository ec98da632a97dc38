#!/usr/bin/env python3
"""Slowloris clients for bench/slowloris.sh: N connections that each send a request head one
piece at a time, never finishing it, and a record of when and how the server ends each one.

    slowloris.py HOST PORT [--conns N] [--interval S] [--duration S] [--ready FILE]

Every connection sends "GET /slow HTTP/1.1\\r\\nHost: x\\r\\n" at once, then one byte of an
endless header line every INTERVAL seconds, until the server closes it or DURATION runs out.
When all connections are open, FILE (if given) is created, so a caller can start its load at
the right moment. At the end one JSON object goes to stdout:

    {"opened": N, "failed_to_open": k, "closed_by_server": c, "still_open": o,
     "answered": {"408": c, ...}, "close_after_first_byte_s": [sorted seconds, ...]}

Bounded in time (DURATION) and count (N); talks to the given host only (use 127.0.0.1).
"""

import argparse
import json
import selectors
import socket
import sys
import time


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("host")
    parser.add_argument("port", type=int)
    parser.add_argument("--conns", type=int, default=500)
    parser.add_argument("--interval", type=float, default=2.0)
    parser.add_argument("--duration", type=float, default=15.0)
    parser.add_argument("--ready", default=None)
    args = parser.parse_args()

    sel = selectors.DefaultSelector()
    conns = {}  # socket -> state
    failed = 0
    for _ in range(args.conns):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(5)
        try:
            s.connect((args.host, args.port))
            s.sendall(b"GET /slow HTTP/1.1\r\nHost: x\r\n")
        except OSError:
            failed += 1
            s.close()
            continue
        s.setblocking(False)
        now = time.monotonic()
        conns[s] = {"first": now, "next": now + args.interval, "closed": None, "status": None}
        sel.register(s, selectors.EVENT_READ)
    if args.ready:
        open(args.ready, "w").close()

    deadline = time.monotonic() + args.duration
    trickle = b"X-Slow: " + b"a" * 4096  # never ends with CRLF within the run
    sent = {s: 0 for s in conns}
    while time.monotonic() < deadline and any(c["closed"] is None for c in conns.values()):
        timeout = max(0.0, min(0.05, deadline - time.monotonic()))
        for key, _ in sel.select(timeout):
            s = key.fileobj
            state = conns[s]
            try:
                data = s.recv(4096)
            except BlockingIOError:
                continue
            except OSError:
                data = b""
            if data:
                if state["status"] is None and data.startswith(b"HTTP/1."):
                    state["status"] = data[9:12].decode("ascii", "replace")
                continue
            state["closed"] = time.monotonic()
            sel.unregister(s)
        now = time.monotonic()
        for s, state in conns.items():
            if state["closed"] is None and now >= state["next"]:
                state["next"] = now + args.interval
                i = sent[s]
                if i < len(trickle):
                    try:
                        s.send(trickle[i : i + 1])
                        sent[s] = i + 1
                    except OSError:
                        state["closed"] = now
                        sel.unregister(s)

    answered = {}
    after = []
    for s, state in conns.items():
        if state["closed"] is not None:
            after.append(round(state["closed"] - state["first"], 3))
            answered[state["status"] or "none"] = answered.get(state["status"] or "none", 0) + 1
        s.close()
    print(
        json.dumps(
            {
                "opened": len(conns),
                "failed_to_open": failed,
                "closed_by_server": len(after),
                "still_open": len(conns) - len(after),
                "answered": answered,
                "close_after_first_byte_s": sorted(after),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
