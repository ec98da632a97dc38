//! `Forwarded` (RFC 7239) and `X-Forwarded-For` / `-Proto` / `-Host`, believed from trusted
//! proxies only: [`ProxyPolicy::resolve`] turns them into the request's effective client
//! address (`REMOTE_ADDR`, `REMOTE_PORT`), `wsgi.url_scheme` and `HTTP_HOST`.
//!
//! # The rules
//!
//! * **Only from a trusted peer.** When the connection's peer (the socket's address, or the
//!   [PROXY protocol](super::protocol)'s source) is not in the policy's [`TrustedProxies`],
//!   nothing changes, whatever the headers say: any client can send them.
//! * **Walk from the right.** Each proxy appends the address it received the request from,
//!   so the rightmost entries were written by the proxies nearest the server, and the
//!   leftmost by whoever sent the request first, possibly the client forging a chain. The
//!   resolver walks the `for=` / `X-Forwarded-For` chain from the right, skips the entries
//!   that are trusted proxies themselves, and takes the first one that is not: the client,
//!   as far as trusted proxies can vouch. When every entry is trusted, the leftmost is taken.
//!   (Werkzeug's `ProxyFix` takes a hop count instead of addresses; gunicorn's
//!   `forwarded_allow_ips` only checks the peer; this walk is what both amount to when the
//!   trusted hops are named.) `unknown`, an obfuscated `_name` or an element without `for=`
//!   is never trusted, so the walk stops there.
//! * **`Forwarded`: one element says it all.** The element the walk stopped at was added by
//!   the first trusted proxy, and its `proto=` and `host=` describe the request as that
//!   proxy received it from the client; they become the scheme and host.
//! * **`X-Forwarded-Proto` / `-Host`: the rightmost value.** These are usually set (not
//!   appended) by the nearest proxy, and there is no rule tying their entries to
//!   `X-Forwarded-For`'s; the rightmost entry is the one the peer (trusted) wrote, as with
//!   Werkzeug's default of one hop.
//! * **`Forwarded` wins** ([`Headers::PreferForwarded`], the default): when a `Forwarded`
//!   header is present, `X-Forwarded-*` are ignored, even if `Forwarded` turns out to be
//!   malformed. Mixing them would let one proxy's header be completed by another header it
//!   never checked. A proxy that sets only one kind must drop or overwrite the other kind
//!   from clients, or the policy must name the one it sets ([`Headers::Forwarded`],
//!   [`Headers::XForwarded`]): otherwise a client's own `Forwarded` passes through it and
//!   wins.
//! * **Malformed means ignored.** A header that does not parse changes nothing (the request
//!   is still served) and is reported in [`Resolved::problem`] for the log. For
//!   `X-Forwarded-*` each header stands alone. A scheme other than `http`/`https` is
//!   reported and ignored.
//!
//! Multiple header lines of one name are one list (RFC 9110 §5.3), in order: pass each line
//! as its own slice, or the lines joined with `,` (as a CGI environ joins them); the result
//! is the same.
//!
//! ```
//! use wsgiref_core::environ::UrlScheme;
//! use wsgiref_core::proxy::forwarded::{NodeName, ProxyHeaders, ProxyPolicy, TrustedProxies};
//!
//! let policy = ProxyPolicy::new(TrustedProxies::<4>::parse("10.0.0.0/8")?);
//! let headers = ProxyHeaders {
//!     // A client forged the first element; 198.51.100.7 is who reached the proxy 10.1.1.1,
//!     // which reached 10.2.2.2, the server's peer.
//!     forwarded: &[
//!         b"for=203.0.113.66;proto=http",
//!         br#"for="198.51.100.7:4711";proto=https;host=example.com, for=10.1.1.1"#,
//!     ],
//!     ..ProxyHeaders::default()
//! };
//! let resolved = policy.resolve("10.2.2.2".parse().unwrap(), &headers);
//! let client = resolved.client.unwrap();
//! assert_eq!(client.name, NodeName::Ip("198.51.100.7".parse().unwrap()));
//! assert_eq!(client.port, Some(4711));
//! assert_eq!(resolved.scheme, Some(UrlScheme::Https));
//! assert_eq!(resolved.host, Some(&b"example.com"[..]));
//!
//! // The same headers from a peer that is not trusted change nothing.
//! let forged = policy.resolve("192.0.2.1".parse().unwrap(), &headers);
//! assert_eq!((forged.client, forged.scheme, forged.host), (None, None, None));
//! # Ok::<(), wsgiref_core::proxy::forwarded::TrustListError>(())
//! ```

use core::fmt;
use core::net::IpAddr;

use crate::environ::UrlScheme;

mod apply;
mod parse;
mod trusted;

pub use apply::PEER_KEY;
pub use trusted::{IpNet, TrustErrorKind, TrustListError, TrustedProxies};

/// Who a forwarding header names: an address, `unknown`, or an obfuscated identifier.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NodeName<'h> {
    /// An IPv4 or IPv6 address.
    Ip(IpAddr),
    /// `unknown`: the proxy does not know (or will not say).
    Unknown,
    /// An obfuscated identifier (`_hidden`, RFC 7239 §6.3): the proxy hides the address but
    /// keeps requests of one client apart.
    Obfuscated(&'h str),
}

/// A node of a forwarding chain: a name and, when given as a number, a port.
///
/// Its `Display` is the `REMOTE_ADDR` value: the address (IPv6 without brackets, as CGI
/// writes it), `unknown`, or the obfuscated identifier as it is.
///
/// ```
/// use wsgiref_core::proxy::forwarded::{Node, NodeName};
/// let node = Node { name: NodeName::Ip("2001:db8::1".parse().unwrap()), port: Some(4711) };
/// assert_eq!(node.to_string(), "2001:db8::1");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Node<'h> {
    /// The address or identifier.
    pub name: NodeName<'h>,
    /// The port (`REMOTE_PORT`), when the header gave a number (not an obfuscated `_port`).
    pub port: Option<u16>,
}

impl fmt::Display for Node<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name {
            NodeName::Ip(ip) => write!(f, "{ip}"),
            NodeName::Unknown => f.write_str("unknown"),
            NodeName::Obfuscated(id) => f.write_str(id),
        }
    }
}

/// The request's forwarding header values: each field holds the lines of one header, in the
/// order received (empty: absent).
///
/// ```
/// use wsgiref_core::proxy::forwarded::ProxyHeaders;
/// // From a CGI-style environ, where repeated lines are already joined:
/// let xff: &[u8] = b"203.0.113.5, 10.0.0.2";
/// let headers = ProxyHeaders { x_forwarded_for: &[xff], ..ProxyHeaders::default() };
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ProxyHeaders<'h> {
    /// `Forwarded` (`HTTP_FORWARDED`).
    pub forwarded: &'h [&'h [u8]],
    /// `X-Forwarded-For` (`HTTP_X_FORWARDED_FOR`).
    pub x_forwarded_for: &'h [&'h [u8]],
    /// `X-Forwarded-Proto` (`HTTP_X_FORWARDED_PROTO`).
    pub x_forwarded_proto: &'h [&'h [u8]],
    /// `X-Forwarded-Host` (`HTTP_X_FORWARDED_HOST`).
    pub x_forwarded_host: &'h [&'h [u8]],
}

/// Which forwarding headers a policy believes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Headers {
    /// `Forwarded` when the request has one, else `X-Forwarded-*` (the default).
    #[default]
    PreferForwarded,
    /// `Forwarded` only.
    Forwarded,
    /// `X-Forwarded-For`, `-Proto` and `-Host` only.
    XForwarded,
}

/// One of the forwarding headers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum HeaderName {
    /// `Forwarded`.
    Forwarded,
    /// `X-Forwarded-For`.
    XForwardedFor,
    /// `X-Forwarded-Proto`.
    XForwardedProto,
    /// `X-Forwarded-Host`.
    XForwardedHost,
}

impl HeaderName {
    /// The header's name as sent.
    pub const fn as_str(self) -> &'static str {
        match self {
            HeaderName::Forwarded => "Forwarded",
            HeaderName::XForwardedFor => "X-Forwarded-For",
            HeaderName::XForwardedProto => "X-Forwarded-Proto",
            HeaderName::XForwardedHost => "X-Forwarded-Host",
        }
    }
}

/// What was wrong with a forwarding header.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum ProblemKind {
    /// Not `Forwarded`'s grammar: a pair without `=`, an unterminated quoted string, a
    /// character out of place.
    Syntax,
    /// A parameter given twice in one `Forwarded` element (RFC 7239 §4 forbids it).
    Duplicate,
    /// A node (`for=`, an `X-Forwarded-For` entry) that is not an address (IPv6 in brackets
    /// in `Forwarded`), `unknown` or an obfuscated `_name`, with an optional port.
    BadNode,
    /// A `host` that is not a valid host with optional port, or a value with a
    /// backslash escape where none can be meant.
    BadValue,
    /// A scheme other than `http` or `https`, which `wsgi.url_scheme` cannot hold.
    UnsupportedScheme,
}

impl ProblemKind {
    /// One sentence saying what was wrong.
    pub const fn detail(&self) -> &'static str {
        match self {
            ProblemKind::Syntax => "malformed",
            ProblemKind::Duplicate => "parameter repeated in one element",
            ProblemKind::BadNode => "node is not an address, unknown or an obfuscated name",
            ProblemKind::BadValue => "value is not a valid host or has an escape",
            ProblemKind::UnsupportedScheme => "scheme is neither http nor https",
        }
    }
}

/// A forwarding header that was ignored, and where it went wrong: for the log.
///
/// ```
/// use wsgiref_core::proxy::forwarded::{HeaderName, Problem, ProblemKind};
/// let p = Problem { header: HeaderName::Forwarded, kind: ProblemKind::Duplicate, line: 0, offset: 12 };
/// assert_eq!(p.to_string(), "ignored Forwarded: parameter repeated in one element (line 0, byte 12)");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Problem {
    /// Which header.
    pub header: HeaderName,
    /// What was wrong.
    pub kind: ProblemKind,
    /// Which of its lines (0 for the first).
    pub line: usize,
    /// The offset in that line.
    pub offset: usize,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "ignored {}: {} (line {}, byte {})",
            self.header.as_str(),
            self.kind.detail(),
            self.line,
            self.offset
        )
    }
}

/// What the forwarding headers of a request from a trusted peer change. `None` fields leave
/// the server's own value (the peer's address, the listener's scheme, the `Host` header).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Resolved<'h> {
    /// The effective client: `REMOTE_ADDR` (its `Display`) and, when it has a port,
    /// `REMOTE_PORT`.
    pub client: Option<Node<'h>>,
    /// The effective `wsgi.url_scheme`.
    pub scheme: Option<UrlScheme>,
    /// The effective `HTTP_HOST`.
    pub host: Option<&'h [u8]>,
    /// Which headers were read: `None` when the peer is not trusted or sent none.
    pub source: Option<Headers>,
    /// The first header ignored as malformed (log it; the request is served all the same).
    pub problem: Option<Problem>,
}

/// Which peers to trust and which headers to believe from them: the trusted-proxy setting.
///
/// ```
/// use wsgiref_core::proxy::forwarded::{Headers, ProxyHeaders, ProxyPolicy, TrustedProxies};
///
/// // nginx on the same host, setting X-Forwarded-For and X-Forwarded-Proto.
/// let policy = ProxyPolicy {
///     trusted: TrustedProxies::<2>::parse("127.0.0.1, ::1")?,
///     headers: Headers::XForwarded,
/// };
/// let headers = ProxyHeaders {
///     x_forwarded_for: &[b"192.0.2.10"],
///     x_forwarded_proto: &[b"https"],
///     ..ProxyHeaders::default()
/// };
/// let resolved = policy.resolve("127.0.0.1".parse().unwrap(), &headers);
/// assert_eq!(resolved.client.unwrap().to_string(), "192.0.2.10");
/// # Ok::<(), wsgiref_core::proxy::forwarded::TrustListError>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProxyPolicy<const N: usize> {
    /// The peers whose headers count (and the hops skipped in the chain).
    pub trusted: TrustedProxies<N>,
    /// Which headers count.
    pub headers: Headers,
}

/// The element (or entry) the walk from the right stops at, found in one pass from the left:
/// the rightmost untrusted one, or the leftmost when all are trusted.
struct Walk<T> {
    first: Option<T>,
    last_untrusted: Option<T>,
}

impl<T: Copy> Walk<T> {
    fn new() -> Self {
        Walk {
            first: None,
            last_untrusted: None,
        }
    }

    fn push(&mut self, item: T, trusted: bool) {
        if self.first.is_none() {
            self.first = Some(item);
        }
        if !trusted {
            self.last_untrusted = Some(item);
        }
    }

    fn chosen(&self) -> Option<T> {
        self.last_untrusted.or(self.first)
    }
}

fn scheme(value: &[u8]) -> Option<UrlScheme> {
    if value.eq_ignore_ascii_case(b"http") {
        Some(UrlScheme::Http)
    } else if value.eq_ignore_ascii_case(b"https") {
        Some(UrlScheme::Https)
    } else {
        None
    }
}

fn present(lines: &[&[u8]]) -> bool {
    lines
        .iter()
        .any(|line| line.iter().any(|&b| !matches!(b, b' ' | b'\t' | b',')))
}

impl<const N: usize> ProxyPolicy<N> {
    /// A policy trusting `trusted`, believing `Forwarded` first (see [`Headers`]).
    pub fn new(trusted: TrustedProxies<N>) -> Self {
        ProxyPolicy {
            trusted,
            headers: Headers::PreferForwarded,
        }
    }

    /// What the forwarding headers of a request from `peer` change; see the
    /// [module docs](self) for the rules. Never fails: a malformed header is ignored and
    /// reported in [`Resolved::problem`].
    pub fn resolve<'h>(&self, peer: IpAddr, headers: &ProxyHeaders<'h>) -> Resolved<'h> {
        if !self.trusted.trusts(peer) {
            return Resolved::default();
        }
        let forwarded = present(headers.forwarded);
        let x_forwarded = present(headers.x_forwarded_for)
            || present(headers.x_forwarded_proto)
            || present(headers.x_forwarded_host);
        match self.headers {
            Headers::PreferForwarded | Headers::Forwarded if forwarded => {
                self.read_forwarded(headers.forwarded)
            }
            Headers::PreferForwarded | Headers::XForwarded if x_forwarded => {
                self.read_x_forwarded(headers)
            }
            _ => Resolved::default(),
        }
    }

    fn trusted_node(&self, node: Option<Node<'_>>) -> bool {
        matches!(node, Some(Node { name: NodeName::Ip(ip), .. }) if self.trusted.trusts(ip))
    }

    fn read_forwarded<'h>(&self, lines: &[&'h [u8]]) -> Resolved<'h> {
        let mut out = Resolved {
            source: Some(Headers::Forwarded),
            ..Resolved::default()
        };
        let mut walk = Walk::new();
        for (index, line) in lines.iter().enumerate() {
            let walked = parse::forwarded_line(line, |element| {
                walk.push((element, index), self.trusted_node(element.node));
            });
            if let Err((kind, offset)) = walked {
                out.problem = Some(Problem {
                    header: HeaderName::Forwarded,
                    kind,
                    line: index,
                    offset,
                });
                return out;
            }
        }
        let Some((element, line)) = walk.chosen() else {
            return out;
        };
        out.client = element.node;
        out.host = element.host;
        if let Some(proto) = element.proto {
            out.scheme = scheme(proto);
            if out.scheme.is_none() {
                out.problem = Some(Problem {
                    header: HeaderName::Forwarded,
                    kind: ProblemKind::UnsupportedScheme,
                    line,
                    offset: element.proto_at,
                });
            }
        }
        out
    }

    fn read_x_forwarded<'h>(&self, headers: &ProxyHeaders<'h>) -> Resolved<'h> {
        let mut out = Resolved {
            source: Some(Headers::XForwarded),
            ..Resolved::default()
        };
        let mut report = |problem: Problem| {
            out.problem.get_or_insert(problem);
        };
        // X-Forwarded-For: every entry must parse, or the header is ignored.
        let mut walk = Walk::new();
        let mut bad = None;
        for (index, line) in headers.x_forwarded_for.iter().enumerate() {
            parse::list_line(line, |entry, offset| {
                if bad.is_some() {
                    return;
                }
                match parse::node(entry, true) {
                    Some(node) => walk.push(node, self.trusted_node(Some(node))),
                    None => bad = Some((index, offset)),
                }
            });
        }
        let client = match bad {
            Some((line, offset)) => {
                report(Problem {
                    header: HeaderName::XForwardedFor,
                    kind: ProblemKind::BadNode,
                    line,
                    offset,
                });
                None
            }
            None => walk.chosen(),
        };
        let scheme = last_entry(headers.x_forwarded_proto).and_then(|(value, line, offset)| {
            let s = scheme(value);
            if s.is_none() {
                report(Problem {
                    header: HeaderName::XForwardedProto,
                    kind: ProblemKind::UnsupportedScheme,
                    line,
                    offset,
                });
            }
            s
        });
        let host = last_entry(headers.x_forwarded_host).and_then(|(value, line, offset)| {
            if parse::valid_host(value) {
                Some(value)
            } else {
                report(Problem {
                    header: HeaderName::XForwardedHost,
                    kind: ProblemKind::BadValue,
                    line,
                    offset,
                });
                None
            }
        });
        out.client = client;
        out.scheme = scheme;
        out.host = host;
        out
    }
}

/// The rightmost non-empty entry of a comma-separated header, with its line and offset.
fn last_entry<'h>(lines: &[&'h [u8]]) -> Option<(&'h [u8], usize, usize)> {
    let mut last = None;
    for (index, line) in lines.iter().enumerate() {
        parse::list_line(line, |entry, offset| last = Some((entry, index, offset)));
    }
    last
}

#[cfg(test)]
mod tests;
