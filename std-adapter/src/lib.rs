//! # wsgiref-std
//!
//! The `std` side of wsgiref: sockets, threads, CGI's stdin/stdout and the OS environment,
//! plugged into the `no_std` core (`wsgiref-core`).
//!
//! * [`io`]: `std::io` streams as `embedded_io` ones;

//! * [`errors`]: `wsgi.errors` on stderr or in memory.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod cgi;
pub mod clock;
pub mod errors;
pub mod file;
pub mod io;
pub mod server;
