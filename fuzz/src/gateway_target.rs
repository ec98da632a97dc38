//! The body of the three decoder fuzz targets (`gateway_fastcgi`, `gateway_scgi`,
//! `gateway_uwsgi`), which differ only in the protocol they name. Kept apart from
//! [`crate::gateway`] because that module is also included by path into
//! `tests/gateway_props.rs`, which has no `arbitrary`.

use arbitrary::Arbitrary;
use wsgiref_core::gateway::Limits;

use crate::gateway::{Protocol, Request};

/// What the fuzzer chooses for one run of a decoder target.
#[derive(Arbitrary, Debug)]
pub struct Input<'a> {
    /// Where to cut the bytes before feeding them.
    pub cuts: Vec<u16>,
    /// A valid request to start with (then `data` follows it), or only `data`.
    pub request: Option<(Vec<(Vec<u8>, Vec<u8>)>, Vec<u8>, u16, u8)>,
    /// Small limits instead of the defaults, so that their checks are reached.
    pub limits: Option<(u16, u8, u8, u16, u16)>,
    /// Raw bytes after the request (or alone).
    pub data: &'a [u8],
}

/// Never a panic, the same events however the bytes are cut, and a valid request built from
/// the fuzzer's params and body decodes to exactly them.
pub fn check(protocol: Protocol, input: Input<'_>) {
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
        bytes = protocol.encode(&r, usize::from(record), padding);
        request = Some(r);
    }
    bytes.extend_from_slice(input.data);
    let cuts: Vec<usize> = input.cuts.iter().map(|&c| usize::from(c)).collect();
    protocol.assert_split_invariant(&bytes, &cuts, limits);
    if let (Some(r), true, None) = (request, input.data.is_empty(), input.limits) {
        assert_eq!(protocol.drive([&bytes[..]], limits), protocol.expected(&r));
    }
}
