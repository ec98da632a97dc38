//! [`ProtocolError`]: why a request was refused, as the status to answer with and a sentence
//! saying what was wrong.
//!
//! The machine never guesses at ambiguous input (see the [parsing policy](super)): every
//! refusal carries the HTTP status that describes it (400, 413, 414, 431, 501, 505) so the
//! server can answer and close, and a fixed `detail` naming the exact problem, for logs and for
//! the error page. Both are `&'static str`, so an error is `Copy`, needs no allocator and can
//! be compared in tests.
//!
//! With the crate feature `terse-errors` every `detail` is empty: status and reason phrase
//! remain (the refusal is still answered with the right status), and the sentences, with the
//! code that picks them, stay out of firmware that cannot afford them: 4,732 B of flash on the
//! minimal Cortex-M3 firmware (`embedded/ci.sh footprint`: 28,104 B without the feature,
//! 23,372 B with it). Code whose only job is choosing a sentence is left out too: a malformed
//! header section is refused with 400 without re-reading it to say which byte was wrong
//! (about 0.4 KB of that). Every check runs in every build: the feature changes what a
//! refusal says, never which requests are refused or with which status.

use core::fmt;

/// A refusal: the status to answer with, and what was wrong.
///
/// ```
/// use wsgiref_core::proto::ProtocolError;
/// let e = ProtocolError::bad_request("header line without a colon");
/// assert_eq!(e.status, 400);
/// assert_eq!(e.status_line().to_string(), "400 Bad Request");
/// // `<status> <reason>: <detail>` (only `<status> <reason>` with `terse-errors`).
/// assert!(e.to_string().starts_with("400 Bad Request"));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ProtocolError {
    /// The HTTP status code to answer with.
    pub status: u16,
    /// The reason phrase that goes with `status` (`"Bad Request"`).
    pub reason: &'static str,
    /// What exactly was wrong (`"Content-Length and Transfer-Encoding both present"`);
    /// always `""` with the `terse-errors` feature.
    pub detail: &'static str,
}

/// The reason phrase this crate uses for a status code it may refuse with, or `""` for any
/// other code. Phrases follow RFC 9110 (so 413 is `Content Too Large`, 414 `URI Too Long`).
///
/// ```
/// assert_eq!(wsgiref_core::proto::reason_phrase(431), "Request Header Fields Too Large");
/// assert_eq!(wsgiref_core::proto::reason_phrase(299), "");
/// ```
pub const fn reason_phrase(status: u16) -> &'static str {
    match status {
        400 => "Bad Request",
        408 => "Request Timeout",
        411 => "Length Required",
        413 => "Content Too Large",
        414 => "URI Too Long",
        417 => "Expectation Failed",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        505 => "HTTP Version Not Supported",
        _ => "",
    }
}

impl ProtocolError {
    /// An error with `status`, its [`reason_phrase`], and `detail` (dropped with the
    /// `terse-errors` feature, so the text is not linked).
    pub const fn new(status: u16, detail: &'static str) -> Self {
        ProtocolError {
            status,
            reason: reason_phrase(status),
            detail: if cfg!(feature = "terse-errors") {
                ""
            } else {
                detail
            },
        }
    }

    /// `400 Bad Request`: the request is malformed or ambiguous.
    pub const fn bad_request(detail: &'static str) -> Self {
        Self::new(400, detail)
    }

    /// `413 Content Too Large`: the body exceeds [`Limits::max_body`](super::Limits::max_body).
    pub const fn content_too_large(detail: &'static str) -> Self {
        Self::new(413, detail)
    }

    /// `414 URI Too Long`: the request line exceeds
    /// [`Limits::max_request_line`](super::Limits::max_request_line).
    pub const fn uri_too_long(detail: &'static str) -> Self {
        Self::new(414, detail)
    }

    /// `431 Request Header Fields Too Large`: the head (or the environ built from it) exceeds
    /// a limit.
    pub const fn header_fields_too_large(detail: &'static str) -> Self {
        Self::new(431, detail)
    }

    /// `501 Not Implemented`: a well-formed request needs a feature this server lacks (a
    /// transfer coding other than `chunked`).
    pub const fn not_implemented(detail: &'static str) -> Self {
        Self::new(501, detail)
    }

    /// `505 HTTP Version Not Supported`: a well-formed version other than 1.0 and 1.1.
    pub const fn version_not_supported(detail: &'static str) -> Self {
        Self::new(505, detail)
    }

    /// The status line's code and phrase, `"400 Bad Request"`, for a response head or a log.
    /// It writes itself to any `fmt::Write` sink; nothing is allocated.
    pub const fn status_line(&self) -> StatusLine {
        StatusLine {
            status: self.status,
            reason: self.reason,
        }
    }
}

/// `"<status> <reason>"`, as [`ProtocolError::status_line`] returns it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct StatusLine {
    /// The status code.
    pub status: u16,
    /// The reason phrase.
    pub reason: &'static str,
}

impl fmt::Display for StatusLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.status, self.reason)
    }
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.detail.is_empty() {
            // `terse-errors`: no sentence to add.
            return fmt::Display::fmt(&self.status_line(), f);
        }
        write!(f, "{} {}: {}", self.status, self.reason, self.detail)
    }
}

impl core::error::Error for ProtocolError {}

#[cfg(test)]
mod tests {
    use super::*;
    use std::string::ToString;

    #[cfg(feature = "terse-errors")]
    #[test]
    fn terse_errors_keep_status_and_reason_only() {
        let e = ProtocolError::content_too_large("chunked body larger than max_body");
        assert_eq!(
            (e.status, e.reason, e.detail),
            (413, "Content Too Large", "")
        );
        assert_eq!(e.to_string(), "413 Content Too Large");
    }

    // The sentences are what this checks; `terse-errors` leaves them out by design.
    #[cfg(not(feature = "terse-errors"))]
    #[test]
    fn constructors_pick_status_and_phrase() {
        let cases = [
            (ProtocolError::bad_request("x"), 400, "Bad Request"),
            (
                ProtocolError::content_too_large("x"),
                413,
                "Content Too Large",
            ),
            (ProtocolError::uri_too_long("x"), 414, "URI Too Long"),
            (
                ProtocolError::header_fields_too_large("x"),
                431,
                "Request Header Fields Too Large",
            ),
            (ProtocolError::not_implemented("x"), 501, "Not Implemented"),
            (
                ProtocolError::version_not_supported("x"),
                505,
                "HTTP Version Not Supported",
            ),
        ];
        for (e, status, reason) in cases {
            assert_eq!((e.status, e.reason, e.detail), (status, reason, "x"));
        }
    }

    // The sentences are what this checks; `terse-errors` leaves them out by design.
    #[cfg(not(feature = "terse-errors"))]
    #[test]
    fn display_says_status_reason_and_detail() {
        let e = ProtocolError::version_not_supported("HTTP/2.0 is not HTTP/1.x");
        assert_eq!(
            e.to_string(),
            "505 HTTP Version Not Supported: HTTP/2.0 is not HTTP/1.x"
        );
        assert_eq!(
            e.status_line().to_string(),
            "505 HTTP Version Not Supported"
        );
        assert_eq!(reason_phrase(200), "");
    }
}
