//! # wsgiref-std
//!
//! The `std` side of wsgiref: sockets, threads, CGI's stdin/stdout and the OS environment.
#![deny(missing_docs)]
