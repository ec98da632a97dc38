//! The server behind proxies: [`ServerOptions::forwarded_allow_ips`] (which peers' forwarding
//! headers count) and [`ServerOptions::proxy_protocol`] (every connection starts with a PROXY
//! protocol header), on the core's [`wsgiref_core::proxy`] decoders.
//!
//! # Who the peer is
//!
//! Without the PROXY protocol the peer is the socket's. With it, the peer is the header's
//! source: it becomes `REMOTE_ADDR`/`REMOTE_PORT` and the access log's client for every
//! request of the connection, and it is the address the forwarding headers are judged by. The
//! socket's peer (the balancer) is kept in `wsgiref.proxy.peer`. A `LOCAL` header (a
//! balancer's health check) or an `UNKNOWN`/`AF_UNSPEC`/`AF_UNIX` one keeps the socket's peer.
//!
//! Judging `Forwarded`/`X-Forwarded-*` by the header's source, not by the balancer, is what
//! keeps them honest behind a TCP balancer (HAProxy `mode tcp`, AWS NLB): it passes the
//! client's bytes through untouched, so a client's own `X-Forwarded-For` arrives as the client
//! wrote it, from a trusted balancer's socket. gunicorn checks the socket's peer, which trusts
//! such a forged header whenever the balancer is listed. The price: behind an HTTP-mode
//! balancer that also sends the PROXY header (HAProxy `mode http` with `send-proxy-v2`), the
//! source is the client, so that balancer's own `X-Forwarded-Proto` does not count either;
//! the client's address comes from the PROXY header all the same, and the scheme from its TLS
//! TLV (`send-proxy-v2-ssl`). A chain `HTTP proxy → TCP balancer → server` works as
//! expected: the source is the HTTP proxy, listed in `forwarded_allow_ips`.

use std::fmt;
use std::io::{self, Read};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::str::FromStr;
use std::time::{Duration, Instant};

use wsgiref_core::app::{Application, StartResponse};
use wsgiref_core::proxy::forwarded::{
    Headers, ProxyHeaders, ProxyPolicy, TrustListError, TrustedProxies, PEER_KEY,
};
use wsgiref_core::proxy::protocol::{Command, Decoder, Error, Header};
use wsgiref_core::{AppError, Environ};

use super::options::ServerOptions;

/// Most entries a [`ForwardedAllowIps`] list holds.
pub const MAX_FORWARDED_ALLOW_IPS: usize = 32;

/// [`ServerOptions::forwarded_allow_ips`]: the peers whose `Forwarded` and `X-Forwarded-*`
/// headers set `REMOTE_ADDR`, `REMOTE_PORT`, `wsgi.url_scheme` and `HTTP_HOST` (gunicorn's
/// `forwarded_allow_ips`, Werkzeug's `ProxyFix`), and which of those headers to believe.
///
/// Parsed from gunicorn's syntax: addresses and networks separated by commas
/// (`"127.0.0.1, 10.0.0.0/8, ::1"`, at most [`MAX_FORWARDED_ALLOW_IPS`]), or `"*"` for every
/// peer. The default trusts nobody: see [`ServerOptions::forwarded_allow_ips`] for why. The
/// rules (walk the chain from the right, `Forwarded` preferred, malformed headers ignored and
/// logged) are [`wsgiref_core::proxy::forwarded`]'s.
///
/// ```
/// use wsgiref_std::server::{ForwardedAllowIps, ServerOptions};
/// use wsgiref_core::proxy::forwarded::Headers;
///
/// let mut options = ServerOptions::default();
/// assert!(!options.forwarded_allow_ips.trusts("127.0.0.1".parse().unwrap()));
/// // nginx on this host, which sets X-Forwarded-For and X-Forwarded-Proto.
/// options.forwarded_allow_ips = "127.0.0.1, ::1".parse::<ForwardedAllowIps>()?
///     .with_headers(Headers::XForwarded);
/// assert!(options.forwarded_allow_ips.trusts("127.0.0.1".parse().unwrap()));
/// # Ok::<(), wsgiref_core::proxy::forwarded::TrustListError>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ForwardedAllowIps {
    policy: ProxyPolicy<MAX_FORWARDED_ALLOW_IPS>,
}

impl ForwardedAllowIps {
    /// Trust nobody: forwarding headers are left as they came (the default).
    pub fn none() -> Self {
        ForwardedAllowIps::default()
    }

    /// Trust every peer (`"*"`): only for a server no client can reach but through proxies
    /// that overwrite the headers.
    pub fn everyone() -> Self {
        ForwardedAllowIps {
            policy: ProxyPolicy::new(TrustedProxies::everyone()),
        }
    }

    /// These peers, with the default [`Headers::PreferForwarded`].
    pub fn new(trusted: TrustedProxies<MAX_FORWARDED_ALLOW_IPS>) -> Self {
        ForwardedAllowIps {
            policy: ProxyPolicy::new(trusted),
        }
    }

    /// Believe only `headers` (say [`Headers::XForwarded`] behind an nginx that sets
    /// `X-Forwarded-For` and does not remove a client's `Forwarded`).
    pub fn with_headers(mut self, headers: Headers) -> Self {
        self.policy.headers = headers;
        self
    }

    /// Whether a peer at `ip` is trusted.
    pub fn trusts(&self, ip: IpAddr) -> bool {
        self.policy.trusted.trusts(ip)
    }

    /// The policy: the trusted peers and which headers count.
    pub fn policy(&self) -> &ProxyPolicy<MAX_FORWARDED_ALLOW_IPS> {
        &self.policy
    }
}

impl FromStr for ForwardedAllowIps {
    type Err = TrustListError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        TrustedProxies::parse(text).map(ForwardedAllowIps::new)
    }
}

/// The application behind [`ServerOptions::forwarded_allow_ips`]: for a request from a
/// trusted `peer`, the forwarding headers are resolved and applied to the environ before the
/// application sees it. From any other peer (and with the option at its default) the cost is
/// one check of the list.
pub(crate) struct Forwarding<'a, P> {
    pub(crate) app: &'a P,
    pub(crate) allow: &'a ForwardedAllowIps,
    pub(crate) peer: IpAddr,
}

impl<'a, P> Forwarding<'a, P> {
    pub(crate) fn new(app: &'a P, options: &'a ServerOptions, peer: SocketAddr) -> Self {
        Forwarding {
            app,
            allow: &options.forwarded_allow_ips,
            peer: peer.ip(),
        }
    }
}

impl<P: Application> Application for Forwarding<'_, P> {
    type Body = P::Body;

    #[inline]
    fn call(
        &self,
        environ: &mut Environ<'_>,
        start_response: &mut StartResponse<'_>,
    ) -> Result<Self::Body, AppError> {
        if self.allow.trusts(self.peer) {
            apply_forwarded(self.allow.policy(), self.peer, environ);
        }
        self.app.call(environ, start_response)
    }
}

/// Resolve the forwarding headers of a request from the trusted `peer` and write the result
/// into `environ`; problems are logged, never refused.
fn apply_forwarded(
    policy: &ProxyPolicy<MAX_FORWARDED_ALLOW_IPS>,
    peer: IpAddr,
    environ: &mut Environ<'_>,
) {
    // Copied out: the environ is written below. Only requests from trusted peers pay this.
    let take = |key: &str| environ.get(key).map(<[u8]>::to_vec);
    let forwarded = take("HTTP_FORWARDED");
    let x_for = take("HTTP_X_FORWARDED_FOR");
    let x_proto = take("HTTP_X_FORWARDED_PROTO");
    let x_host = take("HTTP_X_FORWARDED_HOST");
    let (forwarded, x_for) = (forwarded.as_deref(), x_for.as_deref());
    let (x_proto, x_host) = (x_proto.as_deref(), x_host.as_deref());
    let headers = ProxyHeaders {
        forwarded: forwarded.as_slice(),
        x_forwarded_for: x_for.as_slice(),
        x_forwarded_proto: x_proto.as_slice(),
        x_forwarded_host: x_host.as_slice(),
    };
    let resolved = policy.resolve(peer, &headers);
    if let Some(problem) = resolved.problem {
        log::warn!(target: "wsgiref::server", "{peer}: trusted proxy's header {problem}");
    }
    if let Err(e) = resolved.apply(environ) {
        log::warn!(
            target: "wsgiref::server",
            "{peer}: forwarding headers only partly applied: {e}"
        );
    }
}

/// A PROXY protocol header being read from a new connection (boxed in the connection while
/// it lasts; a connection without [`ServerOptions::proxy_protocol`] carries `None`).
pub(crate) struct Pending {
    decoder: Decoder,
}

impl Pending {
    pub(crate) fn new() -> Box<Self> {
        Box::new(Pending {
            decoder: Decoder::default(),
        })
    }
}

/// How far the PROXY header of a connection has come.
// Returned once per read and never stored: boxing the header would only add an allocation.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Progress {
    /// Not complete yet: wait for more bytes.
    Waiting,
    /// Complete: `rx[..len]` now holds the bytes that followed it (the client's).
    Done(Header),
    /// The connection is to be closed; the reason has been logged.
    Refused,
}

/// Why a connection was refused before its PROXY header was complete.
enum Refusal<'a> {
    Invalid(Error),
    Eof { received: bool },
    Io(&'a io::Error),
}

impl fmt::Display for Refusal<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::Invalid(e) => write!(f, "not a valid PROXY protocol header: {e}"),
            Refusal::Eof { .. } => f.write_str("closed before its PROXY protocol header ended"),
            Refusal::Io(e) => write!(f, "reading the PROXY protocol header: {e}"),
        }
    }
}

fn log_refusal(socket_peer: &SocketAddr, refusal: &Refusal<'_>) {
    match refusal {
        // A balancer's TCP health check connects and closes without a byte: not news.
        Refusal::Eof { received: false } | Refusal::Io(_) => {
            log::debug!(target: "wsgiref::server", "{socket_peer}: {refusal}; closed");
        }
        _ => log::warn!(target: "wsgiref::server", "{socket_peer}: {refusal}; closed"),
    }
}

/// Read what the (non-blocking) socket has into `rx` and feed it to the decoder, until the
/// header is complete, the socket has nothing more, or it fails. The decoder takes every byte
/// up to the header's end, so `rx` never holds more than one read.
pub(crate) fn read_header(
    pending: &mut Pending,
    stream: &mut impl Read,
    socket_peer: &SocketAddr,
    rx: &mut [u8],
    len: &mut usize,
) -> Progress {
    loop {
        let n = match stream.read(rx) {
            Ok(0) => {
                let received = *len > 0;
                log_refusal(socket_peer, &Refusal::Eof { received });
                return Progress::Refused;
            }
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Progress::Waiting,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                log_refusal(socket_peer, &Refusal::Io(&e));
                return Progress::Refused;
            }
        };
        // `len` counts header bytes seen so far (for the log), until the header is done.
        *len += n;
        match pending.decoder.feed(&rx[..n]) {
            Ok((_, None)) => {}
            Ok((used, Some(header))) => {
                rx.copy_within(used..n, 0);
                *len = n - used;
                return Progress::Done(header);
            }
            Err(e) => {
                log_refusal(socket_peer, &Refusal::Invalid(e));
                return Progress::Refused;
            }
        }
    }
}

/// Read the PROXY header from a blocking socket (`handle_request`), waiting at most `limit`
/// for all of it: the header and the client's bytes read after it.
pub(crate) fn read_header_blocking(
    stream: &mut TcpStream,
    socket_peer: &SocketAddr,
    limit: Duration,
) -> Option<(Header, Vec<u8>)> {
    let until = Instant::now() + limit;
    let mut pending = Pending::new();
    let mut rx = vec![0u8; 1024];
    let mut len = 0;
    loop {
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() || stream.set_read_timeout(Some(left)).is_err() {
            log::info!(
                target: "wsgiref::server",
                "{socket_peer}: PROXY protocol header not received in time; closed"
            );
            return None;
        }
        match read_header(&mut pending, stream, socket_peer, &mut rx, &mut len) {
            Progress::Done(header) => {
                let _ = stream.set_read_timeout(None);
                rx.truncate(len);
                return Some((header, rx));
            }
            Progress::Refused => return None,
            // A read timeout (EAGAIN on a blocking socket): the loop checks the time.
            Progress::Waiting => {}
        }
    }
}

/// The peer a connection's requests come from once its PROXY header is read: the header's
/// source for a proxied TCP connection, the socket's own peer otherwise (`LOCAL`, `UNKNOWN`,
/// unspecified or Unix addresses), as the specification says.
pub(crate) fn effective_peer(header: &Header, socket_peer: SocketAddr) -> SocketAddr {
    match (header.command, header.source()) {
        (Command::Proxy, Some(source)) => super::event_loop::unmap(source),
        _ => socket_peer,
    }
}

/// The variables a PROXY header adds to a connection's base environ: the balancer's address
/// in `wsgiref.proxy.peer` when the header named someone else, and `HTTPS=on` when the
/// client's connection to the balancer used TLS (so `wsgi.url_scheme` is `https`).
pub(crate) fn annotate(
    environ: &mut Environ<'_>,
    header: &Header,
    socket_peer: SocketAddr,
    peer: SocketAddr,
) {
    let mut set = |key: &str, value: &str| {
        if let Err(e) = environ.set(key, value) {
            log::error!(target: "wsgiref::server", "{peer}: cannot set {key}: {e}");
        }
    };
    if peer != socket_peer {
        set(PEER_KEY, &socket_peer.ip().to_string());
    }
    if header.tls {
        set("HTTPS", "on");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader that hands out its bytes in the given pieces, then `WouldBlock`, then EOF.
    struct Pieces<'a> {
        pieces: std::collections::VecDeque<&'a [u8]>,
        eof: bool,
    }

    impl Read for Pieces<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            match self.pieces.pop_front() {
                Some(piece) => {
                    buf[..piece.len()].copy_from_slice(piece);
                    Ok(piece.len())
                }
                None if self.eof => Ok(0),
                None => Err(io::ErrorKind::WouldBlock.into()),
            }
        }
    }

    fn peer() -> SocketAddr {
        "127.0.0.5:40000".parse().unwrap()
    }

    #[test]
    fn header_in_byte_pieces_leaves_the_request() {
        let wire = b"PROXY TCP4 192.0.2.1 192.0.2.2 5555 80\r\nGET / HTTP/1.1\r\n";
        let header_len = wire.iter().position(|&b| b == b'\n').unwrap() + 1;
        let mut pending = Pending::new();
        let mut rx = vec![0u8; 256];
        let mut len = 0;
        // One byte per readiness event, the last one with the request behind it.
        for i in 0..header_len - 1 {
            let mut stream = Pieces {
                pieces: [&wire[i..i + 1]].into(),
                eof: false,
            };
            let progress = read_header(&mut pending, &mut stream, &peer(), &mut rx, &mut len);
            assert!(matches!(progress, Progress::Waiting), "byte {i}");
        }
        let mut stream = Pieces {
            pieces: [&wire[header_len - 1..]].into(),
            eof: false,
        };
        let Progress::Done(header) =
            read_header(&mut pending, &mut stream, &peer(), &mut rx, &mut len)
        else {
            panic!("header not done");
        };
        assert_eq!(&rx[..len], b"GET / HTTP/1.1\r\n");
        let client = effective_peer(&header, peer());
        assert_eq!(client, "192.0.2.1:5555".parse().unwrap());
    }

    #[test]
    fn plain_http_is_refused() {
        let mut stream = Pieces {
            pieces: [&b"GET / HTTP/1.1\r\n\r\n"[..]].into(),
            eof: false,
        };
        let mut rx = vec![0u8; 64];
        let progress = read_header(&mut Pending::new(), &mut stream, &peer(), &mut rx, &mut 0);
        assert!(matches!(progress, Progress::Refused));
    }

    #[test]
    fn eof_inside_the_header_is_refused() {
        let mut stream = Pieces {
            pieces: [&b"PROXY TCP4 "[..]].into(),
            eof: true,
        };
        let mut rx = vec![0u8; 64];
        let progress = read_header(&mut Pending::new(), &mut stream, &peer(), &mut rx, &mut 0);
        assert!(matches!(progress, Progress::Refused));
    }

    #[test]
    fn local_keeps_the_socket_peer() {
        // Version 2, LOCAL command, AF_UNSPEC, no addresses.
        let mut wire = b"\r\n\r\n\0\r\nQUIT\n".to_vec();
        wire.extend_from_slice(&[0x20, 0x00, 0x00, 0x00]);
        let (_, header) = Decoder::default().feed(&wire).unwrap();
        assert_eq!(effective_peer(&header.unwrap(), peer()), peer());
    }

    #[test]
    fn allow_list_parses_gunicorn_syntax() {
        let allow: ForwardedAllowIps = "127.0.0.1,10.0.0.0/8,::1".parse().unwrap();
        assert!(allow.trusts("10.9.8.7".parse().unwrap()));
        assert!(!allow.trusts("192.0.2.1".parse().unwrap()));
        assert!("*"
            .parse::<ForwardedAllowIps>()
            .unwrap()
            .trusts("192.0.2.1".parse().unwrap()));
        assert!(!ForwardedAllowIps::default().trusts("127.0.0.1".parse().unwrap()));
        let e = "127.0.0.1,,::1".parse::<ForwardedAllowIps>().unwrap_err();
        assert_eq!(e.offset, 10);
    }
}
