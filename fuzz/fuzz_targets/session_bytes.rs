//! Arbitrary bytes into a `Session` with a small echo application: it must never panic, never
//! loop, keep its output bounded, and every response must be well-formed (see
//! `wsgiref_fuzz::driver::check_invariants`). A small receive buffer makes the "request too
//! large" paths reachable.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wsgiref_fuzz::driver::{check_invariants, drive, echo_app};

fuzz_target!(|data: &[u8]| {
    let app = echo_app();
    let run = drive(&app, [data], 1024);
    check_invariants(data, &run);
});
