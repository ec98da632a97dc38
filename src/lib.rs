//! # wsgiref
//!
//! The Rust counterpart of Python's `wsgiref`: the same module names, the same behaviour
//! where it matters, and a `no_std` core underneath.
#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

#[cfg(feature = "std")]
extern crate std;

pub use wsgiref_core::headers;
pub use wsgiref_core::util;
pub use wsgiref_core::validate;
// The building blocks an application names: bodies (`Once`, `Chunks`, `Empty`, `app_fn`), the
// environ's fixed storage (`EnvironBuf`) and the streams (`wsgi.input`, `wsgi.errors`).
pub use wsgiref_core::{app, environ, stream};
pub use wsgiref_core::{AppError, Application, Body, Environ, Headers, StartResponse};

/// Python's `wsgiref.handlers`: the core handlers (`wsgiref_core::handler`) and the CGI
/// handlers over the process's streams (`wsgiref_std::cgi`). `BaseCgiHandler` and
/// `SimpleHandler` here are the std ones (over `std::io` streams); the `embedded_io` ones are
/// in `wsgiref_core::handler`.
#[cfg(feature = "std")]
pub mod handlers {
    pub use wsgiref_core::handler::*;
    pub use wsgiref_std::cgi::*;
    // Both globs hold a BaseCgiHandler and a SimpleHandler: name the std ones explicitly, which
    // shadows the core's instead of making the names ambiguous.
    pub use wsgiref_std::cgi::{BaseCgiHandler, SimpleHandler};
    // `wsgi.errors` streams for the std handlers: the process's stderr, or captured in memory.
    pub use wsgiref_std::errors::{Captured, Stderr};
    // A file (or a range of one) as a body, sent with sendfile(2) by the server: the std
    // side of `wsgi.file_wrapper` + `BaseHandler.sendfile`.
    pub use wsgiref_std::file::FileBody;
}

/// Python's `wsgiref.simple_server`: `make_server`, `WsgiServer`, `WsgiRequestHandler`,
/// `demo_app`.
#[cfg(feature = "std")]
pub use wsgiref_std::server as simple_server;

/// The README's code blocks, compiled as doc tests so the README cannot drift from the API.
#[cfg(all(doctest, feature = "std"))]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

/// The guide's code blocks (`docs/guide.md`), compiled and run as doc tests.
#[cfg(all(doctest, feature = "std"))]
#[doc = include_str!("../docs/guide.md")]
pub struct GuideDoctests;
