//! Property tests of the PROXY protocol decoder (`wsgiref::proxy::protocol`), the `cargo test`
//! counterpart of the `proxy_protocol` fuzz target in `fuzz/` (whose driver and test-only
//! encoder are included here, so both check the same invariants):
//!
//! * split invariance: the same bytes fed whole, one byte at a time or cut at random places
//!   give the same outcome, for valid headers and for damaged ones or random bytes;
//! * round trip: a generated header (either version, every command, family and transport,
//!   with TLVs) decodes to exactly what it encodes, and the bytes after it are left alone.

#[path = "../fuzz/src/proxy.rs"]
#[allow(dead_code)]
mod proxy;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use proptest::collection::vec;
use proptest::prelude::*;
use wsgiref::proxy::protocol::{Addresses, Command, Limits, Transport, Version};

use proxy::{assert_split_invariant, encode, expected, unix_path, Outcome, Spec};

fn ip() -> impl Strategy<Value = IpAddr> {
    prop_oneof![
        any::<u32>().prop_map(|a| IpAddr::V4(Ipv4Addr::from(a))),
        any::<u128>().prop_map(|a| IpAddr::V6(Ipv6Addr::from(a))),
    ]
}

fn addresses() -> impl Strategy<Value = Addresses> {
    prop_oneof![
        Just(Addresses::Unspec),
        // Mostly one family, sometimes mixed (v2 then maps IPv4 into IPv6).
        (
            ip(),
            any::<bool>(),
            any::<u32>(),
            any::<u16>(),
            any::<u16>()
        )
            .prop_map(|(s, same, d, sp, dp)| {
                let d = match (s, same) {
                    (IpAddr::V4(_), true) => IpAddr::V4(Ipv4Addr::from(d)),
                    (IpAddr::V6(_), true) => IpAddr::V6(Ipv6Addr::from(u128::from(d) << 7)),
                    (IpAddr::V4(_), false) => IpAddr::V6(Ipv6Addr::from(u128::from(d))),
                    (IpAddr::V6(_), false) => IpAddr::V4(Ipv4Addr::from(d)),
                };
                Addresses::Inet {
                    source: SocketAddr::new(s, sp),
                    destination: SocketAddr::new(d, dp),
                }
            }),
        (vec(any::<u8>(), 0..120), vec(any::<u8>(), 0..120)).prop_map(|(s, d)| {
            Addresses::Unix {
                source: unix_path(&s),
                destination: unix_path(&d),
            }
        }),
    ]
}

fn spec() -> impl Strategy<Value = Spec> {
    (
        prop_oneof![Just(Version::V1), Just(Version::V2)],
        prop_oneof![Just(Command::Proxy), Just(Command::Local)],
        prop_oneof![
            Just(Transport::Stream),
            Just(Transport::Datagram),
            Just(Transport::Unspec)
        ],
        addresses(),
        vec(
            (
                prop_oneof![Just(0x20u8), any::<u8>()],
                vec(any::<u8>(), 0..40),
            ),
            0..5,
        ),
    )
        .prop_map(|(version, command, transport, addresses, tlvs)| Spec {
            version,
            command,
            transport,
            addresses,
            tlvs,
        })
}

fn cuts() -> impl Strategy<Value = Vec<usize>> {
    vec(0usize..400, 0..8)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn encoded_headers_round_trip_in_any_split(spec in spec(), rest in vec(any::<u8>(), 0..20), cuts in cuts()) {
        let header = encode(&spec);
        let mut wire = header.clone();
        wire.extend_from_slice(&rest);
        let outcome = assert_split_invariant(&wire, &cuts, Limits::DEFAULT);
        prop_assert_eq!(outcome, Outcome::Header(expected(&spec), header.len()));
    }

    #[test]
    fn damaged_headers_give_the_same_outcome_in_any_split(
        spec in spec(),
        flips in vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
        truncate in any::<prop::sample::Index>(),
        cuts in cuts(),
    ) {
        let mut wire = encode(&spec);
        for (at, b) in flips {
            let i = at.index(wire.len());
            wire[i] = b;
        }
        let keep = truncate.index(wire.len() + 1);
        wire.truncate(keep.max(1));
        assert_split_invariant(&wire, &cuts, Limits::DEFAULT);
        assert_split_invariant(&wire, &cuts, Limits { max_v2_length: 40 });
    }

    #[test]
    fn random_bytes_never_panic_and_split_invariantly(
        prefix in prop_oneof![Just(&b""[..]), Just(&b"PROXY "[..]), Just(&b"\r\n\r\n\0\r\nQUIT\n"[..])],
        bytes in vec(any::<u8>(), 0..300),
        cuts in cuts(),
    ) {
        let mut wire = prefix.to_vec();
        wire.extend_from_slice(&bytes);
        assert_split_invariant(&wire, &cuts, Limits::DEFAULT);
    }
}
