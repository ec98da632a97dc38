//! [`Header`]: what a PROXY protocol header says about the connection.

use core::net::SocketAddr;

/// Which version of the protocol the header used.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Version {
    /// The text line, `PROXY TCP4 ...\r\n`.
    V1,
    /// The binary header after the 12-byte signature.
    V2,
}

/// Why the proxy opened the connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Command {
    /// Version 2 `LOCAL`: the proxy connected on its own behalf (a health check); the real
    /// connection's endpoints are the ones to use.
    Local,
    /// A connection relayed for a client (every version 1 header is one).
    Proxy,
}

/// The relayed connection's transport.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Transport {
    /// Not said (version 1 `UNKNOWN`, version 2 `UNSPEC`).
    Unspec,
    /// TCP or a Unix stream socket.
    Stream,
    /// UDP or a Unix datagram socket.
    Datagram,
}

/// A Unix socket path from a version 2 `AF_UNIX` header: 108 bytes on the wire, of which
/// [`as_bytes`](Self::as_bytes) gives those before the first NUL.
///
/// ```
/// use wsgiref_core::proxy::protocol::UnixPath;
/// let mut raw = [0u8; 108];
/// raw[..9].copy_from_slice(b"/run/sock");
/// assert_eq!(UnixPath(raw).as_bytes(), b"/run/sock");
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct UnixPath(pub [u8; 108]);

impl UnixPath {
    /// The path: the bytes before the first NUL (all 108 when there is none; abstract socket
    /// names, which start with NUL, come out empty).
    pub fn as_bytes(&self) -> &[u8] {
        let end = self.0.iter().position(|&b| b == 0).unwrap_or(108);
        &self.0[..end]
    }
}

impl core::fmt::Debug for UnixPath {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "UnixPath({:?})", crate::bytes::Latin1(self.as_bytes()))
    }
}

/// The relayed connection's endpoints.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Addresses {
    /// None given (version 1 `UNKNOWN`, version 2 `LOCAL`, `AF_UNSPEC` or an unspecified
    /// transport): use the real connection's endpoints, as the spec says.
    Unspec,
    /// IPv4 or IPv6 endpoints with ports: `source` is the client.
    Inet {
        /// The client's address and port.
        source: SocketAddr,
        /// The address and port the client connected to.
        destination: SocketAddr,
    },
    /// Unix socket endpoints.
    Unix {
        /// The client's socket path.
        source: UnixPath,
        /// The socket path the client connected to.
        destination: UnixPath,
    },
}

/// A decoded PROXY protocol header: the endpoints of the connection the proxy relays.
///
/// A server uses [`source`](Self::source) as the client's address (`REMOTE_ADDR`,
/// `REMOTE_PORT`) when it is `Some`, and the socket's peer address otherwise.
///
/// ```
/// use wsgiref_core::proxy::protocol::{Decoder, Version};
/// let mut decoder = Decoder::default();
/// let (used, header) = decoder.feed(b"PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\nGET /")?;
/// let header = header.unwrap();
/// assert_eq!(used, 47);
/// assert_eq!(header.version, Version::V1);
/// assert_eq!(header.source().unwrap().to_string(), "192.168.0.1:56324");
/// # Ok::<(), wsgiref_core::proxy::protocol::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Header {
    /// The version the header used.
    pub version: Version,
    /// LOCAL or PROXY (always PROXY in version 1).
    pub command: Command,
    /// The relayed connection's transport.
    pub transport: Transport,
    /// The relayed connection's endpoints.
    pub addresses: Addresses,
    /// Version 2: a `PP2_TYPE_SSL` TLV says the client connected over TLS
    /// (`PP2_CLIENT_SSL`), so the request's `wsgi.url_scheme` is `https`. Always false in
    /// version 1, which cannot say.
    pub tls: bool,
}

impl Header {
    /// The client's address and port, when the header gives an IP one.
    pub fn source(&self) -> Option<SocketAddr> {
        match self.addresses {
            Addresses::Inet { source, .. } => Some(source),
            _ => None,
        }
    }

    /// The address and port the client connected to, when the header gives an IP one.
    pub fn destination(&self) -> Option<SocketAddr> {
        match self.addresses {
            Addresses::Inet { destination, .. } => Some(destination),
            _ => None,
        }
    }
}
