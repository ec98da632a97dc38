//! # wsgiref-std
//!
//! The `std` side of wsgiref: sockets, threads, CGI's stdin/stdout and the OS environment,
//! plugged into the `no_std` core (`wsgiref-core`).
//!
//! * [`io`]: `std::io` streams as `embedded_io` ones;

//! * [`errors`]: `wsgi.errors` on stderr or in memory;
//! * [`process`]: worker processes under a supervisor, and sockets inherited from systemd.
// One `unsafe impl Send` (server::event_loop, a connection moving with its loop between
// threads) and one adoption of an inherited descriptor (process::inherit, descriptor 3 or 4
// handed over at exec) are allowed where they stand, with their safety arguments; nothing
// else.
#![deny(unsafe_code)]
#![deny(missing_docs)]

pub mod cgi;
pub mod clock;
pub mod errors;
pub mod file;
pub mod gateway_server;
pub mod io;
pub mod process;
pub mod server;
