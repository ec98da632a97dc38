#!/usr/bin/env bash
# The gateway benchmark (issue 26, "Performance"): hello world behind one nginx, every row in
# the same run. A manual script: CI does not run it. With the defaults it takes about 5
# minutes and needs the whole machine; figures taken while other work runs are noise.
#
#   bench/gateway.sh                     # ROUNDS=3, DURATION=5s, SCENARIOS="c64 c8"
#   QUICK=1 bench/gateway.sh             # under a minute once built (45 s on a busy machine): 1 round, 2 s, c64
#   ROWS="static ours-fastcgi gunicorn-sync" bench/gateway.sh   # a subset
#
# Rows, each behind its own `server` block of ONE nginx (same shape for all: worker_processes
# $NGINX_WORKERS, keep-alive to the client, access_log off), all serving a 12-byte body:
#
#   static            nginx serving a 12-byte file itself: the ceiling for any upstream
#   ours-http         `hello -b 127.0.0.1 0` (defaults) via proxy_pass, upstream keepalive 32,
#                     proxy_http_version 1.1, proxy_set_header Connection ""
#   ours-fastcgi      `hello --protocol fastcgi` via fastcgi_pass, fastcgi_keep_conn on,
#                     upstream keepalive 32
#   ours-scgi         `hello --protocol scgi` via scgi_pass (a connection per request)
#   ours-uwsgi        `hello --protocol uwsgi` via uwsgi_pass (a connection per request)
#   uwsgi             uWSGI (Debian uwsgi-core + uwsgi-plugin-python3), --master --processes 2
#                     --threads 2, via uwsgi_pass; bench/apps/app.py
#   gunicorn-sync     gunicorn, sync workers, (2 x cores) + 1 = 5 (its docs' rule), via
#                     proxy_pass as ours-http; bench/apps/app.py
#   gunicorn-gthread  gunicorn -k gthread --workers 2 --threads 4, via proxy_pass as ours-http
#   floor-uwsgi       bench/floor/uwsgi_canned.c (2 threads): reads a uwsgi packet, writes a
#                     constant response, closes; via uwsgi_pass. The floor for any uwsgi (or
#                     SCGI: the same connection per request) backend behind this nginx.
#
# Ours runs with its defaults (a thread per gateway connection; the HTTP server's event loop
# with its default threads). Worker counts for the Python servers follow their docs for a
# 2-core machine (gunicorn: "(2 x $num_cores) + 1"; uWSGI: processes = cores, threads to keep
# a process busy while another waits).
#
# wrk -t2 -c64 (and -c8) -d$DURATION against each row in turn, interleaved (A B C ..., A B C
# ...) for ROUNDS rounds, so that drift in the machine's state hits every row alike. Around
# each run the CPU time of nginx and of the row's backend (utime+stime of every process of
# their process groups, /proc/PID/stat) is read: divided by the completed requests it is the
# whole stack's CPU time per request.
#
# Raw figures: bench/results/gateway-<time>.csv; bench/gateway_report.py prints the medians,
# the spread (min-max over the rounds) and the issue's goals (each of ours >= 5x gunicorn,
# >= 1.5x uWSGI, the best >= 0.6x static). Each row is checked with curl first (status 200,
# the 12-byte body), so a misconfigured row fails the script instead of measuring 502s.
#
# Needs: cargo, wrk, curl, nginx, setsid, python3; uwsgi with the python3 plugin; gunicorn
# in the virtual environment $VENV (default /tmp/wsgiref-bench-venv, created with pip if
# missing):
#   apt-get install -y --no-install-recommends wrk curl nginx uwsgi-core uwsgi-plugin-python3
# Talks to 127.0.0.1 only; every run is bounded in time and every process is stopped at exit.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)
# shellcheck source=bench/lib.sh
source bench/lib.sh

if [[ -n ${QUICK:-} ]]; then
    ROUNDS=${ROUNDS:-1}
    DURATION=${DURATION:-2s}
    SCENARIOS=${SCENARIOS:-c64}
    WARMUP=${WARMUP:-0}
else
    ROUNDS=${ROUNDS:-3}
    DURATION=${DURATION:-5s}
    SCENARIOS=${SCENARIOS:-"c64 c8"}
    WARMUP=${WARMUP:-1}
fi
ALL_ROWS="static ours-http ours-fastcgi ours-scgi ours-uwsgi uwsgi gunicorn-sync gunicorn-gthread floor-uwsgi"
ROWS=${ROWS:-$ALL_ROWS}
THREADS=${THREADS:-2}
NGINX_WORKERS=${NGINX_WORKERS:-2}
VENV=${VENV:-/tmp/wsgiref-bench-venv}
TARGET=${BENCH_TARGET_DIR:-$ROOT/target/bench}
OUT=$ROOT/bench/results
WORK=$(mktemp -d /tmp/wsgiref-gateway-bench.XXXXXX)
CLK_TCK=$(getconf CLK_TCK)
mkdir -p "$OUT"

fail() {
    echo "gateway.sh: $*" >&2
    exit 1
}
has() { [[ " $ROWS " == *" $1 "* ]]; }

declare -A PID=() PORT=()
stop_group() {
    local pid=$1 i
    # Each process leads its own process group (setsid): gunicorn's and uWSGI's workers and
    # nginx's go with their master.
    kill -TERM -- "-$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL -- "-$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}
cleanup() {
    local name
    for name in "${!PID[@]}"; do
        stop_group "${PID[$name]}"
    done
    rm -rf "$WORK"
}
trap cleanup EXIT

for name in $ROWS; do
    [[ " $ALL_ROWS " == *" $name "* ]] || fail "unknown row $name ($ALL_ROWS)"
done
[[ $DURATION =~ ^[0-9]+s$ ]] || fail "DURATION must be whole seconds like 5s, not $DURATION"
for scenario in $SCENARIOS; do
    [[ $scenario =~ ^c[0-9]+$ ]] || fail "a scenario is c<connections>, like c64, not $scenario"
done
for tool in cargo wrk curl nginx setsid python3; do
    command -v "$tool" >/dev/null || fail "$tool is required (apt-get install -y wrk curl nginx)"
done
if has uwsgi; then
    command -v uwsgi >/dev/null || fail "uwsgi is required \
(apt-get install -y --no-install-recommends uwsgi-core uwsgi-plugin-python3)"
fi
if has gunicorn-sync || has gunicorn-gthread; then
    if [[ ! -x $VENV/bin/gunicorn ]]; then
        echo "== creating $VENV with gunicorn (pip)"
        python3 -m venv "$VENV"
        "$VENV/bin/pip" install -q gunicorn
    fi
fi

# --- build ---------------------------------------------------------------------------------
if has ours-http || has ours-fastcgi || has ours-scgi || has ours-uwsgi; then
    echo "== building hello (release)"
    CARGO_TARGET_DIR=$TARGET cargo build --release -q --example hello
fi
HELLO=$TARGET/release/examples/hello
if has floor-uwsgi; then
    echo "== building bench/floor/uwsgi_canned.c"
    cc -O2 -pthread -o "$WORK/uwsgi-canned" "$ROOT/bench/floor/uwsgi_canned.c" ||
        fail "cc could not build bench/floor/uwsgi_canned.c"
fi

# --- backends ------------------------------------------------------------------------------
# start NAME COMMAND...: run a backend in a process group of its own. For ours the port is
# read from its first line ("Serving FastCGI on port N..."); the others are given PORT[NAME].
start() {
    local name=$1
    shift
    setsid "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" &
    PID[$name]=$!
}
wait_port_line() {
    local name=$1 port="" i
    for ((i = 0; i < 300; i++)); do
        port=$(grep -o -m1 'port [0-9]*' "$WORK/$name.out" 2>/dev/null | cut -d' ' -f2 || true)
        [[ -n $port ]] && break
        kill -0 "${PID[$name]}" 2>/dev/null || fail "$name exited at start: $(cat "$WORK/$name.err")"
        sleep 0.1
    done
    [[ -n $port ]] || fail "$name printed no port"
    PORT[$name]=$port
}
wait_listening() {
    local name=$1 i
    for ((i = 0; i < 300; i++)); do
        if python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1)' \
            "${PORT[$name]}" 2>/dev/null; then
            return 0
        fi
        kill -0 "${PID[$name]}" 2>/dev/null || fail "$name exited at start: $(cat "$WORK/$name.err")"
        sleep 0.1
    done
    fail "$name did not listen on port ${PORT[$name]}"
}

# No access logs anywhere: ours through WSGIREF_LOG, gunicorn's is off unless asked for,
# uWSGI's through --disable-logging, nginx's through access_log off.
export WSGIREF_LOG=off
echo "== starting backends"
for name in ours-http ours-fastcgi ours-scgi ours-uwsgi; do
    has "$name" || continue
    protocol=${name#ours-}
    if [[ $protocol == http ]]; then
        start "$name" "$HELLO" -b 127.0.0.1 0
    else
        start "$name" "$HELLO" --protocol "$protocol" -b 127.0.0.1 0
    fi
    wait_port_line "$name"
done
if has floor-uwsgi; then
    start floor-uwsgi "$WORK/uwsgi-canned" 2
    wait_port_line floor-uwsgi
fi
APP_DIR=$ROOT/bench/apps
if has uwsgi; then
    PORT[uwsgi]=$(free_port)
    start uwsgi uwsgi --plugin python3 --socket "127.0.0.1:${PORT[uwsgi]}" \
        --chdir "$APP_DIR" --wsgi-file app.py --callable app \
        --master --processes 2 --threads 2 --die-on-term --disable-logging
    wait_listening uwsgi
fi
if has gunicorn-sync; then
    PORT[gunicorn-sync]=$(free_port)
    start gunicorn-sync "$VENV/bin/gunicorn" --chdir "$APP_DIR" \
        -b "127.0.0.1:${PORT[gunicorn-sync]}" --workers 5 app:app
    wait_listening gunicorn-sync
fi
if has gunicorn-gthread; then
    PORT[gunicorn-gthread]=$(free_port)
    start gunicorn-gthread "$VENV/bin/gunicorn" --chdir "$APP_DIR" \
        -b "127.0.0.1:${PORT[gunicorn-gthread]}" -k gthread --workers 2 --threads 4 app:app
    wait_listening gunicorn-gthread
fi

# --- nginx ---------------------------------------------------------------------------------
mkdir -p "$WORK/nginx" "$WORK/static"
printf 'Hello world!' >"$WORK/static/hello.txt"
# nginx's workers run as an unprivileged user; mktemp made $WORK private.
chmod 755 "$WORK" "$WORK/static"
chmod 644 "$WORK/static/hello.txt"
declare -A FRONT=()
for name in $ROWS; do
    FRONT[$name]=$(free_port)
done

# The CGI-style variables every gateway row gets (the same for the three protocols).
gateway_params() {
    local p=$1
    cat <<PARAMS
            ${p}_param REQUEST_METHOD \$request_method;
            ${p}_param QUERY_STRING \$query_string;
            ${p}_param CONTENT_TYPE \$content_type;
            ${p}_param CONTENT_LENGTH \$content_length;
            ${p}_param SCRIPT_NAME "";
            ${p}_param PATH_INFO \$uri;
            ${p}_param REQUEST_URI \$request_uri;
            ${p}_param SERVER_PROTOCOL \$server_protocol;
            ${p}_param SERVER_NAME \$server_name;
            ${p}_param SERVER_PORT \$server_port;
            ${p}_param REMOTE_ADDR \$remote_addr;
PARAMS
}

# server_block NAME: the `upstream` and `server` blocks of one row.
server_block() {
    local name=$1 listen=${FRONT[$1]}
    local upstream=${name//-/_}
    if [[ $name != static ]]; then
        printf '    upstream %s { server 127.0.0.1:%s; keepalive 32; }\n' "$upstream" "${PORT[$name]}"
    fi
    printf '    server {\n        listen 127.0.0.1:%s;\n        location / {\n' "$listen"
    case $name in
        static)
            printf '            root %s;\n' "$WORK/static"
            ;;
        ours-http | gunicorn-*)
            printf '            proxy_pass http://%s;\n' "$upstream"
            printf '            proxy_http_version 1.1;\n            proxy_set_header Connection "";\n'
            # shellcheck disable=SC2016 # nginx's $host, not the shell's
            printf '            proxy_set_header Host $host;\n'
            ;;
        ours-fastcgi)
            printf '            fastcgi_pass %s;\n            fastcgi_keep_conn on;\n' "$upstream"
            gateway_params fastcgi
            ;;
        ours-scgi)
            printf '            scgi_pass %s;\n            scgi_param SCGI 1;\n' "$upstream"
            gateway_params scgi
            ;;
        ours-uwsgi | uwsgi | floor-uwsgi)
            printf '            uwsgi_pass %s;\n' "$upstream"
            gateway_params uwsgi
            ;;
    esac
    printf '        }\n    }\n'
}

{
    [[ $(id -u) == 0 ]] && echo "user root;"
    cat <<CONF
worker_processes $NGINX_WORKERS;
daemon off;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    keepalive_timeout 65;
    keepalive_requests 1000000;
    default_type text/plain;
    client_body_temp_path $WORK/nginx/body;
    proxy_temp_path $WORK/nginx/proxy;
    fastcgi_temp_path $WORK/nginx/fastcgi;
    scgi_temp_path $WORK/nginx/scgi;
    uwsgi_temp_path $WORK/nginx/uwsgi;
CONF
    for name in $ROWS; do
        server_block "$name"
    done
    echo "}"
} >"$WORK/nginx/nginx.conf"
setsid nginx -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" -e "$WORK/nginx/error.log" \
    >"$WORK/nginx.out" 2>&1 &
PID[nginx]=$!

echo "== checking every row (curl: 200 and the 12-byte body)"
for name in $ROWS; do
    url="http://127.0.0.1:${FRONT[$name]}/hello.txt"
    body=""
    for ((i = 0; i < 100; i++)); do
        body=$(curl -s --max-time 5 -w '|%{http_code}' "$url" || true)
        [[ $body == *'|200' ]] && break
        sleep 0.1
    done
    text=${body%|*}
    [[ $body == *'|200' && ${#text} == 12 && $text == Hello* ]] ||
        fail "$name: $url answered '$body' (want 200 and a 12-byte hello); nginx: $(tail -5 "$WORK/nginx/error.log")"
    echo "   $name: nginx port ${FRONT[$name]}, backend ${PORT[$name]:-(none)}: ok"
done

# cpu_group PID: utime+stime (clock ticks) of every process in PID's process group.
cpu_group() {
    local pgid=$1 total=0 pid
    for pid in $(pgrep -g "$pgid" || true); do
        total=$((total + $(cpu_ticks "$pid" 2>/dev/null || echo 0)))
    done
    echo "$total"
}

RESULTS=$OUT/gateway-$(date -u +%Y%m%dT%H%M%SZ).csv
echo "round,scenario,server,requests,seconds,req_per_s,p99_ms,errors,cpu_us_per_req" >"$RESULTS"
echo "load at start: $(cut -d' ' -f1-3 /proc/loadavg)" | tee "${RESULTS%.csv}.load.txt"

# wrk_run NAME SCENARIO ROUND: one bounded wrk run; appends a CSV row. CPU: nginx + backend.
wrk_run() {
    local name=$1 scenario=$2 round=$3 before after
    local url="http://127.0.0.1:${FRONT[$name]}/hello.txt"
    before=$(($(cpu_group "${PID[nginx]}") + $([[ -n ${PID[$name]:-} ]] && cpu_group "${PID[$name]}" || echo 0)))
    timeout $((${DURATION%s} + 20)) wrk -t"$THREADS" -c"${scenario#c}" -d"$DURATION" --latency --timeout 2s \
        "$url" >"$WORK/wrk.txt" 2>&1 || true
    after=$(($(cpu_group "${PID[nginx]}") + $([[ -n ${PID[$name]:-} ]] && cpu_group "${PID[$name]}" || echo 0)))
    python3 "$ROOT/bench/parse_wrk.py" "$WORK/wrk.txt" "$round" "$scenario" "$name" \
        "$((after - before))" "$CLK_TCK" | tee -a "$RESULTS"
}

if ((WARMUP > 0)); then
    echo "== warm-up (${WARMUP}s each)"
    for name in $ROWS; do
        wrk -t1 -c4 -d"${WARMUP}s" "http://127.0.0.1:${FRONT[$name]}/hello.txt" >/dev/null 2>&1 || true
    done
fi

echo "== $ROUNDS rounds x ($SCENARIOS) x ($ROWS), $DURATION each"
for ((round = 1; round <= ROUNDS; round++)); do
    for scenario in $SCENARIOS; do
        for name in $ROWS; do
            wrk_run "$name" "$scenario" "$round"
        done
    done
done
echo "load at end: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "${RESULTS%.csv}.load.txt"

echo "== report"
python3 "$ROOT/bench/gateway_report.py" "$RESULTS"
