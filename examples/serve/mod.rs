//! The directory server behind `examples/serve.rs`: a WSGI-style [`Application`] that serves
//! the files under one root directory.
//!
//! It is an ordinary application, so it runs under any handler: the socket server in the
//! example, or the in-memory core handlers in `tests/serve_app.rs`. Its parts:
//!
//! * [`resolve`]: `PATH_INFO` → a file or directory under the root, refusing every escape;
//! * [`mime`]: content types by extension;
//! * [`range`]: single-range `Range` requests;
//! * [`http_date`]: reading `If-Modified-Since`;
//! * [`listing`]: an index page for a directory without `index.html`.
//!
//! [`Application`]: wsgiref::Application

pub mod http_date;
pub mod listing;
pub mod mime;
pub mod range;
pub mod resolve;
mod site;

pub use site::StaticFiles;
