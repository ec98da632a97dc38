#!/usr/bin/env bash
# Fuzz every target of wsgiref-fuzz for a bounded time: the HTTP session targets FUZZ_SECONDS
# each (default 60), the gateway decoders (FastCGI, SCGI, uwsgi), the gateway sessions that
# run an application over them, and the proxy decoders (the PROXY protocol, Forwarded /
# X-Forwarded-*): small machines that saturate their coverage quickly, FUZZ_GATEWAY_SECONDS
# each (default 20).
# Installs cargo-fuzz when missing. Fails on a build failure or on any finding (crash, panic,
# timeout, leak); the reproducer is then in fuzz/artifacts/<target>/ and is printed.
# The committed seed corpus stays untouched: new inputs go to a scratch directory.
set -euo pipefail

cd "$(dirname "$0")"
SESSION_SECONDS=${FUZZ_SECONDS:-60}
GATEWAY_SECONDS=${FUZZ_GATEWAY_SECONDS:-20}
TARGETS=(session_bytes split_invariance roundtrip gateway_fastcgi gateway_scgi gateway_uwsgi
    gateway_session proxy_protocol forwarded)
seconds_for() {
    case "$1" in
        gateway_* | proxy_protocol | forwarded) echo "$GATEWAY_SECONDS" ;;
        *) echo "$SESSION_SECONDS" ;;
    esac
}

if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi
rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal

cargo +nightly fuzz build

SCRATCH=$(mktemp -d)
trap 'rm -rf "$SCRATCH"' EXIT
status=0
for target in "${TARGETS[@]}"; do
    SECONDS_PER_TARGET=$(seconds_for "$target")
    echo "--- fuzz ${target} for ${SECONDS_PER_TARGET}s"
    mkdir -p "$SCRATCH/$target" "artifacts/$target"
    # -timeout: one input taking over 10 s is a hang, which is a finding too.
    if ! cargo +nightly fuzz run "$target" "$SCRATCH/$target" "corpus/$target" -- \
        -max_total_time="$SECONDS_PER_TARGET" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 2>"$SCRATCH/$target.log"; then
        status=1
        echo "FINDING in ${target}:"
        # The panic message and the input, without libFuzzer's frame-by-frame stack dump.
        grep -v -E '^ +(#[0-9]+ 0x|at )' "$SCRATCH/$target.log" | grep -A12 -E 'panicked at|ERROR:' || true
        grep -v -E '^ +(#[0-9]+ 0x|at )' "$SCRATCH/$target.log" | tail -n 40
        ls -l "artifacts/$target"
    else
        grep -E '^(stat::number_of_executed_units|stat::average_exec_per_sec|#[0-9]+ *DONE)' \
            "$SCRATCH/$target.log" || true
    fi
done
exit $status
