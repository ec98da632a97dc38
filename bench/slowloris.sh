#!/usr/bin/env bash
# Issue 5's slowloris check: does a wrk run keep its throughput while 500 slowloris connections
# hold partial request heads open, and are those connections closed at the header timeout?
#
#   bench/slowloris.sh                       # ROUNDS=3, CONNS=500, DURATION=5s
#   ROUNDS=5 CONNS=1000 bench/slowloris.sh
#
# Against our `hello` example on its defaults (ServerOptions::default(): header timeout 10 s),
# interleaved for ROUNDS rounds: wrk alone (keep-alive, 8 and 64 connections), then the same
# wrk runs started once bench/slowloris.py has opened CONNS connections, each sending one more
# byte of an endless header line every 2 s. Prints the median req/s of each, the ratio, and
# when the server closed the slow connections (seconds after their first byte) and with what.
# Raw figures go to bench/results/slowloris-<time>.csv and .json.
# Needs: cargo, wrk, python3. Talks to 127.0.0.1 only; every run is bounded in time.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-5s}
CONNS=${CONNS:-500}
THREADS=${THREADS:-2}
HEADER_TIMEOUT=10 # ServerOptions::default().header_timeout, which the hello example uses
TARGET=${BENCH_TARGET_DIR:-$ROOT/target/bench}
OUT=$ROOT/bench/results
mkdir -p "$OUT"
WORK=$(mktemp -d /tmp/wsgiref-slowloris.XXXXXX)
PID=""
cleanup() {
    [[ -n $PID ]] && kill "$PID" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT
for tool in cargo wrk python3; do
    command -v "$tool" >/dev/null || { echo "slowloris: $tool is not installed" >&2; exit 1; }
done
need=$((CONNS + 200))
if (($(ulimit -n) < need)); then
    ulimit -n "$need" || { echo "slowloris: cannot raise the open-file limit to $need" >&2; exit 1; }
fi

echo "== building hello (release)"
CARGO_TARGET_DIR=$TARGET cargo build --release -q --example hello
WSGIREF_LOG=off "$TARGET/release/examples/hello" 0 >"$WORK/hello.out" 2>&1 &
PID=$!
port=""
for ((i = 0; i < 100; i++)); do
    port=$(grep -o -m1 'port [0-9]*' "$WORK/hello.out" 2>/dev/null | cut -d' ' -f2 || true)
    [[ -n $port ]] && break
    kill -0 "$PID" 2>/dev/null || { echo "slowloris: hello exited at start" >&2; exit 1; }
    sleep 0.1
done
[[ -n $port ]] || { echo "slowloris: hello printed no port" >&2; exit 1; }
URL=http://127.0.0.1:$port/
echo "   hello: pid $PID, port $port; load at start: $(cut -d' ' -f1-3 /proc/loadavg)"

stamp=$(date -u +%Y%m%dT%H%M%SZ)
CSV=$OUT/slowloris-$stamp.csv
JSONS=$OUT/slowloris-$stamp.json
echo "round,conns,slowloris,req_per_s,errors" >"$CSV"
: >"$JSONS"

wrk_rps() { # connections -> "req/s errors"
    wrk -t"$THREADS" -c"$1" -d"$DURATION" --timeout 2s "$URL" | awk '
        /Requests\/sec/ {rps = $2}
        /Socket errors/ {gsub(",", ""); err = $4 + $6 + $8 + $10}
        /Non-2xx/ {err += $NF}
        END {printf "%d %d\n", rps, err + 0}'
}

secs=${DURATION%s}
slow_for=$((secs * 2 + HEADER_TIMEOUT + 5))
for ((round = 1; round <= ROUNDS; round++)); do
    for c in 8 64; do
        read -r rps err < <(wrk_rps "$c")
        echo "$round,$c,no,$rps,$err" >>"$CSV"
        echo "   round $round, $c conns, alone: $rps req/s"
    done
    rm -f "$WORK/ready"
    python3 bench/slowloris.py 127.0.0.1 "$port" --conns "$CONNS" --interval 2 \
        --duration "$slow_for" --ready "$WORK/ready" >"$WORK/slow.json" &
    slow=$!
    for ((i = 0; i < 300; i++)); do
        [[ -e $WORK/ready ]] && break
        sleep 0.1
    done
    [[ -e $WORK/ready ]] || { echo "slowloris: clients did not connect" >&2; exit 1; }
    for c in 8 64; do
        read -r rps err < <(wrk_rps "$c")
        echo "$round,$c,yes,$rps,$err" >>"$CSV"
        echo "   round $round, $c conns, with $CONNS slowloris: $rps req/s"
    done
    wait "$slow"
    cat "$WORK/slow.json" >>"$JSONS"
    kill -0 "$PID" 2>/dev/null || { echo "slowloris: the server died" >&2; exit 1; }
done
echo "   load at end: $(cut -d' ' -f1-3 /proc/loadavg)"

python3 - "$CSV" "$JSONS" "$CONNS" "$HEADER_TIMEOUT" <<'PY'
import csv, json, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1])))
conns, timeout = int(sys.argv[3]), float(sys.argv[4])
print(f"\n| wrk connections | alone (median req/s) | with {conns} slowloris | ratio | errors |")
print("|---:|---:|---:|---:|---:|")
ok = True
for c in ("8", "64"):
    alone = statistics.median(int(r["req_per_s"]) for r in rows if r["conns"] == c and r["slowloris"] == "no")
    slow = statistics.median(int(r["req_per_s"]) for r in rows if r["conns"] == c and r["slowloris"] == "yes")
    errors = sum(int(r["errors"]) for r in rows if r["conns"] == c)
    ratio = slow / alone if alone else 0
    ok &= ratio >= 0.5
    print(f"| {c} | {alone:,} | {slow:,} | {ratio:.2f} | {errors} |")
runs = [json.loads(line) for line in open(sys.argv[2]) if line.strip()]
times = sorted(t for r in runs for t in r["close_after_first_byte_s"])
opened = sum(r["opened"] for r in runs)
closed = sum(r["closed_by_server"] for r in runs)
answered = {}
for r in runs:
    for k, v in r["answered"].items():
        answered[k] = answered.get(k, 0) + v
print(f"\nslow connections: {opened} opened, {closed} closed by the server, "
      f"{sum(r['failed_to_open'] for r in runs)} failed to open; answers: {answered}")
if times:
    q = statistics.quantiles(times, n=100) if len(times) > 1 else [times[0]] * 99
    print(f"closed after their first byte: min {times[0]:.2f} s, median {statistics.median(times):.2f} s, "
          f"p99 {q[98]:.2f} s, max {times[-1]:.2f} s (header timeout {timeout:.0f} s)")
on_time = closed == opened and times and times[0] >= timeout - 0.5 and times[-1] <= timeout + 2
print(f"\ngoal (>= 0.5 of unloaded throughput, slow connections closed at the header timeout): "
      f"{'met' if ok and on_time else 'NOT met'}")
PY
