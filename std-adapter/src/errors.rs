//! `wsgi.errors` streams for `std`: the process's stderr, or an in-memory buffer.

use std::fmt;
use std::io::Write as _;
use std::sync::Mutex;

use wsgiref_core::stream::ErrorStream;

/// `wsgi.errors` writing to the process's standard error, unbuffered (as CPython's
/// `sys.stderr` in a server).
#[derive(Clone, Copy, Debug, Default)]
pub struct Stderr;

impl ErrorStream for Stderr {
    fn write_str(&self, s: &str) -> fmt::Result {
        std::io::stderr()
            .lock()
            .write_all(s.as_bytes())
            .map_err(|_| fmt::Error)
    }

    fn flush(&self) {
        let _ = std::io::stderr().flush();
    }
}

/// `wsgi.errors` collecting into a string, shareable between threads (tests, captures).
///
/// ```
/// use wsgiref_core::stream::ErrorStream;
/// let errors = wsgiref_std::errors::Captured::default();
/// errors.write_str("boom\n").unwrap();
/// assert_eq!(errors.take(), "boom\n");
/// ```
#[derive(Debug, Default)]
pub struct Captured(Mutex<String>);

impl Captured {
    /// Take what was written so far, leaving it empty.
    pub fn take(&self) -> String {
        match self.0.lock() {
            Ok(mut s) => std::mem::take(&mut *s),
            Err(poisoned) => std::mem::take(&mut *poisoned.into_inner()),
        }
    }
}

impl ErrorStream for Captured {
    fn write_str(&self, s: &str) -> fmt::Result {
        match self.0.lock() {
            Ok(mut text) => text.push_str(s),
            Err(poisoned) => poisoned.into_inner().push_str(s),
        }
        Ok(())
    }
}
