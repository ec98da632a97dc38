#!/usr/bin/env bash
# Nightly-style long fuzzing (not run in CI): each fuzz target for a long time, then the new
# inputs that reach new coverage are merged into the committed corpus (fuzz/corpus/<target>).
#
#   bench/fuzz-long.sh              # 1 hour per target
#   bench/fuzz-long.sh 600          # 10 minutes per target
#   bench/fuzz-long.sh 600 roundtrip
#
# The corpus only grows: libFuzzer's `-merge=1 corpus/<t> new/` copies into corpus/<t> just the
# new inputs that add coverage over what is already there (a minimised increment), and deletes
# nothing, so several people can grow it in parallel and commit the additions. Findings stop
# the script with the reproducer in fuzz/artifacts/<target>/.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"

SECONDS_PER_TARGET=${1:-3600}
shift || true
if [ "$#" -gt 0 ]; then
    TARGETS=("$@")
else
    TARGETS=(session_bytes split_invariance roundtrip)
fi
JOBS=${FUZZ_JOBS:-$(nproc)}

if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi
cargo +nightly fuzz build -O

SCRATCH=$(mktemp -d)
trap 'rm -rf "$SCRATCH"' EXIT
for target in "${TARGETS[@]}"; do
    mkdir -p "$SCRATCH/$target" "corpus/$target" "artifacts/$target"
    before=$(find "corpus/$target" -type f | wc -l)
    echo "--- ${target}: ${SECONDS_PER_TARGET}s on ${JOBS} jobs, ${before} corpus files"
    # New inputs land in the scratch directory (the first one named); the committed corpus
    # is only read here.
    cargo +nightly fuzz run -O "$target" "$SCRATCH/$target" "corpus/$target" -- \
        -max_total_time="$SECONDS_PER_TARGET" -timeout=10 -rss_limit_mb=2048 \
        -jobs="$JOBS" -workers="$JOBS" -print_final_stats=1 \
        2>"$SCRATCH/$target.log" || {
        echo "FINDING in ${target}; reproducer in fuzz/artifacts/${target}/:"
        grep -A12 -E 'panicked at|ERROR:' "$SCRATCH/$target.log" fuzz-*.log 2>/dev/null | head -40
        exit 1
    }
    rm -f fuzz-*.log
    # Add only what reaches new coverage (minimised increment; nothing is deleted).
    cargo +nightly fuzz run -O "$target" -- -merge=1 "corpus/$target" "$SCRATCH/$target" \
        2>"$SCRATCH/$target.merge.log"
    after=$(find "corpus/$target" -type f | wc -l)
    grep -h -E 'stat::number_of_executed_units' "$SCRATCH/$target.log" | tail -1 || true
    echo "--- ${target}: corpus ${before} -> ${after} files"
done
echo "Commit the additions: git add fuzz/corpus && git commit -m 'fuzz: grow the corpus'"
