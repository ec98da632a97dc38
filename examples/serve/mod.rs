//! The directory server behind `examples/serve.rs`: a WSGI-style [`Application`] that serves
//! the files under one root directory.
//!
//! It is an ordinary application, so it runs under any handler: the socket server in the
//! example, or the in-memory core handlers in `tests/serve_app.rs`. Its parts:
//!
//! * [`cli`]: the command line (`python3 -m http.server`'s);
//! * [`resolve`]: `PATH_INFO` → a file or directory under the root, refusing every escape;
//! * [`mime`]: content types by extension;
//! * [`range`]: single-range `Range` requests;
//! * [`conditional`]: `ETag`, `Last-Modified`, `Cache-Control` and the `If-*` preconditions;
//! * [`listing`]: an index page for a directory without `index.html`;
//! * [`url`]: percent-encoding for links and redirects.
//!
//! The well-kept crates doing the fiddly parts (all dev-dependencies of the root package,
//! since examples use those): `httpdate`, `mime_guess`, `percent-encoding`, `html-escape`,
//! `http-range-header` and `lexopt`.
//!
//! [`Application`]: wsgiref::Application

pub mod cli;
pub mod conditional;
pub mod listing;
pub mod mime;
pub mod range;
pub mod resolve;
mod site;
pub mod url;

pub use resolve::Dotfiles;
pub use site::StaticFiles;
