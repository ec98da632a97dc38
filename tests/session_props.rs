//! Property tests of the sans-IO `Session`, the `cargo test` counterpart of the fuzz targets in
//! `fuzz/` (whose driver and request generator are included here, so both check the same
//! invariants):
//!
//! * split invariance: feeding the same bytes whole or in random pieces writes the same bytes
//!   and takes the same steps, for valid requests (pipelined, Content-Length or chunked) and for
//!   garbage (random bytes, and valid requests with bytes flipped, inserted or cut);
//! * round trip: a generated valid request reaches the application exactly as generated;
//! * arbitrary bytes never panic, never loop, and every response is well-formed.

#[path = "../fuzz/src/driver.rs"]
#[allow(dead_code)]
mod driver;
#[path = "../fuzz/src/gen.rs"]
#[allow(dead_code)]
mod gen;

use std::cell::RefCell;

use proptest::collection::vec;
use proptest::prelude::*;
use wsgiref_core::handler::Step;

use driver::{assert_same_steps, check_invariants, drive, echo_app};
use gen::{recording_app, Parts, Spec};

fn parts() -> impl Strategy<Value = Parts> {
    (
        vec(any::<u8>(), 0..8),
        vec(any::<u8>(), 0..24),
        any::<bool>(),
        proptest::option::of(vec(any::<u8>(), 0..16)),
        vec((vec(any::<u8>(), 0..12), vec(any::<u8>(), 0..24)), 0..8),
        vec(any::<u8>(), 0..300),
        proptest::option::of(vec(any::<u16>().prop_map(|n| n % 64), 1..6)),
    )
        .prop_map(
            |(method, path, upper_hex, query, headers, body, chunks)| Parts {
                method,
                path,
                upper_hex,
                query,
                headers,
                body,
                chunks,
            },
        )
}

fn spec() -> impl Strategy<Value = Spec> {
    parts().prop_map(Spec::from_parts)
}

/// One to three valid requests back to back.
fn pipelined() -> impl Strategy<Value = Vec<u8>> {
    vec(spec(), 1..4).prop_map(|specs| specs.iter().flat_map(Spec::encode).collect())
}

/// A small edit of some bytes.
#[derive(Clone, Debug)]
enum Edit {
    Flip(usize, u8),
    Insert(usize, u8),
    Cut(usize),
}

/// Valid requests damaged by a few edits, or plain random bytes.
fn garbage() -> impl Strategy<Value = Vec<u8>> {
    let edit = prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Edit::Flip(i, b)),
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Edit::Insert(i, b)),
        any::<usize>().prop_map(Edit::Cut),
    ];
    let damaged = (pipelined(), vec(edit, 1..4)).prop_map(|(mut bytes, edits)| {
        for e in edits {
            let len = bytes.len().max(1);
            match e {
                Edit::Flip(i, b) if !bytes.is_empty() => bytes[i % len] = b,
                Edit::Insert(i, b) => bytes.insert(i % (bytes.len() + 1), b),
                Edit::Cut(i) => bytes.truncate(i % (bytes.len() + 1)),
                Edit::Flip(..) => {}
            }
        }
        bytes
    });
    prop_oneof![vec(any::<u8>(), 0..400), damaged]
}

/// Cut `data` at the given positions (taken modulo its length, sorted).
fn pieces<'a>(data: &'a [u8], cuts: &[usize]) -> Vec<&'a [u8]> {
    let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (data.len() + 1)).collect();
    cuts.sort_unstable();
    let mut out = Vec::new();
    let mut at = 0;
    for cut in cuts.into_iter().chain([data.len()]) {
        out.push(&data[at..cut]);
        at = cut;
    }
    out
}

fn assert_split_invariant(data: &[u8], cuts: &[usize], rx_len: usize) {
    let app = echo_app();
    let whole = drive(&app, [data], rx_len);
    let split = drive(&app, pieces(data, cuts), rx_len);
    check_invariants(data, &whole);
    check_invariants(data, &split);
    assert_same_steps(&whole, &split, &cuts);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn valid_requests_are_split_invariant(
        data in pipelined(),
        cuts in vec(any::<usize>(), 0..12),
        rx_len in prop_oneof![Just(512usize), Just(4096usize)],
    ) {
        assert_split_invariant(&data, &cuts, rx_len);
    }

    #[test]
    fn garbage_is_split_invariant(
        data in garbage(),
        cuts in vec(any::<usize>(), 0..12),
    ) {
        assert_split_invariant(&data, &cuts, 1024);
    }

    #[test]
    fn generated_requests_round_trip(spec in spec()) {
        let request = spec.encode();
        let seen = RefCell::new(Vec::new());
        let app = recording_app(&seen);
        let run = drive(&app, [&request[..]], 32 * 1024);
        drop(app);
        let steps = run.comparable_steps();
        prop_assert!(
            matches!(&steps[..], [Step::Answered(log), Step::Close] if log.status == 204),
            "steps {:?}", steps
        );
        let seen = seen.into_inner();
        prop_assert_eq!(seen.len(), 1);
        prop_assert_eq!(&seen[0], &spec.expected());
    }

    #[test]
    fn arbitrary_bytes_never_panic(data in garbage(), rx_len in 16usize..2048) {
        let run = drive(&echo_app(), [&data[..]], rx_len);
        check_invariants(&data, &run);
    }
}

/// The invariant checks can fail: a run that never closed is caught.
#[test]
#[should_panic(expected = "did not end closed")]
fn invariant_check_catches_an_open_run() {
    let mut run = drive(&echo_app(), [&b"GET / HTTP/1.1\r\n\r\n"[..]], 512);
    run.calls.retain(|c| c.step != Step::Close);
    check_invariants(b"GET / HTTP/1.1\r\n\r\n", &run);
}

/// The seed corpus of the fuzz targets passes the same checks.
#[test]
fn fuzz_seed_corpus_passes() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/session_bytes");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let data = std::fs::read(entry.unwrap().path()).unwrap();
        let run = drive(&echo_app(), [&data[..]], 1024);
        check_invariants(&data, &run);
        assert_split_invariant(&data, &[1, 7, 30, 31, 200], 1024);
        n += 1;
    }
    assert!(n >= 30, "only {n} seeds");
}
