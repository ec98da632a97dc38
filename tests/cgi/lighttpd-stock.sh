#!/usr/bin/env bash
# docs/cgi.md's lighttpd steps for Debian, run as written on the distribution's own
# configuration: the block marked `lighttpd-stock` in docs/cgi.md (install the program,
# enable the packaged `cgi` module and the documented `wsgiref-cgi` file, reload), then the
# same curl checks as tests/cgi/real-servers.sh, plus: the program's stderr reaches the
# `server.breakagelog` file the block sets up.
#
# The machine is not changed: the script runs in a mount namespace of its own (unshare),
# where scratch copies are mounted over /etc/lighttpd, /usr/lib/cgi-bin and /var/log/lighttpd,
# so `lighty-enable-mod` and the block's paths work on copies. The only edits to the
# distribution's lighttpd.conf are the test's overrides, each needed to stay off the
# machine's ports and files: a free port on 127.0.0.1 instead of port 80 on every address
# (`server.port`, `server.bind`, and no `use-ipv6.pl` include, which would listen on [::]),
# and a scratch pid file. The block's `service lighttpd force-reload` is replaced by starting
# lighttpd in the foreground (`-D`), as Debian's systemd unit does.
#
# Usage: tests/cgi/lighttpd-stock.sh [CGI_BINARY]   (needs root; installs lighttpd if missing)
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)

if [ -z "${LIGHTTPD_STOCK_NS:-}" ]; then
    [ "$(id -u)" = 0 ] || { echo "lighttpd-stock: needs root" >&2; exit 1; }
    if ! command -v lighttpd >/dev/null || ! command -v lighty-enable-mod >/dev/null \
        || ! command -v curl >/dev/null; then
        apt-get update >/dev/null
        DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
            lighttpd curl >/dev/null
    fi
    export LIGHTTPD_STOCK_NS=1
    exec unshare --mount --propagation private bash "$0" "$@"
fi

# Inside the namespace. The helpers, checks and cleanup of real-servers.sh.
# shellcheck source=tests/cgi/real-servers.sh
source "$HERE/real-servers.sh"

# The documented block, with `sudo` dropped (we are root) and the reload left out.
documented_block() {
    python3 - "$ROOT/docs/cgi.md" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
marker = text.index("<!-- lighttpd-stock:")
block = re.search(r"```sh\n(.*?)```", text[marker:], re.S)
if not block:
    sys.exit("docs/cgi.md: no sh block after the lighttpd-stock marker")
lines = []
for line in block.group(1).splitlines():
    if line.startswith("sudo service lighttpd"):
        continue
    lines.append(re.sub(r"^sudo ", "", line))
print("\n".join(lines))
PY
}

main_stock() {
    build_example "$@"
    WORK=$(mktemp -d /tmp/wsgiref-lighttpd-stock.XXXXXX)
    trap cleanup EXIT
    chmod 755 "$WORK"
    mkdir -p "$WORK/etc" "$WORK/cgi-bin" "$WORK/varlog" "$WORK/run" "$WORK/logs" \
        "$WORK/src/target/release/examples"
    chown www-data:www-data "$WORK/varlog" "$WORK/run" "$WORK/logs"
    cp -a /etc/lighttpd/. "$WORK/etc/"
    mount --bind "$WORK/etc" /etc/lighttpd
    mkdir -p /usr/lib/cgi-bin
    mount --bind "$WORK/cgi-bin" /usr/lib/cgi-bin
    mkdir -p /var/log/lighttpd
    mount --bind "$WORK/varlog" /var/log/lighttpd

    PORT=$(free_port)
    log "=== lighttpd, Debian's configuration + docs/cgi.md's steps, on 127.0.0.1:$PORT"
    # The block names the binary relative to a checkout: give it one.
    ln -s "$(readlink -f "$BIN")" "$WORK/src/target/release/examples/cgi"
    documented_block >"$WORK/steps.sh"
    log "--- the documented steps:"
    cat "$WORK/steps.sh" >&2
    (cd "$WORK/src" && bash -euo pipefail "$WORK/steps.sh") || die "the documented steps failed"

    sed -i -e "s|^server.port .*|server.port = $PORT\nserver.bind = \"127.0.0.1\"|" \
        -e '/use-ipv6\.pl/d' \
        -e "s|^server.pid-file .*|server.pid-file = \"$WORK/run/lighttpd.pid\"|" \
        /etc/lighttpd/lighttpd.conf
    lighttpd -tt -f /etc/lighttpd/lighttpd.conf >"$WORK/run/lighttpd-check.out" 2>&1 \
        || { show_logs; die "lighttpd rejected the configuration"; }
    setsid lighttpd -D -f /etc/lighttpd/lighttpd.conf >"$WORK/run/lighttpd.out" 2>&1 &
    SERVER_PID=$!
    PIDS+=("$SERVER_PID")
    wait_ready "$SERVER_PID" lighttpd

    # The stock configuration serves the program (not a download of it), and every check of
    # the private configuration holds; the stderr goes to the breakagelog file.
    fetch "/cgi-bin/app/"
    check "stock" "the program runs (not served as a file)" \
        eval 'is_code 200 && header_has "content-type: text/plain" && has "/info/"'
    STDERR_LOG[lighttpd]=/var/log/lighttpd/cgi-stderr.log
    # Debian's server.http-parseopts normalizes the query (url-normalize-required): %2F
    # arrives decoded (docs/cgi.md, "What differs between the three").
    EXPECT_QUERY='q=1&x=/y'
    run_checks lighttpd
    stop_server
    log "lighttpd-stock: $CHECKS checks, $FAILURES failed"
    if [ "$FAILURES" -gt 0 ]; then
        show_logs
        exit 1
    fi
}

main_stock "$@"
