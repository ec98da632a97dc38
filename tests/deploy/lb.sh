#!/usr/bin/env bash
# The tested load-balanced deployment (docs/deploy.md): three instances of the hello example
# on 127.0.0.2, 127.0.0.3 and 127.0.0.4 (same port) behind one front end on 127.0.0.1, under a
# bounded wrk load, while
#   1. one instance is killed with SIGKILL, and later started again;
#   2. all three are restarted one after the other (a rolling restart).
# Goal: 0 failed requests. Every request is an idempotent GET, which the front ends may retry
# on another instance. Phases:
#   HTTP     nginx, proxy_pass to a keepalive upstream      (tests/deploy/nginx-http.conf)
#   FastCGI  nginx, fastcgi_pass with fastcgi_keep_conn on   (tests/deploy/nginx-fastcgi.conf)
#   HAProxy  HAProxy over HTTP with the PROXY protocol v2    (tests/deploy/haproxy.cfg)
# The front-end configurations are the files docs/deploy.md shows (tests/deploy_doc.rs checks
# that they are the same); this script only changes their ports.
#
#   tests/deploy/lb.sh          (run by .ci/run; needs nginx, haproxy, wrk, curl, python3)
#
# Prints, per phase, the requests sent, the failed ones by kind and a verdict; exits non-zero
# when any request failed or anything did not start. Sends traffic to 127.0.0.x only; every
# wait and the load itself are bounded; every process it starts is killed on exit.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"

# --- what the instances can do ------------------------------------------------------------------
# Each switch turns a phase or a mode on (1) or off (0); a phase that is off prints a loud
# "NOT RUN" line in the summary (and does not fail the script).
# FastCGI phase: `hello --protocol fastcgi` (branch wt-gateway).
# LB_HTTP=0 (and the others =0) runs only some phases, when working on one.
LB_HTTP=${LB_HTTP:-1}
LB_FASTCGI=${LB_FASTCGI:-1}
# HAProxy phase: `hello --proxy-protocol` (branch wt-proxies).
LB_PROXY_PROTOCOL=${LB_PROXY_PROTOCOL:-1}
# Worker processes: every instance (HTTP, FastCGI, behind HAProxy) runs `--workers 2` and the
# rolling restart is a SIGHUP to each supervisor. LB_WORKERS=0 runs one process per instance,
# restarted by SIGTERM (graceful stop) and a new start, relying on the front end's retry while
# the instance is away.
LB_WORKERS=${LB_WORKERS:-1}
# Three instances share this machine's CPUs, so their event-loop threads are left to the
# scheduler (WSGIREF_PLACEMENT=none, see examples/hello.rs) instead of each instance pinning
# its threads to the same CPUs (docs/deploy.md: one pinned instance per machine, or none
# pinned). LB_PLACEMENT=default keeps the server's defaults (pinned and steered).
LB_PLACEMENT=${LB_PLACEMENT:-none}
if [ "$LB_PLACEMENT" = default ]; then unset WSGIREF_PLACEMENT; else export WSGIREF_PLACEMENT=$LB_PLACEMENT; fi
# LB_SETSID=1 starts each instance in a session of its own (setsid): with the kernel's
# autogroup scheduling, a scheduling group of its own, as a systemd service is in a cgroup of
# its own. With LB_PLACEMENT=default that is the combination that stalled requests for
# seconds on a busy machine (docs/deploy.md, "How many workers and threads").
LB_SETSID=${LB_SETSID:-0}
# LB_THREADS=1 samples the instances' threads every 50 ms during each phase (what each ran and
# waited for a CPU: tests/deploy/threads.py); keep the file with LB_KEEP=DIR (DIR/threads.txt).
LB_THREADS=${LB_THREADS:-0}
SAMPLER_PID=""

# wrk: 2 threads, 16 connections; read timeout 5 s (a request nobody answers counts as failed).
WRK_ARGS=(-t 2 -c 16 --timeout 5s)

fail() {
    echo "lb: FAIL: $*" >&2
    local f
    for f in "$DIR"/*.err "$DIR"/*.log; do
        [ -s "$f" ] && { echo "--- $f (last lines)" >&2; tail -5 "$f" >&2; }
    done
    exit 1
}
need() {
    command -v "$1" >/dev/null || [ -x "/usr/sbin/$1" ] ||
        { echo "lb: FAIL: $1 is not installed (.ci/run installs it: $2)" >&2; exit 1; }
}
need nginx "step 'install nginx'"
need haproxy "step 'install haproxy'"
need wrk "step 'install wrk'"
need curl "step 'install test clients'"
need python3 "the image"
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
HAPROXY=$(command -v haproxy || echo /usr/sbin/haproxy)

DIR=$(mktemp -d /tmp/wsgiref-lb.XXXXXX)
declare -a INSTANCE_PIDS=("" "" "")
declare -a INSTANCE_LOGS=("" "" "")
FRONT_PID=""
WRK_PID=""
cleanup() {
    local pid
    [ -n "$WRK_PID" ] && kill -9 "$WRK_PID" 2>/dev/null || true
    [ -n "$SAMPLER_PID" ] && kill "$SAMPLER_PID" 2>/dev/null || true
    [ -n "$FRONT_PID" ] && kill -TERM "$FRONT_PID" 2>/dev/null || true
    for pid in "${INSTANCE_PIDS[@]}"; do
        # An instance and its worker processes (each in a process group of its own).
        # shellcheck disable=SC2046 # one pid per word
        [ -n "$pid" ] && kill -9 "$pid" $(children "$pid") 2>/dev/null || true
    done
    if [ -n "$FRONT_PID" ]; then
        # nginx's workers leave with their master; if it hangs, both are killed.
        local front_children
        front_children=$(children "$FRONT_PID")
        # shellcheck disable=SC2086 # one pid per word
        timeout 5 tail --pid="$FRONT_PID" -f /dev/null 2>/dev/null ||
            kill -9 "$FRONT_PID" $front_children 2>/dev/null || true
    fi
    wait 2>/dev/null || true
    rm -rf "$DIR"
}
trap cleanup EXIT

# Debug build: `cargo test --workspace` (the CI step before this one) has already built the
# examples in debug, so this costs nothing there, while a release build would take minutes on
# CI's two cores; this script counts failed requests, it does not measure speed (bench/ does).
# LB_HELLO=PATH runs another build of hello instead (to compare two versions).
if [ -n "${LB_HELLO:-}" ]; then
    HELLO=$LB_HELLO
else
    cargo build -q --example hello
    TARGET=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
    HELLO=$TARGET/debug/examples/hello
fi
[ -x "$HELLO" ] || fail "no hello binary at $HELLO"

ADDRS=(127.0.0.2 127.0.0.3 127.0.0.4)
# One port free on all three addresses, and one for the front end on 127.0.0.1.
PORT=$(python3 - <<'EOF'
import socket
for _ in range(50):
    s = socket.socket(); s.bind(("127.0.0.2", 0)); port = s.getsockname()[1]; s.close()
    try:
        for a in ("127.0.0.2", "127.0.0.3", "127.0.0.4"):
            t = socket.socket(); t.bind((a, port)); t.close()
    except OSError:
        continue
    print(port); break
EOF
)
[ -n "$PORT" ] || fail "no port free on 127.0.0.2-4"
FRONT_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')

# The documented configuration with this run's ports: instances 127.0.0.2-4:PORT, front end
# 127.0.0.1:FRONT_PORT.
ported() {
    sed -E -e "s/(127\.0\.0\.[234]):[0-9]+/\1:$PORT/" -e "s/127\.0\.0\.1:[0-9]+/127.0.0.1:$FRONT_PORT/" "$1"
}

# --- instances -----------------------------------------------------------------------------------
GENERATION=0
# start_instance I FLAGS...: start instance I (0-2) on ADDRS[I]:PORT and wait until it listens. Its output goes to DIR/iI.gN.{out,err}, a new pair for each start.
start_instance() {
    local i=$1
    shift
    GENERATION=$((GENERATION + 1))
    local log=$DIR/i$i.g$GENERATION
    local launch=()
    [ "$LB_SETSID" = 1 ] && launch=(setsid)
    "${launch[@]}" "$HELLO" -b "${ADDRS[$i]}" "$@" "$PORT" >"$log.out" 2>"$log.err" &
    INSTANCE_PIDS[i]=$!
    INSTANCE_LOGS[i]=$log.err
    local n
    for ((n = 0; n < 100; n++)); do
        grep -q "port $PORT" "$log.out" 2>/dev/null && return 0
        alive "${INSTANCE_PIDS[i]}" || fail "instance $i (${ADDRS[$i]}) exited at start"
        sleep 0.05
    done
    fail "instance $i (${ADDRS[$i]}) did not say it was serving within 5 s"
}
# alive PID: the process exists and is not a zombie (an orphaned worker may stay a zombie
# where PID 1 does not reap).
alive() {
    [ -r "/proc/$1/stat" ] && [ "$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)" != Z ]
}
# children PID: the processes PID started (a supervisor's workers, in process groups of their
# own).
children() {
    cat /proc/"$1"/task/*/children 2>/dev/null || true
}
# requests_seen I: the requests instance I's current log shows (its access log lines).
requests_seen() {
    grep -c '"GET / HTTP/1' "${INSTANCE_LOGS[$1]}" || true
}
# wait_serving I: wait (up to 10 s) until instance I's access log shows a request the front end
# passed on: the front end has it in rotation again, so the next one may go away.
wait_serving() {
    local n
    for ((n = 0; n < 200; n++)); do
        grep -q '"GET / HTTP/1' "${INSTANCE_LOGS[$1]}" && return 0
        sleep 0.05
    done
    fail "instance $1 (${ADDRS[$1]}) got no request through the front end within 10 s of its start"
}
# wait_gone PID WHAT: wait (up to 15 s) for a process of ours to exit.
wait_gone() {
    local n
    for ((n = 0; n < 300; n++)); do
        alive "$1" || { wait "$1" 2>/dev/null || true; return 0; }
        sleep 0.05
    done
    fail "$2 (pid $1) still running 15 s after it was asked to stop"
}
kill_instance() { # kill_instance I: SIGKILL to the instance and its worker processes at once
    local pid=${INSTANCE_PIDS[$1]} workers worker
    workers=$(children "$pid")
    # shellcheck disable=SC2086 # one pid per word
    kill -9 "$pid" $workers
    wait_gone "$pid" "instance $1" 2>/dev/null
    for worker in $workers; do wait_gone "$worker" "a worker of instance $1"; done
    INSTANCE_PIDS[$1]=""
}
# hup_instance I: SIGHUP to instance I's supervisor (a zero-downtime restart: new workers on
# the same socket, the old ones drained); waits until the old workers are gone and the new
# ones have answered a request through the front end.
hup_instance() {
    local pid=${INSTANCE_PIDS[$1]} log=${INSTANCE_LOGS[$1]} old ready worker n seen
    old=$(children "$pid")
    [ -n "$old" ] || fail "instance $1 has no worker processes to restart"
    ready=$(grep -c 'is ready; stopping the previous one' "$log" || true)
    kill -HUP "$pid"
    for ((n = 0; n < 600; n++)); do
        [ "$(grep -c 'is ready; stopping the previous one' "$log" || true)" -gt "$ready" ] && break
        sleep 0.05
    done
    [ "$n" -lt 600 ] || fail "instance $1: no new generation ready within 30 s of SIGHUP"
    for worker in $old; do wait_gone "$worker" "an old worker of instance $1"; done
    seen=$(requests_seen "$1")
    for ((n = 0; n < 200; n++)); do
        [ "$(requests_seen "$1")" -gt "$seen" ] && return 0
        sleep 0.05
    done
    fail "instance $1's new workers got no request through the front end within 10 s"
}
stop_instance() { # stop_instance I: SIGTERM (graceful: in-flight requests finish)
    kill -TERM "${INSTANCE_PIDS[$1]}"
    wait_gone "${INSTANCE_PIDS[$1]}" "instance $1"
    INSTANCE_PIDS[$1]=""
}
stop_all_instances() {
    local i
    for i in 0 1 2; do [ -n "${INSTANCE_PIDS[$i]}" ] && stop_instance "$i"; done
    return 0
}

# --- front ends --------------------------------------------------------------------------------
start_nginx() { # start_nginx CONF: nginx with the documented http-context file CONF
    local user=""
    [ "$(id -u)" = 0 ] && user="user root;"
    mkdir -p "$DIR/nginx"
    ported "$1" >"$DIR/nginx/site.conf"
    cat >"$DIR/nginx/nginx.conf" <<EOF
$user
worker_processes 1;
pid $DIR/nginx.pid;
error_log $DIR/nginx-error.log warn;
daemon off;
events { worker_connections 256; }
http {
    # Slow requests are what a failure looks like first: each request's time and the
    # instances nginx tried (lb.sh prints the slowest on failure).
    log_format lb '\$request_time \$status upstreams=\$upstream_addr statuses=\$upstream_status connect=\$upstream_connect_time header=\$upstream_header_time at=\$msec';
    access_log $DIR/nginx-access.log lb;
    client_body_temp_path $DIR/nginx/body;
    proxy_temp_path $DIR/nginx/proxy;
    fastcgi_temp_path $DIR/nginx/fastcgi;
    uwsgi_temp_path $DIR/nginx/uwsgi;
    scgi_temp_path $DIR/nginx/scgi;
    include $DIR/nginx/site.conf;
}
EOF
    : >"$DIR/nginx-error.log"
    "$NGINX" -t -p "$DIR/nginx" -c "$DIR/nginx/nginx.conf" 2>"$DIR/nginx-t.log" ||
        { cat "$DIR/nginx-t.log" >&2; fail "nginx -t refused $1"; }
    "$NGINX" -p "$DIR/nginx" -c "$DIR/nginx/nginx.conf" 2>>"$DIR/nginx-error.log" &
    FRONT_PID=$!
}
start_haproxy() { # start_haproxy CFG: HAProxy with the documented CFG after a minimal global section
    printf 'global\n    maxconn 256\n' >"$DIR/haproxy-global.cfg"
    ported "$1" >"$DIR/haproxy.cfg"
    "$HAPROXY" -c -f "$DIR/haproxy-global.cfg" -f "$DIR/haproxy.cfg" >"$DIR/haproxy-c.log" 2>&1 ||
        { cat "$DIR/haproxy-c.log" >&2; fail "haproxy -c refused $1"; }
    "$HAPROXY" -db -f "$DIR/haproxy-global.cfg" -f "$DIR/haproxy.cfg" >"$DIR/haproxy.log" 2>&1 &
    FRONT_PID=$!
}
stop_front() {
    kill -TERM "$FRONT_PID"
    wait_gone "$FRONT_PID" "front end"
    FRONT_PID=""
}
# wait_front: the front end answers 200 with the hello body (up to 10 s).
wait_front() {
    local n
    for ((n = 0; n < 100; n++)); do
        [ "$(curl -s --max-time 2 "http://127.0.0.1:$FRONT_PORT/" 2>/dev/null)" = "Hello World!" ] && return 0
        kill -0 "$FRONT_PID" 2>/dev/null || fail "the front end exited at start"
        sleep 0.1
    done
    fail "the front end does not answer on 127.0.0.1:$FRONT_PORT"
}

# --- one phase -----------------------------------------------------------------------------------
declare -a SUMMARY=()
FAILED=0
# run_phase NAME START_FRONT CONFIG RESTART FLAGS...: three instances started with FLAGS behind
# the front end that START_FRONT starts with CONFIG, under load through the kill and the
# rolling restart (RESTART: hup, a SIGHUP to each supervisor; term, SIGTERM and a new start);
# records the counts and the verdict.
run_phase() {
    local name=$1 start_front=$2 config=$3 restart=$4
    shift 4
    local flags=("$@")
    local i
    echo
    echo "--- $name: $config, instances on 127.0.0.2-4:$PORT (${flags[*]:-no flags}), front end on 127.0.0.1:$FRONT_PORT"
    for i in 0 1 2; do start_instance "$i" "${flags[@]}"; done
    "$start_front" "$config"
    wait_front

    # The load runs until stopped (SIGINT makes wrk print its summary), at most 60 s.
    timeout -s INT 60 wrk "${WRK_ARGS[@]}" -d 60s -s tests/deploy/count.lua \
        "http://127.0.0.1:$FRONT_PORT/" >"$DIR/wrk.out" 2>&1 &
    WRK_PID=$!
    if [ "$LB_THREADS" = 1 ]; then
        python3 tests/deploy/threads.py record 60 "$DIR/threads.txt" &
        SAMPLER_PID=$!
    fi
    sleep 1

    echo "$(date +%s.%N | cut -c1-14) $name: kill -9 instance 1 (127.0.0.3) under load"
    kill_instance 1
    sleep 1
    echo "$(date +%s.%N | cut -c1-14) $name: instance 1 back"
    start_instance 1 "${flags[@]}"
    wait_serving 1

    for i in 0 1 2; do
        if [ "$restart" = hup ]; then
            echo "$(date +%s.%N | cut -c1-14) $name: rolling restart: SIGHUP to instance $i's supervisor"
            hup_instance "$i"
        else
            echo "$(date +%s.%N | cut -c1-14) $name: rolling restart: SIGTERM instance $i, start it again"
            stop_instance "$i"
            start_instance "$i" "${flags[@]}"
        fi
        wait_serving "$i"
    done
    # A little more load on the last restarted instance.
    sleep 0.5

    kill -INT "$WRK_PID" 2>/dev/null || fail "$name: wrk ended before the events did (it is bounded to 60 s)"
    wait "$WRK_PID" || true
    WRK_PID=""
    if [ -n "$SAMPLER_PID" ]; then
        kill "$SAMPLER_PID" 2>/dev/null || true
        wait "$SAMPLER_PID" 2>/dev/null || true
        SAMPLER_PID=""
        echo "$name: longest CPU waits of the instances' threads (tests/deploy/threads.py):"
        python3 tests/deploy/threads.py worst "$DIR/threads.txt" 3 | sed 's/^/  /'
    fi
    [ -n "${LB_KEEP:-}" ] && cp -r "$DIR" "$LB_KEEP"
    stop_front
    stop_all_instances

    local result
    result=$(grep '^RESULT ' "$DIR/wrk.out" || true)
    [ -n "$result" ] || { cat "$DIR/wrk.out" >&2; fail "$name: wrk printed no RESULT line"; }
    # requests=N connect=N read=N write=N timeout=N non2xx=N badbody=N
    local requests="" connect="" read="" write="" timeout="" non2xx="" badbody="" pair
    for pair in ${result#RESULT }; do
        [[ $pair =~ ^(requests|connect|read|write|timeout|non2xx|badbody)=([0-9]+)$ ]] ||
            fail "$name: unexpected field in wrk's RESULT line: $pair"
        printf -v "${BASH_REMATCH[1]}" '%s' "${BASH_REMATCH[2]}"
    done
    for pair in requests connect read write timeout non2xx badbody; do
        [ -n "${!pair}" ] || fail "$name: no $pair in wrk's RESULT line: $result"
    done
    local failed=$((connect + read + write + timeout + non2xx + badbody))
    # Every instance of every generation must have answered requests through the front end:
    # otherwise the kill or a restart happened while no load reached it, proving nothing.
    local idle=0 f
    for f in "$DIR"/i*.g*.err; do
        [ -e "$f" ] || continue
        if ! grep -q '"GET / HTTP/1' "$f"; then
            echo "$name: instance log $(basename "$f") shows no request" >&2
            idle=$((idle + 1))
        fi
    done
    local retried
    retried=$(cat "$DIR/nginx-error.log" "$DIR/haproxy.log" 2>/dev/null | grep -c -E 'upstream|is DOWN' || true)
    local verdict=ok
    if [ "$failed" -ne 0 ] || [ "$idle" -ne 0 ] || [ "$requests" -eq 0 ]; then
        verdict=FAILED
        FAILED=1
    fi
    if [ "$verdict" = FAILED ]; then
        # What the front end saw, by kind, and the slowest requests: where a failure shows.
        echo "$name: front-end log lines by kind:" >&2
        sed -E 's/^.*\[(error|warn|crit)\] [0-9#]+: (\*[0-9]+ )?//; s/, client:.*//' \
            "$DIR/nginx-error.log" "$DIR/haproxy.log" 2>/dev/null | sort | uniq -c | sort -rn | head -15 >&2 || true
        if [ -s "$DIR/nginx-access.log" ]; then
            echo "$name: slowest requests (seconds, status, instances tried):" >&2
            sort -rn "$DIR/nginx-access.log" | head -5 >&2
        fi
    fi
    local line
    line=$(printf '%-8s requests=%-7s failed=%s (connect=%s read=%s write=%s timeout=%s non-2xx=%s bad-body=%s) front-end-error-lines=%s idle-instances=%s %s' \
        "$name" "$requests" "$failed" "$connect" "$read" "$write" "$timeout" "$non2xx" "$badbody" "$retried" "$idle" "$verdict")
    echo "$line"
    SUMMARY+=("$line")
    rm -f "$DIR"/i*.g*.out "$DIR"/i*.g*.err "$DIR/nginx-error.log" "$DIR/nginx-access.log" "$DIR/haproxy.log"
}

not_run() {
    local line
    line=$(printf '%-8s NOT RUN: %s' "$1" "$2")
    echo
    echo "$line"
    SUMMARY+=("$line")
}

workers=() restart=term
[ "$LB_WORKERS" = 1 ] && workers=(--workers 2) restart=hup

if [ "$LB_HTTP" = 1 ]; then
    # nginx sends X-Forwarded-For/-Proto: the instances trust it (and only it) for REMOTE_ADDR.
    run_phase HTTP start_nginx tests/deploy/nginx-http.conf "$restart" --forwarded-allow-ips 127.0.0.1 "${workers[@]}"
else
    not_run HTTP "LB_HTTP=0"
fi
if [ "$LB_FASTCGI" = 1 ]; then
    run_phase FastCGI start_nginx tests/deploy/nginx-fastcgi.conf "$restart" --protocol fastcgi "${workers[@]}"
else
    not_run FastCGI "switched off (LB_FASTCGI=0)"
fi
if [ "$LB_PROXY_PROTOCOL" = 1 ]; then
    run_phase HAProxy start_haproxy tests/deploy/haproxy.cfg "$restart" --proxy-protocol "${workers[@]}"
else
    not_run HAProxy "switched off (LB_PROXY_PROTOCOL=0)"
fi

echo
echo "=== load-balanced deployment: 3 instances, kill -9 + restart of one, rolling restart of all (instances: $([ "$LB_WORKERS" = 1 ] && echo "--workers 2, SIGHUP" || echo "one process each, SIGTERM + start"))"
printf '%s\n' "${SUMMARY[@]}"
exit $FAILED
