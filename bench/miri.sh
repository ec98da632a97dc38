#!/usr/bin/env bash
# Run the core's test suite under miri (undefined-behaviour checker) on the nightly toolchain.
#
#   bench/miri.sh            # the whole wsgiref-core suite, as CI runs it
#   bench/miri.sh FILTER     # only tests whose name contains FILTER
#
# Property tests (proptest) run hundreds of cases each and are far too slow under miri's
# interpreter (and proptest asks for the working directory, which miri's isolation refuses);
# they are marked `#[cfg_attr(miri, ignore)]` where they are written. Every other
# unit test of the core runs (the day walk in proto::date covers 4 years instead of 131).
# Miri cannot call the host's clock or filesystem without isolation being lifted, and the
# core needs neither, so the default isolation stays on.
set -euo pipefail
cd "$(dirname "$0")/.."

rustup +nightly component add miri rust-src >/dev/null
cargo +nightly miri setup >/dev/null
# Leaks are not undefined behaviour, and the request-parser tests leak their header arrays on
# purpose (`Box::leak`, so a helper can return a head borrowing from them): ignore leaks.
export MIRIFLAGS="${MIRIFLAGS:-} -Zmiri-ignore-leaks"
# Doctests are skipped (miri runs them one process each, minutes for little gain); the unit
# and integration tests of the core are what exercises its code paths.
cargo +nightly miri test -p wsgiref-core --lib --tests -- "$@"
