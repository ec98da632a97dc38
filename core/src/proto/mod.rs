//! The sans-IO HTTP/1.x protocol machine: request heads, body framing, dates.
//!
//! Nothing here reads a socket, looks at a clock or allocates. The caller owns the bytes: it
//! hands [`parse_head`] whatever it has received so far, and [`BodyDecoder::decode`] whatever
//! follows the head; both answer with borrowed views into those bytes, "need more", or a
//! [`ProtocolError`] that names the status to answer with and what was wrong. Time comes in as
//! a value ([`HttpDate::from_unix`]). Because the functions only look at bytes, feeding a
//! request whole or one byte at a time gives the same result (split invariance), which the
//! property tests in this module check.
//!
//! ```
//! use wsgiref_core::proto::{parse_head, BodyDecoder, Decoded, Framing, Limits, Version};
//!
//! let input = b"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello";
//! let limits = Limits::default();
//! let mut headers = [httparse::EMPTY_HEADER; 16];
//! let head = parse_head(input, &mut headers, &limits)?.expect("complete head");
//! assert_eq!((head.method, head.version), (&b"POST"[..], Version::Http11));
//! assert_eq!(head.framing, Framing::Length(5));
//! // Content-Length as sent (and Content-Type, absent here), noted while parsing.
//! assert_eq!((head.content_length, head.content_type), (Some(&b"5"[..]), None));
//!
//! let mut body = &input[head.head_len..];
//! let mut decoder = BodyDecoder::new(head.framing, &limits);
//! let (used, event) = decoder.decode(body)?;
//! assert!(matches!(event, Decoded::Data(b"hello")));
//! body = &body[used..];
//! assert!(matches!(decoder.decode(body)?, (0, Decoded::End)));
//! # Ok::<(), wsgiref_core::proto::ProtocolError>(())
//! ```
//!
//! # Parsing policy
//!
//! A front proxy and this server must never disagree about where a request ends, so anything
//! ambiguous is refused rather than guessed at. What is accepted, what is refused, and why:
//!
//! | input | outcome | why |
//! |---|---|---|
//! | request line longer than [`Limits::max_request_line`] | 414 | bounded work |
//! | head longer than [`Limits::max_head_bytes`], or more than [`Limits::max_headers`] fields (or than the caller's header array holds) | 431 | bounded memory |
//! | a header name longer than [`environ::MAX_ENVIRON_KEY`] - 5 bytes | 431 | its `HTTP_*` key would not fit; refused before any application runs |
//! | method not a token, control bytes or empty target, more than three words, bare CR | 400 | RFC 9112 §3 |
//! | request-target bytes `0x80..=0xFF` | accepted | CPython decodes the line as Latin-1 and passes them on |
//! | a request-target in none of the forms of RFC 9112 §3.2: origin (`/p?q`), absolute (`http://host/p`), authority (`host:port`, `CONNECT` only), asterisk (`*`, `OPTIONS` only) | 400 | RFC 9112 §3.2 |
//! | an absolute-form authority that is not `host[:port]` (user information, no host) | 400 | RFC 9110 §4.2.1, §4.2.4 |
//! | an absolute-form target | its path and query become `PATH_INFO` and `QUERY_STRING`, its authority `HTTP_HOST` (over any `Host`) | RFC 9112 §3.2.2; CPython puts the whole URI in `PATH_INFO` |
//! | a `Host` value that is not `uri-host [":" port]` (RFC 3986) | 400 | RFC 9112 §3.2: a value a proxy could read as another authority |
//! | `CONNECT` | 501 as soon as its request line is read, unless [`Limits::allow_connect`]: then accepted, never persistent | RFC 9110 §9.3.6: we make no tunnels |
//! | `HTTP/1.0`, `HTTP/1.1` | accepted | |
//! | other `HTTP/<digit>.<digit>` (`HTTP/2.0`, `HTTP/1.2`, `HTTP/0.9` spelled out) | 505 | we speak exactly 1.0 and 1.1 |
//! | any other version text (`http/1.1`, `HTTP/1.10`) | 400 | malformed |
//! | two-word line `GET /` | HTTP/0.9, no headers, no body | CPython's rule |
//! | two-word line with another method | 400 | CPython's rule |
//! | bare LF line ends in the head | accepted when every line of the head ends that way | RFC 9112 §2.2 allows it; CPython's tests send `GET / HTTP/1.0\n\n` |
//! | a head that mixes CRLF and bare LF line ends (the request line's decides) | 400 | a CRLF-only peer reads `X: a\nContent-Length: 5` as one field: the two would disagree about where the request ends |
//! | empty lines before the request line | skipped (they count towards `max_head_bytes` and `head_len`) | RFC 9112 §2.2: clients may send a stray CRLF after a body |
//! | obs-fold (a field line starting with SP/HTAB), whitespace before the colon, no colon, invalid name character | 400 | RFC 9112 §5 |
//! | NUL, bare CR, DEL or another control byte (except HTAB) in a field value | 400 | RFC 9110 §5.5 |
//! | `Transfer-Encoding` on HTTP/1.0 | 400 | RFC 9112 §6.1: the framing is faulty |
//! | `Transfer-Encoding` together with `Content-Length` | 400 | the classic smuggling vector |
//! | `Transfer-Encoding` other than exactly `chunked` (any case, surrounding spaces allowed) | 501 for a well-formed list with a coding we lack (`gzip, chunked`); 400 for a malformed list (`,chunked`, `chunked, chunked`, `chunked, gzip`) or a repeated header | we implement only `chunked` |
//! | `Content-Length` that is not plain decimal digits (`+5`, `0x10`, `5 5`, empty, a comma list, more than 64 bits) | 400 | RFC 9110 §8.6 |
//! | several `Content-Length` field lines | accepted when their values are byte-identical, else 400 | harmless duplicates from proxies; a comma list (`5, 5`) is refused because the application would see it verbatim in `CONTENT_LENGTH` |
//! | `Content-Length` above [`Limits::max_body`] | 413 | |
//! | several `Host` field lines | 400 | two authorities are ambiguous (RFC 9112 §3.2); a missing `Host` is accepted, as CPython does |
//! | `Expect: 100-continue` on HTTP/1.1 | [`RequestHead::expect_continue`] | other expectations are ignored, as CPython does |
//!
//! Chunked bodies ([`BodyDecoder`]): the size is 1 to 16 hex digits with nothing before them;
//! whitespace is allowed only before a `;` that starts a chunk extension; extensions follow
//! RFC 9112 §7.1.1 (`;name`, `;name=token`, `;name="quoted"`, whitespace only around `;` and
//! `=`, else 400), and are discarded and bounded to [`body::MAX_CHUNK_EXTENSION`] bytes per line; every framing line
//! ends in CRLF (a bare LF is refused here, unlike in the head, because this is where
//! implementations disagree about where data ends); chunk data is followed by exactly CRLF;
//! trailer fields are checked like header fields, bounded by `max_headers` and
//! `max_head_bytes`, and discarded. A body larger than `max_body` is 413.
//!
//! Every rule above holds in every build: the `terse-errors` feature (the smallest firmware)
//! drops only the sentence a refusal carries, never a check (see [`error`]).
//!
//! HTTP/0.9 requests have no body; a request with neither `Content-Length` nor
//! `Transfer-Encoding` has an empty body ([`Framing::None`]).

pub mod body;
pub mod date;
pub mod environ;
pub mod error;
pub mod limits;
pub mod request;
pub(crate) mod target;
pub(crate) mod view;

#[cfg(test)]
mod tests;

use core::fmt;

pub use body::{chunk_header, BodyDecoder, Decoded, CHUNK_END, LAST_CHUNK};
pub use date::{format_date_time, HttpDate};
pub use environ::{fill_environ, HeaderPolicy, ProxyHeaderPolicy, UnderscorePolicy};
pub use error::{reason_phrase, ProtocolError, StatusLine};
pub use limits::Limits;
pub use request::{parse_head, RequestHead};

/// The HTTP version of a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Version {
    /// A two-word request line (`GET /`): no headers, no body, no status line in the answer.
    Http09,
    /// `HTTP/1.0`: the connection closes after the response unless the client asked for
    /// `keep-alive`.
    Http10,
    /// `HTTP/1.1`: persistent connections and chunked bodies.
    Http11,
}

impl Version {
    /// The version as `SERVER_PROTOCOL` spells it: `"HTTP/0.9"`, `"HTTP/1.0"`, `"HTTP/1.1"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Version::Http09 => "HTTP/0.9",
            Version::Http10 => "HTTP/1.0",
            Version::Http11 => "HTTP/1.1",
        }
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How the request body is delimited, decided from the head.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Framing {
    /// No body: neither `Content-Length` nor `Transfer-Encoding` (or HTTP/0.9).
    None,
    /// Exactly this many bytes follow the head.
    Length(u64),
    /// `Transfer-Encoding: chunked`: chunks until a zero-size chunk and the trailers.
    Chunked,
}
