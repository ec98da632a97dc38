//! The gateway sessions (wsgiref_core::gateway::Session over FastCGI, SCGI and uwsgi), running
//! an application on fuzzer-chosen bytes cut at fuzzer-chosen places, some fed and some read
//! by the application as its body: never a panic, a bounded run, and the same bytes written
//! and steps reported however the bytes are cut.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use wsgiref_core::gateway::{Limits, Protocol};
use wsgiref_fuzz::gateway::Request;
use wsgiref_fuzz::gateway_session::assert_split_invariant;

/// A valid request's parts: params, body, FastCGI keep-conn, record size, padding.
type RequestParts = (Vec<(Vec<u8>, Vec<u8>)>, Vec<u8>, bool, u16, u8);

#[derive(Arbitrary, Debug)]
struct Input<'a> {
    protocol: u8,
    cuts: Vec<u16>,
    /// How many bytes the application reads at a time.
    read_size: u16,
    /// A valid request to start with (then `data` follows it), or only `data`.
    request: Option<RequestParts>,
    /// Small limits instead of the defaults, so that their checks are reached.
    limits: Option<(u16, u8, u8, u16, u16)>,
    data: &'a [u8],
}

fuzz_target!(|input: Input<'_>| {
    let protocol = match input.protocol % 3 {
        0 => Protocol::FastCgi,
        1 => Protocol::Scgi,
        _ => Protocol::Uwsgi,
    };
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
    if let Some((params, body, keep, record, padding)) = input.request {
        let r = Request { params, body }.sanitized();
        bytes = match protocol {
            Protocol::FastCgi => r.fastcgi(1, keep, usize::from(record), padding),
            Protocol::Scgi => r.scgi(),
            Protocol::Uwsgi => r.uwsgi(),
        };
    }
    bytes.extend_from_slice(input.data);
    let cuts: Vec<usize> = input.cuts.iter().map(|&c| usize::from(c)).collect();
    assert_split_invariant(
        protocol,
        &bytes,
        &cuts,
        usize::from(input.read_size),
        limits,
    );
});
