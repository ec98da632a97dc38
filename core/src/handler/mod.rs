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
//! | (none: flup, uWSGI) a FastCGI, SCGI or uwsgi connection | [`gateway::Session`](crate::gateway::Session), over the same run logic |
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
//!    Besides the client's wish and the framing, the request body decides, as far as it is
//!    known when the head is written: a body the application left unread is read and
//!    discarded after the response (up to [`ServerConfig::max_drain`]), but the connection
//!    ends, with `Connection: close`, when the client still waits for `100 Continue` (it will
//!    not send the body), when more than `max_drain` of a `Content-Length` is left, or when a
//!    chunked body is left while it is being received ([`Connection`]: its size is unknown;
//!    a [`Session`] has it whole and drains it within `max_drain`). A rest within
//!    `max_drain` that the client then fails to send ends the connection after a head that
//!    kept it open: the head is out by then.
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
//! # Errors, and where they differ from CPython's
//!
//! An application's error is logged to `wsgi.errors` as `Name: message` (the name is
//! CPython's exception class wherever CPython has the same check: `AssertionError` for the
//! start_response and `write()` contract, `ValueError` for bad header text), then answered
//! with the error page while no head has been sent. Where the outcome differs:
//!
//! - **A body with no `start_response` call.** A non-empty body logs
//!   `AssertionError: write() before start_response()`, as CPython. An *empty* body logs the
//!   same line; CPython fails inside its own `finish_content` instead
//!   (`AttributeError: 'NoneType' object has no attribute 'setdefault'`), which names no
//!   mistake of the application's. Both answer with the error page.
//! - **The client disconnects while the error page is being sent.** The application's error
//!   has been logged by then; the disconnect itself is not logged and the run ends as
//!   [`Outcome::Disconnected`]. CPython's `run()` re-raises the `BrokenPipeError` to its
//!   server, which prints a second traceback for it. A client that goes away is not a server
//!   fault (CPython itself ignores it everywhere else), so we log only the error that had a
//!   cause in the application.
//! - A client that disconnects during a normal response is ended quietly, as in CPython.
//!
//! # The server's own refusals
//!
//! A request the HTTP handlers ([`Connection`], [`Session`], `AsyncConnection` and the std
//! server over them) refuse before any application runs (400, 408, 413, 414, 431, 501, 505,
//! and 503 from the server when it is full) is answered with an HTTP/1.1 head, `Content-Type:
//! text/plain`, a `Content-Length`, `Connection: close`, and a one-line body
//! `<reason>: <what was wrong>` (`<reason>` alone with the core's `terse-errors` feature); the
//! connection then closes. CPython's `http.server` sends an HTML page
//! (`Content-Type: text/html;charset=utf-8`, `<h1>Error response</h1>`...) and no head at all
//! when it took the request for HTTP/0.9. Plain text is what a terminal, a log and `curl`
//! show as it is, it costs no escaping, and a firmware's flash holds one short line per
//! refusal rather than a page; every refusal also has a log line.
//!
//! A request head cut short by the end of the connection (no final empty line, or a request
//! line with no line end at all) is answered `400 Bad Request` ("connection closed inside a
//! request head"). CPython's `http.server` reads the last unterminated line as if it were
//! complete and answers the request. A head that was never finished is not a request the
//! client meant to send whole (a cut connection, a half-written probe), and answering it as
//! one would guess at what the missing bytes said.
//!
//! [`OutputError::LengthExceeded`]: crate::error::OutputError::LengthExceeded

#[cfg(feature = "async")]
mod asynch;
pub(crate) mod config;
mod connection;
pub(crate) mod exchange;
mod log;
mod memory;
pub(crate) mod output;
pub(crate) mod response;
pub(crate) mod run;
mod session;
pub(crate) mod simple;

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
