//! The PROXY protocol decoder (wsgiref_core::proxy::protocol) on fuzzer-chosen bytes cut at
//! fuzzer-chosen places: never a panic, the same outcome however the bytes are cut, and a
//! header encoded from fuzzer-chosen fields decodes to exactly them.
#![no_main]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use wsgiref_core::proxy::protocol::{Addresses, Command, Limits, Transport, Version};
use wsgiref_fuzz::proxy::{assert_split_invariant, encode, expected, unix_path, Outcome, Spec};

#[derive(Arbitrary, Debug)]
enum Addr {
    Unspec,
    V4(u32, u32, u16, u16),
    V6(u128, u128, u16, u16),
    Unix(Vec<u8>, Vec<u8>),
}

#[derive(Arbitrary, Debug)]
struct Fields {
    v2: bool,
    local: bool,
    transport: u8,
    addr: Addr,
    tlvs: Vec<(u8, Vec<u8>)>,
}

#[derive(Arbitrary, Debug)]
struct Input<'a> {
    cuts: Vec<u16>,
    /// A valid header to start with (then `data` follows it), or only `data`.
    header: Option<Fields>,
    /// A small v2 length limit instead of the default, so that its check is reached.
    max_v2_length: Option<u16>,
    data: &'a [u8],
}

fn spec(f: Fields) -> Spec {
    let sock = |ip: IpAddr, port| SocketAddr::new(ip, port);
    let addresses = match f.addr {
        Addr::Unspec => Addresses::Unspec,
        Addr::V4(s, d, sp, dp) => Addresses::Inet {
            source: sock(IpAddr::V4(Ipv4Addr::from(s)), sp),
            destination: sock(IpAddr::V4(Ipv4Addr::from(d)), dp),
        },
        Addr::V6(s, d, sp, dp) => Addresses::Inet {
            source: sock(IpAddr::V6(Ipv6Addr::from(s)), sp),
            destination: sock(IpAddr::V6(Ipv6Addr::from(d)), dp),
        },
        Addr::Unix(s, d) => Addresses::Unix {
            source: unix_path(&s),
            destination: unix_path(&d),
        },
    };
    let mut tlvs = f.tlvs;
    // Keep the header within the default limit.
    tlvs.truncate(8);
    for (_, v) in &mut tlvs {
        v.truncate(200);
    }
    Spec {
        version: if f.v2 { Version::V2 } else { Version::V1 },
        command: if f.local {
            Command::Local
        } else {
            Command::Proxy
        },
        transport: match f.transport % 3 {
            0 => Transport::Unspec,
            1 => Transport::Stream,
            _ => Transport::Datagram,
        },
        addresses,
        tlvs,
    }
}

fuzz_target!(|input: Input<'_>| {
    let limits = match input.max_v2_length {
        None => Limits::DEFAULT,
        Some(max_v2_length) => Limits { max_v2_length },
    };
    let mut bytes = Vec::new();
    let mut want = None;
    if let Some(fields) = input.header {
        let spec = spec(fields);
        bytes = encode(&spec);
        want = Some((expected(&spec), bytes.len()));
    }
    bytes.extend_from_slice(input.data);
    let cuts: Vec<usize> = input.cuts.iter().map(|&c| usize::from(c)).collect();
    let outcome = assert_split_invariant(&bytes, &cuts, limits);
    if let (Some((header, len)), None) = (want, input.max_v2_length) {
        assert_eq!(outcome, Outcome::Header(header, len));
    }
});
