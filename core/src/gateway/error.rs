//! [`Error`]: why a gateway decoder refused its input, and where.
//!
//! A front end that sends malformed framing is broken or hostile, and no answer can be framed
//! for it reliably: the server logs the error and closes the connection. So an error is a
//! typed [`ErrorKind`] (tests and logs match on it) plus the [`Place`] of the offending byte,
//! and is `Copy`: no allocator, no formatting until someone displays it.

use core::fmt;

/// What was wrong with the input.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum ErrorKind {
    /// The params block is larger than [`Limits::max_params_bytes`](super::Limits) or than
    /// the caller's params buffer.
    ParamsTooLarge,
    /// More pairs than [`Limits::max_pairs`](super::Limits).
    TooManyParams,
    /// A name longer than [`Limits::max_name`](super::Limits).
    NameTooLong,
    /// A value longer than [`Limits::max_value`](super::Limits).
    ValueTooLong,
    /// A pair with an empty name.
    EmptyName,
    /// The params block ends inside a pair (a length, name or value runs past its end, or an
    /// SCGI field lacks its terminating NUL).
    TruncatedPair,
    /// The body is larger than [`Limits::max_body`](super::Limits).
    BodyTooLarge,
    /// `CONTENT_LENGTH` is not a decimal number of at most 19 digits (SCGI requires it; for
    /// uwsgi, missing or empty means no body).
    InvalidContentLength,
    /// SCGI: the netstring length before `:` is empty, not decimal, or has a leading zero.
    InvalidNetstringLength,
    /// SCGI: the header netstring is not followed by `,`.
    MissingNetstringComma,
    /// SCGI: the first header is not `CONTENT_LENGTH`.
    ContentLengthNotFirst,
    /// SCGI: no `SCGI` header with the value `1`.
    MissingScgiHeader,
    /// uwsgi: a packet other than a WSGI request (modifier1 0, modifier2 0).
    UnsupportedModifier {
        /// The packet's modifier1.
        modifier1: u8,
        /// The packet's modifier2.
        modifier2: u8,
    },
    /// FastCGI: a record whose version is not 1.
    UnsupportedVersion(u8),
    /// FastCGI: a record type only an application sends (`FCGI_STDOUT`, `FCGI_END_REQUEST`,
    /// ...) or one the Responder role never receives (`FCGI_DATA`).
    UnexpectedRecord(u8),
    /// FastCGI: a record out of order for its request (`FCGI_PARAMS` after the params ended,
    /// `FCGI_STDIN` before they did, a management type with a request id or the reverse).
    OutOfOrder(u8),
    /// FastCGI: an `FCGI_BEGIN_REQUEST` whose content is not 8 bytes.
    BadBeginRequest,
    /// FastCGI: an `FCGI_BEGIN_REQUEST` for the request id that is already active.
    DuplicateRequest,
    /// FastCGI: an `FCGI_GET_VALUES` query longer than
    /// [`fastcgi::MAX_GET_VALUES`](super::fastcgi::MAX_GET_VALUES).
    GetValuesTooLarge,
    /// The connection ended inside a request (its params, or a body the application was
    /// reading): reported by the gateway [`Session`](super::Session).
    Truncated,
}

impl ErrorKind {
    /// One sentence saying what was wrong, for logs.
    pub const fn detail(&self) -> &'static str {
        match self {
            ErrorKind::ParamsTooLarge => "params block larger than the limit or the params buffer",
            ErrorKind::TooManyParams => "more params than the limit",
            ErrorKind::NameTooLong => "param name longer than the limit",
            ErrorKind::ValueTooLong => "param value longer than the limit",
            ErrorKind::EmptyName => "param with an empty name",
            ErrorKind::TruncatedPair => "params block ends inside a name/value pair",
            ErrorKind::BodyTooLarge => "body larger than the limit",
            ErrorKind::InvalidContentLength => "CONTENT_LENGTH is not a decimal number",
            ErrorKind::InvalidNetstringLength => {
                "SCGI netstring length is empty, not decimal or has a leading zero"
            }
            ErrorKind::MissingNetstringComma => "SCGI header netstring not followed by ','",
            ErrorKind::ContentLengthNotFirst => "SCGI first header is not CONTENT_LENGTH",
            ErrorKind::MissingScgiHeader => "SCGI header \"SCGI\" with value \"1\" missing",
            ErrorKind::UnsupportedModifier { .. } => {
                "uwsgi packet is not a WSGI request (modifier1 0, modifier2 0)"
            }
            ErrorKind::UnsupportedVersion(_) => "FastCGI record version is not 1",
            ErrorKind::UnexpectedRecord(_) => "FastCGI record type an application never receives",
            ErrorKind::OutOfOrder(_) => "FastCGI record out of order for its request",
            ErrorKind::BadBeginRequest => "FastCGI FCGI_BEGIN_REQUEST content is not 8 bytes",
            ErrorKind::DuplicateRequest => {
                "FastCGI FCGI_BEGIN_REQUEST for the request id already active"
            }
            ErrorKind::GetValuesTooLarge => "FastCGI FCGI_GET_VALUES query longer than the limit",
            ErrorKind::Truncated => "connection closed inside a request",
        }
    }
}

/// Where the refused byte is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Place {
    /// Offset in the connection's input: how many bytes were fed before the refused one.
    Stream(u64),
    /// Offset inside the params block, of the pair (or length) that is wrong. FastCGI may
    /// split the block over any number of records, so a stream offset would not say which
    /// pair it was.
    Params(usize),
}

/// A refusal: what was wrong, and where. Log it and close the connection.
///
/// ```
/// use wsgiref_core::gateway::{scgi, Error, ErrorKind, Place};
/// let mut buf = [0u8; 256];
/// let mut decoder = scgi::Decoder::new(&mut buf[..], Default::default());
/// let err = decoder.feed(b"12x").unwrap_err();
/// assert_eq!(err, Error { kind: ErrorKind::InvalidNetstringLength, place: Place::Stream(2) });
/// assert!(err.to_string().ends_with("at byte 2 of the input"));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Error {
    /// What was wrong.
    pub kind: ErrorKind,
    /// Where.
    pub place: Place,
}

impl Error {
    pub(crate) const fn at(kind: ErrorKind, offset: u64) -> Self {
        Error {
            kind,
            place: Place::Stream(offset),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.kind.detail())?;
        match self.kind {
            ErrorKind::UnsupportedModifier {
                modifier1,
                modifier2,
            } => write!(f, " (got {modifier1}, {modifier2})")?,
            ErrorKind::UnsupportedVersion(t)
            | ErrorKind::UnexpectedRecord(t)
            | ErrorKind::OutOfOrder(t) => write!(f, " ({t})")?,
            _ => {}
        }
        match self.place {
            Place::Stream(n) => write!(f, " at byte {n} of the input"),
            Place::Params(n) => write!(f, " at byte {n} of the params"),
        }
    }
}

impl core::error::Error for Error {}
