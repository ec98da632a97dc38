# shellcheck shell=bash
# Shared by bench/instructions.sh, bench/ab.sh and bench/gateway.sh (sourced, not run).

# instructions_bin [DIR]: build benches/instructions.rs in DIR (default: the current
# directory; CARGO_TARGET_DIR is honoured) and print the path of its executable, taken from
# cargo's JSON messages because the file name carries a hash. Prints nothing if it did not
# build; callers check the path.
instructions_bin() {
    (cd "${1:-.}" && cargo bench --bench instructions --no-run --message-format=json 2>/dev/null) |
        python3 -c 'import sys,json
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "instructions" and m.get("executable"):
        print(m["executable"])'
}

# free_port: a free TCP port of 127.0.0.1 (bound, read, released), for a server that must be
# told its port.
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# cpu_ticks PID: utime+stime of the whole process (all threads), in clock ticks.
cpu_ticks() {
    # Field 2 (comm) may hold spaces; everything after its closing paren is space-separated,
    # starting with field 3, so utime (14) and stime (15) are the 12th and 13th there.
    sed 's/.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'
}
