#!/usr/bin/env bash
# Wall-clock A/B of the full cycle against httparse, for two builds, on a noisy machine.
#
#   bench/ab.sh                 # HEAD (A) against the working tree (B)
#   bench/ab.sh <rev>           # <rev> (A) against the working tree (B)
#   R=15 bench/ab.sh            # more rounds (default 9)
#
# Builds the `instructions` bench binary for both (A in a temporary git worktree), then runs
# them interleaved: every round runs httparse and the cycle of A, then of B, for the typical
# and the minimal request, and keeps each one's fastest round. Interleaving puts A and B
# under the same host noise, and the minimum discards rounds a neighbour slowed down; on
# these shared machines criterion's intervals for one build move by 5-10% between runs, which
# hides the few-percent changes this is for. Prints ns per request and the cycle/httparse
# ratio of each build. A tool for deciding a change, not the recorded figure (criterion's
# `cargo bench --bench handler` is, see BENCHMARKS.md).
set -euo pipefail
cd "$(dirname "$0")/.."
rev=${1:-HEAD}
R=${R:-9}
work=$(mktemp -d)
trap 'git worktree remove --force "$work/a" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

. bench/lib.sh

git worktree add --detach "$work/a" "$rev" >/dev/null 2>&1 ||
    { echo "cannot check out '$rev'" >&2; exit 1; }
# A separate target directory for A, so that B's build is not overwritten.
a_bin=$(CARGO_TARGET_DIR="$work/target" instructions_bin "$work/a")
[ -x "$a_bin" ] || { echo "could not build the instructions binary at $rev" >&2; exit 1; }
cp "$a_bin" "$work/A"
b_bin=$(instructions_bin .)
[ -x "$b_bin" ] || { echo "could not build the instructions binary of the working tree" >&2; exit 1; }
cp "$b_bin" "$work/B"

ns_per() { # binary request what iterations -> ns per iteration (integer, x1000)
    local s e
    s=$(date +%s%N)
    "$1" "$2" "$3" "$4" >/dev/null
    e=$(date +%s%N)
    echo $(((e - s) / ($4 / 1000)))
}

printf 'A = %s, B = working tree, fastest of %d interleaved rounds\n' "$rev" "$R"
printf '%-8s %12s %12s %7s %12s %12s %7s %8s\n' request A-httparse A-cycle ratio B-httparse B-cycle ratio B/A
for req in typical minimal; do
    n=2000000
    [ "$req" = minimal ] && n=5000000
    declare -A best=([Ah]=999999999 [Ac]=999999999 [Bh]=999999999 [Bc]=999999999)
    for _ in $(seq "$R"); do
        for b in A B; do
            for w in httparse cycle; do
                t=$(ns_per "$work/$b" "$req" "$w" "$n")
                k=$b${w:0:1}
                [ "$t" -lt "${best[$k]}" ] && best[$k]=$t
            done
        done
    done
    printf '%-8s %12.1f %12.1f %6.2fx %12.1f %12.1f %6.2fx %+7.1f%%\n' "$req" \
        "$(echo "${best[Ah]} / 1000" | bc -l)" "$(echo "${best[Ac]} / 1000" | bc -l)" \
        "$(echo "${best[Ac]} / ${best[Ah]}" | bc -l)" \
        "$(echo "${best[Bh]} / 1000" | bc -l)" "$(echo "${best[Bc]} / 1000" | bc -l)" \
        "$(echo "${best[Bc]} / ${best[Bh]}" | bc -l)" \
        "$(echo "(${best[Bc]} - ${best[Ac]}) * 100 / ${best[Ac]}" | bc -l)"
done
