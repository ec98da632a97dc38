//! # wsgiref-core
//!
//! The `no_std` core of [wsgiref for Rust]: everything a WSGI-style gateway needs that does
//! not touch an operating system.
//!
//! * [`environ`]: [`Environ`], the CGI/WSGI variables of a request, with byte-string values;
//! * [`headers`]: [`Headers`], response headers with Python's mapping-like API;
//! * [`util`]: `guess_scheme`, `request_uri`, `application_uri`, `shift_path_info`,
//!   `setup_testing_defaults`, `is_hop_by_hop`, `FileWrapper`;
//! * [`app`]: the Application interface (PEP 3333 in Rust);
//! * [`stream`]: `wsgi.input` and `wsgi.errors`;
//! * [`gateway`]: sans-IO decoders and encoders for FastCGI, SCGI and uwsgi, the protocols a
//!   front end speaks to an application server.
//! * [`proxy`]: the PROXY protocol header decoder and the trusted-proxy policy for `Forwarded` /
//!   `X-Forwarded-*`, for a server behind a load balancer.
//!
//! Nothing here allocates unless the `alloc` feature is on, and even then every growable
//! structure has a limit. Storage that runs out is an error value, never a panic.
//!
//! ## Features
//!
//! | feature | effect |
//! |---|---|
//! | `alloc` | growable `Environ`/`Headers`, `Box<dyn Body>`, any error converts into [`AppError`] |
//! | `std` | `alloc`, plus `std::io` impls on the streams |
//! | `defmt` | `defmt::Format` on public data and error types |
//! | `async` | `handler::AsyncConnection` over `embedded-io-async` |
//! | `terse-errors` | refusals keep status and reason but drop the sentence saying what was wrong ([`proto::ProtocolError::detail`] is empty) and the code that only chooses it: about 4.7 KB less flash; every check still runs |
//!
//! [wsgiref for Rust]: https://docs.rs/wsgiref
#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]
// The docs name the `alloc` constructors (`Environ::new`, `Headers::new`, `*_string`) beside
// the fixed-memory ones on purpose, so an embedder learns both exist. Without `alloc` those
// items are compiled out and the links cannot resolve; the documented build (all features,
// `cargo doc --workspace` in CI) still denies broken links.
#![cfg_attr(not(feature = "alloc"), allow(rustdoc::broken_intra_doc_links))]

#[cfg(feature = "alloc")]
extern crate alloc;
#[cfg(any(feature = "std", test))]
extern crate std;

pub mod app;
mod bytes;
pub mod environ;
pub mod error;
pub mod gateway;
pub mod handler;
pub mod headers;
pub mod proto;
pub mod proxy;
mod relocate;
pub mod storage;
pub mod stream;
pub mod util;
pub mod validate;
mod wire;

pub use app::{Application, Body, StartResponse};
pub use environ::{Environ, UrlScheme, WsgiVars};
pub use error::AppError;
pub use headers::Headers;
