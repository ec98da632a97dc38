//! Gateway protocols: the sans-IO wire codecs a front end (nginx, Apache, lighttpd, HAProxy)
//! speaks to an application server instead of HTTP: [FastCGI](fastcgi) (the Responder role),
//! [SCGI](scgi) and the [`uwsgi`] protocol.
//!
//! Each protocol is a decoder that is fed the bytes of one connection in any pieces and tells
//! what they hold, in the same order for all three:
//!
//! 1. [`Event::Params`] once: the CGI-style variables (`REQUEST_METHOD`, `PATH_INFO`,
//!    `HTTP_HOST`, ...) are complete and readable, without allocation, as a [`Params`] view of
//!    a buffer the caller owns;
//! 2. [`Event::Body`] any number of times: request body bytes, as slices of the bytes just fed
//!    (nothing is copied, and no body is ever held whole);
//! 3. [`Event::End`]: the body is complete.
//!
//! FastCGI adds records the server must answer (management queries, refused requests) and
//! aborts; its decoder has its own [`fastcgi::Event`] with those variants besides these.
//!
//! What is decoded is bounded by [`Limits`] and by the caller's params buffer, whichever is
//! smaller; anything malformed or too large is an [`Error`] naming what was wrong and where,
//! and the decoder then refuses every later byte with the same error. Nothing here panics or
//! allocates, so the codecs run on the same targets as the rest of the core.
//!
//! Above the decoders, a [`Session`] runs an [`Application`](crate::app::Application) over
//! one connection of any of the three: the params become its
//! [`Environ`](crate::environ::Environ), the body its streamed `wsgi.input`, and its response
//! goes out framed for the protocol. The listeners that accept connections are the next step
//! (see `docs/gateway.md`).

mod environ;
mod error;
pub mod fastcgi;
mod params;
pub mod scgi;
mod session;
pub mod uwsgi;

pub use error::{Error, ErrorKind, Place};
pub use params::{Params, ParamsIter};
pub use session::{GatewayConfig, Protocol, Session, Step};

/// How much of a request's params and body a gateway decoder accepts.
///
/// The params buffer the caller hands a decoder bounds the params too: the smaller of its
/// length and [`max_params_bytes`](Self::max_params_bytes) applies.
///
/// ```
/// use wsgiref_core::gateway::Limits;
/// // A small device: 2 KiB of params, 1 MiB bodies.
/// let limits = Limits { max_params_bytes: 2048, max_body: 1 << 20, ..Limits::DEFAULT };
/// assert_eq!(limits.max_pairs, 256);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Limits {
    /// Largest params block in bytes, as encoded on the wire (lengths or separators
    /// included). Larger is [`ErrorKind::ParamsTooLarge`].
    pub max_params_bytes: usize,
    /// Most name/value pairs. More is [`ErrorKind::TooManyParams`].
    pub max_pairs: usize,
    /// Longest name. Longer is [`ErrorKind::NameTooLong`].
    pub max_name: usize,
    /// Longest value. Longer is [`ErrorKind::ValueTooLong`].
    pub max_value: usize,
    /// Largest body in bytes: announced by `CONTENT_LENGTH` (SCGI, uwsgi) or counted as it
    /// arrives (FastCGI). Larger is [`ErrorKind::BodyTooLarge`].
    pub max_body: u64,
}

impl Limits {
    /// The defaults: 32 KiB of params (twice the HTTP machine's 16 KiB head, since the front
    /// end adds its own CGI variables to the request's header fields), 256 pairs, 256-byte
    /// names, 16 KiB values, and no body limit of our own (the application reads what it
    /// wants).
    pub const DEFAULT: Limits = Limits {
        max_params_bytes: 32 * 1024,
        max_pairs: 256,
        max_name: 256,
        max_value: 16 * 1024,
        max_body: u64::MAX,
    };
}

impl Default for Limits {
    fn default() -> Self {
        Limits::DEFAULT
    }
}

/// What the [SCGI](scgi) and [`uwsgi`] decoders found at the front of their input (the
/// FastCGI decoder's [`fastcgi::Event`] has these and more).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event<'i> {
    /// The input ran out (possibly after consuming some of it): feed more.
    NeedMore,
    /// The params are complete: read them with the decoder's `params()`. Comes once per
    /// request, before any body bytes.
    Params,
    /// Request body bytes: a non-empty slice of the input just fed.
    Body(&'i [u8]),
    /// The body is complete. Every later call says `End` again and consumes nothing.
    End,
}

/// One step through a body of known length, shared by the SCGI and uwsgi decoders: `End`
/// when nothing `remaining`, `NeedMore` when `rest` is empty, else the body bytes `rest`
/// holds (never more than `remaining`). Returns the event and how many bytes of `rest` it
/// took.
pub(crate) fn body_step(remaining: u64, rest: &[u8]) -> (Event<'_>, usize) {
    if remaining == 0 {
        return (Event::End, 0);
    }
    if rest.is_empty() {
        return (Event::NeedMore, 0);
    }
    let take = rest
        .len()
        .min(usize::try_from(remaining).unwrap_or(usize::MAX));
    (Event::Body(&rest[..take]), take)
}

/// A `CONTENT_LENGTH` value: decimal digits only (no sign, no space), at most 19 of them so
/// the number fits a `u64`.
pub(crate) fn parse_content_length(value: &[u8]) -> Option<u64> {
    if value.is_empty() || value.len() > 19 {
        return None;
    }
    value.iter().try_fold(0u64, |n, &b| match b {
        b'0'..=b'9' => Some(n * 10 + u64::from(b - b'0')),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_the_documented_constant() {
        assert_eq!(Limits::default(), Limits::DEFAULT);
        assert_eq!(Limits::DEFAULT.max_params_bytes, 32768);
        assert_eq!(Limits::DEFAULT.max_body, u64::MAX);
    }

    #[test]
    fn content_length_is_plain_decimal() {
        assert_eq!(parse_content_length(b"0"), Some(0));
        assert_eq!(parse_content_length(b"1048576"), Some(1 << 20));
        assert_eq!(
            parse_content_length(b"9999999999999999999"),
            Some(9_999_999_999_999_999_999)
        );
        for bad in [
            &b""[..],
            b"-1",
            b"+1",
            b" 1",
            b"1 ",
            b"0x10",
            b"12345678901234567890",
        ] {
            assert_eq!(parse_content_length(bad), None, "{bad:?}");
        }
    }
}
