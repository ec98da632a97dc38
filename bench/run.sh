#!/usr/bin/env bash
# The wsgiref load benchmark (issue 5). A manual script: it takes about five minutes and needs
# the whole machine, so CI does not run it.
#
#   bench/run.sh                    # everything: hello vs anchors, then the 1 GiB download
#   ROUNDS=5 DURATION=10s bench/run.sh
#   SERVERS="hyper tiny python" bench/run.sh   # a subset (the anchors only, say)
#   SKIP_DOWNLOAD=1 bench/run.sh
#   SERVERS="ours pinned unpinned hyper" SKIP_DOWNLOAD=1 bench/run.sh   # worker placements
#
# Part 1, hello world (12-byte body "Hello world!"): our `hello` example, hyper 1.x (tokio),
# tiny_http and Python's wsgiref.simple_server, each started once on an ephemeral port on
# 127.0.0.1. wrk runs against each in three scenarios (keep-alive with 8 connections, with 64,
# and `Connection: close` with 8), interleaved server by server (A B C D, A B C D, ...) so that
# drift in the machine's state hits every server alike, for ROUNDS rounds. Around every run
# the server's utime+stime is read from /proc/PID/stat; divided by the requests wrk completed
# it gives the server's CPU time per request.
#
# "pinned" and "unpinned" are our `hello` again with other worker placements
# (`WSGIREF_PLACEMENT=pin`: pinned to a CPU each, connections spread by the kernel's hash;
# `none`: left to the scheduler), for the A/B of `ServerOptions::pin_threads` and
# `steer_connections` (both on by default, as in "ours").
#
# Part 2, a 1 GiB file of random bytes downloaded with curl from the `serve` example and from
# nginx (sendfile on) serving the same file, interleaved, ROUNDS rounds.
#
# Raw figures go to bench/results/*.csv; bench/report.py turns them into the medians table and
# bench/chart.svg (CHART=PATH writes the chart elsewhere; bench/load.sh uses that).
#
# Needs: cargo, wrk, curl, nginx, python3 (apt-get install wrk nginx curl).
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-5s}
SERVERS=${SERVERS:-"ours hyper tiny python"}
THREADS=${THREADS:-2}
TARGET=${BENCH_TARGET_DIR:-$ROOT/target/bench}
OUT=$ROOT/bench/results
WORK=$(mktemp -d /tmp/wsgiref-bench.XXXXXX)
CLK_TCK=$(getconf CLK_TCK)
mkdir -p "$OUT"

declare -a PIDS=()
cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

for tool in cargo wrk curl nginx python3; do
    command -v "$tool" >/dev/null || { echo "bench: $tool is required" >&2; exit 1; }
done

# --- build ---------------------------------------------------------------------------------
echo "== building (release)"
has() { [[ " $SERVERS " == *" $1 "* ]]; }
examples=()
if has ours || has pinned || has unpinned; then examples+=(--example hello); fi
[[ -z ${SKIP_DOWNLOAD:-} ]] && examples+=(--example serve)
if ((${#examples[@]})); then
    CARGO_TARGET_DIR=$TARGET cargo build --release -q "${examples[@]}"
fi
has hyper && (cd bench/hyper-hello && CARGO_TARGET_DIR=$TARGET/hyper cargo build --release -q)
has tiny && (cd bench/tiny-http-hello && CARGO_TARGET_DIR=$TARGET/tiny cargo build --release -q)

# --- servers -------------------------------------------------------------------------------
# start NAME COMMAND...: run a server that prints "... port N ..." on its first stdout line;
# sets PORT_<NAME> and PID_<NAME>.
start() {
    local name=$1
    shift
    "$@" >"$WORK/$name.out" 2>/dev/null &
    local pid=$!
    PIDS+=("$pid")
    local port="" i
    for ((i = 0; i < 300; i++)); do
        port=$(grep -o -m1 'port [0-9]*' "$WORK/$name.out" 2>/dev/null | cut -d' ' -f2 || true)
        [[ -n $port ]] && break
        kill -0 "$pid" 2>/dev/null || { echo "bench: $name exited at start" >&2; exit 1; }
        sleep 0.1
    done
    [[ -n $port ]] || { echo "bench: $name printed no port" >&2; exit 1; }
    printf -v "PORT_$name" '%s' "$port"
    printf -v "PID_$name" '%s' "$pid"
    echo "   $name: pid $pid, port $port"
}

PY_HELLO='
import sys
from wsgiref.simple_server import make_server, WSGIRequestHandler
class Quiet(WSGIRequestHandler):
    def log_message(self, *args):
        pass  # the access log would dominate the measurement
def hello(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"Hello world!"]
server = make_server("127.0.0.1", 0, hello, handler_class=Quiet)
print("python-wsgiref listening on port %d" % server.server_port, flush=True)
server.serve_forever()
'

# No server logs requests during the runs: hyper and tiny_http have no access log, Python's is
# silenced above, and ours is switched off through WSGIREF_LOG.
export WSGIREF_LOG=off

echo "== starting servers"
has ours && start ours "$TARGET/release/examples/hello" 0
has pinned && WSGIREF_PLACEMENT=pin start pinned "$TARGET/release/examples/hello" 0
has unpinned && WSGIREF_PLACEMENT=none start unpinned "$TARGET/release/examples/hello" 0
has hyper && start hyper "$TARGET/hyper/release/hyper-hello" 0
has tiny && start tiny "$TARGET/tiny/release/tiny-http-hello" 0
has python && start python python3 -c "$PY_HELLO"

# cpu_ticks PID: utime+stime of the whole process (all threads), in clock ticks.
cpu_ticks() {
    # Field 2 (comm) may hold spaces; everything after its closing paren is space-separated,
    # starting with field 3, so utime (14) and stime (15) are the 12th and 13th there.
    sed 's/.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'
}

# wrk_run NAME SCENARIO ROUND: one bounded wrk run; appends a CSV row.
RESULTS=$OUT/hello-$(date -u +%Y%m%dT%H%M%SZ).csv
echo "round,scenario,server,requests,seconds,req_per_s,p99_ms,errors,cpu_us_per_req" >"$RESULTS"
wrk_run() {
    local name=$1 scenario=$2 round=$3
    local port_var=PORT_$name pid_var=PID_$name
    local url="http://127.0.0.1:${!port_var}/"
    local args=(-t"$THREADS" -d"$DURATION" --latency --timeout 2s)
    case $scenario in
        ka8) args+=(-c8) ;;
        ka64) args+=(-c64) ;;
        close8) args+=(-c8 -H 'Connection: close') ;;
    esac
    local before after
    before=$(cpu_ticks "${!pid_var}")
    wrk "${args[@]}" "$url" >"$WORK/wrk.txt" 2>&1 || true
    after=$(cpu_ticks "${!pid_var}")
    python3 "$ROOT/bench/parse_wrk.py" "$WORK/wrk.txt" "$round" "$scenario" "$name" \
        "$((after - before))" "$CLK_TCK" | tee -a "$RESULTS"
}

# Other work on the machine moves every figure; keep its load next to the results.
echo "load at start: $(cut -d' ' -f1-3 /proc/loadavg)" | tee "${RESULTS%.csv}.load.txt"

echo "== warm-up"
for name in $SERVERS; do
    port_var=PORT_$name
    wrk -t1 -c4 -d1s "http://127.0.0.1:${!port_var}/" >/dev/null 2>&1 || true
done

echo "== hello world: $ROUNDS rounds x (ka8 ka64 close8) x ($SERVERS), $DURATION each"
for ((round = 1; round <= ROUNDS; round++)); do
    for scenario in ka8 ka64 close8; do
        for name in $SERVERS; do
            wrk_run "$name" "$scenario" "$round"
        done
    done
done

for name in $SERVERS; do
    pid_var=PID_$name
    kill "${!pid_var}" 2>/dev/null || true
done

# --- 1 GiB download ------------------------------------------------------------------------
if [[ -z ${SKIP_DOWNLOAD:-} ]]; then
    echo "== 1 GiB download: serve vs nginx, $ROUNDS rounds"
    mkdir -p "$WORK/files"
    head -c $((1 << 30)) /dev/urandom >"$WORK/files/big.bin"
    # nginx's workers run as an unprivileged user; mktemp made $WORK private.
    chmod 755 "$WORK" "$WORK/files"
    chmod 644 "$WORK/files/big.bin"
    # Read it once so both servers start from the page cache.
    cat "$WORK/files/big.bin" >/dev/null
    NGINX_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    mkdir -p "$WORK/nginx/logs"
    cat >"$WORK/nginx/nginx.conf" <<CONF
worker_processes auto;
daemon off;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/logs/error.log;
events { worker_connections 1024; }
http {
    access_log off;
    sendfile on;
    tcp_nopush on;
    default_type application/octet-stream;
    server {
        listen 127.0.0.1:$NGINX_PORT;
        root $WORK/files;
    }
}
CONF
    nginx -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" &
    PIDS+=($!)
    start serve "$TARGET/release/examples/serve" -d "$WORK/files" 0
    for ((i = 0; i < 100; i++)); do
        curl -s -o /dev/null "http://127.0.0.1:$NGINX_PORT/" && break || sleep 0.1
    done
    DL=$OUT/download-$(date -u +%Y%m%dT%H%M%SZ).csv
    echo "round,server,status,bytes,bytes_per_s" >"$DL"
    for ((round = 1; round <= ROUNDS; round++)); do
        for name in serve nginx; do
            if [[ $name == serve ]]; then port=$PORT_serve; else port=$NGINX_PORT; fi
            line=$(curl -s -o /dev/null --max-time 120 \
                -w '%{http_code},%{size_download},%{speed_download}' "http://127.0.0.1:$port/big.bin")
            echo "$round,$name,$line" | tee -a "$DL"
        done
    done
fi

echo "load at end: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "${RESULTS%.csv}.load.txt"

echo "== report"
python3 "$ROOT/bench/report.py" "$RESULTS" ${DL:+"$DL"} ${CHART:+--chart "$CHART"}
