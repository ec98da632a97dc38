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
