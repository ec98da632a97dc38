#!/usr/bin/env python3
"""Summarise bench/load.sh results as markdown tables: medians over the rounds (for the mixed
load's maximum latency, the worst round), with the goals checked against the anchors (hyper
with spawn_blocking, granian).

usage: load_report.py [--blocking CSV] [--mixed CSV] [--slow CSV]

The hello-world part is summarised by bench/report.py (bench/run.sh prints it).
"""
import argparse
import csv
import statistics

LABELS = {
    "ours": "ours, `make_server` defaults",
    "hyper-sb": "hyper + spawn_blocking",
    "hyper-inline": "hyper, sleep in the async fn",
    "granian": "granian, defaults",
    "waitress": "waitress, defaults",
    "gunicorn": "gunicorn gthread 2×32",
}
ORDER = list(LABELS)


def number(text):
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def fmt(value, spec, unit=""):
    return "n/a" if value is None else format(value, spec) + unit


def ms(value):
    """A latency in ms, printed in the unit that reads best."""
    if value is None:
        return "n/a"
    if value >= 1000:
        return f"{value / 1000:.1f} s"
    if value >= 10:
        return f"{value:.0f} ms"
    return f"{value:.1f} ms"


def rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def servers_in(table):
    names = {row["server"] for row in table}
    return [s for s in ORDER if s in names] + sorted(names - set(ORDER))


def blocking_and_mixed(blocking, mixed):
    rps = {}
    errors = {}
    for row in blocking:
        key = (row["server"], row["scenario"])
        rps.setdefault(key, []).append(number(row["req_per_s"]))
        errors[row["server"]] = errors.get(row["server"], 0) + int(row["errors"] or 0)
    lat = {}
    for row in mixed:
        cell = lat.setdefault(row["server"], {"median": [], "max": [], "bg": [], "lost": 0})
        cell["median"].append(number(row["median_ms"]))
        cell["max"].append(number(row["max_ms"]))
        cell["bg"].append(number(row["bg_req_per_s"]))
        cell["lost"] += int(row["sent"] or 0) - int(row["answered"] or 0)
    servers = servers_in(blocking + mixed)
    lines = [
        "| server | c=16 req/s | × ideal | c=64 req/s | × ideal | mixed: trivial request, "
        "median / max | per round: median | mixed: unanswered | mixed: /sleep200 req/s "
        "(ideal 80) | wrk errors |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    medians = {}
    for server in servers:
        r16 = median(rps.get((server, "c16"), []))
        r64 = median(rps.get((server, "c64"), []))
        m = lat.get(server, {"median": [], "max": [], "bg": [], "lost": None})
        # The median of the rounds' medians, and the worst of their maxima: a stall that
        # happens in one round out of three is still a stall.
        med = median(m["median"])
        mx = max((v for v in m["max"] if v is not None), default=None)
        medians[server] = (r16, r64, med, mx)
        lines.append(
            f"| {LABELS.get(server, server)} | {fmt(r16, ',.0f')} "
            f"| {fmt(r16 / 1600 if r16 else None, '.2f')} | {fmt(r64, ',.0f')} "
            f"| {fmt(r64 / 6400 if r64 else None, '.2f')} | {ms(med)} / {ms(mx)} "
            f"| {', '.join(ms(v) for v in m['median']) or 'n/a'} "
            f"| {'n/a' if m['lost'] is None else m['lost']} | {fmt(median(m['bg']), ',.0f')} "
            f"| {errors.get(server, 'n/a')} |"
        )
    print("\n".join(lines))
    print()
    ours = medians.get("ours")
    for anchor in ("hyper-sb", "granian"):
        base = medians.get(anchor)
        if not ours or not base:
            continue
        parts = []
        for i, scenario in ((0, "c=16"), (1, "c=64")):
            if ours[i] and base[i]:
                parts.append(f"{scenario} {ours[i] / base[i]:.2f}×")
        print(f"ours ÷ {LABELS[anchor]}: " + ", ".join(parts) + " (goal ≥ 1.0×)")
    base = medians.get("hyper-sb")
    if ours and base and None not in (ours[2], ours[3], base[2], base[3]):
        met = ours[2] <= base[2] and ours[3] <= base[3]
        print(f"mixed: ours {ms(ours[2])} / {ms(ours[3])} vs hyper + spawn_blocking "
              f"{ms(base[2])} / {ms(base[3])}: goal (≤ both) {'met' if met else 'NOT met'}")


def slow_readers(slow):
    cells = {}
    for row in slow:
        cell = cells.setdefault((row["server"], int(row["readers"])), {
            "sent": 0, "answered": 0, "p99": [], "max": [], "rss": [], "dead": 0})
        cell["sent"] += int(row["sent"] or 0)
        cell["answered"] += int(row["answered"] or 0)
        cell["p99"].append(number(row["p99_ms"]))
        cell["max"].append(number(row["max_ms"]))
        cell["rss"].append(number(row["rss_growth_per_reader_kb"]))
        cell["dead"] += row["alive_after"] != "yes"
    lines = [
        "| server | slow readers | probe answered (all rounds) | probe p99 | probe max "
        "| RSS growth per reader | server died |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for server in servers_in(slow):
        for n in sorted({n for s, n in cells if s == server}):
            c = cells[(server, n)]
            lines.append(
                f"| {LABELS.get(server, server)} | {n} | {c['answered']} of {c['sent']} "
                f"| {ms(median(c['p99']))} | {ms(median(c['max']))} "
                f"| {fmt(median(c['rss']), ',.0f', ' KB')} | {c['dead']} |"
            )
    print("\n".join(lines))
    print()
    for n in sorted({n for s, n in cells if s == "ours"}):
        c = cells[("ours", n)]
        p99, rss = median(c["p99"]), median(c["rss"])
        met = (c["sent"] > 0 and c["answered"] == c["sent"] and p99 is not None and p99 <= 50
               and rss is not None and rss <= 300)
        print(f"slow readers, N={n}: goal (every probe answered, p99 ≤ 50 ms, ≤ 300 KB per "
              f"reader) {'met' if met else 'NOT met'}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--blocking")
    parser.add_argument("--mixed")
    parser.add_argument("--slow")
    args = parser.parse_args()
    if args.blocking or args.mixed:
        blocking_and_mixed(rows(args.blocking) if args.blocking else [],
                           rows(args.mixed) if args.mixed else [])
    if args.slow:
        if args.blocking or args.mixed:
            print()
        slow_readers(rows(args.slow))


if __name__ == "__main__":
    main()
