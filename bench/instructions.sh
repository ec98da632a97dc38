#!/usr/bin/env bash
# Instructions per request of the core's full cycle and of httparse alone, on the same two
# requests, in one run (issue 3's goal: full cycle <= 2.0x httparse). Counted with callgrind,
# which repeats exactly on a busy machine; each figure is (count at 2N - count at N) / N, so
# process start-up cancels out.
#
#   bench/instructions.sh            # N=1000
#   N=5000 bench/instructions.sh
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-1000}
command -v valgrind >/dev/null || { echo "valgrind is not installed (apt-get install valgrind)" >&2; exit 1; }
. bench/lib.sh
bin=$(instructions_bin)
[ -x "$bin" ] || { echo "could not build benches/instructions.rs" >&2; exit 1; }

count() { # request what iterations -> instructions
    valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin" "$1" "$2" "$3" 2>&1 \
        | sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}
per_request() {
    local a b
    a=$(count "$1" "$2" "$N")
    b=$(count "$1" "$2" $((2 * N)))
    [ -n "$a" ] && [ -n "$b" ] || { echo "callgrind printed no count for $1 $2" >&2; exit 1; }
    echo $(((b - a) / N))
}
# `floor`: httparse plus copying out the response the cycle writes, the least any handler
# does; `reading`: the cycle with an application that first reads REQUEST_METHOD, PATH_INFO,
# QUERY_STRING and HTTP_HOST (what the environ costs an application that looks at it).
ratio() { echo "$1 / $2" | bc -l; }
printf '%-8s %9s %9s %7s %11s %7s %9s %7s\n' \
    request httparse floor ratio full-cycle ratio reading ratio
for req in typical minimal; do
    p=$(per_request "$req" httparse)
    f=$(per_request "$req" floor)
    c=$(per_request "$req" cycle)
    r=$(per_request "$req" cycle-reading)
    printf '%-8s %9d %9d %6.2fx %11d %6.2fx %9d %6.2fx\n' "$req" "$p" \
        "$f" "$(ratio "$f" "$p")" "$c" "$(ratio "$c" "$p")" "$r" "$(ratio "$r" "$p")"
done
