//! Drive the PROXY protocol decoder (wsgiref_core::proxy::protocol) over input pieces, and
//! encode headers to feed it: a small encoder that exists only for the tests.
//!
//! Used by the `proxy_protocol` fuzz target and, through a `#[path]` include, by
//! `tests/proxy_props.rs`, so both check the same invariants:
//!
//! * every call consumes at most its input, and says "need more" only once it consumed all
//!   of it;
//! * the same bytes cut anywhere give the same outcome (header and bytes used, or error);
//! * an encoded header decodes to exactly what it encodes, and the bytes after it are left.

use std::net::{IpAddr, SocketAddr};

use wsgiref_core::proxy::protocol::{
    Addresses, Command, Decoder, Error, Header, Limits, Transport, UnixPath, Version,
};

/// How a decoder ended on some bytes.
// A header is a few hundred bytes (two Unix paths); boxing it would only obscure the tests.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The header, and how many bytes it took.
    Header(Header, usize),
    /// Refused.
    Error(Error),
    /// The bytes ran out first.
    Incomplete,
}

/// Feed `bytes` cut at `cuts` (offsets, any order, out-of-range ignored).
pub fn drive(bytes: &[u8], cuts: &[usize], limits: Limits) -> Outcome {
    let mut cuts: Vec<usize> = cuts.iter().copied().filter(|&c| c < bytes.len()).collect();
    cuts.push(bytes.len());
    cuts.sort_unstable();
    cuts.dedup();
    let mut decoder = Decoder::new(limits);
    let mut start = 0;
    let mut total = 0;
    for end in cuts {
        let piece = &bytes[start..end];
        start = end;
        match decoder.feed(piece) {
            Err(e) => {
                assert_eq!(decoder.feed(b"more"), Err(e), "an error is final");
                return Outcome::Error(e);
            }
            Ok((used, Some(header))) => {
                assert!(used <= piece.len());
                total += used;
                assert_eq!(decoder.feed(b"more"), Ok((0, Some(header))));
                return Outcome::Header(header, total);
            }
            Ok((used, None)) => {
                assert_eq!(used, piece.len(), "None with bytes left");
                total += used;
            }
        }
    }
    Outcome::Incomplete
}

/// The outcome of `bytes` fed whole, which must be the same fed one byte at a time and cut
/// at `cuts`.
pub fn assert_split_invariant(bytes: &[u8], cuts: &[usize], limits: Limits) -> Outcome {
    let whole = drive(bytes, &[], limits);
    let every: Vec<usize> = (1..bytes.len()).collect();
    assert_eq!(drive(bytes, &every, limits), whole, "one byte at a time");
    assert_eq!(drive(bytes, cuts, limits), whole, "cut at {cuts:?}");
    whole
}

/// What to encode: a header's fields and, for version 2, TLVs (type, value).
#[derive(Clone, Debug)]
pub struct Spec {
    pub version: Version,
    pub command: Command,
    pub transport: Transport,
    pub addresses: Addresses,
    pub tlvs: Vec<(u8, Vec<u8>)>,
}

/// The wire form of `spec`. Version 1 writes `UNKNOWN` for anything but TCP over IP (a
/// LOCAL command, a datagram or Unix connection).
pub fn encode(spec: &Spec) -> Vec<u8> {
    match spec.version {
        Version::V1 => match (spec.command, spec.transport, spec.addresses) {
            (
                Command::Proxy,
                Transport::Stream,
                Addresses::Inet {
                    source,
                    destination,
                },
            ) if source.is_ipv4() == destination.is_ipv4() => {
                let family = if source.is_ipv4() { "TCP4" } else { "TCP6" };
                format!(
                    "PROXY {family} {} {} {} {}\r\n",
                    source.ip(),
                    destination.ip(),
                    source.port(),
                    destination.port()
                )
                .into_bytes()
            }
            _ => b"PROXY UNKNOWN\r\n".to_vec(),
        },
        Version::V2 => {
            let mut out = b"\r\n\r\n\0\r\nQUIT\n".to_vec();
            out.push(
                0x20 | match spec.command {
                    Command::Local => 0,
                    Command::Proxy => 1,
                },
            );
            let transport = match spec.transport {
                Transport::Unspec => 0,
                Transport::Stream => 1,
                Transport::Datagram => 2,
            };
            let mut block = Vec::new();
            let family = match spec.addresses {
                Addresses::Unspec => 0,
                Addresses::Inet {
                    source,
                    destination,
                } => match (source.ip(), destination.ip()) {
                    (IpAddr::V4(s), IpAddr::V4(d)) => {
                        block.extend_from_slice(&s.octets());
                        block.extend_from_slice(&d.octets());
                        block.extend_from_slice(&source.port().to_be_bytes());
                        block.extend_from_slice(&destination.port().to_be_bytes());
                        1
                    }
                    (s, d) => {
                        block.extend_from_slice(&v6(s).octets());
                        block.extend_from_slice(&v6(d).octets());
                        block.extend_from_slice(&source.port().to_be_bytes());
                        block.extend_from_slice(&destination.port().to_be_bytes());
                        2
                    }
                },
                Addresses::Unix {
                    source,
                    destination,
                } => {
                    block.extend_from_slice(&source.0);
                    block.extend_from_slice(&destination.0);
                    3
                }
            };
            out.push(family << 4 | transport);
            for (t, value) in &spec.tlvs {
                block.push(*t);
                block.extend_from_slice(&(value.len() as u16).to_be_bytes());
                block.extend_from_slice(value);
            }
            out.extend_from_slice(&(block.len() as u16).to_be_bytes());
            out.extend_from_slice(&block);
            out
        }
    }
}

fn v6(ip: IpAddr) -> std::net::Ipv6Addr {
    match ip {
        IpAddr::V4(a) => a.to_ipv6_mapped(),
        IpAddr::V6(a) => a,
    }
}

/// What [`encode`]'s output must decode to.
pub fn expected(spec: &Spec) -> Header {
    let v1_tcp = matches!(
        (spec.command, spec.transport, spec.addresses),
        (Command::Proxy, Transport::Stream, Addresses::Inet { source, destination })
            if source.is_ipv4() == destination.is_ipv4()
    );
    match spec.version {
        Version::V1 => Header {
            version: Version::V1,
            command: Command::Proxy,
            transport: if v1_tcp {
                Transport::Stream
            } else {
                Transport::Unspec
            },
            addresses: if v1_tcp {
                spec.addresses
            } else {
                Addresses::Unspec
            },
            tls: false,
        },
        Version::V2 => {
            let relayed = spec.command == Command::Proxy && spec.transport != Transport::Unspec;
            let addresses = match spec.addresses {
                _ if !relayed => Addresses::Unspec,
                // Mixed families are encoded as IPv6, IPv4 ones mapped.
                Addresses::Inet {
                    source,
                    destination,
                } if source.is_ipv4() != destination.is_ipv4() => Addresses::Inet {
                    source: SocketAddr::new(IpAddr::V6(v6(source.ip())), source.port()),
                    destination: SocketAddr::new(
                        IpAddr::V6(v6(destination.ip())),
                        destination.port(),
                    ),
                },
                other => other,
            };
            let tls = spec.command == Command::Proxy
                && spec
                    .tlvs
                    .iter()
                    .rev()
                    .find(|(t, _)| *t == 0x20)
                    .is_some_and(|(_, v)| v.first().is_some_and(|b| b & 1 != 0));
            Header {
                version: Version::V2,
                command: spec.command,
                transport: spec.transport,
                addresses,
                tls,
            }
        }
    }
}

/// A Unix path from arbitrary bytes (cut at 108).
pub fn unix_path(bytes: &[u8]) -> UnixPath {
    let mut raw = [0u8; 108];
    let n = bytes.len().min(108);
    raw[..n].copy_from_slice(&bytes[..n]);
    UnixPath(raw)
}
