#!/usr/bin/env bash
# Run the CGI example (examples/cgi.rs) under three real web servers and check it with curl:
# lighttpd (mod_cgi), apache2 (mod_cgi) and nginx + fcgiwrap, each on a free port of
# 127.0.0.1 with the configs in this folder (@WORK@ and @PORT@ filled in).
#
# Usage: tests/cgi/real-servers.sh [CGI_BINARY]
#   Without CGI_BINARY the example is built in release mode first.
#   Missing servers are installed from Debian's packages (needs root and apt).
# Every server is stopped by its PID, also on failure. Exit status 0 only if every check of
# every server passed; a server that does not start is a failure, never a skip.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
SERVERS=(lighttpd apache2 nginx)

log() { printf '%s\n' "$*" >&2; }
die() { log "real-servers: $*"; exit 1; }

install_packages() {
    if command -v lighttpd >/dev/null && command -v apache2 >/dev/null \
        && command -v nginx >/dev/null && command -v curl >/dev/null \
        && [ -x /usr/sbin/fcgiwrap ]; then
        return 0
    fi
    log "installing lighttpd apache2 nginx fcgiwrap curl"
    apt-get update >/dev/null || die "apt-get update failed"
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        lighttpd apache2 nginx fcgiwrap curl >/dev/null || die "apt-get install failed"
}

build_example() {
    if [ $# -gt 0 ]; then
        BIN=$1
    else
        (cd "$ROOT" && cargo build --release --example cgi) || die "building the example failed"
        BIN=${CARGO_TARGET_DIR:-$ROOT/target}/release/examples/cgi
    fi
    [ -x "$BIN" ] || die "no CGI binary at $BIN"
}

# A free TCP port on 127.0.0.1 (the kernel picks it; the socket is closed at once).
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

declare -a PIDS=()
cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do
        stop_pid "$pid"
    done
    if [ -n "${WORK:-}" ] && [ -d "$WORK" ] && [ -z "${KEEP_WORK:-}" ]; then
        rm -rf "$WORK"
    fi
}

# Stop one process we started: TERM, up to 5 s to exit, then KILL.
stop_pid() {
    local pid=$1 i
    kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        log "pid $pid did not stop on TERM; killing it"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
}

forget_pid() {
    local pid=$1 kept=() p
    for p in "${PIDS[@]}"; do
        [ "$p" = "$pid" ] || kept+=("$p")
    done
    PIDS=("${kept[@]+"${kept[@]}"}")
}

# Fill a config template from this folder into $WORK.
render() {
    sed -e "s|@WORK@|$WORK|g" -e "s|@PORT@|$PORT|g" "$HERE/$1" >"$WORK/$1"
}

# Wait until something answers HTTP on $PORT, up to 10 s, while $1 (a PID) is alive.
wait_ready() {
    local pid=$1 name=$2 i
    for i in $(seq 100); do
        kill -0 "$pid" 2>/dev/null || { show_logs; die "$name exited during startup"; }
        if curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$PORT/"; then
            return 0
        fi
        sleep 0.1
    done
    show_logs
    die "$name did not answer on 127.0.0.1:$PORT within 10 s"
}

show_logs() {
    local f
    for f in "$WORK"/logs/* "$WORK"/run/*.out; do
        [ -s "$f" ] || continue
        log "--- $f"
        tail -n 30 "$f" >&2
    done
}

SERVER_PID=
FCGI_PID=
start_lighttpd() {
    render lighttpd.conf
    lighttpd -tt -f "$WORK/lighttpd.conf" >"$WORK/run/lighttpd-check.out" 2>&1 \
        || { show_logs; die "lighttpd rejected its config"; }
    setsid lighttpd -D -f "$WORK/lighttpd.conf" >"$WORK/run/lighttpd.out" 2>&1 &
    SERVER_PID=$!
    PIDS+=("$SERVER_PID")
    wait_ready "$SERVER_PID" lighttpd
}

start_apache2() {
    render apache2.conf
    apache2 -t -f "$WORK/apache2.conf" >"$WORK/run/apache2-check.out" 2>&1 \
        || { show_logs; die "apache2 rejected its config"; }
    # Its own session: on TERM, prefork apache signals its whole process group.
    setsid apache2 -DFOREGROUND -f "$WORK/apache2.conf" >"$WORK/run/apache2.out" 2>&1 &
    SERVER_PID=$!
    PIDS+=("$SERVER_PID")
    wait_ready "$SERVER_PID" apache2
}

start_nginx() {
    render nginx.conf
    rm -f "$WORK/run/fcgiwrap.sock"
    # fcgiwrap passes its own environment to CGI programs: start it with a clean one (and -f,
    # which sends the programs' stderr to nginx's error_log, as Debian's unit does), as
    # www-data (the nginx workers' user, so they may connect to its socket). setpriv execs,
    # so $! is fcgiwrap's own PID. Every server runs in a session of its own (setsid, which
    # execs too): a signal a server sends to its process group must not reach this script.
    setsid setpriv --reuid=www-data --regid=www-data --init-groups \
        env -i PATH=/usr/bin:/bin /usr/sbin/fcgiwrap -f -s "unix:$WORK/run/fcgiwrap.sock" \
        >"$WORK/run/fcgiwrap.out" 2>&1 &
    FCGI_PID=$!
    PIDS+=("$FCGI_PID")
    local i
    for i in $(seq 100); do
        [ -S "$WORK/run/fcgiwrap.sock" ] && break
        kill -0 "$FCGI_PID" 2>/dev/null || { show_logs; die "fcgiwrap exited during startup"; }
        sleep 0.1
    done
    [ -S "$WORK/run/fcgiwrap.sock" ] || { show_logs; die "fcgiwrap made no socket in 10 s"; }
    nginx -t -p "$WORK" -c "$WORK/nginx.conf" -e "$WORK/logs/nginx-error.log" \
        >"$WORK/run/nginx-check.out" 2>&1 || { show_logs; die "nginx rejected its config"; }
    setsid nginx -p "$WORK" -c "$WORK/nginx.conf" -e "$WORK/logs/nginx-error.log" -g 'daemon off;' \
        >"$WORK/run/nginx.out" 2>&1 &
    SERVER_PID=$!
    PIDS+=("$SERVER_PID")
    wait_ready "$SERVER_PID" nginx
}

stop_server() {
    stop_pid "$SERVER_PID"
    forget_pid "$SERVER_PID"
    if [ -n "$FCGI_PID" ]; then
        stop_pid "$FCGI_PID"
        forget_pid "$FCGI_PID"
        FCGI_PID=
    fi
}

# --- the checks ------------------------------------------------------------------------------
CHECKS=0
FAILURES=0

# fetch PATH [curl args...]: sets CODE and BODY (and the headers in $WORK/headers).
fetch() {
    local path=$1
    shift
    CODE=$(curl -sS --path-as-is --max-time 20 -o "$WORK/body" -D "$WORK/headers" \
        -w '%{http_code}' "$@" "http://127.0.0.1:$PORT$path") || CODE="curl-failed"
    BODY=$(cat "$WORK/body" 2>/dev/null || true)
}

check() {
    # check NAME CONDITION-DESCRIPTION TEST...: record one assertion.
    local name=$1 what=$2
    shift 2
    CHECKS=$((CHECKS + 1))
    if "$@"; then
        log "  ok   $name: $what"
    else
        FAILURES=$((FAILURES + 1))
        log "  FAIL $name: $what"
        log "       status: $CODE"
        log "       body: $(head -c 600 "$WORK/body" 2>/dev/null | cat -v)"
    fi
}

has() { grep -qF -- "$1" "$WORK/body"; }
is_code() { [ "$CODE" = "$1" ]; }
header_has() { tr -d '\r' <"$WORK/headers" | grep -qiF -- "$1"; }
body_is() { [ "$(cat "$WORK/body")" = "$1" ]; }

run_checks() {
    local s=$1

    fetch "/cgi-bin/app/"
    check "$s index" "200 and the route list" eval 'is_code 200 && has "/info/"'

    fetch "/cgi-bin/app/info/extra/path?q=1&x=%2Fy"
    check "$s info" "200" is_code 200
    check "$s info" "SCRIPT_NAME after shift_path_info" has "SCRIPT_NAME: /cgi-bin/app/info"
    check "$s info" "PATH_INFO" has "PATH_INFO: /extra/path"
    check "$s info" "QUERY_STRING ${EXPECT_QUERY:-as sent}" has "QUERY_STRING: ${EXPECT_QUERY:-q=1&x=%2Fy}"
    check "$s info" "wsgi.run_once" has "wsgi.run_once: true"
    check "$s info" "Content-Type" header_has "content-type: text/plain; charset=utf-8"

    fetch "/cgi-bin/app/form" --data-raw 'name=Ferris&lang=Rust+%26+C&empty='
    check "$s form" "200" is_code 200
    check "$s form" "method and length" has "POST, 34 bytes"
    check "$s form" "field 1" has "name = Ferris"
    check "$s form" "field 2, decoded" has "lang = Rust & C"
    check "$s form" "empty field" has "empty = "

    fetch "/cgi-bin/app/info/a%20b/caf%C3%A9"
    check "$s percent" "decoded UTF-8 path" has "PATH_INFO: /a b/café"

    fetch "/cgi-bin/app/info/caf%E9/%FF"
    check "$s latin-1" "non-UTF-8 path bytes shown escaped" has 'PATH_INFO: /caf\xe9/\xff'

    fetch "/cgi-bin/app/info/x?caf%E9=%FF&raw=$(printf '\xe9')"
    if [ "$s" = lighttpd ]; then
        # lighttpd percent-encodes raw bytes of the query itself (url-normalize-required).
        check "$s raw query" "raw query byte arrives percent-encoded" has 'QUERY_STRING: caf%E9=%FF&raw=%E9'
    else
        check "$s raw query" "non-UTF-8 query byte shown escaped" has 'QUERY_STRING: caf%E9=%FF&raw=\xe9'
    fi

    fetch "/cgi-bin/app/no/such/page"
    check "$s 404" "404" is_code 404
    check "$s 404" "names the path" has "Not Found: /no"

    fetch "/cgi-bin/app/fail"
    check "$s fail" "500 from the error page" is_code 500
    check "$s fail" "the seed's error body" body_is "A server error occurred.  Please contact the administrator."
    check "$s fail" "error page Content-Type" header_has "content-type: text/plain"
    # What docs/cgi.md says each server does with the program's stderr, where the error went.
    check "$s fail" "the program's stderr in ${STDERR_LOG[$s]#"$WORK"/}" stderr_logged "${STDERR_LOG[$s]}"
}

# Where each server puts its CGI programs' stderr (docs/cgi.md, "The program's stderr"):
# lighttpd passes on its own stderr (here, run in the foreground as systemd runs it, a file);
# Apache writes it to its ErrorLog; fcgiwrap sends it to nginx, which writes it to its
# error_log ("FastCGI sent in stderr"). lighttpd-stock.sh adds server.breakagelog's file.
declare -A STDERR_LOG=()
set_stderr_logs() {
    STDERR_LOG[lighttpd]="$WORK/run/lighttpd.out"
    STDERR_LOG[apache2]="$WORK/logs/apache2-error.log"
    STDERR_LOG[nginx]="$WORK/logs/nginx-error.log"
}

# stderr_logged FILE: the /fail route's message reaches FILE (servers may write their logs a
# moment after the response: wait up to 5 s).
stderr_logged() {
    local i
    for i in $(seq 50); do
        grep -qF "the /fail route fails on purpose" "$1" 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}

main() {
    [ "$(id -u)" = 0 ] || die "needs root (servers drop to www-data; packages may be installed)"
    install_packages
    build_example "$@"
    WORK=$(mktemp -d /tmp/wsgiref-cgi.XXXXXX)
    trap cleanup EXIT
    chmod 755 "$WORK"
    mkdir -p "$WORK/cgi-bin" "$WORK/htdocs" "$WORK/logs" "$WORK/run"
    chown www-data:www-data "$WORK/logs" "$WORK/run"
    install -m 755 "$BIN" "$WORK/cgi-bin/app"
    echo "wsgiref CGI test" >"$WORK/htdocs/index.html"
    set_stderr_logs

    local server
    for server in "${SERVERS[@]}"; do
        PORT=$(free_port)
        log "=== $server on 127.0.0.1:$PORT"
        "start_$server"
        run_checks "$server"
        stop_server
    done
    log "real-servers: $CHECKS checks, $FAILURES failed"
    if [ "$FAILURES" -gt 0 ]; then
        show_logs
        exit 1
    fi
}

# Sourced by tests/cgi/lighttpd-stock.sh for its helpers and checks; run, it tests all three.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    main "$@"
fi
