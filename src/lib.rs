//! # wsgiref
//!
//! The Rust counterpart of Python's [`wsgiref`](https://docs.python.org/3/library/wsgiref.html):
//! a gateway between HTTP servers and applications, with the same module names, the same
//! behaviour where it matters (checked against CPython), and a `no_std`, allocation-free core
//! underneath. This crate is the one to depend on: everything an application, a test, a CGI
//! program or a server needs is reachable from here.
//!
//! An application is a function (or closure, or any [`Application`]) of the request's
//! [`Environ`] and a [`StartResponse`], returning a [`Body`]. Serve it over HTTP:
//!
//! ```no_run
//! use wsgiref::simple_server::make_server;
//! use wsgiref::{AppError, Environ, StartResponse};
//!
//! fn hello(_environ: &mut Environ<'_>, start_response: &mut StartResponse<'_>)
//!     -> Result<&'static [u8], AppError>
//! {
//!     start_response.start("200 OK", &[("Content-Type", "text/plain")])?;
//!     Ok(b"Hello, world!")
//! }
//!
//! fn main() -> std::io::Result<()> {
//!     make_server("127.0.0.1", 8000, hello)?.serve_forever()
//! }
//! ```
//!
//! The same application runs unchanged as a CGI program
//! ([`handlers::CgiHandler`]), over in-memory streams in a test ([`handlers::SimpleHandler`]),
//! or under the validator ([`validate::validator`]). Here it answers one request from memory:
//!
//! ```
//! use wsgiref::app::app_fn;
//! use wsgiref::handlers::{Captured, SimpleHandler};
//! use wsgiref::{AppError, Environ};
//!
//! let app = app_fn(|environ, start_response| {
//!     let name = environ.get_str("QUERY_STRING").unwrap_or("world").to_owned();
//!     start_response.start("200 OK", &[("Content-Type", "text/plain")])?;
//!     Ok::<_, AppError>(format!("Hello, {name}!"))
//! });
//!
//! let mut environ = Environ::new();
//! environ.set("REQUEST_METHOD", "GET")?;
//! environ.set("QUERY_STRING", "Rust")?;
//! wsgiref::util::setup_testing_defaults(&mut environ)?;
//! let mut handler =
//!     SimpleHandler::new(std::io::empty(), Vec::new(), Captured::default(), environ, true, false);
//! handler.run(&app);
//! let (_, response, _) = handler.into_parts();
//! assert!(response.ends_with(b"Content-Length: 12\r\n\r\nHello, Rust!"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! | Python | here |
//! |---|---|
//! | `wsgiref.util` | [`util`] |
//! | `wsgiref.headers` | [`headers`] |
//! | `wsgiref.handlers` | [`handlers`] (with `format_date_time`) |
//! | `wsgiref.simple_server` | `simple_server` (feature `std`) |
//! | `wsgiref.validate` | [`validate`] |
//! | `wsgiref.types` | [`Application`], [`StartResponse`], [`Body`], [`app`] |
//!
//! The guide (`docs/guide.md`, shipped in the package) puts each Python name beside its Rust
//! counterpart and lists what differs from CPython and why; `docs/cgi.md` deploys a CGI
//! program under lighttpd, Apache and nginx. Without the default `std` feature the crate is
//! `#![no_std]`: the core's handlers, the sans-IO [`handlers::Session`] and the utilities
//! stay, over caller-provided memory (`docs/embedded.md`).
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
// The rest of the core that an application, a test or an embedder names: the error types
// (`OutputError`, `HeaderError`...), the storage capacities, and the HTTP layer (`HttpDate`,
// `Version`, `Limits`, `UnderscorePolicy`, the sans-IO parser), so no user needs a second
// crate.
pub use wsgiref_core::{error, proto, storage};
// The sans-IO FastCGI, SCGI and uwsgi decoders (and FastCGI's encoders), for a front end
// that speaks a gateway protocol instead of HTTP (docs/gateway.md).
pub use wsgiref_core::gateway;
// Who the client is behind a proxy: the PROXY protocol decoder and the trusted-proxy policy for
// Forwarded / X-Forwarded-* (docs/proxies.md).
pub use wsgiref_core::proxy;
pub use wsgiref_core::{UrlScheme, WsgiVars};

/// Python's `wsgiref.handlers`: the core handlers over `embedded_io` streams (the sans-IO
/// [`Session`](handlers::Session), the blocking [`Connection`](handlers::Connection),
/// [`HandlerConfig`](handlers::HandlerConfig)) and, with `std`, the CGI handlers over the
/// process's streams. With `std`, `BaseCgiHandler` and `SimpleHandler` here are the std ones
/// (over `std::io` streams); the `embedded_io` ones are in `wsgiref-core`'s `handler` module.
///
/// Where the handlers differ from CPython's, each difference with its reason, is documented
/// in `wsgiref-core`'s `handler` module (sections "Response framing", "Errors, and where they
/// differ from CPython's" and "The server's own refusals") and summed up in the guide's
/// "What we do differently, and why".
pub mod handlers {
    pub use wsgiref_core::handler::*;
    /// CPython's `format_date_time(timestamp)`: the HTTP date of a Unix time, as a value
    /// ([`HttpDate`]) with no allocation; `.as_str()` gives the text.
    ///
    /// ```
    /// use wsgiref::handlers::format_date_time;
    /// assert_eq!(format_date_time(1149533394).as_str(), "Mon, 05 Jun 2006 18:49:54 GMT");
    /// ```
    pub use wsgiref_core::proto::format_date_time;
    pub use wsgiref_core::proto::HttpDate;
    #[cfg(feature = "std")]
    pub use wsgiref_std::cgi::*;
    // Both globs hold a BaseCgiHandler and a SimpleHandler: name the std ones explicitly, which
    // shadows the core's instead of making the names ambiguous.
    #[cfg(feature = "std")]
    pub use wsgiref_std::cgi::{BaseCgiHandler, SimpleHandler};
    // The current time for `format_date_time` (`time.time()` in Python) and as an `HttpDate`.
    #[cfg(feature = "std")]
    pub use wsgiref_std::clock::{http_date_now, unix_now};
    // `wsgi.errors` streams for the std handlers: the process's stderr, or captured in memory.
    #[cfg(feature = "std")]
    pub use wsgiref_std::errors::{Captured, Stderr};
    // A file (or a range of one) as a body, sent with sendfile(2) by the server: the std
    // side of `wsgi.file_wrapper` + `BaseHandler.sendfile`.
    #[cfg(feature = "std")]
    pub use wsgiref_std::file::FileBody;
    // `std::io` streams as `embedded_io` ones, for driving the core handlers from std code.
    #[cfg(feature = "std")]
    pub use wsgiref_std::io::StdIo;
}

/// Python's `wsgiref.simple_server`: `make_server`, `WsgiServer`, `WsgiRequestHandler`,
/// `demo_app`.
#[cfg(feature = "std")]
pub use wsgiref_std::server as simple_server;

/// FastCGI, SCGI and uwsgi servers behind a front end (nginx, Apache, lighttpd): see
/// `docs/gateway.md`, "Running a gateway server".
#[cfg(feature = "std")]
pub use wsgiref_std::gateway_server;

/// The README's code blocks, compiled as doc tests so the README cannot drift from the API.
#[cfg(all(doctest, feature = "std"))]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

/// docs/gateway.md's code blocks, compiled and run as doc tests.
#[cfg(all(doctest, feature = "std"))]
#[doc = include_str!("../docs/gateway.md")]
pub struct GatewayDoctests;

/// docs/proxies.md's code blocks, compiled and run as doc tests.
#[cfg(all(doctest, feature = "std"))]
#[doc = include_str!("../docs/proxies.md")]
pub struct ProxiesDoctests;

/// docs/processes.md's code blocks, compiled as doc tests.
#[cfg(all(doctest, feature = "std"))]
#[doc = include_str!("../docs/processes.md")]
pub struct ProcessesDoctests;

/// The guide's code blocks (`docs/guide.md`), compiled and run as doc tests.
#[cfg(all(doctest, feature = "std"))]
#[doc = include_str!("../docs/guide.md")]
pub struct GuideDoctests;

/// `docs/cgi.md`'s code blocks, compiled as doc tests.
#[cfg(all(doctest, feature = "std"))]
#[doc = include_str!("../docs/cgi.md")]
pub struct CgiDoctests;
