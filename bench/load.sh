#!/usr/bin/env bash
# The load benchmark: what a blocking application and slow clients cost, next to the anchors,
# with hello world in the same run. A manual script: CI does not run it. With the defaults it
# takes about 13 minutes (hello 2 min, blocking 5 min, mixed 3 min, slow readers 3 min) and
# needs the whole machine; figures taken while other work runs are noise.
#
#   bench/load.sh                                   # everything, ROUNDS=3, DURATION=8s
#   PARTS="blocking mixed" bench/load.sh            # a subset of: hello blocking mixed slow
#   SERVERS="ours hyper-sb" PARTS=blocking bench/load.sh
#   ROUNDS=1 DURATION=3s HELLO_DURATION=3s bench/load.sh   # a quick check of the script
#
# Every server runs the same application with four routes: `/` hello world, `/sleep10` and
# `/sleep200` that block their thread for 10 ms and 200 ms (a database query, an upstream call),
# and `/demo`, a 672-byte body (the size of demo_app's answer). The servers:
#
#   ours          bench/wsgiref-app: this checkout's `wsgiref::simple_server::make_server`,
#                 default settings (it builds the facade by path, so it measures the checkout)
#   hyper-sb      hyper 1.x, the sleep inside tokio::task::spawn_blocking (bench/hyper-hello,
#                 binary hyper-sleep)
#   hyper-inline  hyper 1.x, std::thread::sleep directly in the async handler (the mistake)
#   granian       `granian --interface wsgi`, defaults, running bench/apps/app.py
#   waitress      `waitress-serve`, defaults, same app
#   gunicorn      `gunicorn -k gthread --workers 2 --threads 32`, same app
#
# Parts, each interleaved server by server (A B C ..., A B C ...) for ROUNDS rounds so that
# drift in the machine's state hits every server alike; the report takes medians:
#
#   hello     bench/run.sh with SERVERS="$HELLO_SERVERS" (default "ours hyper") and no
#             download: keep-alive c=8, c=64 and `Connection: close`, req/s and server CPU
#             µs per request (its own report is printed as it ends).
#   blocking  wrk -t1 -c16 and -c64 -d$DURATION on /sleep10. The ideal is c ÷ 10 ms.
#   mixed     wrk -t1 -c16 on /sleep200 for $DURATION; meanwhile bench/load_client.py probe
#             sends trivial requests (GET /, a new connection each, 10 ms apart) one after
#             the other and reports their median and maximum latency.
#   slow      for N in $SLOW_N (default "4 64") and the servers in $SLOW_SERVERS (default
#             "ours hyper-sb"), each on a freshly started server: N clients each write
#             $SLOW_REQUESTS pipelined `GET /demo` requests in one write and read 256 bytes
#             every $SLOW_PERIOD s. After 2 s the probe runs for $DURATION: how many of its
#             requests were answered, p99 latency, and the server's VmRSS growth (before the
#             readers connect vs the maximum while they are connected, /proc/PID/status)
#             divided by N. 20,000 requests (640 KB) ask for about 15 MB of answers, more
#             than the kernel's socket buffers take (tcp_wmem max 4 MB here); with 4,000 the
#             kernel absorbs most of it. The period is 15 s in the attack this models; the
#             default here is 5 s so that a run stays short, which only makes the readers
#             faster.
#
# Raw figures go to bench/results/{blocking,mixed,slow}-<time>.csv (and hello-<time>.csv from
# run.sh); bench/load_report.py prints the tables.
#
# Needs: cargo, wrk, curl, setsid, python3, and granian, waitress and gunicorn in the virtual
# environment $VENV (default /tmp/wsgiref-bench-venv):
#   apt-get install -y --no-install-recommends wrk curl nginx   # nginx: bench/run.sh checks for it
#   python3 -m venv /tmp/wsgiref-bench-venv
#   /tmp/wsgiref-bench-venv/bin/pip install granian waitress gunicorn
# Talks to 127.0.0.1 only; every run is bounded in time and every server is stopped at exit.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-8s}
HELLO_DURATION=${HELLO_DURATION:-5s}
PARTS=${PARTS:-"hello blocking mixed slow"}
SERVERS=${SERVERS:-"ours hyper-sb hyper-inline granian waitress gunicorn"}
HELLO_SERVERS=${HELLO_SERVERS:-"ours hyper"}
SLOW_SERVERS=${SLOW_SERVERS:-"ours hyper-sb"}
SLOW_N=${SLOW_N:-"4 64"}
SLOW_REQUESTS=${SLOW_REQUESTS:-20000}
SLOW_PERIOD=${SLOW_PERIOD:-5}
PROBE_TIMEOUT=${PROBE_TIMEOUT:-10}
VENV=${VENV:-/tmp/wsgiref-bench-venv}
TARGET=${BENCH_TARGET_DIR:-$ROOT/target/bench}
OUT=$ROOT/bench/results
WORK=$(mktemp -d /tmp/wsgiref-load.XXXXXX)
SECS=${DURATION%s}
mkdir -p "$OUT"

fail() {
    echo "load.sh: $*" >&2
    exit 1
}
has_part() { [[ " $PARTS " == *" $1 "* ]]; }
uses() { [[ " $SERVERS $SLOW_SERVERS " == *" $1 "* ]]; }

declare -A PID=() PORT=()
BG=()
stop_server() {
    local name=$1 pid=${PID[$1]:-} i
    [[ -n $pid ]] || return 0
    # Each server leads its own process group (setsid), so gunicorn's workers go with it.
    kill -TERM -- "-$pid" 2>/dev/null || true
    for ((i = 0; i < 30; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    # A server that is still busy after 3 s (a blocked write, say) is not waited for.
    kill -KILL -- "-$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    unset "PID[$name]"
}
cleanup() {
    local name pid
    for pid in "${BG[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for name in "${!PID[@]}"; do
        stop_server "$name"
    done
    rm -rf "$WORK"
}
trap cleanup EXIT

[[ $SECS =~ ^[0-9]+$ ]] || fail "DURATION must be whole seconds like 8s, not $DURATION"
for name in $SERVERS $SLOW_SERVERS; do
    case $name in
        ours | hyper-sb | hyper-inline | granian | waitress | gunicorn) ;;
        *) fail "unknown server $name (ours hyper-sb hyper-inline granian waitress gunicorn)" ;;
    esac
done
for tool in cargo wrk curl setsid python3; do
    command -v "$tool" >/dev/null || fail "$tool is required (apt-get install -y wrk curl nginx)"
done
for name in granian waitress gunicorn; do
    if uses "$name" && { has_part blocking || has_part mixed || has_part slow; }; then
        bin=$name
        [[ $name == waitress ]] && bin=waitress-serve
        [[ -x $VENV/bin/$bin ]] || fail "$VENV/bin/$bin is missing: python3 -m venv $VENV && \
$VENV/bin/pip install granian waitress gunicorn (or set VENV, or leave $name out of SERVERS)"
    fi
done

# --- build ---------------------------------------------------------------------------------
if has_part blocking || has_part mixed || has_part slow; then
    echo "== building (release)"
    if uses ours; then
        (cd bench/wsgiref-app && CARGO_TARGET_DIR=$TARGET/wsgiref-app cargo build --release -q)
    fi
    if uses hyper-sb || uses hyper-inline; then
        (cd bench/hyper-hello && CARGO_TARGET_DIR=$TARGET/hyper cargo build --release -q)
    fi
fi

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# start_server NAME: start it on a free port of 127.0.0.1 and wait until it answers.
start_server() {
    local name=$1 port
    port=$(free_port)
    local cmd
    case $name in
        ours) cmd=("$TARGET/wsgiref-app/release/wsgiref-app" "$port") ;;
        hyper-sb) cmd=("$TARGET/hyper/release/hyper-sleep" "$port" spawn-blocking) ;;
        hyper-inline) cmd=("$TARGET/hyper/release/hyper-sleep" "$port" inline) ;;
        granian) cmd=("$VENV/bin/granian" --interface wsgi --host 127.0.0.1 --port "$port" app:app) ;;
        waitress) cmd=("$VENV/bin/waitress-serve" --host=127.0.0.1 --port="$port" app:app) ;;
        gunicorn) cmd=("$VENV/bin/gunicorn" -k gthread --workers 2 --threads 32
            -b "127.0.0.1:$port" app:app) ;;
        *) fail "unknown server $name" ;;
    esac
    WSGIREF_LOG=off PYTHONPATH=$ROOT/bench/apps setsid "${cmd[@]}" >"$WORK/$name.log" 2>&1 &
    PID[$name]=$!
    PORT[$name]=$port
    local i
    for ((i = 0; i < 150; i++)); do
        curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$port/" && return 0
        kill -0 "${PID[$name]}" 2>/dev/null || { cat "$WORK/$name.log" >&2; fail "$name exited at start"; }
        sleep 0.1
    done
    cat "$WORK/$name.log" >&2
    fail "$name did not answer on port $port within 15 s"
}

url() { echo "http://127.0.0.1:${PORT[$1]}$2"; }
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
REPORT_ARGS=()
echo "== load at start: $(loadavg); parts: $PARTS; $ROUNDS rounds of $DURATION"

# --- hello world (bench/run.sh) --------------------------------------------------------------
if has_part hello; then
    echo "== hello world: bench/run.sh with SERVERS=\"$HELLO_SERVERS\""
    SERVERS=$HELLO_SERVERS SKIP_DOWNLOAD=1 ROUNDS=$ROUNDS DURATION=$HELLO_DURATION \
        CHART=$WORK/hello-chart.svg bash bench/run.sh
fi

# --- blocking application and mixed load -----------------------------------------------------
if has_part blocking || has_part mixed; then
    echo "== starting: $SERVERS"
    for name in $SERVERS; do
        start_server "$name"
        echo "   $name: pid ${PID[$name]}, port ${PORT[$name]}"
        wrk -t1 -c4 -d1s "$(url "$name" /sleep10)" >/dev/null 2>&1 || true
    done
fi

if has_part blocking; then
    BLOCKING=$OUT/blocking-$STAMP.csv
    echo "round,scenario,server,requests,seconds,req_per_s,p99_ms,errors,cpu_us_per_req" >"$BLOCKING"
    echo "== blocking application: /sleep10, wrk -t1 -c16|-c64 -d$DURATION"
    for ((round = 1; round <= ROUNDS; round++)); do
        for c in 16 64; do
            for name in $SERVERS; do
                wrk -t1 -c"$c" -d"$DURATION" --latency --timeout 10s "$(url "$name" /sleep10)" \
                    >"$WORK/wrk.txt" 2>&1 || true
                python3 bench/parse_wrk.py "$WORK/wrk.txt" "$round" "c$c" "$name" 0 1 |
                    cut -d, -f1-8 | sed 's/$/,/' | tee -a "$BLOCKING"
            done
        done
    done
    REPORT_ARGS+=(--blocking "$BLOCKING")
fi

if has_part mixed; then
    MIXED=$OUT/mixed-$STAMP.csv
    echo "round,server,bg_req_per_s,bg_errors,sent,answered,median_ms,p99_ms,max_ms" >"$MIXED"
    echo "== mixed: wrk -t1 -c16 on /sleep200 for $DURATION, sequential GET / alongside"
    for ((round = 1; round <= ROUNDS; round++)); do
        for name in $SERVERS; do
            wrk -t1 -c16 -d"$DURATION" --timeout 10s "$(url "$name" /sleep200)" \
                >"$WORK/wrk.txt" 2>&1 &
            BG+=($!)
            sleep 0.5
            python3 bench/load_client.py probe 127.0.0.1 "${PORT[$name]}" \
                --duration "$((SECS - 1))" --timeout "$PROBE_TIMEOUT" >"$WORK/probe.json"
            wait "${BG[-1]}" || true
            unset 'BG[-1]'
            python3 bench/parse_wrk.py "$WORK/wrk.txt" "$round" mixed "$name" 0 1 >"$WORK/bg.csv" 2>/dev/null
            python3 - "$round" "$name" "$WORK/bg.csv" "$WORK/probe.json" <<'PY' | tee -a "$MIXED"
import json, sys
rnd, name, bg, probe = sys.argv[1:5]
cols = open(bg).read().strip().split(",")
p = json.load(open(probe))
print(",".join([rnd, name, cols[5], cols[7]] + [str(p.get(k, "")) for k in
                ("sent", "answered", "median_ms", "p99_ms", "max_ms")]))
PY
        done
    done
    REPORT_ARGS+=(--mixed "$MIXED")
fi

for name in "${!PID[@]}"; do
    stop_server "$name"
done

# --- slow readers ---------------------------------------------------------------------------
if has_part slow; then
    SLOW=$OUT/slow-$STAMP.csv
    echo "round,readers,server,sent,answered,p99_ms,max_ms,rss_before_kb,rss_max_kb,rss_growth_per_reader_kb,alive_after" >"$SLOW"
    echo "== slow readers: N in ($SLOW_N) x $SLOW_REQUESTS pipelined GET /demo, 256 bytes read every ${SLOW_PERIOD}s"
    need=$((${SLOW_N##* } + 200))
    if (($(ulimit -n) < need)); then
        ulimit -n "$need" || fail "cannot raise the open-file limit to $need"
    fi
    for ((round = 1; round <= ROUNDS; round++)); do
        for n in $SLOW_N; do
            for name in $SLOW_SERVERS; do
                start_server "$name"
                python3 bench/load_client.py slow 127.0.0.1 "${PORT[$name]}" --conns "$n" \
                    --requests "$SLOW_REQUESTS" --period "$SLOW_PERIOD" --duration "$SECS" \
                    --timeout "$PROBE_TIMEOUT" --pid "${PID[$name]}" >"$WORK/slow.json"
                alive=yes
                kill -0 "${PID[$name]}" 2>/dev/null || alive=no
                stop_server "$name"
                python3 - "$round" "$n" "$name" "$WORK/slow.json" "$alive" <<'PY' | tee -a "$SLOW"
import json, sys
rnd, n, name, path, alive = sys.argv[1:6]
r = json.load(open(path))
print(",".join([rnd, n, name] + [str(r.get(k, "")) for k in
                ("sent", "answered", "p99_ms", "max_ms", "rss_before_kb", "rss_max_kb",
                 "rss_growth_per_reader_kb")] + [alive]))
PY
            done
        done
    done
    REPORT_ARGS+=(--slow "$SLOW")
fi

echo "== load at end: $(loadavg)"
if ((${#REPORT_ARGS[@]})); then
    echo "== report"
    python3 bench/load_report.py "${REPORT_ARGS[@]}"
fi
