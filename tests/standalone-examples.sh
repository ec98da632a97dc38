#!/usr/bin/env bash
# Every non-embedding example, copied into a package of its own that depends on `wsgiref`
# alone, must build: this proves that a user who copies an example into a new project gets
# a build, with no `wsgiref_core` or `wsgiref_std` path left in it.
#
# One temporary workspace holds one package per example (`examples/*.rs`; `serve.rs` with
# its `serve/` module folder), all sharing one target dir under target/, so the dependencies
# build once. Each package depends on the checkout's `wsgiref` by path and, besides, only on
# the crates among the project's dev-dependencies that the example names in its code
# (`heapless::...`), with the project's version requirements. The embedding examples
# (examples/embedded-qemu, c-embed, tokio-async) are their own packages on the core and are
# built by embedded/ci.sh.
#
# Usage: tests/standalone-examples.sh [EXAMPLE...]   (default: all)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d /tmp/wsgiref-standalone.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
TARGET=${STANDALONE_TARGET_DIR:-$ROOT/target/standalone-examples}

if [ $# -gt 0 ]; then
    EXAMPLES=("$@")
else
    EXAMPLES=()
    for f in "$ROOT"/examples/*.rs; do
        EXAMPLES+=("$(basename "$f" .rs)")
    done
fi

# Write the workspace: a package per example, its dependencies chosen from the `use` paths.
python3 - "$ROOT" "$WORK" "${EXAMPLES[@]}" <<'PY'
import json, pathlib, re, shutil, sys, tomllib

root, work, names = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2]), sys.argv[3:]
manifest = tomllib.loads((root / "Cargo.toml").read_text())
shared = manifest["workspace"]["dependencies"]

def requirement(spec):
    """A dev-dependency's spec with `workspace = true` resolved, as an inline TOML table."""
    if isinstance(spec, str):
        spec = {"version": spec}
    if spec.get("workspace"):
        base = shared[name_of[id(spec)]]
        base = {"version": base} if isinstance(base, str) else dict(base)
        if "features" in spec:
            base["features"] = sorted(set(base.get("features", [])) | set(spec["features"]))
        spec = base
    if "path" in spec:
        raise SystemExit(f"a path dev-dependency cannot be offered to a standalone example: {spec}")
    return "{ " + ", ".join(f"{k} = {json.dumps(v)}" for k, v in spec.items()) + " }"

dev = manifest.get("dev-dependencies", {})
name_of = {id(spec): name for name, spec in dev.items()}
members = []
for name in names:
    source = root / "examples" / f"{name}.rs"
    if not source.is_file():
        raise SystemExit(f"no such example: {source}")
    package = work / name
    (package / "src").mkdir(parents=True)
    shutil.copy(source, package / "src" / "main.rs")
    code = source.read_text()
    folder = root / "examples" / name
    if folder.is_dir():
        # The example's own modules (`#[path = "serve/mod.rs"] mod serve;`).
        shutil.copytree(folder, package / "src" / name)
        code += "".join(p.read_text() for p in sorted(folder.rglob("*.rs")))
    deps = [f'wsgiref = {{ path = {json.dumps(str(root))} }}']
    for dep, spec in sorted(dev.items()):
        crate = dep.replace("-", "_")
        if re.search(rf"(?<![\w:]){crate}::", code):
            deps.append(f"{dep} = {requirement(spec)}")
    (package / "Cargo.toml").write_text(
        "[package]\n"
        f'name = "standalone-{name.replace("_", "-")}"\n'
        'version = "0.0.0"\n'
        'edition = "2021"\n'
        "publish = false\n\n"
        "[dependencies]\n" + "\n".join(deps) + "\n"
    )
    print(f"{name}: " + ", ".join(d.split(" =")[0] for d in deps))
    members.append(name)
(work / "Cargo.toml").write_text(
    "[workspace]\nresolver = \"2\"\nmembers = " + json.dumps(members) + "\n"
)
PY

# The checkout's lock file, so the examples build against the versions the project tests
# (cargo adds the new packages to it).
cp "$ROOT/Cargo.lock" "$WORK/Cargo.lock"
cd "$WORK"
CARGO_TARGET_DIR="$TARGET" cargo build --workspace --all-targets
echo "standalone examples: ${#EXAMPLES[@]} built, each depending on wsgiref alone"
