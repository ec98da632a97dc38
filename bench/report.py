#!/usr/bin/env python3
"""Summarise bench/run.sh results: medians per server and scenario, ratios against hyper,
the 1 GiB download against nginx, and bench/chart.svg (hand-written SVG: no plotting library
is assumed on the machine).

usage: report.py HELLO_CSV [DOWNLOAD_CSV] [--chart PATH]
"""
import csv
import html
import statistics
import sys
from pathlib import Path

SERVERS = ["ours", "pinned", "unpinned", "hyper", "tiny", "python"]
LABELS = {
    "ours": "wsgiref hello",
    "pinned": "wsgiref hello, pinned, not steered",
    "unpinned": "wsgiref hello, workers unpinned",
    "hyper": "hyper 1.x",
    "tiny": "tiny_http",
    "python": "Python wsgiref",
}
COLORS = {"ours": "#d9480f", "pinned": "#e8590c", "unpinned": "#f08c00", "hyper": "#1c7ed6", "tiny": "#37b24d", "python": "#868e96"}
SCENARIOS = [
    ("ka8", "keep-alive, 8 conns"),
    ("ka64", "keep-alive, 64 conns"),
    ("close8", "Connection: close, 8 conns"),
]


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def number(text):
    try:
        return float(text)
    except ValueError:
        return None


def load_hello(path):
    """{(scenario, server): {"rps": [...], "p99": [...], "cpu": [...], "errors": [...]}}"""
    table = {}
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            cell = table.setdefault(
                (row["scenario"], row["server"]),
                {"rps": [], "p99": [], "cpu": [], "errors": []},
            )
            cell["rps"].append(number(row["req_per_s"]))
            cell["p99"].append(number(row["p99_ms"]))
            cell["cpu"].append(number(row["cpu_us_per_req"]))
            cell["errors"].append(int(row["errors"] or 0))
    return table


def fmt(value, spec):
    return "n/a" if value is None else format(value, spec)


def hello_table(table):
    servers = [s for s in SERVERS if any((sc, s) in table for sc, _ in SCENARIOS)]
    lines = [
        "| scenario | server | req/s (median) | × hyper | × Python | p99 latency (median) | CPU µs/request (median) | × hyper CPU | errors (all rounds) |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    medians = {}
    for scenario, title in SCENARIOS:
        base = table.get((scenario, "hyper"))
        base_rps = median(base["rps"]) if base else None
        base_cpu = median(base["cpu"]) if base else None
        python = table.get((scenario, "python"))
        python_rps = median(python["rps"]) if python else None
        for server in servers:
            cell = table.get((scenario, server))
            if not cell:
                continue
            rps, p99, cpu = median(cell["rps"]), median(cell["p99"]), median(cell["cpu"])
            medians[(scenario, server)] = (rps, cpu)
            ratio = rps / base_rps if rps and base_rps else None
            cpu_ratio = cpu / base_cpu if cpu and base_cpu else None
            vs_python = rps / python_rps if rps and python_rps else None
            lines.append(
                f"| {title} | {LABELS[server]} | {fmt(rps, ',.0f')} | {fmt(ratio, '.2f')} "
                f"| {fmt(vs_python, '.1f')} "
                f"| {fmt(p99, '.2f')} ms | {fmt(cpu, '.1f')} | {fmt(cpu_ratio, '.2f')} "
                f"| {sum(cell['errors'])} |"
            )
    return "\n".join(lines), medians, servers


def paired_table(path, server="ours", anchor="hyper"):
    """Per-round ratios of `server` to `anchor`. The two ran back to back in the same round,
    so a drift of the machine between rounds (the main noise on shared virtual machines)
    moves both alike: the paired ratio is steadier than a ratio of medians."""
    rounds = {}
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            rounds.setdefault((row["scenario"], row["round"]), {})[row["server"]] = (
                number(row["req_per_s"]),
                number(row["cpu_us_per_req"]),
            )
    lines = [
        f"| scenario | req/s {server} ÷ {anchor}, per round | median | rounds ≥ 1.0 "
        f"| CPU/request {server} ÷ {anchor}, per round | median | rounds ≤ 1.0 |",
        "|---|---|---:|---:|---|---:|---:|",
    ]
    for scenario, title in SCENARIOS:
        rps, cpu = [], []
        for (sc, _), cells in sorted(rounds.items(), key=lambda kv: int(kv[0][1])):
            if sc != scenario or server not in cells or anchor not in cells:
                continue
            (r1, c1), (r0, c0) = cells[server], cells[anchor]
            if r1 and r0:
                rps.append(r1 / r0)
            if c1 and c0:
                cpu.append(c1 / c0)
        if not rps:
            continue
        lines.append(
            f"| {title} | {' '.join(f'{v:.2f}' for v in rps)} | {median(rps):.2f} "
            f"| {sum(v >= 1.0 for v in rps)} of {len(rps)} "
            f"| {' '.join(f'{v:.2f}' for v in cpu)} | {fmt(median(cpu), '.2f')} "
            f"| {sum(v <= 1.0 for v in cpu)} of {len(cpu)} |"
        )
    return "\n".join(lines) if len(lines) > 2 else None


def download_table(path):
    speeds = {}
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            if row["status"] != "200" or int(row["bytes"]) != 2**30:
                # An error page is fast and tiny: never let it pass for a download.
                sys.exit(f"incomplete download in {path}: {row}")
            speeds.setdefault(row["server"], []).append(float(row["bytes_per_s"]))
    lines = ["| server | MiB/s per round | median MiB/s | × nginx |", "|---|---|---:|---:|"]
    nginx = median(speeds.get("nginx", []))
    for server in ["serve", "nginx"]:
        if server not in speeds:
            continue
        rounds = ", ".join(f"{v / 2**20:,.0f}" for v in speeds[server])
        m = median(speeds[server])
        ratio = m / nginx if nginx else None
        label = "wsgiref `serve`" if server == "serve" else "nginx (sendfile on)"
        lines.append(f"| {label} | {rounds} | {m / 2**20:,.0f} | {fmt(ratio, '.2f')} |")
    return "\n".join(lines)


def nice_max(value):
    """A round axis maximum at or above `value`."""
    if not value or value <= 0:
        return 1.0
    step = 10 ** (len(str(int(value))) - 1)
    for mult in (1, 2, 2.5, 5, 10):
        if mult * step >= value:
            return mult * step
    return 10 * step


def panel(x0, y0, width, height, title, unit, values, servers, spec):
    """One grouped bar chart: a group per scenario, a bar per server."""
    out = []
    top = nice_max(max((v for v in values.values() if v), default=1))
    out.append(
        f'<text x="{x0 + width / 2}" y="{y0 - 12}" text-anchor="middle" '
        f'font-size="15" font-weight="bold">{html.escape(title)}</text>'
    )
    for i in range(5):
        value = top * i / 4
        y = y0 + height - height * i / 4
        out.append(
            f'<line x1="{x0}" y1="{y:.1f}" x2="{x0 + width}" y2="{y:.1f}" stroke="#dee2e6"/>'
        )
        out.append(
            f'<text x="{x0 - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11">'
            f"{format(value, spec)}</text>"
        )
    out.append(
        f'<text x="{x0 - 48}" y="{y0 + height / 2}" font-size="11" text-anchor="middle" '
        f'transform="rotate(-90 {x0 - 48} {y0 + height / 2})">{html.escape(unit)}</text>'
    )
    group_w = width / len(SCENARIOS)
    bar_w = group_w * 0.8 / max(len(servers), 1)
    for g, (scenario, title) in enumerate(SCENARIOS):
        gx = x0 + g * group_w + group_w * 0.1
        for b, server in enumerate(servers):
            value = values.get((scenario, server))
            if value is None:
                continue
            h = height * value / top
            x = gx + b * bar_w
            y = y0 + height - h
            out.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w - 2:.1f}" height="{h:.1f}" '
                f'fill="{COLORS[server]}"><title>{html.escape(LABELS[server])}: '
                f"{format(value, spec)} {html.escape(unit)}</title></rect>"
            )
            out.append(
                f'<text x="{x + (bar_w - 2) / 2:.1f}" y="{y - 3:.1f}" text-anchor="middle" '
                f'font-size="9">{format(value, spec)}</text>'
            )
        out.append(
            f'<text x="{gx + group_w * 0.4:.1f}" y="{y0 + height + 16}" text-anchor="middle" '
            f'font-size="11">{html.escape(title)}</text>'
        )
    out.append(
        f'<line x1="{x0}" y1="{y0 + height}" x2="{x0 + width}" y2="{y0 + height}" stroke="#495057"/>'
    )
    return out


def chart(medians, servers, path):
    width, height = 1100, 430
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
    ]
    rps = {k: v[0] for k, v in medians.items() if v[0] is not None}
    cpu = {k: v[1] for k, v in medians.items() if v[1] is not None}
    parts += panel(80, 50, 440, 300, "Requests per second (median, higher is better)",
                   "req/s", rps, servers, ",.0f")
    parts += panel(630, 50, 440, 300, "Server CPU per request (median, lower is better)",
                   "µs of utime+stime", cpu, servers, ".1f")
    lx = 80
    for server in servers:
        parts.append(f'<rect x="{lx}" y="{height - 30}" width="14" height="14" fill="{COLORS[server]}"/>')
        parts.append(
            f'<text x="{lx + 20}" y="{height - 18}" font-size="12">{html.escape(LABELS[server])}</text>'
        )
        lx += 170
    parts.append(
        f'<text x="{width - 10}" y="{height - 18}" text-anchor="end" font-size="10" '
        f'fill="#868e96">hello world, 12-byte body, wrk on 127.0.0.1 (bench/run.sh)</text>'
    )
    parts.append("</svg>")
    Path(path).write_text("\n".join(parts) + "\n")


def main(argv):
    chart_path = Path(__file__).with_name("chart.svg")
    if "--chart" in argv:
        i = argv.index("--chart")
        chart_path = Path(argv[i + 1])
        del argv[i : i + 2]
    if not argv:
        sys.exit(__doc__)
    table = load_hello(argv[0])
    text, medians, servers = hello_table(table)
    print(text)
    for server, anchor in [
        ("ours", "hyper"),
        ("pinned", "hyper"),
        ("unpinned", "hyper"),
        ("ours", "pinned"),
        ("ours", "unpinned"),
    ]:
        paired = paired_table(argv[0], server, anchor)
        if paired:
            print()
            print(paired)
    if len(argv) > 1:
        print()
        print(download_table(argv[1]))
    chart(medians, servers, chart_path)
    print(f"\nchart: {chart_path}")


if __name__ == "__main__":
    main(sys.argv[1:])
