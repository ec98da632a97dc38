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
//! | [`Session`] (default `H = 64`) | 256 bytes | ≤ 320 |
//! | [`Connection`] over a one-pointer transport | 272 bytes | ≤ 320 |
//! | [`MemoryBuf`] with its default sizes | 6176 bytes | ≤ 6656 |
//! | [`Environ`](crate::Environ) (the handle; its storage is separate) | 120 bytes | ≤ 128 |
//! | [`Headers`](crate::Headers) (the handle) | 80 bytes | ≤ 96 |
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
//!   `Content-Length` (bound checked: ≤ 160), within the default 2048.
//!
//! While a head is parsed, `H` header slots of 32 bytes each live on the stack (2 KiB for the
//! default 64).

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

pub use config::HandlerConfig;
pub use connection::{ConnError, Connection, Served, ServerConfig};
pub use log::{RequestLine, RequestLog, LOG_LINE_MAX};
#[cfg(feature = "alloc")]
pub use memory::OwnedMemory;
pub use memory::{Memory, MemoryBuf};
pub use response::MAX_STATUS_LEN;
pub use run::{Outcome, RunReport};
pub use session::{Session, Step};
pub use simple::{BaseCgiHandler, SimpleHandler};
