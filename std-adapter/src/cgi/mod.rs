//! CGI: run an application as a CGI program under Apache, lighttpd, nginx + fcgiwrap or IIS
//! (Python's `CGIHandler`, `IISCGIHandler`, `BaseCGIHandler`, `SimpleHandler` and
//! `read_environ`).
//!
//! * [`CgiHandler`]: `CgiHandler::new().run(&app)` is a whole CGI program;
//! * [`IisCgiHandler`]: the same, undoing IIS's duplicated `SCRIPT_NAME` in `PATH_INFO`;
//! * [`BaseCgiHandler`], [`SimpleHandler`]: the core handlers over any `std::io` streams and
//!   an environ you build;
//! * [`read_environ`]: the process environment as an environ of byte strings;
//!   [`needs_transcoding`], [`WindowsServer`] and [`transcode_windows`] are its Windows rules,
//!   callable (and tested) everywhere.
//!
//! Deploying a CGI program under lighttpd, Apache and nginx is described in `docs/cgi.md`.
pub mod environ;
pub mod handler;

pub use environ::{
    environ_from_bytes, needs_transcoding, read_environ, transcode_windows, WindowsServer,
};
pub use handler::{
    strip_iis_script_name, BaseCgiHandler, CgiHandler, IisCgiHandler, SimpleHandler, CGI_RUN_ONCE,
};
