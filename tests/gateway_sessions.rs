//! Property tests of the gateway sessions (`wsgiref_core::gateway::Session` over FastCGI, SCGI
//! and uwsgi), the `cargo test` counterpart of the `gateway_session` fuzz target, whose driver
//! is included here so that both check the same invariants: however a connection's bytes are
//! cut, and whichever arrive through `feed` or through the body source, the session writes the
//! same bytes and reports the same steps; and a valid request reaches the application with its
//! params and its whole body.

#[path = "../fuzz/src/gateway.rs"]
#[allow(dead_code)]
mod gateway;
#[path = "../fuzz/src/gateway_session.rs"]
#[allow(dead_code)]
mod gateway_session;

use proptest::collection::vec;
use proptest::prelude::*;
use wsgiref_core::gateway::{Limits, Protocol, Step};

use gateway::Request;
use gateway_session::{assert_split_invariant, run};

const PROTOCOLS: [Protocol; 3] = [Protocol::FastCgi, Protocol::Scgi, Protocol::Uwsgi];

fn request() -> impl Strategy<Value = Request> {
    let name = prop::sample::select(vec![
        "REQUEST_METHOD",
        "QUERY_STRING",
        "HTTP_HOST",
        "PATH_INFO",
        "HTTPS",
        "X",
    ]);
    let value = prop::sample::select(vec![
        "GET", "POST", "HEAD", "/fail", "/stream", "on", "a=1", "",
    ]);
    (
        vec((name, value), 0..6),
        prop_oneof![vec(any::<u8>(), 0..64), vec(any::<u8>(), 0..3000)],
    )
        .prop_map(|(params, body)| Request {
            params: params
                .into_iter()
                .map(|(n, v)| (n.as_bytes().to_vec(), v.as_bytes().to_vec()))
                .collect(),
            body,
        })
}

/// `request` for `protocol` (FastCGI: records of at most `record` bytes, `padding`, and the
/// keep-conn flag as given).
fn encode(protocol: Protocol, r: &Request, keep: bool, record: usize, padding: u8) -> Vec<u8> {
    match protocol {
        Protocol::FastCgi => r.fastcgi(1, keep, record, padding),
        Protocol::Scgi => r.scgi(),
        Protocol::Uwsgi => r.uwsgi(),
    }
}

/// The `FCGI_STDOUT` content of FastCGI output (a streamed body spans many records).
fn stdout_of(mut wire: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while wire.len() >= 8 {
        let len = usize::from(u16::from_be_bytes([wire[4], wire[5]]));
        let end = 8 + len + usize::from(wire[6]);
        if wire[1] == 6 {
            out.extend_from_slice(&wire[8..8 + len]);
        }
        wire = &wire[end..];
    }
    out
}

fn body_line(r: &Request) -> String {
    // The application's FNV-1a hash of the body.
    let hash = r.body.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    format!("body={} hash={hash:x} input_error=none", r.body.len())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// A valid request, cut anywhere: the same transcript, and the application saw the whole
    /// body (its length and hash are in the response).
    #[test]
    fn valid_requests_are_split_invariant(
        r in request(),
        which in 0..3usize,
        keep in any::<bool>(),
        record in 1usize..400,
        padding in 0u8..9,
        cuts in vec(any::<usize>(), 0..8),
        read_size in 1usize..300,
    ) {
        let protocol = PROTOCOLS[which];
        let data = encode(protocol, &r, keep, record, padding);
        let t = assert_split_invariant(protocol, &data, &cuts, read_size, Limits::DEFAULT);
        prop_assert!(matches!(t.steps.first(), Some(Step::Answered(_))), "{:?}", t.steps);
        let failed = r.params.iter().any(|(n, v)| n == b"PATH_INFO" && v == b"/fail");
        let head = r.params.iter().rev().find(|(n, _)| n == b"REQUEST_METHOD").is_some_and(|(_, v)| v == b"HEAD");
        if !failed && !head {
            let out = match protocol {
                Protocol::FastCgi => stdout_of(&t.out),
                _ => t.out.clone(),
            };
            let text = String::from_utf8_lossy(&out);
            let body_line = body_line(&r);
            prop_assert!(text.contains(&body_line), "{}", text);
        }
    }

    /// Two FastCGI requests on one keep-conn connection, then damage or random bytes: the
    /// same transcript however cut.
    #[test]
    fn keep_conn_sequences_and_damaged_input_are_split_invariant(
        a in request(),
        b in request(),
        tail in vec(any::<u8>(), 0..64),
        flip in any::<Option<(usize, u8)>>(),
        cuts in vec(any::<usize>(), 0..8),
        read_size in 1usize..300,
    ) {
        let mut data = a.fastcgi(1, true, 100, 3);
        data.extend(b.fastcgi(2, true, 77, 0));
        data.extend(tail);
        if let Some((i, byte)) = flip {
            let i = i % data.len();
            data[i] = byte;
        }
        for protocol in PROTOCOLS {
            assert_split_invariant(protocol, &data, &cuts, read_size, Limits::DEFAULT);
        }
        if flip.is_none() {
            let t = run(Protocol::FastCgi, &[&data], read_size, Limits::DEFAULT);
            prop_assert!(matches!(t.steps[..2], [Step::Answered(_), Step::Answered(_)]), "{:?}", t.steps);
        }
    }

    /// Random bytes under tiny limits: no panic, and split invariant.
    #[test]
    fn random_bytes_under_tiny_limits_are_split_invariant(
        data in vec(any::<u8>(), 0..600),
        cuts in vec(any::<usize>(), 0..8),
        read_size in 1usize..64,
    ) {
        let limits = Limits { max_params_bytes: 64, max_pairs: 4, max_name: 16, max_value: 32, max_body: 100 };
        for protocol in PROTOCOLS {
            assert_split_invariant(protocol, &data, &cuts, read_size, limits);
        }
    }
}
