//! The uwsgi decoder (wsgiref_core::gateway::uwsgi) on fuzzer-chosen bytes cut at fuzzer-chosen
//! places: never a panic, the same events however the bytes are cut, and a valid request built
//! from fuzzer-chosen params and body decodes to exactly them.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use wsgiref_core::gateway::Limits;
use wsgiref_fuzz::gateway::{Protocol, Request};

#[derive(Arbitrary, Debug)]
struct Input<'a> {
    cuts: Vec<u16>,
    /// A valid request to start with (then `data` follows it), or only `data`.
    request: Option<(Vec<(Vec<u8>, Vec<u8>)>, Vec<u8>, u16, u8)>,
    /// Small limits instead of the defaults, so that their checks are reached.
    limits: Option<(u16, u8, u8, u16, u16)>,
    data: &'a [u8],
}

fuzz_target!(|input: Input<'_>| {
    const PROTOCOL: Protocol = Protocol::Uwsgi;
    let limits = match input.limits {
        None => Limits::DEFAULT,
        Some((bytes, pairs, name, value, body)) => Limits {
            max_params_bytes: bytes.into(),
            max_pairs: pairs.into(),
            max_name: name.into(),
            max_value: value.into(),
            max_body: body.into(),
        },
    };
    let mut bytes = Vec::new();
    let mut request = None;
    if let Some((params, body, record, padding)) = input.request {
        let r = Request { params, body }.sanitized();
        bytes = PROTOCOL.encode(&r, usize::from(record), padding);
        request = Some(r);
    }
    bytes.extend_from_slice(input.data);
    let cuts: Vec<usize> = input.cuts.iter().map(|&c| usize::from(c)).collect();
    PROTOCOL.assert_split_invariant(&bytes, &cuts, limits);
    if let (Some(r), true, None) = (request, input.data.is_empty(), input.limits) {
        assert_eq!(PROTOCOL.drive([&bytes[..]], limits), PROTOCOL.expected(&r));
    }
});
