//! Handlers: run an [`Application`](crate::app::Application) and frame its response.
//!
//! This is Python's `wsgiref.handlers`, over `embedded_io` streams so that any transport
//! plugs in (a socket, a UART, CGI's stdin/stdout, a C callback, an in-memory test):
//!
//! | CPython | here |
//! |---|---|
//! | `BaseHandler` class attributes | [`HandlerConfig`] |
//! | `BaseHandler.run`, `finish_response`, `handle_error`, `error_output` | the shared run logic behind every handler, reported as [`RunReport`] |
//! | `SimpleHandler(stdin, stdout, stderr, environ)` | [`SimpleHandler`] |
//! | `BaseCGIHandler` | [`BaseCgiHandler`] |
//! | `WSGIRequestHandler.handle` (one request per connection) | [`Connection`] (blocking transport; HTTP/1.1, keep-alive, pipelining) and [`Session`] (sans-IO: fed bytes, emitting bytes) |
//! | `format_date_time` | [`HttpDate`](crate::proto::HttpDate) |
//!
//! Memory comes from the caller ([`Memory`], [`MemoryBuf`]): a handler allocates nothing.
//!
//! # Memory footprint
//!
//! Measured on a 64-bit target by `tests/no_alloc.rs` (`documented_sizes_hold`, which prints
//! the figures with `--nocapture` and fails if one grows past the bound given here):
//!
//! | value | `size_of` | bound checked |
//! |---|---|---|
//! | [`Session`] (default `H = 64`) | 224 bytes | ≤ 320 |
//! | [`Connection`] over a one-pointer transport | 240 bytes | ≤ 320 |
//! | [`MemoryBuf`] with its default sizes | 4864 bytes | ≤ 5120 |
//! | [`Environ`](crate::Environ) (the handle; its storage is separate) | 144 bytes | ≤ 160 |
//! | [`Headers`](crate::Headers) (the handle) | 88 bytes | ≤ 96 |
//!
//! A typical browser navigation (a 440-byte `GET` with 10 header fields: Host, User-Agent,
//! Accept, Accept-Language, Accept-Encoding, Referer, Cookie, Connection,
//! Upgrade-Insecure-Requests, Cache-Control) over a 4-variable server base environ needs:
//!
//! - a receive buffer of at least the request's size (440 bytes; a [`Session`] also holds the
//!   whole body there);
//! - 588 environ bytes in 19 variables (bound checked: ≤ 768 bytes, ≤ 24 variables), well
//!   within [`MemoryBuf`]'s default 2048 bytes and 64 slots;
//! - 128 bytes of output staging for a `200 OK` head with `Date`, `Server`, `Content-Type` and
//!   `Content-Length` (bound checked: ≤ 160), within the default 2048. The output buffer is
//!   also where start_response writes the head (all but its framing lines) until the first
//!   body byte, so that a call with `exc_info` can still replace it: a head larger than the
//!   buffer is refused by start_response (`StartResponseError::Header` with a capacity
//!   error), which the application usually turns into the error page.
//!
//! While a head is parsed, `H` header slots of 32 bytes each live on the stack (2 KiB for the
//! default 64).
//!
//! # Response framing
//!
//! Rules, in order (CPython's where it has one, HTTP/1.1's where it has none):
//!
//! 1. An HTTP/0.9 request gets the body only, no head (CPython).
//! 2. Auto headers for an origin server: `Date` (when the caller supplied a time) and `Server`
//!    (when configured) unless the application set them, before the application's headers.
//! 3. `Content-Length` is added after the application's headers when it did not set one and the
//!    body's exact length is known: a one-chunk body (CPython's `len(result) == 1` rule) or any
//!    [`Body::length`](crate::app::Body::length); an empty body gets `0` (CPython's
//!    `finish_content`). Never for 1xx, 204 and 304, which cannot carry a body (CPython adds
//!    `Content-Length: 0` there; RFC 9110 forbids it for 204: a deliberate difference).
//! 4. Otherwise, on a persistent HTTP/1.1 connection, `Transfer-Encoding: chunked`; otherwise
//!    the body runs until the connection closes.
//! 5. HEAD requests and 1xx/204/304 responses send no body bytes at all (CPython sends what the
//!    application returns; RFC 9110 forbids it: a deliberate difference). An HTTP/0.9 response
//!    has no head to describe, so rule 1 wins there and the bytes pass through, as in CPython.
//! 6. On a managed connection, `Connection: close` tells an HTTP/1.1 client that the
//!    connection ends; `Connection: keep-alive` confirms persistence to an HTTP/1.0 client.
//! 7. Body bytes beyond the application's own `Content-Length` are never sent: the write that
//!    overruns it fails with [`OutputError::LengthExceeded`], which is logged, and the
//!    connection closes (CPython sends the excess silently, which a client reads as the start
//!    of the next response: a deliberate difference).
//!
//! 8. Status and header text is written as the UTF-8 of the `&str` the application gave
//!    (CPython writes latin-1: `é` is one byte there, two here). HTTP wants ASCII in both; a
//!    Rust string has no latin-1 form to fall back to.
//!
//! `tests/handlers_cpython.rs` checks these rules against CPython's bytes for the same
//! scripted applications, applying the deliberate differences of rules 3, 5 and 7.
//!
//!
//! [`OutputError::LengthExceeded`]: crate::error::OutputError::LengthExceeded

#[cfg(feature = "async")]
mod asynch;
mod config;
mod connection;
mod exchange;
mod log;
mod memory;
mod output;
mod response;
mod run;
mod session;
mod simple;

#[cfg(feature = "async")]
pub use asynch::AsyncConnection;
pub use config::HandlerConfig;
pub use connection::{ConnError, Connection, Served, ServerConfig};
pub use log::{RequestLine, RequestLog, LOG_LINE_MAX};
#[cfg(feature = "alloc")]
pub use memory::OwnedMemory;
pub use memory::{Memory, MemoryBuf};
pub use run::{Outcome, RunReport};
pub use session::{Session, Step};
pub use simple::{BaseCgiHandler, SimpleHandler};
