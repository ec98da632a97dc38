//! Request-target forms and `Host` values: what RFC 9112 §3.2 lets a server accept.
//!
//! A request-target is one of four forms, whatever the method:
//!
//! * origin-form, `/path?query`: the usual one;
//! * absolute-form, `http://host:port/path?query`: what a client sends to a proxy, and what a
//!   server must accept too (RFC 9112 §3.2.2); its authority stands in for `Host`;
//! * authority-form, `host:port`: for `CONNECT` only;
//! * asterisk-form, `*`: for `OPTIONS` only.
//!
//! Anything else (`!`, `a/b`, `*` with `GET`, `/x` with `CONNECT`) is refused with 400. The
//! bytes of the path and query are not judged beyond the request line's own rules (visible
//! ASCII and `0x80..=0xFF`), as CPython passes them on; only the form is. A `Host` value, and
//! the authority of an absolute-form or authority-form target, must be `uri-host [":" port]`
//! of RFC 3986: a bracketed IPv6 (or IPvFuture) literal, or a name or IPv4 address of
//! unreserved characters, `%XX` escapes and sub-delimiters; a port of digits. So a value
//! with whitespace, `/`, `@`, a quote or a bare `%` cannot carry a second authority past a
//! proxy that reads it differently. An absolute-form authority must also name a host, and
//! may hold no user information (RFC 9110 §4.2.1, §4.2.4).

use super::ProtocolError;
use crate::bytes::byte_map;

// Refusals as statics: `check_other_forms` hands back a reference, one word, instead of
// building a whole error at each of its exits (less code on a microcontroller).
static BAD_TARGET: ProtocolError = ProtocolError::bad_request(
    "request target is not in origin, absolute, authority (CONNECT) or asterisk (OPTIONS) form",
);
static BAD_AUTHORITY: ProtocolError =
    ProtocolError::bad_request("invalid authority in the request target");
static BAD_CONNECT: ProtocolError =
    ProtocolError::bad_request("CONNECT needs an authority-form target (host:port)");
static NO_TUNNEL: ProtocolError = ProtocolError::not_implemented(
    "CONNECT (a tunnel) is not supported; see Limits::allow_connect",
);
static BAD_ASTERISK: ProtocolError =
    ProtocolError::bad_request("asterisk-form target (*) with a method other than OPTIONS");

/// Check that `target` has a form RFC 9112 §3.2 allows with `method`; `Ok(true)` for a
/// `CONNECT` that `allow_connect` lets through (a request that must not be persistent), and
/// 501 for one it does not. The origin-form test (a leading `/`) is inline: it is the one
/// nearly every request takes, two comparisons; the other forms are judged out of line.
#[inline(always)]
pub(crate) fn check_target(
    method: &[u8],
    target: &[u8],
    allow_connect: bool,
) -> Result<bool, ProtocolError> {
    if target.first() == Some(&b'/') && !is_connect(method) {
        return Ok(false);
    }
    check_other_forms(method, target, allow_connect).map_err(|e| *e)
}

/// `CONNECT` (methods are case-sensitive), compared byte by byte.
#[inline(always)]
fn is_connect(method: &[u8]) -> bool {
    matches!(method, [b'C', b'O', b'N', b'N', b'E', b'C', b'T'])
}

/// [`check_target`] for a target that is not origin-form, or a `CONNECT`.
#[inline(never)]
fn check_other_forms(
    method: &[u8],
    target: &[u8],
    allow_connect: bool,
) -> Result<bool, &'static ProtocolError> {
    if is_connect(method) {
        return match (connect_target_ok(target), allow_connect) {
            (false, _) => Err(&BAD_CONNECT),
            (true, false) => Err(&NO_TUNNEL),
            (true, true) => Ok(true),
        };
    }
    match (target, method) {
        ([b'/', ..], _) | ([b'*'], [b'O', b'P', b'T', b'I', b'O', b'N', b'S']) => Ok(false),
        ([b'*'], _) => Err(&BAD_ASTERISK),
        _ => match absolute_parts(target) {
            Some((authority, _)) if absolute_authority_ok(authority) => Ok(false),
            Some(_) => Err(&BAD_AUTHORITY),
            None => Err(&BAD_TARGET),
        },
    }
}

/// CONNECT's authority-form target, `uri-host ":" port`.
#[inline(always)]
fn connect_target_ok(target: &[u8]) -> bool {
    authority_ok(target, true, true)
}

/// An absolute-form target's authority: `uri-host [":" port]` with a host.
#[inline(always)]
fn absolute_authority_ok(authority: &[u8]) -> bool {
    authority_ok(authority, true, false)
}

/// Check a `Host` field value (RFC 9112 §3.2): `uri-host [":" port]`, possibly empty.
///
/// Every request with a `Host` pays for this, so the usual value (a name of unreserved and
/// sub-delimiter characters, then perhaps `:` and digits) is judged in one table-driven pass;
/// anything else (an escape, an IP literal, or an error) goes through the full grammar.
pub(crate) fn check_host(value: &[u8]) -> Result<(), ProtocolError> {
    let mut name = 0;
    while name < value.len() && reg_char(value[name]) {
        name += 1;
    }
    let ok = match value[name..].split_first() {
        None => true,
        Some((b':', port)) if port.iter().all(u8::is_ascii_digit) => true,
        _ => authority_ok(value, false, false),
    };
    if ok {
        Ok(())
    } else {
        Err(ProtocolError::bad_request("invalid Host value"))
    }
}

/// An absolute-form target split into its authority and the rest (path and query, either
/// possibly empty): `Some` when `target` is `scheme "://" authority rest`, with a scheme of
/// RFC 3986 (a letter, then letters, digits, `+`, `-`, `.`) and the authority ending at the
/// first `/` or `?`. The authority is not checked here; [`check_target`] does that before
/// any request gets this far.
#[inline(never)]
pub(crate) fn absolute_parts(target: &[u8]) -> Option<(&[u8], &[u8])> {
    // The scheme: a letter, then letters, digits, `+`, `-` or `.`, up to the `:`.
    let mut i = 0;
    loop {
        let b = *target.get(i)?;
        let ok = match b {
            b'a'..=b'z' | b'A'..=b'Z' => true,
            b'0'..=b'9' | b'+' | b'-' | b'.' => i > 0,
            b':' if i > 0 => break,
            _ => false,
        };
        if !ok {
            return None;
        }
        i += 1;
    }
    let rest = target[i..].strip_prefix(b"://")?;
    let end = rest
        .iter()
        .position(|&b| b == b'/' || b == b'?')
        .unwrap_or(rest.len());
    Some(rest.split_at(end))
}

/// `uri-host [":" port]`; with `need_host` the host is not empty (an `http` URI's must not
/// be), with `need_port` the port is there with at least one digit (CONNECT's
/// authority-form).
fn authority_ok(a: &[u8], need_host: bool, need_port: bool) -> bool {
    let (host, port) = match a.first() {
        Some(b'[') => match a.iter().position(|&b| b == b']') {
            Some(close) if ip_literal_ok(&a[1..close]) => (&a[..=close], &a[close + 1..]),
            _ => return false,
        },
        _ => {
            let end = a.iter().position(|&b| b == b':').unwrap_or(a.len());
            if !reg_name_ok(&a[..end]) {
                return false;
            }
            (&a[..end], &a[end..])
        }
    };
    let port_ok = match port.split_first() {
        None => !need_port,
        Some((b':', digits)) => {
            digits.iter().all(u8::is_ascii_digit) && !(need_port && digits.is_empty())
        }
        Some(_) => false,
    };
    port_ok && !(need_host && host.is_empty())
}

/// `reg-name` (which includes IPv4 addresses): unreserved characters, sub-delimiters and
/// `%XX` escapes.
fn reg_name_ok(name: &[u8]) -> bool {
    let mut i = 0;
    while let Some(&b) = name.get(i) {
        let ok = match b {
            b'%' => {
                let escape = name.get(i + 1..i + 3);
                i += 2;
                escape.is_some_and(|e| e.iter().all(u8::is_ascii_hexdigit))
            }
            _ => reg_char(b),
        };
        if !ok {
            return false;
        }
        i += 1;
    }
    true
}

/// `unreserved` or `sub-delims` of RFC 3986: the characters of a `reg-name` but `%`.
const fn is_unreserved_or_sub_delim(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'-' | b'.'
                | b'_'
                | b'~'
                | b'!'
                | b'$'
                | b'&'
                | b'\''
                | b'('
                | b')'
                | b'*'
                | b'+'
                | b','
                | b';'
                | b'='
        )
}

const fn reg_char_of(b: u8) -> u8 {
    is_unreserved_or_sub_delim(b) as u8
}

byte_map! {
    /// [`is_unreserved_or_sub_delim`] through a table on hosts (see `bytes::byte_map`).
    fn reg_char_byte = reg_char_of;
}

#[inline(always)]
fn reg_char(b: u8) -> bool {
    reg_char_byte(b) != 0
}

/// What is inside the brackets of an `IP-literal`: an `IPv6address` or an `IPvFuture`
/// (`v` hex digits `.` then unreserved, sub-delimiters or `:`).
fn ip_literal_ok(inner: &[u8]) -> bool {
    match inner {
        [b'v' | b'V', rest @ ..] => {
            let dot = rest.iter().position(|&b| b == b'.');
            dot.is_some_and(|d| {
                d > 0
                    && rest[..d].iter().all(u8::is_ascii_hexdigit)
                    && rest.len() > d + 1
                    && rest[d + 1..].iter().all(|&b| b == b':' || reg_char(b))
            })
        }
        _ => ipv6_ok(inner),
    }
}

/// `IPv6address` of RFC 3986: eight groups of 1 to 4 hex digits separated by `:`, the last
/// two of which may be an IPv4 address, with at most one `::` standing for one or more zero
/// groups.
fn ipv6_ok(s: &[u8]) -> bool {
    let mut groups = 0;
    let mut elided = false;
    let mut i = 0;
    if s.starts_with(b"::") {
        elided = true;
        i = 2;
    }
    while i < s.len() {
        let start = i;
        while i < s.len() && s[i].is_ascii_hexdigit() && i - start < 5 {
            i += 1;
        }
        if s.get(i) == Some(&b'.') {
            // An IPv4 address ends the literal and counts for two groups.
            if !ipv4_ok(&s[start..]) {
                return false;
            }
            groups += 2;
            break;
        }
        if i == start || i - start > 4 {
            return false;
        }
        groups += 1;
        match s.get(i) {
            None => break,
            Some(b':') if s.get(i + 1) == Some(&b':') && !elided => {
                elided = true;
                i += 2;
            }
            // A single `:` must be followed by another group.
            Some(b':') if i + 1 < s.len() => i += 1,
            _ => return false,
        }
    }
    if elided {
        groups <= 7
    } else {
        groups == 8
    }
}

/// `IPv4address`: four decimal octets 0 to 255 without leading zeros, separated by `.`.
fn ipv4_ok(s: &[u8]) -> bool {
    let mut octets = 0;
    for octet in s.split(|&b| b == b'.') {
        // At most three digits, so the value cannot overflow.
        let ok = matches!(octet.len(), 1..=3)
            && (octet.len() == 1 || octet[0] != b'0')
            && octet
                .iter()
                .try_fold(0u16, |n, &b| {
                    b.is_ascii_digit().then(|| n * 10 + u16::from(b - b'0'))
                })
                .is_some_and(|v| v <= 255);
        if !ok {
            return false;
        }
        octets += 1;
    }
    octets == 4
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::format;
    use std::string::String;

    #[test]
    fn target_forms() {
        let ok: &[(&[u8], &[u8])] = &[
            (b"GET", b"/"),
            (b"GET", b"/a?b#c"),
            (b"GET", b"/\x80\xff"),
            (b"OPTIONS", b"*"),
            (b"OPTIONS", b"/"),
            (b"OPTIONS", b"http://www.example.org:8001"),
            (b"GET", b"http://a/"),
            (b"GET", b"http://a"),
            (b"GET", b"http://a?q"),
            (b"GET", b"HTTPS://a.example:443/p?q"),
            (b"GET", b"http://[::1]:8080/"),
            (b"GET", b"http://127.0.0.1/x"),
            (b"GET", b"x-y+z.1://a/"),
            (b"POST", b"http://a:/"),
            (b"CONNECT", b"a:1"),
            (b"CONNECT", b"server.example.com:443"),
            (b"CONNECT", b"[2001:db8::1]:443"),
            (b"CONNECT", b"127.0.0.1:80"),
        ];
        for (method, target) in ok {
            assert!(check_target(method, target, true).is_ok(), "{target:?}");
        }
        let bad: &[(&[u8], &[u8])] = &[
            (b"GET", b"!"),
            (b"GET", b"a"),
            (b"GET", b"a/b"),
            (b"GET", b"*"),
            (b"POST", b"*"),
            (b"options", b"*"),
            (b"OPTIONS", b"**"),
            (b"OPTIONS", b"*/"),
            (b"GET", b"?x"),
            (b"GET", b"#x"),
            (b"GET", b"%2F"),
            (b"GET", b"a:80"),
            (b"GET", b"http:/a"),
            (b"GET", b"http:a"),
            (b"GET", b"://a/"),
            (b"GET", b"1http://a/"),
            (b"GET", b"ht tp://a/"),
            (b"GET", b"http:///x"),
            (b"GET", b"http://"),
            (b"CONNECT", b"/"),
            (b"GET", b"a:1"),
        ];
        for (method, target) in bad {
            assert_eq!(
                check_target(method, target, true)
                    .map(|_| ())
                    .map_err(|e| e.status),
                Err(400),
                "{} {}",
                String::from_utf8_lossy(method),
                String::from_utf8_lossy(target)
            );
        }
        // The authority's grammar.
        for (method, target) in [
            (&b"GET"[..], &b"http://u@a/"[..]),
            (b"GET", b"http://u:p@a/"),
            (b"GET", b"http://a b/"),
            (b"GET", b"http://a\"/"),
            (b"GET", b"http://:80/"),
            (b"GET", b"http://a:b/"),
            (b"GET", b"http://[::1/"),
            (b"GET", b"http://a#f"),
            (b"GET", b"http://\x80/"),
            (b"CONNECT", b"a"),
            (b"CONNECT", b"a:"),
            (b"CONNECT", b":80"),
            (b"CONNECT", b"*"),
            (b"CONNECT", b"http://a:80/"),
            (b"CONNECT", b"a:80/"),
            (b"CONNECT", b"u@a:80"),
        ] {
            assert_eq!(
                check_target(method, target, true)
                    .map(|_| ())
                    .map_err(|e| e.status),
                Err(400),
                "{} {}",
                String::from_utf8_lossy(method),
                String::from_utf8_lossy(target)
            );
        }
    }

    #[test]
    fn connect_is_501_unless_allowed_and_then_not_persistent() {
        let refused = check_target(b"CONNECT", b"a:1", false).unwrap_err();
        assert_eq!(refused.status, 501);
        assert_eq!(check_target(b"CONNECT", b"a:1", true), Ok(true));
        // A malformed CONNECT target is 400 either way.
        assert_eq!(
            check_target(b"CONNECT", b"/", false).unwrap_err().status,
            400
        );
        assert_eq!(check_target(b"GET", b"/", true), Ok(false));
    }

    #[test]
    fn host_values() {
        let ok: &[&[u8]] = &[
            b"",
            b"a",
            b"a:80",
            b"a:",
            b":80",
            b"example.com:8080",
            b"EXAMPLE.com",
            b"a,b",
            b"a;b=c",
            b"%41b",
            b"xn--bcher-kva.example",
            b"under_score",
            b"!$&'()*+,;=-._~",
            b"127.0.0.1",
            b"999.999.999.999",
            b"[::1]",
            b"[::1]:8080",
            b"[::]",
            b"[1:2:3:4:5:6:7:8]",
            b"[1:2:3:4:5:6:7::]",
            b"[::2:3:4:5:6:7:8]",
            b"[::ffff:192.0.2.1]",
            b"[1:2:3:4:5:6:1.2.3.4]",
            b"[fe80::1]",
            b"[FEDC:BA98::3210]",
            b"[v1.x]",
            b"[v1f.a:b]",
        ];
        for host in ok {
            assert_eq!(
                check_host(host),
                Ok(()),
                "{}",
                String::from_utf8_lossy(host)
            );
        }
        let bad: &[&[u8]] = &[
            b"a b",
            b"a, b",
            b"a/b",
            b"a b@c/d",
            b"a@b",
            b"u:p@a",
            b"a:b",
            b"a:80:80",
            b"a:8 0",
            b"a?b",
            b"a#b",
            b"a\"b",
            b"a<b",
            b"a\\b",
            b"a%",
            b"a%4",
            b"a%zz",
            b"\x80",
            b"a\tb",
            b"a[b",
            b"[::1",
            b"::1",
            b"[::1]x",
            b"[::1]:x",
            b"[a]",
            b"[]",
            b"[1:2:3:4:5:6:7:8:9]",
            b"[1:2:3:4:5:6:7]",
            b"[1::2::3]",
            b"[:::]",
            b"[1:]",
            b"[:1]",
            b"[12345::]",
            b"[::g]",
            b"[::1.2.3]",
            b"[::1.2.3.256]",
            b"[::01.2.3.4]",
            b"[1:2:3:4:5:6:7:1.2.3.4]",
            b"[::1.2.3.4:5]",
            b"[v.x]",
            b"[v1.]",
            b"[v1x]",
            b"[vg.x]",
            b"[v1.x/]",
        ];
        for host in bad {
            assert_eq!(
                check_host(host).map_err(|e| e.status),
                Err(400),
                "{}",
                String::from_utf8_lossy(host)
            );
        }
    }

    #[test]
    fn absolute_parts_split_authority_and_rest() {
        assert_eq!(
            absolute_parts(b"http://a:1/p?q"),
            Some((&b"a:1"[..], &b"/p?q"[..]))
        );
        assert_eq!(absolute_parts(b"http://a?q"), Some((&b"a"[..], &b"?q"[..])));
        assert_eq!(absolute_parts(b"http://a"), Some((&b"a"[..], &b""[..])));
        assert_eq!(absolute_parts(b"/a://b"), None);
        assert_eq!(absolute_parts(b"a:80"), None);
    }

    /// A host of RFC 3986's grammar, built from its parts.
    fn valid_host() -> impl Strategy<Value = String> {
        let h16 = "[0-9a-fA-F]{1,4}";
        let octet = prop_oneof![
            "[0-9]",
            "[1-9][0-9]",
            "1[0-9][0-9]",
            "2[0-4][0-9]",
            "25[0-5]"
        ];
        let ipv4 = (octet.clone(), octet.clone(), octet.clone(), octet)
            .prop_map(|(a, b, c, d)| format!("{a}.{b}.{c}.{d}"));
        let full6 = proptest::collection::vec(h16, 8).prop_map(|g| g.join(":"));
        let elided6 = (
            proptest::collection::vec(h16, 0..4),
            proptest::collection::vec(h16, 0..4),
        )
            .prop_map(|(a, b)| format!("{}::{}", a.join(":"), b.join(":")));
        let mapped6 = ipv4.clone().prop_map(|v4| format!("::ffff:{v4}"));
        let ip6 = prop_oneof![full6, elided6, mapped6].prop_map(|s| format!("[{s}]"));
        let reg = "([-._~!$&'()*+,;=a-zA-Z0-9]|%[0-9a-fA-F]{2}){0,12}";
        let host = prop_oneof![ip6, ipv4, reg.prop_map(String::from)];
        (host, proptest::option::of("[0-9]{0,5}"))
            .prop_map(|(h, p)| p.map_or(h.clone(), |p| format!("{h}:{p}")))
    }

    proptest! {
        /// Every host the grammar builds is accepted, in Host and in an absolute-form target.
        #[test]
        #[cfg_attr(miri, ignore)]
        fn grammatical_hosts_are_accepted(host in valid_host()) {
            prop_assert_eq!(check_host(host.as_bytes()), Ok(()), "{}", host);
            if !host.starts_with(':') && !host.is_empty() {
                let target = format!("http://{host}/x");
                prop_assert_eq!(check_target(b"GET", target.as_bytes(), false), Ok(false), "{}", target);
            }
        }

        /// A byte the grammar never allows in a host, anywhere in a valid one, is refused.
        #[test]
        #[cfg_attr(miri, ignore)]
        fn a_foreign_byte_in_a_host_is_refused(
            host in valid_host(),
            at in any::<prop::sample::Index>(),
            byte in prop::sample::select(
                b" \t\"#/<>?@\\^`{|}\x00\x7f\x80\xff".to_vec()
            ),
        ) {
            let mut bytes = host.into_bytes();
            let at = at.index(bytes.len() + 1);
            bytes.insert(at, byte);
            prop_assert!(check_host(&bytes).is_err(), "{:?}", String::from_utf8_lossy(&bytes));
        }

        /// Arbitrary bytes never panic in any of the checks.
        #[test]
        #[cfg_attr(miri, ignore)]
        fn arbitrary_targets_and_hosts_never_panic(
            bytes in proptest::collection::vec(any::<u8>(), 0..40),
            method in prop::sample::select(std::vec![&b"GET"[..], b"CONNECT", b"OPTIONS"]),
        ) {
            let _ = check_host(&bytes);
            let _ = check_target(method, &bytes, false);
            let _ = check_target(method, &bytes, true);
            let _ = absolute_parts(&bytes);
        }
    }
}
