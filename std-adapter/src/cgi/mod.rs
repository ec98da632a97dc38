//! CGI: run an application as a CGI program under Apache, lighttpd, nginx + fcgiwrap or IIS
//! (Python's `CGIHandler`, `IISCGIHandler` and `read_environ`).
//!
//! * [`read_environ`]: the process environment as an environ of byte strings;
//! * [`needs_transcoding`], [`WindowsServer`], [`transcode_windows`]: the Windows rules,
//!   callable (and tested) everywhere.
pub mod environ;

pub use environ::{
    environ_from_bytes, needs_transcoding, read_environ, transcode_windows, WindowsServer,
};
