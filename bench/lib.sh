# Shared by bench/instructions.sh and bench/ab.sh (sourced, not run).

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
