//! Property tests of the gateway decoders (FastCGI, SCGI, uwsgi), the `cargo test` counterpart
//! of the `gateway_*` fuzz targets in `fuzz/` (whose driver is included here, so both check the
//! same invariants):
//!
//! * split invariance: the same bytes fed whole, one byte at a time or cut at random places
//!   give the same events, for valid requests and for damaged ones or random bytes;
//! * round trip: a generated request decodes to exactly its params and body, and FastCGI
//!   output framed by the encoders reads back as the data it framed.

#[path = "../fuzz/src/gateway.rs"]
#[allow(dead_code)]
mod gateway;

use proptest::collection::vec;
use proptest::prelude::*;
use wsgiref_core::gateway::fastcgi::{self, Output, RecordHeader};
use wsgiref_core::gateway::Limits;

use gateway::{
    assert_split_invariant, drive_fastcgi, drive_scgi, drive_uwsgi, pieces, Ev, Request,
};

fn request() -> impl Strategy<Value = Request> {
    (
        vec((vec(any::<u8>(), 0..40), vec(any::<u8>(), 0..200)), 0..12),
        prop_oneof![vec(any::<u8>(), 0..64), vec(any::<u8>(), 0..3000)],
    )
        .prop_map(|(params, body)| Request { params, body }.sanitized())
}

/// A small edit of some bytes.
#[derive(Clone, Debug)]
enum Edit {
    Flip(usize, u8),
    Insert(usize, u8),
    Cut(usize),
}

fn damage(mut bytes: Vec<u8>, edits: Vec<Edit>) -> Vec<u8> {
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
}

/// Valid requests of each protocol damaged by a few edits, or random bytes.
fn garbage() -> impl Strategy<Value = Vec<u8>> {
    let edit = prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Edit::Flip(i, b)),
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Edit::Insert(i, b)),
        any::<usize>().prop_map(Edit::Cut),
    ];
    let valid =
        (request(), 0..3u8, 1usize..300, 0u8..9).prop_map(|(r, which, rec, pad)| match which {
            0 => r.scgi(),
            1 => r.uwsgi(),
            _ => r.fastcgi(1, true, rec, pad),
        });
    let damaged = (valid, vec(edit, 1..4)).prop_map(|(bytes, edits)| damage(bytes, edits));
    prop_oneof![vec(any::<u8>(), 0..400), damaged]
}

/// Small limits, so that the limit checks are reached too.
fn limits() -> impl Strategy<Value = Limits> {
    prop_oneof![
        Just(Limits::DEFAULT),
        (1usize..600, 0usize..8, 1usize..40, 0usize..200, 0u64..2000).prop_map(
            |(bytes, pairs, name, value, body)| Limits {
                max_params_bytes: bytes,
                max_pairs: pairs,
                max_name: name,
                max_value: value,
                max_body: body,
            }
        ),
    ]
}

/// Read FastCGI output records back into the bytes of each stream, checking the framing.
fn read_records(mut wire: &[u8]) -> (Vec<(u8, u16, Vec<u8>)>, usize) {
    let mut out: Vec<(u8, u16, Vec<u8>)> = Vec::new();
    let mut records = 0;
    while !wire.is_empty() {
        let header = RecordHeader::parse(wire[..8].try_into().unwrap()).unwrap();
        let len = usize::from(header.content_length);
        let pad = usize::from(header.padding_length);
        assert_eq!((8 + len + pad) % 8, 0, "records are padded to 8");
        assert!(pad < 8);
        out.push((
            header.record_type,
            header.request_id,
            wire[8..8 + len].to_vec(),
        ));
        wire = &wire[8 + len + pad..];
        records += 1;
    }
    (out, records)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn valid_requests_are_split_invariant(
        r in request(),
        record in 1usize..400,
        padding in 0u8..9,
        cuts in vec(any::<usize>(), 0..12),
        limits in limits(),
    ) {
        assert_split_invariant(&r.scgi(), &cuts, limits);
        assert_split_invariant(&r.uwsgi(), &cuts, limits);
        let mut two = r.fastcgi(1, true, record, padding);
        two.extend(r.fastcgi(2, false, record + 7, 0));
        assert_split_invariant(&two, &cuts, limits);
    }

    #[test]
    fn garbage_is_split_invariant(
        data in garbage(),
        cuts in vec(any::<usize>(), 0..12),
        limits in limits(),
    ) {
        assert_split_invariant(&data, &cuts, limits);
    }

    #[test]
    fn generated_requests_round_trip(
        r in request(),
        record in 1usize..70000,
        padding in 0u8..9,
        cuts in vec(any::<usize>(), 0..6),
    ) {
        let scgi = r.scgi();
        prop_assert_eq!(drive_scgi(pieces(&scgi, &cuts), Limits::DEFAULT), r.expected(true));
        let uwsgi = r.uwsgi();
        prop_assert_eq!(drive_uwsgi(pieces(&uwsgi, &cuts), Limits::DEFAULT), r.expected(false));
        // Two requests on one kept connection.
        let mut wire = r.fastcgi(7, true, record, padding);
        wire.extend(r.fastcgi(8, false, record, padding));
        let mut expected = r.expected_fastcgi();
        expected.extend(r.expected_fastcgi());
        prop_assert_eq!(drive_fastcgi(pieces(&wire, &cuts), Limits::DEFAULT), expected);
    }

    #[test]
    fn fastcgi_output_round_trips(
        out in prop_oneof![vec(any::<u8>(), 0..100), vec(any::<u8>(), 65530..65545), vec(any::<u8>(), 131060..131080)],
        err in vec(any::<u8>(), 0..20),
        id in any::<u16>(),
        app_status in any::<u32>(),
    ) {
        let mut wire = Vec::new();
        for frame in fastcgi::stream(Output::Stdout, id, &out) {
            prop_assert!(!frame.content.is_empty() && frame.content.len() <= 65535);
            let mut copied = vec![0; frame.len()];
            prop_assert_eq!(frame.copy_to(&mut copied), Some(frame.len()));
            wire.extend(copied);
        }
        for frame in fastcgi::stream(Output::Stderr, id, &err) {
            wire.extend_from_slice(&frame.header);
            wire.extend_from_slice(frame.content);
            wire.extend_from_slice(frame.padding);
        }
        wire.extend_from_slice(&fastcgi::stream_end(Output::Stdout, id));
        wire.extend_from_slice(&fastcgi::end_request(id, app_status, fastcgi::ProtocolStatus::RequestComplete));
        let (records, n) = read_records(&wire);
        prop_assert_eq!(n, out.len().div_ceil(65535) + err.len().div_ceil(65535) + 2);
        prop_assert!(records.iter().all(|(_, rid, _)| *rid == id));
        let stdout: Vec<u8> = records.iter().filter(|r| r.0 == 6).flat_map(|r| r.2.clone()).collect();
        let stderr: Vec<u8> = records.iter().filter(|r| r.0 == 7).flat_map(|r| r.2.clone()).collect();
        prop_assert_eq!(stdout, out);
        prop_assert_eq!(stderr, err);
        let (t, _, empty) = &records[records.len() - 2];
        prop_assert_eq!((*t, empty.len()), (6, 0));
        let (t, _, end) = &records[records.len() - 1];
        prop_assert_eq!(*t, 3);
        prop_assert_eq!(&end[..4], &app_status.to_be_bytes()[..]);
        prop_assert_eq!(end[4], 0);
    }
}

/// A generated request with the limits just too small for it is refused, with the kind the
/// limit names, by all three decoders.
#[test]
fn limits_are_enforced_by_every_decoder() {
    use wsgiref_core::gateway::ErrorKind;
    let r = Request {
        params: vec![(b"XNAME".to_vec(), b"value".to_vec()); 3],
        body: b"body".to_vec(),
    };
    let cases = [
        (
            Limits {
                max_pairs: 2,
                ..Limits::DEFAULT
            },
            ErrorKind::TooManyParams,
        ),
        (
            Limits {
                max_name: 4,
                ..Limits::DEFAULT
            },
            ErrorKind::NameTooLong,
        ),
        (
            Limits {
                max_value: 4,
                ..Limits::DEFAULT
            },
            ErrorKind::ValueTooLong,
        ),
        (
            Limits {
                max_params_bytes: 20,
                ..Limits::DEFAULT
            },
            ErrorKind::ParamsTooLarge,
        ),
        (
            Limits {
                max_body: 3,
                ..Limits::DEFAULT
            },
            ErrorKind::BodyTooLarge,
        ),
    ];
    for (limits, kind) in cases {
        // SCGI and uwsgi add CONTENT_LENGTH (and SCGI): allow for it in the pair count.
        let extra = |n: usize| Limits {
            max_pairs: limits.max_pairs.saturating_add(n),
            ..limits
        };
        let runs = [
            (
                "scgi",
                drive_scgi(
                    [&r.scgi()[..]],
                    if kind == ErrorKind::TooManyParams {
                        extra(2)
                    } else {
                        limits
                    },
                ),
            ),
            (
                "uwsgi",
                drive_uwsgi(
                    [&r.uwsgi()[..]],
                    if kind == ErrorKind::TooManyParams {
                        extra(1)
                    } else {
                        limits
                    },
                ),
            ),
            (
                "fastcgi",
                drive_fastcgi([&r.fastcgi(1, false, 9, 1)[..]], limits),
            ),
        ];
        for (name, events) in runs {
            match events.last() {
                Some(Ev::Error(e)) => assert_eq!(e.kind, kind, "{name}"),
                other => panic!("{name}: {kind:?} not refused: {other:?}"),
            }
        }
    }
}

/// The seed corpus of the gateway fuzz targets, read as raw bytes, passes the same checks.
#[test]
fn fuzz_seed_corpus_is_split_invariant() {
    let mut n = 0;
    for target in ["gateway_fastcgi", "gateway_scgi", "gateway_uwsgi"] {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fuzz/corpus")
            .join(target);
        for entry in std::fs::read_dir(&dir).unwrap() {
            let data = std::fs::read(entry.unwrap().path()).unwrap();
            assert_split_invariant(&data, &[1, 7, 30, 31, 200], Limits::DEFAULT);
            n += 1;
        }
    }
    assert!(n >= 90, "only {n} seeds");
}
