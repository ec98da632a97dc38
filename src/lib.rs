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
}

/// Python's `wsgiref.simple_server`: `make_server`, `WsgiServer`, `WsgiRequestHandler`,
/// `demo_app`.
#[cfg(feature = "std")]
pub use wsgiref_std::server as simple_server;

/// The README's code blocks, compiled as doc tests so the README cannot drift from the API.
#[cfg(all(doctest, feature = "std"))]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
