//! [`Resolved::apply`]: what a trusted proxy said, written into the request's environ (the
//! method's docs say which variables change, and why).

use core::fmt::{self, Write as _};

use super::{NodeName, Resolved};
use crate::environ::{Environ, EnvironError, UrlScheme};

/// The environ key that keeps the connection's peer (the proxy's address, as `REMOTE_ADDR`
/// had it) once `REMOTE_ADDR` names someone else: set by [`Resolved::apply`] when it changes
/// the client, and by the std server for a PROXY protocol connection. Set once: when the
/// PROXY protocol has already moved the socket's peer here, the forwarding headers leave it.
pub const PEER_KEY: &str = "wsgiref.proxy.peer";

/// A short text formatted on the stack: an address or a port fits 48 bytes.
struct Small {
    bytes: [u8; 48],
    len: usize,
}

impl Small {
    fn new() -> Self {
        Small {
            bytes: [0; 48],
            len: 0,
        }
    }

    fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

impl fmt::Write for Small {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self.len + s.len();
        let slot = self.bytes.get_mut(self.len..end).ok_or(fmt::Error)?;
        slot.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// `host` split into a name and the port it names, if any: `example.com:8443`,
/// `[2001:db8::1]:8443`, `[2001:db8::1]`, `example.com`.
fn split_host(host: &[u8]) -> (&[u8], Option<&[u8]>) {
    let colon = if host.first() == Some(&b'[') {
        match host.iter().position(|&b| b == b']') {
            Some(close) if host.get(close + 1) == Some(&b':') => Some(close + 1),
            _ => None,
        }
    } else {
        host.iter().rposition(|&b| b == b':')
    };
    match colon {
        Some(at) if at + 1 < host.len() && host[at + 1..].iter().all(u8::is_ascii_digit) => {
            (&host[..at], Some(&host[at + 1..]))
        }
        _ => (host, None),
    }
}

impl Resolved<'_> {
    /// Whether applying this changes anything: a trusted peer named a client, scheme or host.
    pub fn changes_anything(&self) -> bool {
        self.client.is_some() || self.scheme.is_some() || self.host.is_some()
    }

    /// Write what the trusted proxy said into `environ`, as Werkzeug's `ProxyFix` does to a
    /// WSGI environ.
    ///
    /// Which variables change, and why:
    ///
    /// | resolved | environ |
    /// |---|---|
    /// | `client` | `REMOTE_ADDR` (its `Display`); `REMOTE_PORT` when the header gave a port, removed otherwise (the socket's port is the proxy's, and pairing it with the client's address would name a connection that never existed); the peer's own `REMOTE_ADDR` kept in [`PEER_KEY`] |
    /// | `scheme` | `wsgi.url_scheme` ([`Environ::set_url_scheme`]) |
    /// | `host` | `HTTP_HOST`, and `SERVER_NAME`/`SERVER_PORT` split from it, the port defaulting to the effective scheme's (`443` for `https`) |
    ///
    /// Werkzeug's `ProxyFix` changes the same variables, and keeps every original in a dict under
    /// `werkzeug.proxy_fix.orig`. Only the peer's address is kept here: it is the one value an
    /// application cannot work out again (the scheme and host the proxy was reached by are in the
    /// request line and `Host` the proxy sent on, and nobody audits them), and one short string
    /// fits an environ that never allocates. `ProxyFix` leaves `SERVER_PORT` alone when the host
    /// has no port; here it follows the scheme, so that a URL rebuilt from `SERVER_NAME` and
    /// `SERVER_PORT` (as `wsgiref.util.request_uri` does without `HTTP_HOST`) names the host the
    /// client asked for, not the backend's port.
    ///
    /// The scheme goes first (it cannot fail), then the client, then the host. Should the
    /// environ's storage run out, the error says so, and each variable not yet written keeps
    /// the peer's value (none is half-written). A server's environ has room for these: the
    /// std server's grows on demand.
    ///
    /// ```
    /// use wsgiref_core::environ::{EnvironBuf, UrlScheme, WsgiVars};
    /// use wsgiref_core::proxy::forwarded::{ProxyHeaders, ProxyPolicy, TrustedProxies, PEER_KEY};
    ///
    /// let mut buf = EnvironBuf::<512, 16>::new();
    /// let mut environ = buf.environ();
    /// environ.wsgi = Some(WsgiVars::testing(UrlScheme::Http));
    /// for (k, v) in [("REMOTE_ADDR", "10.0.0.2"), ("REMOTE_PORT", "51000"),
    ///                ("SERVER_NAME", "backend"), ("SERVER_PORT", "8000")] {
    ///     environ.set(k, v)?;
    /// }
    /// let headers = ProxyHeaders {
    ///     forwarded: &[br#"for="[2001:db8::7]:4711";proto=https;host=shop.example"#],
    ///     ..ProxyHeaders::default()
    /// };
    /// let policy = ProxyPolicy::new(TrustedProxies::<2>::parse("10.0.0.0/8").unwrap());
    /// policy.resolve("10.0.0.2".parse().unwrap(), &headers).apply(&mut environ)?;
    /// assert_eq!(environ.get_str("REMOTE_ADDR"), Some("2001:db8::7"));
    /// assert_eq!(environ.get_str("REMOTE_PORT"), Some("4711"));
    /// assert_eq!(environ.get_str(PEER_KEY), Some("10.0.0.2"));
    /// assert_eq!(environ.url_scheme(), Some(UrlScheme::Https));
    /// assert_eq!(environ.get_str("HTTP_HOST"), Some("shop.example"));
    /// assert_eq!(environ.get_str("SERVER_NAME"), Some("shop.example"));
    /// assert_eq!(environ.get_str("SERVER_PORT"), Some("443"));
    /// # Ok::<(), wsgiref_core::environ::EnvironError>(())
    /// ```
    pub fn apply(&self, environ: &mut Environ<'_>) -> Result<(), EnvironError> {
        if let Some(scheme) = self.scheme {
            environ.set_url_scheme(scheme);
        }
        if let Some(client) = self.client {
            if !environ.contains(PEER_KEY) {
                let mut peer = Small::new();
                if let Some(addr) = environ.get("REMOTE_ADDR") {
                    // An address longer than any IP address is not kept (never truncated).
                    if let Some(slot) = peer.bytes.get_mut(..addr.len()) {
                        slot.copy_from_slice(addr);
                        peer.len = addr.len();
                        environ.set(PEER_KEY, peer.as_bytes())?;
                    }
                }
            }
            match client.name {
                NodeName::Ip(ip) => {
                    let mut text = Small::new();
                    // An IP address is at most 45 characters: this cannot fail.
                    let _ = write!(text, "{ip}");
                    environ.set("REMOTE_ADDR", text.as_bytes())?;
                }
                NodeName::Unknown => environ.set("REMOTE_ADDR", "unknown")?,
                NodeName::Obfuscated(id) => environ.set("REMOTE_ADDR", id)?,
            }
            match client.port {
                Some(port) => {
                    let mut text = Small::new();
                    let _ = write!(text, "{port}");
                    environ.set("REMOTE_PORT", text.as_bytes())?;
                }
                None => {
                    environ.remove("REMOTE_PORT");
                }
            }
        }
        if let Some(host) = self.host {
            environ.set("HTTP_HOST", host)?;
            let (name, port) = split_host(host);
            environ.set("SERVER_NAME", name)?;
            let port = match port {
                Some(port) => port,
                None => environ
                    .url_scheme()
                    .unwrap_or(UrlScheme::Http)
                    .default_port()
                    .as_bytes(),
            };
            environ.set("SERVER_PORT", port)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::environ::{EnvironBuf, WsgiVars};
    use crate::proxy::forwarded::{Node, ProxyHeaders, ProxyPolicy, TrustedProxies};

    #[test]
    fn split_host_forms() {
        type Case<'a> = (&'a [u8], &'a [u8], Option<&'a [u8]>);
        let cases: [Case<'_>; 7] = [
            (b"example.com", b"example.com", None),
            (b"example.com:8443", b"example.com", Some(b"8443")),
            (b"[2001:db8::1]", b"[2001:db8::1]", None),
            (b"[2001:db8::1]:81", b"[2001:db8::1]", Some(b"81")),
            (b"example.com:", b"example.com:", None),
            (b"example.com:x1", b"example.com:x1", None),
            (b"10.0.0.1:80", b"10.0.0.1", Some(b"80")),
        ];
        for (host, name, port) in cases {
            assert_eq!(split_host(host), (name, port), "{host:?}");
        }
    }

    fn base(environ: &mut Environ<'_>) {
        environ.wsgi = Some(WsgiVars::testing(UrlScheme::Http));
        for (k, v) in [
            ("REMOTE_ADDR", "127.0.0.1"),
            ("REMOTE_PORT", "40000"),
            ("SERVER_NAME", "localhost"),
            ("SERVER_PORT", "8000"),
            ("HTTP_HOST", "localhost:8000"),
        ] {
            environ.set(k, v).unwrap();
        }
    }

    #[test]
    fn nothing_resolved_changes_nothing() {
        let mut buf = EnvironBuf::<512, 16>::new();
        let mut environ = buf.environ();
        base(&mut environ);
        let before: heapless::Vec<(heapless::String<32>, heapless::Vec<u8, 32>), 8> = environ
            .iter()
            .map(|(k, v)| {
                (
                    heapless::String::try_from(k).unwrap(),
                    heapless::Vec::from_slice(v).unwrap(),
                )
            })
            .collect();
        assert!(!Resolved::default().changes_anything());
        Resolved::default().apply(&mut environ).unwrap();
        assert!(environ
            .iter()
            .eq(before.iter().map(|(k, v)| (k.as_str(), v.as_slice()))));
        assert_eq!(environ.url_scheme(), Some(UrlScheme::Http));
    }

    #[test]
    fn client_without_port_drops_the_proxys_port() {
        let mut buf = EnvironBuf::<512, 16>::new();
        let mut environ = buf.environ();
        base(&mut environ);
        let resolved = Resolved {
            client: Some(Node {
                name: NodeName::Ip("203.0.113.9".parse().unwrap()),
                port: None,
            }),
            ..Resolved::default()
        };
        resolved.apply(&mut environ).unwrap();
        assert_eq!(environ.get_str("REMOTE_ADDR"), Some("203.0.113.9"));
        assert_eq!(environ.get("REMOTE_PORT"), None);
        assert_eq!(environ.get_str(PEER_KEY), Some("127.0.0.1"));
        // The host and scheme were not forwarded: untouched.
        assert_eq!(environ.get_str("HTTP_HOST"), Some("localhost:8000"));
        assert_eq!(environ.get_str("SERVER_PORT"), Some("8000"));
    }

    #[test]
    fn peer_key_is_set_once() {
        let mut buf = EnvironBuf::<512, 16>::new();
        let mut environ = buf.environ();
        base(&mut environ);
        // A PROXY protocol connection: the socket's peer was kept already.
        environ.set(PEER_KEY, "127.0.0.5").unwrap();
        let resolved = Resolved {
            client: Some(Node {
                name: NodeName::Unknown,
                port: None,
            }),
            ..Resolved::default()
        };
        resolved.apply(&mut environ).unwrap();
        assert_eq!(environ.get_str(PEER_KEY), Some("127.0.0.5"));
        assert_eq!(environ.get_str("REMOTE_ADDR"), Some("unknown"));
    }

    #[test]
    fn host_with_port_and_http_scheme() {
        let mut buf = EnvironBuf::<512, 16>::new();
        let mut environ = buf.environ();
        base(&mut environ);
        let headers = ProxyHeaders {
            x_forwarded_host: &[b"a.example, shop.example:8080"],
            ..ProxyHeaders::default()
        };
        let policy = ProxyPolicy::new(TrustedProxies::<1>::parse("127.0.0.1").unwrap());
        let resolved = policy.resolve("127.0.0.1".parse().unwrap(), &headers);
        resolved.apply(&mut environ).unwrap();
        assert_eq!(environ.get_str("HTTP_HOST"), Some("shop.example:8080"));
        assert_eq!(environ.get_str("SERVER_NAME"), Some("shop.example"));
        assert_eq!(environ.get_str("SERVER_PORT"), Some("8080"));
        assert_eq!(environ.get_str("REMOTE_ADDR"), Some("127.0.0.1"));
        assert_eq!(environ.get(PEER_KEY), None);
    }

    #[test]
    fn full_storage_is_an_error_not_a_panic() {
        let mut buf = EnvironBuf::<96, 6>::new();
        let mut environ = buf.environ();
        base(&mut environ);
        let resolved = Resolved {
            client: Some(Node {
                name: NodeName::Ip("2001:db8:1234:5678:9abc:def0:1234:5678".parse().unwrap()),
                port: Some(1),
            }),
            scheme: Some(UrlScheme::Https),
            ..Resolved::default()
        };
        assert!(resolved.apply(&mut environ).is_err());
        // The scheme, set first, is in place.
        assert_eq!(environ.url_scheme(), Some(UrlScheme::Https));
    }
}
