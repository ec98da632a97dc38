#!/usr/bin/env bash
# Embedded checks for wsgiref-rs: the Cortex-M3 firmwares under QEMU (plain and defmt), the
# footprint figures of the minimal firmware, the C static library driven by a C program, and
# the async driver on tokio. Installs what it needs (qemu-system-arm, the thumbv7m target,
# llvm-tools, defmt-print).
#
#   embedded/ci.sh [qemu|footprint|c|async]...   (no argument: all of them)
#
# Footprint limits, for the minimal (blocking Connection, terse-errors) firmware:
# * STACK_BUDGET (default 2800 B, issue 7's goal, met): going over it fails the script.
# * FLASH_CEILING (default 24000 B, about 2% above the figure at the end of 2026-12-07,
#   23,524 B): a regression guard, since the flash goal is not met; going over it fails the
#   script. It moved from 22000 B because the RFC 9112 checks of issue 24 (request-target
#   authorities, Host values, chunk extensions) now run in every build, terse-errors
#   included: +1,400 B (21,972 B -> 23,372 B); announcing `Connection: close` for a body left
#   unread added 148 B more. terse-errors drops refusal sentences, never a check.
# * FLASH_BUDGET (default 18000 B, issue 7's goal, not met): going over it prints OVER GOAL
#   and fails the script only with FOOTPRINT_ENFORCE=1.
#
# And for the sans-IO Session firmware whose application routes on PATH_INFO:
# * SESSION_ROUTE_CEILING (default 25000 B, about 2% above 24,560 B at the end of
#   2026-12-07): a regression guard for what reading the environ costs a session; going over
#   it fails the script. The environ seam (environ::Source) once cost this firmware 1,536 B
#   unnoticed, when the source's get went behind a vtable and a constant key no longer
#   folded its match (26,096 B; see BENCHMARKS.md).
set -euo pipefail
# Every build below names its target directory: the paths of the binaries it runs are fixed,
# whatever CARGO_TARGET_DIR the caller exported.

cd "$(dirname "$0")/.."
ROOT=$(pwd)
FW="$ROOT/examples/embedded-qemu"
FW_OUT="$FW/target/thumbv7m-none-eabi/release"
FLASH_BUDGET=${FLASH_BUDGET:-18000}
FLASH_CEILING=${FLASH_CEILING:-24000}
SESSION_ROUTE_CEILING=${SESSION_ROUTE_CEILING:-25000}
STACK_BUDGET=${STACK_BUDGET:-2800}
FOOTPRINT_ENFORCE=${FOOTPRINT_ENFORCE:-0}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

# expect FILE PATTERN...: every fixed-string pattern occurs in FILE.
expect() {
    local file=$1 pat
    shift
    for pat in "$@"; do
        grep -qF -- "$pat" "$file" || fail "expected '$pat' in $file"
    done
}

qemu_run() {
    # qemu_run ELF OUT: run a firmware; its semihosting exit code becomes ours.
    timeout 30 qemu-system-arm -cpu cortex-m3 -machine lm3s6965evb -nographic \
        -semihosting-config enable=on,target=native -kernel "$1" >"$2" 2>"$2.stderr"
}

setup_qemu() {
    if ! command -v qemu-system-arm >/dev/null; then
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends qemu-system-arm >/dev/null
    fi
    rustup target add thumbv7m-none-eabi >/dev/null 2>&1
}

check_qemu() {
    setup_qemu
    echo "--- demo firmware (semihosting text)"
    (cd "$FW" && cargo build -q --release --bin demo --target-dir target)
    local rc=0
    qemu_run "$FW_OUT/demo" "$WORK/demo.out" || rc=$?
    cat "$WORK/demo.out"
    [ "$rc" = 0 ] || fail "demo firmware exited with $rc (a response differed from the expected bytes)"
    expect "$WORK/demo.out" \
        "transport: in-memory" "--- hello" "Hello from a Cortex-M3!" \
        "QUERY_STRING=unit=c&n=3" "HTTP_X_SENSOR=t1" \
        "HTTP/1.1 404 Not Found" \
        "got: hello, world" \
        "HTTP/1.1 400 Bad Request" \
        "failures=0"
    [ "$(grep -c '^\[ok\]$' "$WORK/demo.out")" = 5 ] || fail "not all five cases reported [ok]"

    echo "--- demo firmware over smoltcp TCP (client and server in the firmware)"
    (cd "$FW" && cargo build -q --release --bin demo --features tcp --target-dir target/tcp)
    rc=0
    qemu_run "$FW/target/tcp/thumbv7m-none-eabi/release/demo" "$WORK/tcp.out" || rc=$?
    cat "$WORK/tcp.out"
    [ "$rc" = 0 ] || fail "TCP demo firmware exited with $rc (a response differed from the expected bytes)"
    expect "$WORK/tcp.out" "transport: smoltcp TCP" "Hello from a Cortex-M3!" \
        "HTTP/1.1 404 Not Found" "got: hello, world" "HTTP/1.1 400 Bad Request" "failures=0"
    [ "$(grep -c '^\[ok\]$' "$WORK/tcp.out")" = 5 ] || fail "TCP: not all five cases reported [ok]"

    echo "--- demo firmware (defmt over semihosting)"
    (cd "$FW" && cargo build -q --release --bin demo --features defmt --target-dir target/defmt)
    local elf="$FW/target/defmt/thumbv7m-none-eabi/release/demo"
    rc=0
    qemu_run "$elf" "$WORK/defmt.raw" || rc=$?
    [ "$rc" = 0 ] || fail "defmt demo firmware exited with $rc"
    if ! command -v defmt-print >/dev/null; then
        cargo install -q --locked defmt-print
    fi
    defmt-print -e "$elf" <"$WORK/defmt.raw" >"$WORK/defmt.out"
    cat "$WORK/defmt.out"
    expect "$WORK/defmt.out" "--- hello" "--- chunked-post" "got: hello, world" "failures=0"
    [ "$(grep -c '\[ok\]' "$WORK/defmt.out")" = 5 ] || fail "defmt: not all five cases reported [ok]"
}

# minimal_figures BIN FEATURES LABEL: build the minimal firmware BIN with FEATURES (may be
# empty), run it in QEMU, assert its response, and set TEXT, STATIC_RAM and STACK from
# llvm-size and the firmware's own stack report.
minimal_figures() {
    local bin=$1 features=$2 label=$3
    (cd "$FW" && cargo build -q --release --bin "$bin" --target-dir target ${features:+--features "$features"})
    local elf="$FW_OUT/$bin" rc=0
    qemu_run "$elf" "$WORK/$bin.out" || rc=$?
    echo "--- $bin firmware, $label"
    cat "$WORK/$bin.out"
    [ "$rc" = 0 ] || fail "$bin firmware ($label) exited with $rc"
    expect "$WORK/$bin.out" "HTTP/1.1 200 OK" "Hello, world!" "minimal: ok"
    # Berkeley format: text = vector table + .text + .rodata; data + bss = static RAM.
    local data bss
    read -r TEXT data bss _ < <("$SIZE" "$elf" | tail -n 1)
    STATIC_RAM=$((data + bss))
    STACK=$(sed -n 's/^stack_high_water=//p' "$WORK/$bin.out")
    [ -n "$STACK" ] || fail "the $bin firmware ($label) did not report its stack high-water mark"
}

check_footprint() {
    setup_qemu
    rustup component add llvm-tools >/dev/null 2>&1
    SIZE=$(ls "$(rustc --print sysroot)"/lib/rustlib/*/bin/llvm-size | head -n 1)
    [ -x "$SIZE" ] || fail "llvm-size not found in the llvm-tools component"
    # The measured configuration: the blocking Connection, `terse-errors` (refusals keep
    # status and reason only) ...
    minimal_figures minimal terse "terse-errors"
    local text=$TEXT stack=$STACK ram=$STATIC_RAM
    # ... the core's default build, whose refusals carry a sentence saying what was wrong ...
    minimal_figures minimal "" "default features"
    local full_text=$TEXT full_stack=$STACK
    # ... and the sans-IO Session. Not the same measurement: a session writes the environ out
    # only when the application reads it, and the hello application never does.
    minimal_figures minimal_session terse "terse-errors"
    local ses_text=$TEXT ses_stack=$STACK ses_ram=$STATIC_RAM
    # What an application that reads its environ (routing on PATH_INFO) costs on each driver.
    minimal_figures minimal "terse route" "terse-errors, routing on PATH_INFO"
    local route_text=$TEXT
    minimal_figures minimal_session "terse route" "terse-errors, routing on PATH_INFO"
    local ses_route_text=$TEXT
    # The floor: the same harness and request, httparse alone, the response a constant.
    minimal_figures floor terse "httparse alone, constant response"
    local floor_text=$TEXT
    echo
    printf 'minimal firmware (thumbv7m, opt-level s, LTO, panic=abort)\n'
    printf '  blocking Connection, terse-errors (budgeted)\n'
    printf '    flash (text)                  %6d B   goal %d B, ceiling %d B\n' "$text" \
        "$FLASH_BUDGET" "$FLASH_CEILING"
    printf '    static RAM (data+bss)         %6d B\n' "$ram"
    printf '    stack high-water              %6d B   budget %d B\n' "$stack" "$STACK_BUDGET"
    printf '  blocking Connection, default features (refusal sentences included)\n'
    printf '    flash (text)                  %6d B\n' "$full_text"
    printf '    stack high-water              %6d B\n' "$full_stack"
    printf '  sans-IO Session, terse-errors (environ never read, so its write-out is not linked)\n'
    printf '    flash (text)                  %6d B\n' "$ses_text"
    printf '    static RAM (data+bss)         %6d B\n' "$ses_ram"
    printf '    stack high-water              %6d B\n' "$ses_stack"
    printf '  the application routing on PATH_INFO (reads its environ), terse-errors\n'
    printf '    flash, blocking Connection    %6d B\n' "$route_text"
    printf '    flash, sans-IO Session        %6d B   ceiling %d B\n' "$ses_route_text" \
        "$SESSION_ROUTE_CEILING"
    printf '  floor: same harness, httparse alone, the response a constant (no handler)\n'
    printf '    flash (text)                  %6d B\n' "$floor_text"
    printf '    the handler'"'"'s own flash       %6d B   (budgeted firmware - floor; the goal leaves it %d B)\n' \
        "$((text - floor_text))" "$((FLASH_BUDGET - floor_text))"
    # The stack goal is met and the flash ceiling guards the unmet flash goal: both fail CI.
    if [ "$stack" -gt "$STACK_BUDGET" ]; then
        fail "stack high-water $stack B is over the budget of $STACK_BUDGET B"
    fi
    if [ "$text" -gt "$FLASH_CEILING" ]; then
        fail "flash $text B is over the regression ceiling of $FLASH_CEILING B"
    fi
    if [ "$ses_route_text" -gt "$SESSION_ROUTE_CEILING" ]; then
        fail "the routing Session firmware's flash $ses_route_text B is over its regression ceiling of $SESSION_ROUTE_CEILING B"
    fi
    if [ "$text" -gt "$FLASH_BUDGET" ]; then
        echo "OVER GOAL: flash $text B > $FLASH_BUDGET B (issue 7's goal, not met)"
        if [ "$FOOTPRINT_ENFORCE" = 1 ]; then
            fail "flash over the goal (FOOTPRINT_ENFORCE=1)"
        fi
        echo "(the goal is not enforced: set FOOTPRINT_ENFORCE=1 to fail on it)"
    fi
    return 0
}

check_c() {
    local dir="$ROOT/examples/c-embed"
    (cd "$dir" && cargo test -q --target-dir target && cargo build -q --release --target-dir target)
    # No extra libraries: the archive is self-contained (see Cargo.toml on rust_eh_personality).
    gcc -O2 -Wall -Wextra -Werror -I"$dir/include" "$dir/c/main.c" \
        "$dir/target/release/libwsgiref_c.a" -o "$WORK/c-embed"
    local rc=0
    timeout 30 "$WORK/c-embed" >"$WORK/c.out" || rc=$?
    cat "$WORK/c.out"
    [ "$rc" = 0 ] || fail "the C program exited with $rc"
    expect "$WORK/c.out" \
        "Hello from C!" \
        "QUERY_STRING=a=1" "REMOTE_ADDR=127.0.0.1" "HTTP_HOST=c.local" \
        "HTTP/1.1 404 Not Found" "Content-Length: 10" \
        "echo 7: from C!" \
        "HTTP/1.1 500 Internal Server Error" \
        "HTTP/1.1 400 Bad Request" \
        "malformed (application called 0 times)"
}

check_async() {
    local dir="$ROOT/examples/tokio-async"
    # The integration test starts the server on an ephemeral 127.0.0.1 port and talks to it
    # with a std TcpStream (pipelining, a chunked POST, a malformed request).
    (cd "$dir" && cargo test -q --target-dir target)
    # The binary too: one connection on a free port, then it exits.
    (cd "$dir" && cargo build -q --target-dir target)
    "$dir/target/debug/wsgiref-tokio-async" 0 1 >"$WORK/tokio.out" 2>"$WORK/tokio.err" &
    local pid=$! port="" i
    for i in $(seq 1 100); do
        port=$(sed -n 's|^listening on http://127.0.0.1:||p' "$WORK/tokio.out")
        [ -n "$port" ] && break
        sleep 0.1
    done
    [ -n "$port" ] || { kill "$pid" 2>/dev/null; fail "the tokio server did not report its port"; }
    python3 - "$port" >"$WORK/tokio.reply" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
s.sendall(b"GET /env?q=async HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
reply = b""
while chunk := s.recv(4096):
    reply += chunk
sys.stdout.write(reply.decode())
PY
    timeout 10 tail --pid="$pid" -f /dev/null || { kill "$pid" 2>/dev/null; fail "the tokio server did not stop"; }
    wait "$pid" || fail "the tokio server failed"
    cat "$WORK/tokio.reply"
    expect "$WORK/tokio.reply" "HTTP/1.1 200 OK" "QUERY_STRING=q=async" "REMOTE_ADDR=127.0.0.1" \
        "SERVER_PORT=$port"
}

main() {
    local parts=("$@")
    [ ${#parts[@]} -gt 0 ] || parts=(qemu footprint c async)
    local part
    for part in "${parts[@]}"; do
        echo "=== embedded: ${part}"
        case "$part" in
            qemu) check_qemu ;;
            footprint) check_footprint ;;
            c) check_c ;;
            async) check_async ;;
            *) fail "unknown part '$part' (qemu, footprint, c, async)" ;;
        esac
    done
    echo "embedded: all checks passed"
}

main "$@"
