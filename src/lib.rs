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
