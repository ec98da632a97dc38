//! [`Error`]: why a PROXY protocol header was refused, and where.

use core::fmt;

/// What was wrong with a PROXY protocol header.
///
/// The spec leaves no room for guessing: any header that does not match it exactly must
/// abort the connection, so every variant means "log it and close".
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum ErrorKind {
    /// The first byte starts neither `PROXY ` (version 1) nor the version 2 signature: the
    /// peer does not speak the PROXY protocol at all (a plain HTTP client, for instance).
    NotProxyProtocol,
    /// The bytes began like a header but then differ from `PROXY ` or from the 12-byte
    /// version 2 signature.
    BadSignature,
    /// Version 1: no CRLF within the first 107 bytes, the longest line the spec allows.
    LineTooLong,
    /// Version 1: a CR not followed by LF, or an LF without a CR before it.
    BadLineEnding,
    /// Version 1: the protocol is not `TCP4`, `TCP6` or `UNKNOWN`.
    UnknownProtocol,
    /// Version 1: not exactly four fields (two addresses, two ports) separated by single
    /// spaces after `TCP4`/`TCP6`.
    WrongFieldCount,
    /// Version 1: an address that is not in the family's textual form (IPv4 dotted quad
    /// without leading zeroes, IPv6), or of the other family.
    BadAddress,
    /// Version 1: a port that is not a decimal number in 0..=65535 without leading zeroes.
    BadPort,
    /// Version 2: the version nibble of the 13th byte is not 2.
    UnsupportedVersion(u8),
    /// Version 2: the command nibble is neither LOCAL (0) nor PROXY (1).
    BadCommand(u8),
    /// Version 2: the address family is not 0..=3 or the transport is not 0..=2.
    BadFamily(u8),
    /// Version 2: the length field is shorter than the addresses of the announced family.
    LengthTooShort,
    /// Version 2: the length field is over [`Limits::max_v2_length`](super::Limits).
    LengthOverLimit,
    /// Version 2: a TLV whose header or value runs past the end of the header.
    BadTlv,
}

impl ErrorKind {
    /// One sentence saying what was wrong, for logs.
    pub const fn detail(&self) -> &'static str {
        match self {
            ErrorKind::NotProxyProtocol => "connection does not start with a PROXY protocol header",
            ErrorKind::BadSignature => "PROXY protocol signature is wrong",
            ErrorKind::LineTooLong => "PROXY v1 line has no CRLF within 107 bytes",
            ErrorKind::BadLineEnding => "PROXY v1 line has a bare CR or LF",
            ErrorKind::UnknownProtocol => "PROXY v1 protocol is not TCP4, TCP6 or UNKNOWN",
            ErrorKind::WrongFieldCount => {
                "PROXY v1 line does not have two addresses and two ports separated by single spaces"
            }
            ErrorKind::BadAddress => "PROXY v1 address is malformed or of the wrong family",
            ErrorKind::BadPort => "PROXY v1 port is not a decimal number in 0..=65535",
            ErrorKind::UnsupportedVersion(_) => "PROXY v2 version is not 2",
            ErrorKind::BadCommand(_) => "PROXY v2 command is neither LOCAL nor PROXY",
            ErrorKind::BadFamily(_) => "PROXY v2 address family or transport is unknown",
            ErrorKind::LengthTooShort => {
                "PROXY v2 length is shorter than the addresses of its family"
            }
            ErrorKind::LengthOverLimit => "PROXY v2 length is over the limit",
            ErrorKind::BadTlv => "PROXY v2 TLV runs past the end of the header",
        }
    }
}

/// A refused PROXY protocol header: what was wrong, and the offset of the offending byte
/// (or the start of the offending field) from the start of the connection.
///
/// ```
/// use wsgiref_core::proxy::protocol::{Decoder, Error, ErrorKind};
/// let mut decoder = Decoder::default();
/// let err = decoder.feed(b"PROXY TCP4 10.0.0.1 10.0.0.2 99999 80\r\n").unwrap_err();
/// assert_eq!(err, Error { kind: ErrorKind::BadPort, offset: 29 });
/// assert_eq!(err.to_string(), "PROXY v1 port is not a decimal number in 0..=65535 at byte 29");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Error {
    /// What was wrong.
    pub kind: ErrorKind,
    /// Where: bytes of the connection before the offending one.
    pub offset: usize,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.kind.detail())?;
        match self.kind {
            ErrorKind::UnsupportedVersion(v) | ErrorKind::BadCommand(v) => write!(f, " ({v})")?,
            ErrorKind::BadFamily(b) => write!(f, " (0x{b:02x})")?,
            _ => {}
        }
        write!(f, " at byte {}", self.offset)
    }
}

impl core::error::Error for Error {}
