//! Version 1: the text line, parsed once its CRLF has arrived.

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use super::{Addresses, Command, Error, ErrorKind, Header, Transport, Version};

/// `PROXY ` : what every version 1 header starts with.
pub(super) const PREFIX: &[u8] = b"PROXY ";

/// The longest line the spec allows, CRLF included (`UNKNOWN` with two full IPv6 addresses
/// and two 5-digit ports).
pub(super) const MAX_LINE: usize = 107;

/// Parse a complete line (`PROXY ` through CRLF). Offsets in errors are from the start of
/// the line, which is the start of the connection.
pub(super) fn parse(line: &[u8]) -> Result<Header, Error> {
    let body = &line[PREFIX.len()..line.len() - 2];
    let at = |kind, offset: usize| Error { kind, offset };
    let (protocol, rest) = match body.iter().position(|&b| b == b' ') {
        Some(i) => (&body[..i], Some(&body[i + 1..])),
        None => (body, None),
    };
    let v6 = match protocol {
        b"UNKNOWN" => {
            // The spec: the receiver ignores anything before the CRLF.
            return Ok(Header {
                version: Version::V1,
                command: Command::Proxy,
                transport: Transport::Unspec,
                addresses: Addresses::Unspec,
                tls: false,
            });
        }
        b"TCP4" => false,
        b"TCP6" => true,
        _ => return Err(at(ErrorKind::UnknownProtocol, PREFIX.len())),
    };
    let Some(rest) = rest else {
        return Err(at(ErrorKind::WrongFieldCount, line.len() - 2));
    };
    // Four fields, checked in order, each at its offset in the line: a double space is an
    // empty field, refused for what that field should have been.
    let address = |text: &[u8], offset: usize| {
        let parsed = core::str::from_utf8(text).ok().and_then(|t| {
            if v6 {
                t.parse::<Ipv6Addr>().ok().map(IpAddr::V6)
            } else {
                t.parse::<Ipv4Addr>().ok().map(IpAddr::V4)
            }
        });
        parsed.ok_or(at(ErrorKind::BadAddress, offset))
    };
    let port = |text: &[u8], offset: usize| parse_port(text).ok_or(at(ErrorKind::BadPort, offset));
    let unspecified = if v6 {
        IpAddr::V6(Ipv6Addr::UNSPECIFIED)
    } else {
        IpAddr::V4(Ipv4Addr::UNSPECIFIED)
    };
    let (mut source, mut destination) = (unspecified, unspecified);
    let (mut source_port, mut destination_port) = (0, 0);
    let mut start = PREFIX.len() + protocol.len() + 1;
    let mut count = 0;
    for field in rest.split(|&b| b == b' ') {
        match count {
            0 => source = address(field, start)?,
            1 => destination = address(field, start)?,
            2 => source_port = port(field, start)?,
            3 => destination_port = port(field, start)?,
            _ => return Err(at(ErrorKind::WrongFieldCount, start - 1)),
        }
        count += 1;
        start += field.len() + 1;
    }
    if count != 4 {
        return Err(at(ErrorKind::WrongFieldCount, line.len() - 2));
    }
    Ok(Header {
        version: Version::V1,
        command: Command::Proxy,
        transport: Transport::Stream,
        addresses: Addresses::Inet {
            source: SocketAddr::new(source, source_port),
            destination: SocketAddr::new(destination, destination_port),
        },
        tls: false,
    })
}

/// A port: decimal, 1 to 5 digits, no leading zero (but `0` itself), at most 65535.
fn parse_port(text: &[u8]) -> Option<u16> {
    if text.is_empty() || text.len() > 5 || (text.len() > 1 && text[0] == b'0') {
        return None;
    }
    let mut n: u32 = 0;
    for &b in text {
        if !b.is_ascii_digit() {
            return None;
        }
        n = n * 10 + u32::from(b - b'0');
    }
    u16::try_from(n).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_are_plain_decimal_without_leading_zeroes() {
        assert_eq!(parse_port(b"0"), Some(0));
        assert_eq!(parse_port(b"65535"), Some(65535));
        for bad in [
            &b""[..],
            b"65536",
            b"080",
            b"+80",
            b"8 0",
            b"123456",
            b"0x50",
        ] {
            assert_eq!(parse_port(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn ipv4_leading_zeroes_are_refused_by_the_address_parser() {
        // The spec forbids them (octal confusion); core's parser refuses them too, which this
        // decoder relies on.
        assert!("010.0.0.1".parse::<Ipv4Addr>().is_err());
        assert!("10.0.0.1".parse::<Ipv4Addr>().is_ok());
    }
}
