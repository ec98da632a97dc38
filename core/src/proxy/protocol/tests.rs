//! Unit tests of the PROXY protocol decoder with the spec's examples and hand-built headers.
//! Split invariance and round trips under generated headers are in `tests/proxy_props.rs`.

use std::string::ToString;
use std::vec::Vec;

use super::*;

/// Feed `bytes` in pieces of `step`; the header and the bytes after it, or the error.
fn decode_in(bytes: &[u8], step: usize) -> Result<(Header, Vec<u8>), Error> {
    let mut d = Decoder::default();
    let mut at = 0;
    while at < bytes.len() {
        let end = (at + step).min(bytes.len());
        let (used, header) = d.feed(&bytes[at..end])?;
        at += used;
        if let Some(h) = header {
            return Ok((h, bytes[at..].to_vec()));
        }
        assert_eq!(at, end, "None only once the piece is used up");
    }
    panic!("incomplete header");
}

fn decode(bytes: &[u8]) -> Result<(Header, Vec<u8>), Error> {
    let whole = decode_in(bytes, usize::MAX);
    assert_eq!(whole, decode_in(bytes, 1), "one byte at a time differs");
    whole
}

fn err(bytes: &[u8]) -> Error {
    let mut d = Decoder::default();
    let e = d.feed(bytes).unwrap_err();
    // Final: the same error again, whatever follows.
    assert_eq!(d.feed(b"PROXY UNKNOWN\r\n"), Err(e));
    let mut d = Decoder::default();
    for (i, b) in bytes.iter().enumerate() {
        match d.feed(core::slice::from_ref(b)) {
            Ok((1, None)) => {}
            Err(e2) => {
                assert_eq!(e2, e, "byte at a time, at {i}");
                return e;
            }
            other => panic!("{other:?} at {i}"),
        }
    }
    panic!("byte at a time accepted {bytes:?}")
}

fn at(kind: ErrorKind, offset: usize) -> Error {
    Error { kind, offset }
}

fn sock(s: &str) -> core::net::SocketAddr {
    s.parse().unwrap()
}

#[test]
fn the_spec_v1_example_before_an_http_request() {
    let wire = b"PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\nGET / HTTP/1.1\r\nHost: 192.168.0.11\r\n\r\n";
    let (h, rest) = decode(wire).unwrap();
    assert_eq!(
        h,
        Header {
            version: Version::V1,
            command: Command::Proxy,
            transport: Transport::Stream,
            addresses: Addresses::Inet {
                source: sock("192.168.0.1:56324"),
                destination: sock("192.168.0.11:443"),
            },
            tls: false,
        }
    );
    assert_eq!(rest, b"GET / HTTP/1.1\r\nHost: 192.168.0.11\r\n\r\n");
}

#[test]
fn v1_tcp6_and_the_longest_lines() {
    let (h, _) = decode(b"PROXY TCP6 ::1 2001:db8::ff 0 65535\r\n").unwrap();
    assert_eq!(h.source(), Some(sock("[::1]:0")));
    assert_eq!(h.destination(), Some(sock("[2001:db8::ff]:65535")));
    let full = "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff";
    let tcp6 = std::format!("PROXY TCP6 {full} {full} 65535 65535\r\n");
    assert_eq!(tcp6.len(), 104);
    assert!(decode(tcp6.as_bytes()).is_ok());
    // The worst case the spec names: UNKNOWN with everything, 107 bytes.
    let unknown = std::format!("PROXY UNKNOWN {full} {full} 65535 65535\r\n");
    assert_eq!(unknown.len(), 107);
    let (h, _) = decode(unknown.as_bytes()).unwrap();
    assert_eq!(
        (h.transport, h.addresses),
        (Transport::Unspec, Addresses::Unspec)
    );
    // One byte more and the CRLF is not within 107 bytes.
    let long = std::format!("PROXY UNKNOWN {full} {full} 65535 655350\r\n");
    assert_eq!(err(long.as_bytes()), at(ErrorKind::LineTooLong, 106));
}

#[test]
fn v1_unknown_ignores_the_rest_of_its_line() {
    let (h, rest) = decode(b"PROXY UNKNOWN\r\nX").unwrap();
    assert_eq!(h.addresses, Addresses::Unspec);
    assert_eq!(rest, b"X");
    assert!(decode(b"PROXY UNKNOWN whatever \x01 is here\r\n").is_ok());
}

#[test]
fn v1_refusals_say_where() {
    assert_eq!(
        err(b"GET / HTTP/1.1\r\n"),
        at(ErrorKind::NotProxyProtocol, 0)
    );
    assert_eq!(err(b"PRI * HTTP/2.0"), at(ErrorKind::BadSignature, 2));
    assert_eq!(err(b"PROXY\r\n"), at(ErrorKind::BadSignature, 5));
    assert_eq!(
        err(b"PROXY TCP5 1.2.3.4 1.2.3.4 1 2\r\n"),
        at(ErrorKind::UnknownProtocol, 6)
    );
    assert_eq!(
        err(b"PROXY tcp4 1.2.3.4 1.2.3.4 1 2\r\n"),
        at(ErrorKind::UnknownProtocol, 6)
    );
    assert_eq!(err(b"PROXY TCP4\r\n"), at(ErrorKind::WrongFieldCount, 10));
    assert_eq!(
        err(b"PROXY TCP4 1.2.3.4 1.2.3.4 1\r\n"),
        at(ErrorKind::WrongFieldCount, 28)
    );
    assert_eq!(
        err(b"PROXY TCP4 1.2.3.4 1.2.3.4 1 2 3\r\n"),
        at(ErrorKind::WrongFieldCount, 30)
    );
    assert_eq!(
        err(b"PROXY TCP4 1.2.3.4  1.2.3.4 1 2\r\n"),
        at(ErrorKind::BadAddress, 19)
    );
    assert_eq!(
        err(b"PROXY TCP4 1.2.3.04 1.2.3.4 1 2\r\n"),
        at(ErrorKind::BadAddress, 11)
    );
    assert_eq!(
        err(b"PROXY TCP4 1.2.3.4 ::1 1 2\r\n"),
        at(ErrorKind::BadAddress, 19)
    );
    assert_eq!(
        err(b"PROXY TCP6 1.2.3.4 ::1 1 2\r\n"),
        at(ErrorKind::BadAddress, 11)
    );
    assert_eq!(
        err(b"PROXY TCP4 1.2.3.4 1.2.3.4 01 2\r\n"),
        at(ErrorKind::BadPort, 27)
    );
    assert_eq!(
        err(b"PROXY TCP4 1.2.3.4 1.2.3.4 1 65536\r\n"),
        at(ErrorKind::BadPort, 29)
    );
    assert_eq!(
        err(b"PROXY TCP4 1.2.3.4 1.2.3.4 1 2\n"),
        at(ErrorKind::BadLineEnding, 30)
    );
    assert_eq!(
        err(b"PROXY TCP4 1.2.3.4 1.2.3.4 1 2\rX"),
        at(ErrorKind::BadLineEnding, 30)
    );
    assert_eq!(err(&[b'P'; 200]), at(ErrorKind::BadSignature, 1));
    let mut long = b"PROXY UNKNOWN ".to_vec();
    long.extend_from_slice(&[b'x'; 200]);
    assert_eq!(err(&long), at(ErrorKind::LineTooLong, 106));
}

/// A version 2 header: command, family/transport byte, the block after the head.
fn v2(ver_cmd: u8, fam: u8, block: &[u8]) -> Vec<u8> {
    let mut out = b"\r\n\r\n\0\r\nQUIT\n".to_vec();
    out.push(ver_cmd);
    out.push(fam);
    out.extend_from_slice(&(block.len() as u16).to_be_bytes());
    out.extend_from_slice(block);
    out
}

#[test]
fn v2_tcp4_tcp6_udp_and_unix() {
    let (h, rest) = decode(
        &[
            v2(0x21, 0x11, &[127, 0, 0, 1, 10, 0, 0, 2, 0x1f, 0x90, 0, 80]),
            b"GET".to_vec(),
        ]
        .concat(),
    )
    .unwrap();
    assert_eq!(rest, b"GET");
    assert_eq!(h.version, Version::V2);
    assert_eq!(h.command, Command::Proxy);
    assert_eq!(h.transport, Transport::Stream);
    assert_eq!(h.source(), Some(sock("127.0.0.1:8080")));
    assert_eq!(h.destination(), Some(sock("10.0.0.2:80")));

    let mut block = [0u8; 36];
    block[15] = 1; // ::1
    block[16] = 0x20;
    block[17] = 0x01; // 2001::
    block[32..].copy_from_slice(&[0x12, 0x67, 0x01, 0xbb]);
    let (h, _) = decode(&v2(0x21, 0x22, &block)).unwrap();
    assert_eq!(h.transport, Transport::Datagram);
    assert_eq!(h.source(), Some(sock("[::1]:4711")));
    assert_eq!(h.destination(), Some(sock("[2001::]:443")));

    let mut block = [0u8; 216];
    block[..9].copy_from_slice(b"/tmp/cli\0");
    block[108..118].copy_from_slice(b"/run/app.s");
    let (h, _) = decode(&v2(0x21, 0x31, &block)).unwrap();
    let Addresses::Unix {
        source,
        destination,
    } = h.addresses
    else {
        panic!("{h:?}")
    };
    assert_eq!(source.as_bytes(), b"/tmp/cli");
    assert_eq!(destination.as_bytes(), b"/run/app.s");
    assert_eq!(h.source(), None);
}

#[test]
fn v2_local_unspec_and_unspec_transport_use_the_real_endpoints() {
    // LOCAL (a health check): the block is discarded whatever the family says.
    for (fam, block) in [
        (0x00, &[][..]),
        (0x11, &[1, 2, 3][..]),
        (0x21, &[9; 40][..]),
    ] {
        let (h, _) = decode(&v2(0x20, fam, block)).unwrap();
        assert_eq!(
            (h.command, h.addresses),
            (Command::Local, Addresses::Unspec)
        );
    }
    // PROXY with AF_UNSPEC, or a family with the UNSPEC transport: addresses ignored.
    let (h, _) = decode(&v2(0x21, 0x00, &[])).unwrap();
    assert_eq!(h.addresses, Addresses::Unspec);
    let (h, _) = decode(&v2(0x21, 0x10, &[1; 12])).unwrap();
    assert_eq!(h.addresses, Addresses::Unspec);
}

#[test]
fn v2_tlvs_are_walked_and_the_ssl_one_is_read() {
    let addr = [127, 0, 0, 1, 127, 0, 0, 2, 0, 1, 0, 2];
    // PP2_TYPE_ALPN "h2", then PP2_TYPE_SSL with client = PP2_CLIENT_SSL, verify 0, and a
    // PP2_SUBTYPE_SSL_VERSION sub-TLV; then an empty PP2_TYPE_NOOP.
    let tlvs = [
        &[0x01, 0, 2, b'h', b'2'][..],
        &[
            0x20, 0, 12, 0x01, 0, 0, 0, 0, 0x21, 0, 4, b'T', b'L', b'S', b'3',
        ][..12 + 3],
        &[0x04, 0, 0][..],
    ]
    .concat();
    let block = [&addr[..], &tlvs].concat();
    let (h, rest) = decode(&[v2(0x21, 0x11, &block), b"x".to_vec()].concat()).unwrap();
    assert!(h.tls);
    assert_eq!(h.source(), Some(sock("127.0.0.1:1")));
    assert_eq!(rest, b"x");
    // The same TLV with the client bit clear: no TLS.
    let plain = [&addr[..], &[0x20, 0, 5, 0x00, 0, 0, 0, 0]].concat();
    assert!(!decode(&v2(0x21, 0x11, &plain)).unwrap().0.tls);
    // A TLV running past the header, or a TLV head cut short.
    let over = [&addr[..], &[0x01, 0, 5, b'h', b'2']].concat();
    assert_eq!(err(&v2(0x21, 0x11, &over)), at(ErrorKind::BadTlv, 28));
    let short = [&addr[..], &[0x01, 0]].concat();
    assert_eq!(err(&v2(0x21, 0x11, &short)), at(ErrorKind::BadTlv, 28));
}

#[test]
fn v2_refusals_say_where() {
    let good = v2(0x21, 0x11, &[0; 12]);
    let with = |i: usize, b: u8| {
        let mut v = good.clone();
        v[i] = b;
        v
    };
    assert_eq!(err(&with(4, b'X')), at(ErrorKind::BadSignature, 4));
    assert_eq!(err(&with(11, b'\r')), at(ErrorKind::BadSignature, 11));
    assert_eq!(
        err(&with(12, 0x11)),
        at(ErrorKind::UnsupportedVersion(1), 12)
    );
    assert_eq!(err(&with(12, 0x22)), at(ErrorKind::BadCommand(2), 12));
    assert_eq!(err(&with(13, 0x41)), at(ErrorKind::BadFamily(0x41), 13));
    assert_eq!(err(&with(13, 0x13)), at(ErrorKind::BadFamily(0x13), 13));
    assert_eq!(
        err(&v2(0x21, 0x21, &[0; 12])),
        at(ErrorKind::LengthTooShort, 14)
    );
    let big = v2(0x21, 0x11, &[0; 5000]);
    assert_eq!(err(&big[..20]), at(ErrorKind::LengthOverLimit, 14));
    // A smaller limit refuses what the default accepts.
    let tight = v2(0x21, 0x11, &[&[0u8; 12][..], &[4, 0, 0]].concat());
    assert!(decode(&tight).is_ok());
    let mut d = Decoder::new(Limits { max_v2_length: 12 });
    assert_eq!(d.feed(&tight), Err(at(ErrorKind::LengthOverLimit, 14)));
}

#[test]
fn after_the_header_nothing_more_is_used_and_reset_starts_over() {
    let mut d = Decoder::default();
    let (used, h) = d.feed(b"PROXY UNKNOWN\r\nGET").unwrap();
    assert_eq!(used, 15);
    let h = h.unwrap();
    assert_eq!(d.feed(b"more").unwrap(), (0, Some(h)));
    assert_eq!(d.header(), Some(&h));
    d.reset();
    assert_eq!(d.header(), None);
    assert_eq!(d.feed(b"").unwrap(), (0, None));
    assert!(d.feed(b"GET").is_err());
}

#[test]
fn errors_display_as_one_log_line() {
    assert_eq!(
        at(ErrorKind::BadFamily(0x41), 13).to_string(),
        "PROXY v2 address family or transport is unknown (0x41) at byte 13"
    );
}
