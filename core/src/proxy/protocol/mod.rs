//! The PROXY protocol (HAProxy's `proxy-protocol.txt`), versions 1 and 2: the sans-IO
//! [`Decoder`] for the header a load balancer puts in front of a connection to say whose it is.
//!
//! A TCP load balancer (HAProxy in `mode tcp`, AWS NLB, GCP's TCP proxy, nginx's `stream`
//! module) relays bytes without reading them, so it cannot add `X-Forwarded-For`; the server
//! would see every connection as coming from the balancer. With the PROXY protocol on, the
//! balancer first sends one header with the client's address and port, then the client's
//! bytes:
//!
//! ```text
//! version 1: PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n          (at most 107 bytes)
//! version 2: \r\n\r\n\0\r\nQUIT\n <ver|cmd> <family|transport> <u16 length> <addresses> <TLVs>
//! ```
//!
//! A listener with the PROXY protocol on feeds a connection's first bytes to a [`Decoder`]
//! until it yields the [`Header`], takes the client's address from it, and hands the bytes
//! after the header (`input[used..]`) to the HTTP machine. The spec forbids guessing: on such
//! a listener a connection without a valid header is an [`Error`] (log it, close the
//! connection), and only trusted balancers must be able to reach the listener, since the
//! header is believed as it is.
//!
//! What is decoded:
//!
//! * version 1 `TCP4`, `TCP6` and `UNKNOWN` (whose rest of line is ignored, as the spec says);
//!   the line must end in CRLF within 107 bytes; addresses, ports and single spaces are
//!   checked exactly (no leading zeroes);
//! * version 2 `LOCAL` and `PROXY` commands, families `AF_UNSPEC`, `AF_INET`, `AF_INET6` and
//!   `AF_UNIX`, transports `UNSPEC`, `STREAM` and `DGRAM`; TLVs are walked (each must end
//!   within the header, which [`Limits::max_v2_length`] bounds) and skipped, except that a
//!   `PP2_TYPE_SSL` TLV sets [`Header::tls`]. `LOCAL` (a health check), `AF_UNSPEC` and the
//!   `UNSPEC` transport give [`Addresses::Unspec`]: use the socket's own endpoints.
//!
//! Nothing is allocated: the decoder holds the header's bytes in a 232-byte array (the longest
//! version 1 line, or a version 2 head with two Unix paths), and TLVs are skipped as they
//! pass. The input may arrive in any pieces; the result never depends on how it was cut.
//!
//! ```
//! use wsgiref_core::proxy::protocol::{Addresses, Command, Decoder};
//!
//! // A version 2 LOCAL header (a health check), then HTTP, one byte at a time.
//! let mut wire = b"\r\n\r\n\0\r\nQUIT\n\x20\x00\x00\x00".to_vec();
//! wire.extend_from_slice(b"GET / HTTP/1.1\r\n");
//! let mut decoder = Decoder::default();
//! let mut at = 0;
//! let header = loop {
//!     let (used, header) = decoder.feed(&wire[at..at + 1])?;
//!     at += used;
//!     if let Some(header) = header {
//!         break header;
//!     }
//! };
//! assert_eq!(header.command, Command::Local);
//! assert_eq!(header.addresses, Addresses::Unspec);
//! assert_eq!(&wire[at..], b"GET / HTTP/1.1\r\n"); // for the HTTP machine
//! # Ok::<(), wsgiref_core::proxy::protocol::Error>(())
//! ```

mod error;
mod header;
mod v1;
mod v2;

#[cfg(test)]
mod tests;

pub use error::{Error, ErrorKind};
pub use header::{Addresses, Command, Header, Transport, UnixPath, Version};

use v2::{Head, Tlvs};

/// Bounds on what a [`Decoder`] accepts.
///
/// ```
/// use wsgiref_core::proxy::protocol::{Decoder, Limits};
/// // Addresses only: no TLVs beyond an IPv6 pair's 36 bytes.
/// let decoder = Decoder::new(Limits { max_v2_length: 36 });
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Limits {
    /// Largest version 2 length field (addresses plus TLVs, after the 16-byte head). Larger
    /// is [`ErrorKind::LengthOverLimit`]: the TLVs are skipped, not stored, but a peer should
    /// not keep a connection in its header for 64 KiB.
    pub max_v2_length: u16,
}

impl Limits {
    /// 4 KiB: two Unix paths (216 bytes) and room for the TLVs balancers send (TLS details,
    /// unique ids, cloud endpoint ids), which are tens to hundreds of bytes.
    pub const DEFAULT: Limits = Limits {
        max_v2_length: 4096,
    };
}

impl Default for Limits {
    fn default() -> Self {
        Limits::DEFAULT
    }
}

/// Room for the longest thing held: a version 2 head and two Unix paths.
const BUF: usize = v2::HEAD + 216;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Nothing received yet.
    Start,
    /// Collecting a version 1 line.
    V1,
    /// Collecting the 16-byte version 2 head.
    V2Head,
    /// Collecting the addresses after the head.
    V2Addresses(Head),
    /// Skipping TLVs.
    V2Tlvs(Head, Tlvs),
    Done(Header),
    Failed(Error),
}

/// Decodes the PROXY protocol header at the start of a connection, fed in any pieces. See the
/// [module docs](self).
///
/// ```
/// use wsgiref_core::proxy::protocol::Decoder;
///
/// let wire = b"PROXY TCP6 2001:db8::1 2001:db8::2 4711 443\r\nGET / HTTP/1.1\r\n";
/// let mut decoder = Decoder::default();
/// // The header arrives in two reads.
/// let (used, header) = decoder.feed(&wire[..20])?;
/// assert_eq!((used, header), (20, None));
/// let (used, header) = decoder.feed(&wire[20..])?;
/// let header = header.expect("complete");
/// assert_eq!(header.source().unwrap().to_string(), "[2001:db8::1]:4711");
/// assert_eq!(&wire[20 + used..], b"GET / HTTP/1.1\r\n");
/// # Ok::<(), wsgiref_core::proxy::protocol::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Decoder {
    limits: Limits,
    state: State,
    buf: [u8; BUF],
    len: usize,
    /// Bytes consumed so far: the offset of the next byte in the connection.
    offset: usize,
}

impl Default for Decoder {
    fn default() -> Self {
        Decoder::new(Limits::DEFAULT)
    }
}

impl Decoder {
    /// A decoder for one connection's header, bounded by `limits`.
    pub const fn new(limits: Limits) -> Self {
        Decoder {
            limits,
            state: State::Start,
            buf: [0; BUF],
            len: 0,
            offset: 0,
        }
    }

    /// Start over for a new connection, keeping the limits.
    pub fn reset(&mut self) {
        *self = Decoder::new(self.limits);
    }

    /// The header, once [`feed`](Self::feed) has returned it.
    pub fn header(&self) -> Option<&Header> {
        match &self.state {
            State::Done(header) => Some(header),
            _ => None,
        }
    }

    /// Consume header bytes from the front of `input`: returns how many were used and, once
    /// the header is complete, the header. The bytes after it (`input[used..]`) are the
    /// client's, untouched.
    ///
    /// `None` means every byte of `input` was used and more are needed. After the header,
    /// every call returns it again and uses nothing. An `Err` is final and is returned again
    /// by every later call: the peer does not speak the protocol, or speaks it wrongly; log
    /// the error and close the connection.
    pub fn feed(&mut self, input: &[u8]) -> Result<(usize, Option<Header>), Error> {
        let mut used = 0;
        let result = self.step(input, &mut used);
        self.offset += used;
        match result {
            Ok(header) => Ok((used, header)),
            Err(e) => {
                self.state = State::Failed(e);
                Err(e)
            }
        }
    }

    fn step(&mut self, input: &[u8], used: &mut usize) -> Result<Option<Header>, Error> {
        loop {
            match self.state {
                State::Failed(e) => return Err(e),
                State::Done(header) => return Ok(Some(header)),
                State::Start => {
                    let Some(&first) = input.first() else {
                        return Ok(None);
                    };
                    self.state = match first {
                        b'P' => State::V1,
                        b'\r' => State::V2Head,
                        _ => return Err(self.error(ErrorKind::NotProxyProtocol, 0)),
                    };
                }
                State::V1 => {
                    let Some(&b) = input.get(*used) else {
                        return Ok(None);
                    };
                    let at = self.len;
                    if at < v1::PREFIX.len() && b != v1::PREFIX[at] {
                        return Err(self.error(ErrorKind::BadSignature, at));
                    }
                    let after_cr = at > 0 && self.buf[at - 1] == b'\r';
                    if b == b'\n' && !after_cr {
                        return Err(self.error(ErrorKind::BadLineEnding, at));
                    }
                    if b != b'\n' && after_cr {
                        return Err(self.error(ErrorKind::BadLineEnding, at - 1));
                    }
                    self.buf[at] = b;
                    self.len += 1;
                    *used += 1;
                    if b == b'\n' {
                        let header = v1::parse(&self.buf[..self.len])?;
                        self.state = State::Done(header);
                    } else if self.len == v1::MAX_LINE {
                        return Err(self.error(ErrorKind::LineTooLong, at));
                    }
                }
                State::V2Head => {
                    let take = (v2::HEAD - self.len).min(input.len() - *used);
                    for i in 0..take {
                        let at = self.len + i;
                        let b = input[*used + i];
                        if at < v2::SIGNATURE.len() && b != v2::SIGNATURE[at] {
                            *used += i;
                            return Err(self.error(ErrorKind::BadSignature, at));
                        }
                        self.buf[at] = b;
                    }
                    self.len += take;
                    *used += take;
                    if self.len < v2::HEAD {
                        return Ok(None);
                    }
                    let mut head = [0u8; v2::HEAD];
                    head.copy_from_slice(&self.buf[..v2::HEAD]);
                    self.state = State::V2Addresses(Head::parse(&head, self.limits.max_v2_length)?);
                }
                State::V2Addresses(head) => {
                    let end = v2::HEAD + usize::from(head.address_bytes);
                    let take = (end - self.len).min(input.len() - *used);
                    self.buf[self.len..self.len + take]
                        .copy_from_slice(&input[*used..*used + take]);
                    self.len += take;
                    *used += take;
                    if self.len < end {
                        return Ok(None);
                    }
                    let rest = head.length - head.address_bytes;
                    let tlvs = if head.command == Command::Local {
                        Tlvs::opaque(rest)
                    } else {
                        Tlvs::new(rest)
                    };
                    self.state = State::V2Tlvs(head, tlvs);
                }
                State::V2Tlvs(head, mut tlvs) => {
                    let n = tlvs.feed(&input[*used..], self.offset + *used);
                    // Keep the walk's progress even when it fails, then report.
                    self.state = State::V2Tlvs(head, tlvs);
                    *used += n?;
                    if tlvs.remaining > 0 {
                        return Ok(None);
                    }
                    let header = head.header(&self.buf[v2::HEAD..self.len], tlvs.tls);
                    self.state = State::Done(header);
                }
            }
        }
    }

    fn error(&self, kind: ErrorKind, offset: usize) -> Error {
        Error { kind, offset }
    }
}
