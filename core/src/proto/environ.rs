//! From a request head to CGI variables: [`fill_environ`], by the rules of CPython's
//! `wsgiref.simple_server.WSGIRequestHandler.get_environ`.
//!
//! What is set, in this order:
//!
//! * `SERVER_PROTOCOL`: `HTTP/0.9`, `HTTP/1.0` or `HTTP/1.1`;
//! * `REQUEST_METHOD`: the method as sent (not upper-cased);
//! * `PATH_INFO`: the target up to the first `?`, percent-decoded to bytes (`%XX` becomes the
//!   byte `0xXX`, so `%2F` is `/`; a malformed escape such as `%zz` or a lone `%` stays as it
//!   is; `+` stays `+`; raw bytes `0x80..=0xFF` pass through). As in CPython (gh-87389), a run
//!   of leading slashes becomes one (`//evil.example/x` is `/evil.example/x`);
//! * `QUERY_STRING`: the raw bytes after the first `?`, `""` when there is none;
//! * `CONTENT_TYPE`: the first `Content-Type` value, **only when there is one**. CPython sets
//!   `text/plain` (the e-mail default) when it is missing; we leave the variable out, because
//!   a body-less request has no content type, and PEP 3333 allows an absent `CONTENT_TYPE`;
//! * `CONTENT_LENGTH`: the first `Content-Length` value, when present and non-empty (the
//!   parser has already checked it is a plain number);
//! * `HTTP_<NAME>` for each header field: the name upper-cased with `-` turned into `_`, the
//!   value without surrounding whitespace; repeated fields are joined with `,` (no space).
//!   A field whose key without `HTTP_` is already a variable (CPython's rule) or is one of the
//!   CGI names CPython's environ always holds at that point (`CONTENT_TYPE`, `CONTENT_LENGTH`,
//!   `SCRIPT_NAME`, `PATH_INFO`, `SERVER_NAME`, ...) is skipped, so headers cannot spoof
//!   CGI variables.
//!
//! Header names containing `_` are where we differ by default. `X_Forwarded_For` and
//! `X-Forwarded-For` both map to `HTTP_X_FORWARDED_FOR`, so a client could smuggle a value
//! past a proxy that filters only the dashed spelling. [`UnderscorePolicy::Drop`] (the
//! default) ignores such fields, as Werkzeug, gunicorn, nginx and Apache do;
//! [`UnderscorePolicy::Merge`] behaves as CPython does.
//!
//! `SERVER_NAME`, `SERVER_PORT`, `REMOTE_ADDR`, `SCRIPT_NAME` and the `wsgi.*` entries come
//! from the server's base environ, not from the head.

use super::request::trim_ows;
use super::target::absolute_parts;
use super::{ProtocolError, RequestHead};
use crate::bytes::{byte_map, eq_ignore_case};
use crate::environ::{Environ, KnownKey};
use crate::storage::name_bit;

/// What [`fill_environ`] does with header fields whose name contains `_`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum UnderscorePolicy {
    /// Ignore them entirely (the default): they would be indistinguishable from their dashed
    /// twins in the environ.
    #[default]
    Drop,
    /// Treat `_` like `-`, as CPython's `simple_server` does.
    Merge,
}

/// What [`fill_environ`] does with a `Proxy` request header field, which would become
/// `HTTP_PROXY`.
///
/// CGI programs, and applications that copy the environ into a process environment, hand
/// `HTTP_PROXY` to HTTP client libraries, which read it as the proxy to use for outgoing
/// requests ("httpoxy", CVE-2016-5385): a client's `Proxy: http://attacker.example` header
/// would route the application's own requests through the attacker. No standard header is
/// called `Proxy`, so the default drops it, as Apache's and nginx's httpoxy advice does.
///
/// ```
/// use wsgiref_core::environ::EnvironBuf;
/// use wsgiref_core::proto::{fill_environ, parse_head, HeaderPolicy, Limits, ProxyHeaderPolicy};
///
/// let input = b"GET / HTTP/1.1\r\nProxy: http://attacker.example\r\n\r\n";
/// let mut headers = [httparse::EMPTY_HEADER; 4];
/// let head = parse_head(input, &mut headers, &Limits::DEFAULT)?.unwrap();
/// let mut buf = EnvironBuf::<512, 16>::new();
/// let mut environ = buf.environ();
/// fill_environ(&head, &mut environ, HeaderPolicy::default())?;
/// assert_eq!(environ.get("HTTP_PROXY"), None);
///
/// // A deployment that needs the header back (it trusts its clients, or uses no proxy-aware
/// // library) keeps it:
/// let keep = HeaderPolicy { proxy: ProxyHeaderPolicy::Keep, ..HeaderPolicy::default() };
/// let mut buf = EnvironBuf::<512, 16>::new();
/// let mut environ = buf.environ();
/// fill_environ(&head, &mut environ, keep)?;
/// assert_eq!(environ.get("HTTP_PROXY"), Some(&b"http://attacker.example"[..]));
/// # Ok::<(), wsgiref_core::proto::ProtocolError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ProxyHeaderPolicy {
    /// Leave `Proxy` fields out of the environ (the default): no `HTTP_PROXY` from a client.
    #[default]
    Drop,
    /// Keep them as `HTTP_PROXY`, as CPython's `simple_server` does.
    Keep,
}

/// Which request header fields [`fill_environ`] leaves out of the environ: names with `_`
/// ([`UnderscorePolicy`]) and `Proxy` ([`ProxyHeaderPolicy`]). Both default to dropping; an
/// [`UnderscorePolicy`] alone converts into a policy with the default for `Proxy`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct HeaderPolicy {
    /// Header names containing `_`.
    pub underscore: UnderscorePolicy,
    /// The `Proxy` header (httpoxy).
    pub proxy: ProxyHeaderPolicy,
}

impl From<UnderscorePolicy> for HeaderPolicy {
    fn from(underscore: UnderscorePolicy) -> Self {
        HeaderPolicy {
            underscore,
            proxy: ProxyHeaderPolicy::default(),
        }
    }
}

/// Is `name` (a header name) `Proxy`, in any case?
#[inline]
pub(super) fn is_proxy(name: &[u8]) -> bool {
    name.len() == 5 && eq_ignore_case(name, b"proxy")
}

/// Is `name` (a header name) `Host`, in any case?
#[inline]
pub(super) fn is_host(name: &[u8]) -> bool {
    name.len() == 4 && eq_ignore_case(name, b"host")
}

/// Longest `HTTP_<NAME>` key built from a header name. Longer names are refused with 431:
/// no real header comes close, and the key is built in a stack buffer of this size.
pub const MAX_ENVIRON_KEY: usize = 256;

/// Why a header name too long for its `HTTP_*` key is refused (431):
/// [`parse_head`](super::parse_head) refuses it, so that no server finds out only when the
/// environ is written out. The sentence, not a `ProtocolError` constant: each use of a
/// constant error copied it from flash (220 B more in the minimal firmware).
pub(crate) const NAME_TOO_LONG: &str = "header name too long for an environ key (MAX_ENVIRON_KEY)";

/// Set in a [`key_byte_of`] result for `_`: the name has an underscore.
pub(super) const UNDERSCORE: u8 = 0x80;

/// Header-name byte to environ-key byte: ASCII upper case, `-` to `_`; `_` maps to `_` with
/// [`UNDERSCORE`] set so the same pass notices it. (Only token bytes occur in names; others
/// map to 0.)
const fn key_byte_of(b: u8) -> u8 {
    match b {
        b'-' => b'_',
        b'_' => b'_' | UNDERSCORE,
        0x80..=0xff => 0,
        _ => b.to_ascii_uppercase(),
    }
}

byte_map! {
    /// [`key_byte_of`] of `b`, through a table on hosts (see `bytes::byte_map`).
    pub(super) fn key_byte = key_byte_of;
}

/// The CGI variables that CPython's environ always holds before it looks at the header
/// fields. A header that maps to one of them is always skipped, whatever the base environ
/// holds.
const CGI_NAMES: [&[u8]; 13] = [
    b"CONTENT_LENGTH",
    b"CONTENT_TYPE",
    b"GATEWAY_INTERFACE",
    b"PATH_INFO",
    b"QUERY_STRING",
    b"REMOTE_ADDR",
    b"REMOTE_HOST",
    b"REQUEST_METHOD",
    b"SCRIPT_NAME",
    b"SERVER_NAME",
    b"SERVER_PORT",
    b"SERVER_PROTOCOL",
    b"SERVER_SOFTWARE",
];

/// Bit `n` set: some name in [`CGI_NAMES`] is `n` bytes long (all are shorter than 32).
const CGI_NAME_LENGTHS: u32 = {
    let mut mask = 0;
    let mut i = 0;
    while i < CGI_NAMES.len() {
        mask |= 1 << CGI_NAMES[i].len();
        i += 1;
    }
    mask
};

/// Is `bare` (a key without `HTTP_`) one of [`CGI_NAMES`]? The length mask answers for most
/// header names in a couple of instructions; the others are compared with the few names of
/// their length. (A `match` on the byte strings was as fast but compiled to 1.1 KB of
/// Cortex-M code.)
pub(super) fn is_cgi_name(bare: &[u8]) -> bool {
    bare.len() < 32 && CGI_NAME_LENGTHS & (1 << bare.len()) != 0 && CGI_NAMES.contains(&bare)
}

// The variables every request sets, their Bloom bits computed at compile time.
const SERVER_PROTOCOL: KnownKey = KnownKey::new("SERVER_PROTOCOL");
const REQUEST_METHOD: KnownKey = KnownKey::new("REQUEST_METHOD");
const PATH_INFO: KnownKey = KnownKey::new("PATH_INFO");
const QUERY_STRING: KnownKey = KnownKey::new("QUERY_STRING");
const CONTENT_TYPE: KnownKey = KnownKey::new("CONTENT_TYPE");
const CONTENT_LENGTH: KnownKey = KnownKey::new("CONTENT_LENGTH");
const HTTP_HOST: KnownKey = KnownKey::new("HTTP_HOST");

/// A request whose variables do not (or, by `RequestView::fits`'s bound, might not) fit the
/// environ storage.
pub(crate) const ENVIRON_FULL: ProtocolError =
    ProtocolError::header_fields_too_large("request variables do not fit the environ storage");

/// Fill `environ` from `head` by CPython's `simple_server` rules (see the [module
/// docs](self)). It does not set `SERVER_NAME`, `SERVER_PORT`, `REMOTE_ADDR` or `SCRIPT_NAME`
/// (the server's base environ does), and it looks at the base when it skips fields, so fill
/// the base in first.
///
/// A full environ is `431 Request Header Fields Too Large`; what was set before stays set.
///
/// ```
/// use wsgiref_core::environ::EnvironBuf;
/// use wsgiref_core::proto::{fill_environ, parse_head, Limits, UnderscorePolicy};
///
/// let input = b"GET /p%61th/?query=test HTTP/1.0\r\nX-Test: a\r\nx-test: b\r\nX_Test: c\r\n\r\n";
/// let mut headers = [httparse::EMPTY_HEADER; 8];
/// let head = parse_head(input, &mut headers, &Limits::DEFAULT)?.unwrap();
/// let mut buf = EnvironBuf::<512, 16>::new();
/// let mut environ = buf.environ();
/// fill_environ(&head, &mut environ, UnderscorePolicy::Drop)?;
/// assert_eq!(environ.get("PATH_INFO"), Some(&b"/path/"[..]));
/// assert_eq!(environ.get("QUERY_STRING"), Some(&b"query=test"[..]));
/// assert_eq!(environ.get("HTTP_X_TEST"), Some(&b"a,b"[..]));
/// assert_eq!(environ.get("CONTENT_TYPE"), None);
/// # Ok::<(), wsgiref_core::proto::ProtocolError>(())
/// ```
pub fn fill_environ(
    head: &RequestHead<'_>,
    environ: &mut Environ<'_>,
    policy: impl Into<HeaderPolicy>,
) -> Result<(), ProtocolError> {
    let policy = policy.into();
    let full = |_| ENVIRON_FULL;
    environ
        .set_known(SERVER_PROTOCOL, head.version.as_str().as_bytes())
        .map_err(full)?;
    environ
        .set_known(REQUEST_METHOD, head.method)
        .map_err(full)?;

    let (authority, path, query) = split_target(head.target);
    if path.contains(&b'%') {
        environ.set("PATH_INFO", b"").map_err(full)?;
        percent_decode(path, |piece| environ.append("PATH_INFO", b"", piece)).map_err(full)?;
    } else {
        // Nothing to decode (the common case): one copy, no staging.
        environ.set_known(PATH_INFO, path).map_err(full)?;
    }
    environ.set_known(QUERY_STRING, query).map_err(full)?;

    if let Some(ct) = head.content_type {
        environ
            .set_known(CONTENT_TYPE, trim_ows(ct))
            .map_err(full)?;
    }
    if let Some(cl) = head.content_length.map(trim_ows) {
        if !cl.is_empty() {
            environ.set_known(CONTENT_LENGTH, cl).map_err(full)?;
        }
    }

    // What the environ held before the header fields: a field's bare key can only be present
    // if it was there already or is an `HTTP_*` key an earlier field added (the other
    // variables set above are CGI names, skipped by `is_cgi_name`); likewise its `HTTP_*` key.
    // The environ's Bloom bits from before the loop plus a local filter of the keys this loop
    // adds answer both questions for a new key (the common case) without the two lookups it
    // would otherwise cost; a "maybe" still looks.
    let before = environ.key_bits();
    let mut added = 0u64;
    // Absolute-form: its authority is the host (RFC 9112 §3.2.2), and any Host field is
    // ignored.
    if let Some(authority) = authority {
        environ.set_known(HTTP_HOST, authority).map_err(full)?;
        const HOST_BITS: u64 = name_bit(b"HTTP_HOST");
        added |= HOST_BITS;
    }
    // Word-aligned, with the prefix written as 12 bytes, so that the compiler clears the rest
    // from a 4-byte-aligned offset: a Cortex-M then uses the word-wise clearing routine the
    // handler links anyway, instead of linking the byte-wise `__aeabi_memclr` (208 B) for this
    // buffer alone (or the 8-byte one, which an 8-byte prefix chose). 196 B less flash in the
    // minimal firmware, one instruction more per request on hosts.
    #[repr(align(4))]
    struct KeyBuf([u8; MAX_ENVIRON_KEY]);
    let mut key_buf = KeyBuf([0u8; MAX_ENVIRON_KEY]);
    let key_buf = &mut key_buf.0;
    key_buf[..12].copy_from_slice(b"HTTP_\0\0\0\0\0\0\0");
    for field in head.headers {
        let name = field.name.as_bytes();
        let Some(slot) = key_buf.get_mut(5..5 + name.len()) else {
            return Err(ProtocolError::header_fields_too_large(NAME_TOO_LONG));
        };
        // One table-driven pass builds the key and notices `_` (flagged by the table's high
        // bit). Header names are tokens (httparse checked), so the key is ASCII and needs no
        // UTF-8 validation.
        let mut flags = 0u8;
        for (out, &b) in slot.iter_mut().zip(name) {
            let mapped = key_byte(b);
            flags |= mapped;
            *out = mapped & 0x7f;
        }
        if flags & UNDERSCORE != 0 && policy.underscore == UnderscorePolicy::Drop {
            continue;
        }
        if (policy.proxy == ProxyHeaderPolicy::Drop && is_proxy(name))
            || (authority.is_some() && is_host(name))
        {
            continue;
        }
        let key = &key_buf[..5 + name.len()];
        let bare = &key[5..];
        if is_cgi_name(bare) {
            continue;
        }
        let bare_bits = name_bit(bare);
        let bare_maybe = before & bare_bits == bare_bits
            || (bare.starts_with(b"HTTP_") && added & bare_bits == bare_bits);
        if bare_maybe && environ.contains_bytes(bare) {
            continue;
        }
        let key_bits = name_bit(key);
        let value = trim_ows(field.value);
        if (before | added) & key_bits == key_bits {
            // Possibly present (a repeated field, or a key of the base): look, and join a
            // repeated field with `,`.
            environ.append_header_key(key, b",", value).map_err(full)?;
        } else {
            environ
                .push_new_header_key(key, key_bits, value)
                .map_err(full)?;
        }
        added |= key_bits;
    }
    Ok(())
}

/// The authority (absolute-form only), the path and the query of a request target, as
/// `HTTP_HOST`, `PATH_INFO` (before decoding) and `QUERY_STRING` have them. An absolute-form
/// target's empty path is `/` (RFC 9112 §3.2.1: the origin-form of an empty path).
pub(super) fn split_target(target: &[u8]) -> (Option<&[u8]>, &[u8], &[u8]) {
    let (authority, target) = match absolute_authority(target) {
        Some((authority, rest)) => (Some(authority), rest),
        None => (None, target),
    };
    let target = collapse_leading_slashes(target);
    let (path, query) = match target.iter().position(|&b| b == b'?') {
        Some(q) => (&target[..q], &target[q + 1..]),
        None => (target, &[][..]),
    };
    match (authority, path) {
        (Some(_), []) => (authority, b"/", query),
        _ => (authority, path, query),
    }
}

/// The authority of an absolute-form target and what follows it; `None` for the other forms
/// (origin-form, the usual one, costs one comparison). [`parse_head`](super::parse_head) has
/// checked the form already.
#[inline]
pub(super) fn absolute_authority(target: &[u8]) -> Option<(&[u8], &[u8])> {
    match target.first() {
        Some(b'/') | None => None,
        Some(_) => absolute_parts(target),
    }
}

/// CPython (gh-87389): a target starting with `//` keeps one leading slash, so that the path
/// cannot be mistaken for a network-path reference (`//host/...`).
fn collapse_leading_slashes(target: &[u8]) -> &[u8] {
    if target.starts_with(b"//") {
        let slashes = target.iter().take_while(|&&b| b == b'/').count();
        &target[slashes - 1..]
    } else {
        target
    }
}

/// `urllib.parse.unquote(path, "iso-8859-1")` on bytes: `%XX` (either case) becomes one byte,
/// every other byte stays. The result is handed to `emit` in pieces of at most 256 bytes, so
/// no buffer of the path's size is needed.
fn percent_decode<E>(path: &[u8], mut emit: impl FnMut(&[u8]) -> Result<(), E>) -> Result<(), E> {
    let mut buf = [0u8; 256];
    let mut n = 0;
    let mut i = 0;
    while i < path.len() {
        let b = match path[i] {
            b'%' => match (
                path.get(i + 1).and_then(|&h| hex(h)),
                path.get(i + 2).and_then(|&l| hex(l)),
            ) {
                (Some(h), Some(l)) => {
                    i += 2;
                    h << 4 | l
                }
                _ => b'%',
            },
            b => b,
        };
        i += 1;
        buf[n] = b;
        n += 1;
        if n == buf.len() {
            emit(&buf)?;
            n = 0;
        }
    }
    if n > 0 {
        emit(&buf[..n])?;
    }
    Ok(())
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::environ::EnvironBuf;
    use crate::proto::{parse_head, Limits};
    use std::vec::Vec;

    type Vars = Vec<(std::string::String, Vec<u8>)>;

    fn environ_of(input: &[u8], policy: UnderscorePolicy) -> Result<Vars, ProtocolError> {
        let mut headers = [httparse::EMPTY_HEADER; 32];
        // CONNECT parses (its environ is checked too), as with `allow_connect`.
        let limits = Limits {
            allow_connect: true,
            ..Limits::DEFAULT
        };
        let head = parse_head(input, &mut headers, &limits)?.expect("complete head");
        let mut buf = EnvironBuf::<4096, 64>::new();
        let mut environ = buf.environ();
        fill_environ(&head, &mut environ, policy)?;
        Ok(environ
            .iter()
            .map(|(k, v)| (k.into(), v.to_vec()))
            .collect())
    }

    fn get<'v>(vars: &'v Vars, key: &str) -> Option<&'v [u8]> {
        vars.iter().find(|(k, _)| k == key).map(|(_, v)| &v[..])
    }

    #[test]
    fn cpython_test_environ_case() {
        // test_wsgiref IntegrationTests.test_environ
        let vars = environ_of(
            b"GET /p%61th/?query=test HTTP/1.0\nX-Test-Header: Python test \nX-Test-Header: Python test 2\nContent-Length: 0\n\n",
            UnderscorePolicy::Drop,
        )
        .unwrap();
        assert_eq!(get(&vars, "PATH_INFO"), Some(&b"/path/"[..]));
        assert_eq!(get(&vars, "QUERY_STRING"), Some(&b"query=test"[..]));
        assert_eq!(
            get(&vars, "HTTP_X_TEST_HEADER"),
            Some(&b"Python test,Python test 2"[..])
        );
        assert_eq!(get(&vars, "CONTENT_LENGTH"), Some(&b"0"[..]));
        assert_eq!(get(&vars, "HTTP_CONTENT_LENGTH"), None);
        assert_eq!(get(&vars, "SERVER_PROTOCOL"), Some(&b"HTTP/1.0"[..]));
        assert_eq!(get(&vars, "REQUEST_METHOD"), Some(&b"GET"[..]));
        let keys: Vec<&str> = vars.iter().map(|(k, _)| &k[..]).collect();
        assert_eq!(
            keys,
            [
                "SERVER_PROTOCOL",
                "REQUEST_METHOD",
                "PATH_INFO",
                "QUERY_STRING",
                "CONTENT_LENGTH",
                "HTTP_X_TEST_HEADER"
            ]
        );
    }

    #[test]
    fn paths_and_queries() {
        let cases: &[(&[u8], &[u8], &[u8])] = &[
            (b"/", b"/", b""),
            (b"/\x80%80", b"/\x80\x80", b""),
            (b"/x?a?b", b"/x", b"a?b"),
            (b"/x?", b"/x", b""),
            (b"/a%2Fb%2fc", b"/a/b/c", b""),
            (b"/%zz%4%", b"/%zz%4%", b""),
            (b"/a+b%20c", b"/a+b c", b""),
            (b"/%E9?q=%E9", b"/\xe9", b"q=%E9"),
            (b"//evil/x", b"/evil/x", b""),
            (b"///", b"/", b""),
            (b"//?q", b"/", b"q"),
            // Absolute-form: the path and query after the authority (RFC 9112 §3.2.2; CPython
            // keeps the whole URI in PATH_INFO).
            (b"http://example.com/x", b"/x", b""),
            (b"http://example.com/a%2Fb?q=1?2", b"/a/b", b"q=1?2"),
            (b"HTTPS://example.com:8443//x//y", b"/x//y", b""),
            (b"http://example.com", b"/", b""),
            (b"http://example.com?q", b"/", b"q"),
            // Asterisk-form (OPTIONS) and authority-form (CONNECT) stay as sent.
            (b"*", b"*", b""),
            (b"example.com:443", b"example.com:443", b""),
        ];
        for (target, path, query) in cases {
            let method: &[u8] = match *target {
                b"*" => b"OPTIONS",
                b"example.com:443" => b"CONNECT",
                _ => b"GET",
            };
            let input = [method, b" ", target, b" HTTP/1.1\r\n\r\n"].concat();
            let vars = environ_of(&input, UnderscorePolicy::Drop).unwrap();
            assert_eq!(get(&vars, "PATH_INFO"), Some(*path), "{target:?}");
            assert_eq!(get(&vars, "QUERY_STRING"), Some(*query), "{target:?}");
        }
    }

    #[test]
    fn long_paths_decode_across_pieces() {
        let target: Vec<u8> = b"/"
            .iter()
            .chain(b"%41".repeat(300).iter())
            .copied()
            .collect();
        let input = [&b"GET "[..], &target, b" HTTP/1.1\r\n\r\n"].concat();
        let vars = environ_of(&input, UnderscorePolicy::Drop).unwrap();
        let want: Vec<u8> = b"/"
            .iter()
            .chain(b"A".repeat(300).iter())
            .copied()
            .collect();
        assert_eq!(get(&vars, "PATH_INFO"), Some(&want[..]));
    }

    #[test]
    fn content_type_only_when_sent() {
        let vars = environ_of(b"GET / HTTP/1.1\r\n\r\n", UnderscorePolicy::Drop).unwrap();
        assert_eq!(get(&vars, "CONTENT_TYPE"), None);
        assert_eq!(get(&vars, "CONTENT_LENGTH"), None);
        let vars = environ_of(
            b"POST / HTTP/1.1\r\nContent-Type: a/b\r\ncontent-type: c/d\r\n\r\n",
            UnderscorePolicy::Drop,
        )
        .unwrap();
        assert_eq!(get(&vars, "CONTENT_TYPE"), Some(&b"a/b"[..]));
        assert_eq!(get(&vars, "HTTP_CONTENT_TYPE"), None);
    }

    #[test]
    fn cgi_names_cannot_be_spoofed() {
        let vars = environ_of(
            b"GET / HTTP/1.1\r\nScript-Name: /x\r\nPath-Info: /y\r\nRemote-Addr: 1.2.3.4\r\nServer-Name: s\r\nQuery-String: q\r\nHost: h\r\nHTTP-Host: evil\r\nHTTP-X: 1\r\n\r\n",
            UnderscorePolicy::Merge,
        )
        .unwrap();
        for key in [
            "HTTP_SCRIPT_NAME",
            "HTTP_PATH_INFO",
            "HTTP_REMOTE_ADDR",
            "HTTP_SERVER_NAME",
            "HTTP_QUERY_STRING",
        ] {
            assert_eq!(get(&vars, key), None, "{key}");
        }
        assert_eq!(get(&vars, "PATH_INFO"), Some(&b"/"[..]));
        assert_eq!(get(&vars, "HTTP_HOST"), Some(&b"h"[..]));
        assert_eq!(get(&vars, "HTTP_HTTP_X"), Some(&b"1"[..]));
    }

    #[test]
    fn cgi_names_are_recognised_exactly() {
        for name in CGI_NAMES {
            assert!(is_cgi_name(name), "{name:?}");
            assert!(!is_cgi_name(&name[1..]), "{name:?}");
            assert!(!is_cgi_name(&[name, &b"X"[..]].concat()), "{name:?}");
        }
        for other in [
            &b""[..],
            b"HOST",
            b"PATH_INFX",
            b"SERVER_PROTOCOLS",
            &[b'A'; 40],
        ] {
            assert!(!is_cgi_name(other), "{other:?}");
        }
    }

    #[test]
    fn underscore_policy() {
        let input = b"GET / HTTP/1.1\r\nX_Foo: one\r\nX-Foo: two\r\nx-foo: three\r\nContent_Type: t\r\n\r\n";
        let dropped = environ_of(input, UnderscorePolicy::Drop).unwrap();
        assert_eq!(get(&dropped, "HTTP_X_FOO"), Some(&b"two,three"[..]));
        let merged = environ_of(input, UnderscorePolicy::Merge).unwrap();
        assert_eq!(get(&merged, "HTTP_X_FOO"), Some(&b"one,two,three"[..]));
        // CPython always has CONTENT_TYPE by then, so Content_Type is skipped, not HTTP_*.
        assert_eq!(get(&merged, "HTTP_CONTENT_TYPE"), None);
        assert_eq!(get(&merged, "CONTENT_TYPE"), None);
        assert_eq!(UnderscorePolicy::default(), UnderscorePolicy::Drop);
    }

    #[test]
    fn base_environ_keys_are_respected() {
        let mut headers = [httparse::EMPTY_HEADER; 4];
        let head = parse_head(
            b"GET / HTTP/1.1\r\nMy-Var: x\r\nX: 2\r\n\r\n",
            &mut headers,
            &Limits::DEFAULT,
        )
        .unwrap()
        .unwrap();
        let mut buf = EnvironBuf::<512, 16>::new();
        let mut environ = buf.environ();
        environ.set("MY_VAR", "base").unwrap();
        environ.set("HTTP_X", "1").unwrap();
        fill_environ(&head, &mut environ, UnderscorePolicy::Drop).unwrap();
        assert_eq!(environ.get("HTTP_MY_VAR"), None);
        assert_eq!(environ.get("HTTP_X"), Some(&b"1,2"[..]));
    }

    #[test]
    fn full_environ_and_long_names_are_431() {
        let mut headers = [httparse::EMPTY_HEADER; 4];
        let head = parse_head(
            b"GET /some/path HTTP/1.1\r\nHost: example\r\n\r\n",
            &mut headers,
            &Limits::DEFAULT,
        )
        .unwrap()
        .unwrap();
        let mut buf = EnvironBuf::<40, 8>::new();
        let mut environ = buf.environ();
        let e = fill_environ(&head, &mut environ, UnderscorePolicy::Drop).unwrap_err();
        assert_eq!((e.status, e.detail), (431, ENVIRON_FULL.detail));
        let mut buf = EnvironBuf::<512, 3>::new();
        let mut environ = buf.environ();
        let e = fill_environ(&head, &mut environ, UnderscorePolicy::Drop).unwrap_err();
        assert_eq!(e.status, 431);

        // parse_head refuses such a name (431) before any environ is built; a head built by
        // hand is refused here, with the same answer.
        let mut headers = [httparse::EMPTY_HEADER; 1];
        let parsed = parse_head(
            b"GET / HTTP/1.1\r\nX: v\r\n\r\n",
            &mut headers,
            &Limits::DEFAULT,
        )
        .unwrap()
        .unwrap();
        let mut buf = EnvironBuf::<1024, 16>::new();
        for (len, fits) in [(MAX_ENVIRON_KEY - 5, true), (MAX_ENVIRON_KEY - 4, false)] {
            let name = "x".repeat(len);
            let fields = [httparse::Header {
                name: &name,
                value: b"v",
            }];
            let head = RequestHead {
                headers: &fields,
                ..parsed
            };
            let mut environ = buf.environ();
            let result = fill_environ(&head, &mut environ, UnderscorePolicy::Drop);
            assert_eq!(
                result.map_err(|e| (e.status, e.detail)),
                if fits {
                    Ok(())
                } else {
                    Err((
                        431,
                        ProtocolError::header_fields_too_large(NAME_TOO_LONG).detail,
                    ))
                }
            );
        }
    }

    include!("testdata/cpython_environ.rs");

    /// CPython's environ for `request` with our deliberate differences applied: an
    /// absolute-form target's path and query in PATH_INFO and QUERY_STRING and its authority
    /// in HTTP_HOST (set before the header fields, so where CPython puts a first `Host`), and,
    /// unless `keep_proxy`, no HTTP_PROXY.
    fn with_our_differences<'w>(
        request: &[u8],
        cpython: &[(&'w str, &'w [u8])],
        keep_proxy: bool,
    ) -> Vec<(&'w str, Vec<u8>)> {
        let mut want: Vec<(&str, Vec<u8>)> = cpython
            .iter()
            .filter(|(k, _)| keep_proxy || *k != "HTTP_PROXY")
            .map(|(k, v)| (*k, v.to_vec()))
            .collect();
        let target = request.split(|&b| b == b' ').nth(1).unwrap();
        if let (Some(authority), path, _) = split_target(target) {
            want.iter_mut().find(|(k, _)| *k == "PATH_INFO").unwrap().1 = path.to_vec();
            match want.iter_mut().find(|(k, _)| *k == "HTTP_HOST") {
                Some(host) => host.1 = authority.to_vec(),
                None => {
                    let at = 1 + want.iter().position(|(k, _)| *k == "QUERY_STRING").unwrap();
                    want.insert(at, ("HTTP_HOST", authority.to_vec()));
                }
            }
        }
        want
    }

    /// Every request of the fixture gives CPython's environ, key for key and in CPython's
    /// order, over CPython's base environ (with `UnderscorePolicy::Merge`, CPython's rule),
    /// but for our deliberate differences ([`with_our_differences`]).
    #[test]
    fn matches_cpython_simple_server() {
        for ((request, cpython), keep_proxy) in CPYTHON_ENVIRONS
            .iter()
            .flat_map(|fixture| [(fixture, false), (fixture, true)])
        {
            let want = with_our_differences(request, cpython, keep_proxy);
            let policy = HeaderPolicy {
                underscore: UnderscorePolicy::Merge,
                proxy: if keep_proxy {
                    ProxyHeaderPolicy::Keep
                } else {
                    ProxyHeaderPolicy::Drop
                },
            };
            let mut headers = [httparse::EMPTY_HEADER; 16];
            let head = parse_head(request, &mut headers, &Limits::DEFAULT)
                .unwrap()
                .unwrap();
            let mut buf = EnvironBuf::<2048, 32>::new();
            let mut environ = buf.environ();
            for (k, v) in [
                ("SERVER_NAME", "x"),
                ("GATEWAY_INTERFACE", "CGI/1.1"),
                ("SERVER_PORT", "80"),
                ("REMOTE_HOST", ""),
                ("CONTENT_LENGTH", ""),
                ("SCRIPT_NAME", ""),
            ] {
                environ.set(k, v).unwrap();
            }
            fill_environ(&head, &mut environ, policy).unwrap();
            let got: Vec<(&str, Vec<u8>)> = environ.iter().map(|(k, v)| (k, v.to_vec())).collect();
            assert_eq!(
                got,
                want,
                "{:?}",
                std::string::String::from_utf8_lossy(request)
            );
        }
    }

    #[test]
    fn fields_named_like_environ_keys() {
        // `Http-X` maps to the bare key `HTTP_X`: present once `X` was added, so skipped.
        let vars = environ_of(
            b"GET / HTTP/1.1\r\nX: 1\r\nHttp-X: 2\r\nx: 3\r\n\r\n",
            UnderscorePolicy::Drop,
        )
        .unwrap();
        assert_eq!(get(&vars, "HTTP_X"), Some(&b"1,3"[..]));
        assert_eq!(get(&vars, "HTTP_HTTP_X"), None);
        // The other order: `Http-X` first gives `HTTP_HTTP_X`; `X` is then new.
        let vars = environ_of(
            b"GET / HTTP/1.1\r\nHttp-X: 2\r\nX: 1\r\n\r\n",
            UnderscorePolicy::Drop,
        )
        .unwrap();
        assert_eq!(get(&vars, "HTTP_HTTP_X"), Some(&b"2"[..]));
        assert_eq!(get(&vars, "HTTP_X"), Some(&b"1"[..]));
    }

    /// CPython's rule for header fields, written with lookups only, over the public
    /// `Environ` API: the reference that `fill_environ`'s Bloom-filter shortcuts must match.
    fn reference_fields(
        fields: &[(&str, &str)],
        environ: &mut Environ<'_>,
        policy: UnderscorePolicy,
    ) {
        for &(name, value) in fields {
            if policy == UnderscorePolicy::Drop && name.contains('_') {
                continue;
            }
            let bare = name.replace('-', "_").to_ascii_uppercase();
            if is_cgi_name(bare.as_bytes()) || environ.contains(&bare) {
                continue;
            }
            let key = std::format!("HTTP_{bare}");
            environ.append(&key, b",", value.trim()).unwrap();
        }
    }

    proptest::proptest! {
        /// Field names drawn from a small set that collides on purpose (case, `-`/`_`, an
        /// `Http-` prefix, CGI names) over a base environ holding some of their keys: the
        /// environ equals the reference's, key for key and in order.
        #[test]
        #[cfg_attr(miri, ignore)] // hundreds of cases: minutes under miri
        fn header_fields_follow_the_reference(
            fields in proptest::collection::vec(
                (proptest::sample::select(std::vec![
                    "X", "x", "Http-X", "HTTP_X", "http-x", "Y", "X-Y", "X_Y", "x-y",
                    "My-Var", "Content-Type", "Http-Http-X", "Server-Name", "Remote-Addr",
                ]), "[a-z0-9]{0,4}"),
                0..12,
            ),
            base in proptest::collection::vec(
                proptest::sample::select(std::vec![
                    "MY_VAR", "HTTP_X", "HTTP_Y", "X", "HTTP_X_Y", "SERVER_NAME", "HTTP_HTTP_X",
                ]),
                0..4,
            ),
            merge in proptest::bool::ANY,
        ) {
            let policy = if merge { UnderscorePolicy::Merge } else { UnderscorePolicy::Drop };
            let mut request = std::string::String::from("GET / HTTP/1.1\r\n");
            for (name, value) in &fields {
                request.push_str(&std::format!("{name}: {value}\r\n"));
            }
            request.push_str("\r\n");
            let mut headers = [httparse::EMPTY_HEADER; 16];
            let head = parse_head(request.as_bytes(), &mut headers, &Limits::DEFAULT)
                .unwrap()
                .unwrap();
            let mut got_buf = EnvironBuf::<2048, 48>::new();
            let mut got = got_buf.environ();
            let mut want_buf = EnvironBuf::<2048, 48>::new();
            let mut want = want_buf.environ();
            for key in &base {
                got.set(key, "base").unwrap();
                want.set(key, "base").unwrap();
            }
            fill_environ(&head, &mut got, policy).unwrap();
            // The reference: the request's own variables (a head without fields), then the
            // fields by the lookup-only rule.
            let mut bare_headers = [httparse::EMPTY_HEADER; 1];
            let bare_head = parse_head(b"GET / HTTP/1.1\r\n\r\n", &mut bare_headers, &Limits::DEFAULT)
                .unwrap()
                .unwrap();
            fill_environ(&bare_head, &mut want, policy).unwrap();
            if let Some((_, v)) = fields.iter().find(|(n, _)| n.eq_ignore_ascii_case("content-type")) {
                want.set("CONTENT_TYPE", v.trim()).unwrap();
            }
            let pairs: Vec<(&str, &str)> = fields.iter().map(|(n, v)| (*n, v.as_str())).collect();
            reference_fields(&pairs, &mut want, policy);
            let got: Vec<(&str, &[u8])> = got.iter().collect();
            let want: Vec<(&str, &[u8])> = want.iter().collect();
            proptest::prop_assert_eq!(got, want);
        }
    }

    #[test]
    fn http09_environ() {
        let vars = environ_of(b"GET /x?y\r\n", UnderscorePolicy::Drop).unwrap();
        assert_eq!(get(&vars, "SERVER_PROTOCOL"), Some(&b"HTTP/0.9"[..]));
        assert_eq!(get(&vars, "PATH_INFO"), Some(&b"/x"[..]));
        assert_eq!(get(&vars, "QUERY_STRING"), Some(&b"y"[..]));
    }
}
