#!/usr/bin/env python3
"""Summarise a bench/gateway.sh run: per row and scenario the median req/s with its spread
(min-max over the rounds), the median p99 latency, the errors, and the CPU time of nginx plus
the backend per request; then the issue's goals, from the same medians:

  each of ours (HTTP, FastCGI, SCGI, uwsgi) >= 5x gunicorn + nginx (the better of sync and
  gthread) and >= 1.5x uWSGI + nginx; the best of ours >= 0.6x nginx's static file.

usage: gateway_report.py GATEWAY_CSV
"""
import csv
import statistics
import sys

ROWS = [
    ("static", "nginx static file (ceiling)"),
    ("ours-http", "ours, HTTP, keepalive upstream"),
    ("ours-fastcgi", "ours, FastCGI, keep-conn"),
    ("ours-scgi", "ours, SCGI"),
    ("ours-uwsgi", "ours, uwsgi"),
    ("uwsgi", "uWSGI (2 proc x 2 thr), uwsgi_pass"),
    ("gunicorn-sync", "gunicorn sync (5 workers)"),
    ("gunicorn-gthread", "gunicorn gthread (2 x 4)"),
    ("floor-uwsgi", "floor: canned uwsgi responder (C)"),
]
OURS = ["ours-http", "ours-fastcgi", "ours-scgi", "ours-uwsgi"]


def number(text):
    try:
        return float(text)
    except ValueError:
        return None


def main():
    runs = {}
    scenarios = []
    with open(sys.argv[1], newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            key = (row["server"], row["scenario"])
            runs.setdefault(key, []).append(row)
            if row["scenario"] not in scenarios:
                scenarios.append(row["scenario"])

    print(f"{'row':<38} {'scen':>4} {'req/s':>9} {'min-max':>17} {'p99 ms':>8} "
          f"{'errors':>6} {'cpu us/req':>10}")
    medians = {}
    for scenario in scenarios:
        for name, label in ROWS:
            rows = runs.get((name, scenario))
            if not rows:
                continue
            rps = [number(r["req_per_s"]) for r in rows]
            good = [v for v in rps if v is not None]
            p99 = [v for v in (number(r["p99_ms"]) for r in rows) if v is not None]
            cpu = [v for v in (number(r["cpu_us_per_req"]) for r in rows) if v is not None]
            errors = sum(int(r["errors"] or 0) for r in rows)
            med = statistics.median(good) if good else None
            medians[(name, scenario)] = med
            spread = f"{min(good):.0f}-{max(good):.0f}" if good else "-"
            print(f"{label:<38} {scenario:>4} {med or 0:>9.0f} {spread:>17} "
                  f"{statistics.median(p99) if p99 else float('nan'):>8.2f} {errors:>6} "
                  f"{statistics.median(cpu) if cpu else float('nan'):>10.1f}"
                  + ("  <- ERRORS: this row's figures do not count" if errors else ""))
        print()

    print("goals (ratios of medians):")
    for scenario in scenarios:
        def m(name):
            return medians.get((name, scenario))

        gunicorn = max((v for v in (m("gunicorn-sync"), m("gunicorn-gthread")) if v), default=None)
        uwsgi, static = m("uwsgi"), m("static")
        best = None
        for name in OURS:
            ours = m(name)
            if not ours:
                continue
            best = max(best or 0, ours)
            parts = []
            if gunicorn:
                ratio = ours / gunicorn
                parts.append(f"{ratio:.1f}x gunicorn ({'met' if ratio >= 5 else 'NOT met'}, goal 5x)")
            if uwsgi:
                ratio = ours / uwsgi
                parts.append(f"{ratio:.2f}x uWSGI ({'met' if ratio >= 1.5 else 'NOT met'}, goal 1.5x)")
            print(f"  {scenario} {name:<13} " + "; ".join(parts))
        if best and static:
            ratio = best / static
            print(f"  {scenario} best of ours: {ratio:.2f}x static "
                  f"({'met' if ratio >= 0.6 else 'NOT met'}, goal 0.6x)")
        floor = m("floor-uwsgi")
        if floor:
            parts = [f"{floor / v:.2f}x {what}" for what, v in (("gunicorn", gunicorn), ("uWSGI", uwsgi)) if v]
            print(f"  {scenario} floor-uwsgi (no application at all): " + "; ".join(parts)
                  + ": the most any SCGI or uwsgi backend reaches behind this nginx")


if __name__ == "__main__":
    main()
