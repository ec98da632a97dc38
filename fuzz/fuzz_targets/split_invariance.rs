//! The fuzzer picks the bytes and where to cut them: feeding a `Session` the whole input or
//! the pieces (processing after each) must write the same bytes and take the same steps
//! (`100 Continue`, sent only when a head arrives before its body, aside).
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use wsgiref_fuzz::driver::{assert_same_steps, check_invariants, drive, echo_app};

#[derive(Arbitrary, Debug)]
struct Input<'a> {
    cuts: Vec<u16>,
    data: &'a [u8],
}

fuzz_target!(|input: Input<'_>| {
    let data = input.data;
    let mut cuts: Vec<usize> = input
        .cuts
        .iter()
        .map(|&c| usize::from(c) % (data.len() + 1))
        .collect();
    cuts.sort_unstable();
    cuts.dedup();
    let mut pieces = Vec::new();
    let mut at = 0;
    for cut in cuts.into_iter().chain([data.len()]) {
        pieces.push(&data[at..cut]);
        at = cut;
    }
    let app = echo_app();
    let whole = drive(&app, [data], 2048);
    let split = drive(&app, pieces.iter().copied(), 2048);
    check_invariants(data, &whole);
    check_invariants(data, &split);
    assert_same_steps(&whole, &split, &pieces);
});
