#!/usr/bin/env bash
# nginx as a reverse proxy in front of our server (issue 9): the `demo` and `echo` examples on
# ephemeral ports behind nginx on 127.0.0.1, checked with curl through nginx.
#
#   tests/nginx/reverse-proxy.sh        (installs nginx with apt-get when it is missing)
#
# Fails loudly when nginx or a server cannot start. Talks to 127.0.0.1 only; every wait is
# bounded.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"

fail() {
    echo "reverse-proxy: FAIL: $*" >&2
    for f in "$DIR"/error.log "$DIR"/demo.err "$DIR"/echo.err; do
        [ -s "$f" ] && { echo "--- $f" >&2; tail -20 "$f" >&2; }
    done
    exit 1
}
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
if [ ! -x "$NGINX" ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light ||
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx
    NGINX=$(command -v nginx || echo /usr/sbin/nginx)
fi
[ -x "$NGINX" ] || { echo "reverse-proxy: nginx is not installed and could not be installed" >&2; exit 1; }
command -v curl >/dev/null || { echo "reverse-proxy: curl is missing" >&2; exit 1; }

DIR=$(mktemp -d /tmp/wsgiref-nginx.XXXXXX)
PIDS=()
cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$DIR"
}
trap cleanup EXIT

cargo build -q --example demo --example echo
TARGET=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')

# start NAME BINARY: run an example on port 0; sets PORT from its first line of output.
start() {
    "$2" 0 >"$DIR/$1.out" 2>"$DIR/$1.err" &
    PIDS+=($!)
    local i
    for ((i = 0; i < 100; i++)); do
        PORT=$(grep -o -m1 'port [0-9]*' "$DIR/$1.out" 2>/dev/null | cut -d' ' -f2 || true)
        [ -n "$PORT" ] && return 0
        sleep 0.1
    done
    fail "$1 printed no port"
}
start demo "$TARGET/debug/examples/demo"
DEMO_PORT=$PORT
start echo "$TARGET/debug/examples/echo"
ECHO_PORT=$PORT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
NGINX_PORT=$(free_port)
DOWN_PORT=$(free_port)

user=""
[ "$(id -u)" = 0 ] && user="user root;"
sed -e "s|@DIR@|$DIR|g" -e "s|@USER@|$user|" -e "s|@DEMO_PORT@|$DEMO_PORT|" \
    -e "s|@ECHO_PORT@|$ECHO_PORT|" -e "s|@DOWN_PORT@|$DOWN_PORT|" -e "s|@NGINX_PORT@|$NGINX_PORT|" \
    tests/nginx/nginx.conf.in >"$DIR/nginx.conf"
"$NGINX" -t -c "$DIR/nginx.conf" -p "$DIR" 2>"$DIR/nginx-t.log" || { cat "$DIR/nginx-t.log" >&2; fail "nginx -t refused the configuration"; }
"$NGINX" -c "$DIR/nginx.conf" -p "$DIR" 2>>"$DIR/error.log" &
PIDS+=($!)
for ((i = 0; i < 100; i++)); do
    curl -s -o /dev/null "http://127.0.0.1:$NGINX_PORT/" && break
    sleep 0.1
done
curl -s -o /dev/null "http://127.0.0.1:$NGINX_PORT/" || fail "nginx does not answer on port $NGINX_PORT"
BASE=http://127.0.0.1:$NGINX_PORT
echo "demo on $DEMO_PORT, echo on $ECHO_PORT, nginx on $NGINX_PORT"

checks=0
check() { # description, then a command that must succeed
    local what=$1
    shift
    if "$@"; then
        echo "ok: $what"
        checks=$((checks + 1))
    else
        fail "$what"
    fi
}

# GET: the application's page, with the proxy's headers visible in its environ.
page=$(curl -sS -H 'Host: app.example' "$BASE/demo/some/path?x=1")
has() { grep -qF -- "$1" <<<"$page"; }
check "GET through nginx reaches demo_app" has "Hello world!"
check "PATH_INFO is the path below the proxied prefix" has "PATH_INFO = '/some/path'"
check "QUERY_STRING passes through" has "QUERY_STRING = 'x=1'"
check "Host is forwarded (HTTP_HOST)" has "HTTP_HOST = 'app.example'"
check "X-Forwarded-For is visible as HTTP_X_FORWARDED_FOR" has "HTTP_X_FORWARDED_FOR = '127.0.0.1'"
check "X-Real-IP is visible as HTTP_X_REAL_IP" has "HTTP_X_REAL_IP = '127.0.0.1'"
check "X-Forwarded-Proto is visible as HTTP_X_FORWARDED_PROTO" has "HTTP_X_FORWARDED_PROTO = 'http'"
check "nginx forwards HTTP/1.1 (SERVER_PROTOCOL)" has "SERVER_PROTOCOL = 'HTTP/1.1'"

# HEAD: status and headers, no body.
head_out=$(curl -sS -I "$BASE/demo/")
check "HEAD answers 200" grep -q '^HTTP/1.1 200' <<<"$head_out"
check "HEAD carries no body" test "$(curl -sS --head "$BASE/demo/" -o /dev/null -w '%{size_download}')" = 0

# POST bodies: small, chunked from the client, and 1 MiB; echoed byte for byte.
check "POST body echoed" test "$(curl -sS --data-binary 'name=value&x=1' "$BASE/echo/")" = "name=value&x=1"
head -c 300000 /dev/urandom >"$DIR/upload.bin"
got=$(curl -sS -H 'Transfer-Encoding: chunked' --data-binary "@$DIR/upload.bin" "$BASE/echo/" | sha256sum | cut -d' ' -f1)
check "chunked upload echoed byte for byte" test "$got" = "$(sha256sum <"$DIR/upload.bin" | cut -d' ' -f1)"
head -c 1048576 /dev/urandom >"$DIR/big.bin"
got=$(curl -sS --data-binary "@$DIR/big.bin" "$BASE/echo/" | sha256sum | cut -d' ' -f1)
check "1 MiB POST echoed byte for byte" test "$got" = "$(sha256sum <"$DIR/big.bin" | cut -d' ' -f1)"

# Upstream keep-alive: consecutive requests through nginx arrive over one connection to the
# application (demo_app shows the peer's port, REMOTE_PORT, which nginx's side of it keeps).
remote_port() { curl -sS "$BASE/demo/" | sed -n "s/^REMOTE_PORT = '\([0-9]*\)'$/\1/p"; }
ports=""
for ((i = 0; i < 10; i++)); do ports="$ports $(remote_port)"; done
distinct=$(tr ' ' '\n' <<<"$ports" | sed '/^$/d' | sort -u | wc -l)
echo "   upstream client ports of 10 requests:$ports"
check "demo_app shows REMOTE_PORT for every request" test "$(wc -w <<<"$ports")" = 10
check "nginx reuses its upstream connection (keep-alive)" test "$distinct" = 1

# Upstream down: nginx's own 502, and our servers unaffected.
check "a dead upstream is nginx's 502" test "$(curl -sS -o /dev/null -w '%{http_code}' "$BASE/down/")" = 502
check "the application still answers afterwards" test "$(curl -sS -o /dev/null -w '%{http_code}' "$BASE/demo/")" = 200

echo "reverse-proxy: $checks checks passed"
