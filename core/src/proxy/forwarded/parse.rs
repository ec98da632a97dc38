//! Parsers for the values of `Forwarded` (RFC 7239) and `X-Forwarded-*`, without allocation:
//! they walk the header's bytes and hand each element to a callback.

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::{Node, NodeName, ProblemKind};

/// One `Forwarded` element's parameters this module uses (others, `by=` and extensions, are
/// checked for syntax and skipped).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Element<'h> {
    pub(super) node: Option<Node<'h>>,
    pub(super) proto: Option<&'h [u8]>,
    /// Offset of the `proto` value in its line, to place an unsupported scheme.
    pub(super) proto_at: usize,
    pub(super) host: Option<&'h [u8]>,
}

/// A malformed spot: what, and where in the line.
pub(super) type Bad = (ProblemKind, usize);

fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn is_ows(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// Walk one `Forwarded` line, calling `each` with every non-empty element, left to right.
/// Any syntax error stops the walk.
pub(super) fn forwarded_line<'h>(
    line: &'h [u8],
    mut each: impl FnMut(Element<'h>),
) -> Result<(), Bad> {
    let mut pos = 0;
    let skip_ows = |pos: &mut usize| {
        while line.get(*pos).is_some_and(|&b| is_ows(b)) {
            *pos += 1;
        }
    };
    loop {
        // One element: `[pair] *(";" [pair])`, up to `,` or the end.
        let mut element = Element::default();
        let mut seen = [false; 4]; // for, by, proto, host: each at most once (RFC 7239 §4)
        let mut pairs = 0;
        loop {
            skip_ows(&mut pos);
            match line.get(pos) {
                None | Some(b',') => break,
                Some(b';') => {
                    pos += 1;
                    continue;
                }
                Some(_) => {}
            }
            let name_start = pos;
            while line.get(pos).is_some_and(|&b| is_tchar(b)) {
                pos += 1;
            }
            let name = &line[name_start..pos];
            if name.is_empty() {
                return Err((ProblemKind::Syntax, pos));
            }
            if line.get(pos) != Some(&b'=') {
                return Err((ProblemKind::Syntax, pos));
            }
            pos += 1;
            let value_start = pos;
            let (value, escaped) = value(line, &mut pos)?;
            let slot = [&b"for"[..], b"by", b"proto", b"host"]
                .iter()
                .position(|known| name.eq_ignore_ascii_case(known));
            if let Some(slot) = slot {
                if seen[slot] {
                    return Err((ProblemKind::Duplicate, name_start));
                }
                seen[slot] = true;
                // Quoted-pairs are legal in general, but no address, scheme or host needs
                // one, and using the escaped bytes as they are would be wrong.
                if escaped && slot != 1 {
                    return Err((ProblemKind::BadValue, value_start));
                }
                match slot {
                    0 => {
                        element.node =
                            Some(node(value, false).ok_or((ProblemKind::BadNode, value_start))?)
                    }
                    2 => {
                        element.proto = Some(value);
                        element.proto_at = value_start;
                    }
                    3 => {
                        if !valid_host(value) {
                            return Err((ProblemKind::BadValue, value_start));
                        }
                        element.host = Some(value)
                    }
                    _ => {}
                }
            }
            pairs += 1;
            skip_ows(&mut pos);
            match line.get(pos) {
                None | Some(b',') | Some(b';') => {}
                Some(_) => return Err((ProblemKind::Syntax, pos)),
            }
        }
        if pairs > 0 {
            each(element);
        }
        if pos >= line.len() {
            return Ok(());
        }
        pos += 1; // the comma
    }
}

/// A value, token or quoted-string, at `*pos`: its bytes (inside the quotes) and whether it
/// holds a quoted-pair.
fn value<'h>(line: &'h [u8], pos: &mut usize) -> Result<(&'h [u8], bool), Bad> {
    let start = *pos;
    if line.get(start) != Some(&b'"') {
        while line.get(*pos).is_some_and(|&b| is_tchar(b)) {
            *pos += 1;
        }
        if *pos == start {
            return Err((ProblemKind::Syntax, start));
        }
        return Ok((&line[start..*pos], false));
    }
    *pos += 1;
    let mut escaped = false;
    loop {
        match line.get(*pos) {
            None => return Err((ProblemKind::Syntax, start)),
            Some(b'"') => {
                *pos += 1;
                return Ok((&line[start + 1..*pos - 1], escaped));
            }
            Some(b'\\') => {
                // quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text )
                match line.get(*pos + 1) {
                    Some(&b) if b == b'\t' || b >= 0x20 && b != 0x7f => {}
                    _ => return Err((ProblemKind::Syntax, *pos)),
                }
                escaped = true;
                *pos += 2;
            }
            // qdtext = HTAB / SP / %x21 / %x23-5B / %x5D-7E / obs-text
            Some(&b) if b == b'\t' || (b >= 0x20 && b != 0x7f) => *pos += 1,
            Some(_) => return Err((ProblemKind::Syntax, *pos)),
        }
    }
}

/// RFC 7239 `node`: `nodename [":" node-port]`, where `nodename` is an IPv4 address, an IPv6
/// address in brackets, `unknown` or an obfuscated `_name`, and `node-port` a number or an
/// obfuscated `_port`. With `lenient` (for `X-Forwarded-For`), a bare IPv6 address too.
pub(super) fn node(text: &[u8], lenient: bool) -> Option<Node<'_>> {
    if lenient {
        if let Some(ip) = core::str::from_utf8(text)
            .ok()
            .and_then(|t| t.parse::<Ipv6Addr>().ok())
        {
            return Some(Node {
                name: NodeName::Ip(IpAddr::V6(ip)),
                port: None,
            });
        }
    }
    let (name, rest) = if text.first() == Some(&b'[') {
        let close = text.iter().position(|&b| b == b']')?;
        let ip: Ipv6Addr = core::str::from_utf8(&text[1..close]).ok()?.parse().ok()?;
        (NodeName::Ip(IpAddr::V6(ip)), &text[close + 1..])
    } else {
        let end = text.iter().position(|&b| b == b':').unwrap_or(text.len());
        let name = &text[..end];
        let name = if name.eq_ignore_ascii_case(b"unknown") {
            NodeName::Unknown
        } else if name.first() == Some(&b'_') {
            if !obfuscated(name) {
                return None;
            }
            // ASCII, checked just above.
            NodeName::Obfuscated(core::str::from_utf8(name).ok()?)
        } else {
            let ip: Ipv4Addr = core::str::from_utf8(name).ok()?.parse().ok()?;
            NodeName::Ip(IpAddr::V4(ip))
        };
        (name, &text[end..])
    };
    let port = match rest {
        [] => None,
        [b':', port @ ..] if obfuscated(port) => None,
        [b':', port @ ..]
            if (1..=5).contains(&port.len()) && port.iter().all(u8::is_ascii_digit) =>
        {
            Some(core::str::from_utf8(port).ok()?.parse::<u16>().ok()?)
        }
        _ => return None,
    };
    Some(Node { name, port })
}

/// `"_" 1*( ALPHA / DIGIT / "." / "_" / "-" )`.
fn obfuscated(text: &[u8]) -> bool {
    text.len() > 1
        && text[0] == b'_'
        && text[1..]
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-')
}

/// A `Host` value: `[IPv6]` or a reg-name / IPv4 of URI host characters, then an optional
/// `:port` of digits. Anything else (spaces, commas, slashes, controls) is refused, since it
/// becomes `HTTP_HOST`, which applications put into URLs.
pub(super) fn valid_host(text: &[u8]) -> bool {
    let (host_ok, rest) = if text.first() == Some(&b'[') {
        match text.iter().position(|&b| b == b']') {
            Some(close) => (
                core::str::from_utf8(&text[1..close])
                    .ok()
                    .and_then(|t| t.parse::<Ipv6Addr>().ok())
                    .is_some(),
                &text[close + 1..],
            ),
            None => return false,
        }
    } else {
        let end = text.iter().position(|&b| b == b':').unwrap_or(text.len());
        let name = &text[..end];
        (
            !name.is_empty()
                && name
                    .iter()
                    .all(|&b| b.is_ascii_alphanumeric() || b"-._~!$&'()*+;=%".contains(&b)),
            &text[end..],
        )
    };
    host_ok
        && match rest {
            [] => true,
            [b':', port @ ..] => port.len() <= 5 && port.iter().all(u8::is_ascii_digit),
            _ => false,
        }
}

/// Walk one comma-separated `X-Forwarded-*` line, calling `each` with every non-empty entry
/// (spaces trimmed) and its offset.
pub(super) fn list_line<'h>(line: &'h [u8], mut each: impl FnMut(&'h [u8], usize)) {
    let mut offset = 0;
    for entry in line.split(|&b| b == b',') {
        let lead = entry.iter().take_while(|&&b| is_ows(b)).count();
        let trail = entry[lead..]
            .iter()
            .rev()
            .take_while(|&&b| is_ows(b))
            .count();
        let trimmed = &entry[lead..entry.len() - trail];
        if !trimmed.is_empty() {
            each(trimmed, offset + lead);
        }
        offset += entry.len() + 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    fn elements(line: &[u8]) -> Result<Vec<Element<'_>>, Bad> {
        let mut out = Vec::new();
        forwarded_line(line, |e| out.push(e))?;
        Ok(out)
    }

    fn ip_node(s: &str, port: Option<u16>) -> Option<Node<'static>> {
        Some(Node {
            name: NodeName::Ip(s.parse().unwrap()),
            port,
        })
    }

    #[test]
    fn the_rfc_7239_examples() {
        // Section 4.
        let e = elements(br#"for="_gazonk""#).unwrap();
        assert_eq!(e[0].node.unwrap().name, NodeName::Obfuscated("_gazonk"));
        let e = elements(br#"For="[2001:db8:cafe::17]:4711""#).unwrap();
        assert_eq!(e[0].node, ip_node("2001:db8:cafe::17", Some(4711)));
        let e = elements(b"for=192.0.2.60;proto=http;by=203.0.113.43").unwrap();
        assert_eq!(e[0].node, ip_node("192.0.2.60", None));
        assert_eq!(e[0].proto, Some(&b"http"[..]));
        let e = elements(b"for=192.0.2.43, for=198.51.100.17").unwrap();
        assert_eq!(e.len(), 2);
        assert_eq!(e[1].node, ip_node("198.51.100.17", None));
        // Section 6: unknown, obfuscated node and port.
        let e = elements(br#"for=unknown, for="_hidden:_port", for="198.51.100.17:_p""#).unwrap();
        assert_eq!(e[0].node.unwrap().name, NodeName::Unknown);
        assert_eq!(e[1].node.unwrap().name, NodeName::Obfuscated("_hidden"));
        assert_eq!(e[2].node, ip_node("198.51.100.17", None));
        // Section 7.1: the same in one line or several is the caller's business; here,
        // lists may have empty elements and spaces.
        let e = elements(b" , for=192.0.2.43 ,, host=example.com ").unwrap();
        assert_eq!(e.len(), 2);
        assert_eq!(e[1].host, Some(&b"example.com"[..]));
    }

    #[test]
    fn malformed_elements_are_placed() {
        let bad = |line: &[u8]| elements(line).unwrap_err();
        assert_eq!(bad(b"for=[2001:db8::1]"), (ProblemKind::Syntax, 4));
        assert_eq!(bad(b"for=192.0.2.1:80"), (ProblemKind::Syntax, 13));
        assert_eq!(bad(br#"for="2001:db8::1""#), (ProblemKind::BadNode, 4));
        assert_eq!(bad(br#"for="[2001:db8::1""#), (ProblemKind::BadNode, 4));
        assert_eq!(bad(b"for=999.0.0.1"), (ProblemKind::BadNode, 4));
        assert_eq!(
            bad(b"for=1.2.3.4;for=5.6.7.8"),
            (ProblemKind::Duplicate, 12)
        );
        assert_eq!(
            bad(b"for=1.2.3.4;FOR=5.6.7.8"),
            (ProblemKind::Duplicate, 12)
        );
        assert_eq!(bad(b"for"), (ProblemKind::Syntax, 3));
        assert_eq!(bad(b"=x"), (ProblemKind::Syntax, 0));
        assert_eq!(bad(b"for="), (ProblemKind::Syntax, 4));
        assert_eq!(bad(br#"for="1.2.3.4"#), (ProblemKind::Syntax, 4));
        assert_eq!(bad(br#"for="1.2.3.\4""#), (ProblemKind::BadValue, 4));
        assert_eq!(bad(b"host=a/b"), (ProblemKind::Syntax, 6));
        assert_eq!(bad(br#"host="a b""#), (ProblemKind::BadValue, 5));
        assert_eq!(bad(b"for=1.2.3.4 x"), (ProblemKind::Syntax, 12));
        assert_eq!(bad(b"for=\"a\x00\""), (ProblemKind::Syntax, 6));
        // Escapes are fine where they are not used.
        assert_eq!(elements(br#"by="\_x";ext="a\"b""#).unwrap().len(), 1);
    }

    #[test]
    fn nodes_for_x_forwarded_for_may_be_bare_ipv6() {
        assert_eq!(node(b"2001:db8::1", true), ip_node("2001:db8::1", None));
        assert_eq!(node(b"2001:db8::1", false), None);
        assert_eq!(node(b"[::1]:8080", true), ip_node("::1", Some(8080)));
        assert_eq!(
            node(b"10.0.0.1:65535", true),
            ip_node("10.0.0.1", Some(65535))
        );
        for bad in [
            &b"10.0.0.1:65536"[..],
            b"10.0.0.1:",
            b"_",
            b"_a b",
            b"[::1]x",
            b"host",
            b"",
        ] {
            assert_eq!(node(bad, true), None, "{bad:?}");
        }
    }

    #[test]
    fn hosts() {
        for good in [
            &b"example.com"[..],
            b"example.com:8080",
            b"[::1]:443",
            b"10.0.0.1",
            b"a_b~c",
        ] {
            assert!(valid_host(good), "{good:?}");
        }
        for bad in [
            &b""[..],
            b"a b",
            b"a/b",
            b"a,b",
            b"[::1",
            b"[x]",
            b"a:b",
            b"a:123456",
            b"a\r\n",
        ] {
            assert!(!valid_host(bad), "{bad:?}");
        }
    }

    #[test]
    fn list_entries_are_trimmed_and_placed() {
        let mut out = Vec::new();
        list_line(b" a, ,b ,\tc", |e, at| out.push((e, at)));
        assert_eq!(out, [(&b"a"[..], 1), (&b"b"[..], 5), (&b"c"[..], 9)]);
    }
}
