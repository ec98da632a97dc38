//! The two streams of an environ: `wsgi.input` (the request body) and `wsgi.errors`.
//!
//! A server supplies them as trait objects ([`InputStream`], [`ErrorStream`]) so that one
//! [`Environ`](crate::environ::Environ) type serves a socket, a UART, CGI's stdin or an
//! in-memory test. Applications use them through the [`Input`] and [`Errors`] handles that
//! `Environ::input()` / `Environ::errors()` return; those also implement `embedded_io::Read`
//! and `core::fmt::Write` (and, with `std`, `std::io::Read`) so the usual ecosystem works on
//! them.

use core::fmt;

/// Why reading `wsgi.input` failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum InputError {
    /// The client went away before the body was complete.
    Disconnected,
    /// The body's framing was invalid (a bad chunk size, for example). The server answers
    /// 400 if it can and closes the connection.
    Malformed(&'static str),
    /// The body is larger than the server's configured limit (413).
    TooLarge,
    /// The transport failed in another way.
    Io(embedded_io::ErrorKind),
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InputError::Disconnected => f.write_str("client disconnected while sending the body"),
            InputError::Malformed(why) => write!(f, "malformed request body: {why}"),
            InputError::TooLarge => f.write_str("request body larger than the configured limit"),
            InputError::Io(kind) => write!(f, "input I/O error: {kind:?}"),
        }
    }
}

impl core::error::Error for InputError {}

impl embedded_io::Error for InputError {
    fn kind(&self) -> embedded_io::ErrorKind {
        match self {
            InputError::Disconnected => embedded_io::ErrorKind::ConnectionAborted,
            InputError::Malformed(_) => embedded_io::ErrorKind::InvalidData,
            InputError::TooLarge => embedded_io::ErrorKind::OutOfMemory,
            InputError::Io(kind) => *kind,
        }
    }
}

/// A source of request body bytes: what a server plugs in as `wsgi.input`.
///
/// Reading returns `Ok(0)` at the end of the body (never past `CONTENT_LENGTH` or the final
/// chunk), so an application cannot read into the next pipelined request.
///
/// Methods take `&self` (implementations keep their position in a `Cell`/`RefCell`): that keeps
/// [`Environ`](crate::environ::Environ) covariant in its lifetime, so an environ borrowed for a
/// long time can be used where a shorter one is expected.
pub trait InputStream {
    /// Read up to `buf.len()` body bytes; `Ok(0)` means the body is complete.
    fn read(&self, buf: &mut [u8]) -> Result<usize, InputError>;

    /// Read up to and including the next `\n`, or until `buf` is full or the body ends.
    ///
    /// The default reads one byte at a time; buffered implementations should override it.
    fn read_line(&self, buf: &mut [u8]) -> Result<usize, InputError> {
        let mut n = 0;
        while n < buf.len() {
            let got = self.read(&mut buf[n..n + 1])?;
            if got == 0 {
                break;
            }
            n += 1;
            if buf[n - 1] == b'\n' {
                break;
            }
        }
        Ok(n)
    }
}

/// An in-memory body: handy in tests, and for CGI bodies already read into a buffer.
///
/// ```
/// use wsgiref_core::stream::{InputStream, SliceInput};
/// let input = SliceInput::new(b"a=1&b=2");
/// let mut buf = [0u8; 16];
/// assert_eq!(input.read(&mut buf).unwrap(), 7);
/// assert_eq!(input.read(&mut buf).unwrap(), 0);
/// ```
#[derive(Debug, Default)]
pub struct SliceInput<'d> {
    rest: core::cell::Cell<&'d [u8]>,
}

impl<'d> SliceInput<'d> {
    /// A stream over `data`.
    pub fn new(data: &'d [u8]) -> Self {
        SliceInput {
            rest: core::cell::Cell::new(data),
        }
    }

    /// What has not been read yet.
    pub fn remaining(&self) -> &'d [u8] {
        self.rest.get()
    }
}

impl InputStream for SliceInput<'_> {
    fn read(&self, buf: &mut [u8]) -> Result<usize, InputError> {
        let rest = self.rest.get();
        let n = buf.len().min(rest.len());
        buf[..n].copy_from_slice(&rest[..n]);
        self.rest.set(&rest[n..]);
        Ok(n)
    }

    fn read_line(&self, buf: &mut [u8]) -> Result<usize, InputError> {
        let rest = self.rest.get();
        let limit = buf.len().min(rest.len());
        let n = match rest[..limit].iter().position(|&b| b == b'\n') {
            Some(i) => i + 1,
            None => limit,
        };
        buf[..n].copy_from_slice(&rest[..n]);
        self.rest.set(&rest[n..]);
        Ok(n)
    }
}

/// A text sink for diagnostics: what a server plugs in as `wsgi.errors`.
///
/// Methods take `&self` for the same reason as [`InputStream`]'s. Applications write to it
/// through [`Errors`], which implements `core::fmt::Write`, so `write!` works with no
/// allocator.
pub trait ErrorStream {
    /// Append text.
    fn write_str(&self, s: &str) -> fmt::Result;

    /// Push buffered text out. The default does nothing.
    fn flush(&self) {}

    /// Log a failed request's error and its causes, at most `limit` deep: the handler's
    /// report (CPython's `log_exception`). The default writes
    /// [`AppError::write_chain`](crate::AppError::write_chain)'s text through
    /// [`write_str`](Self::write_str).
    ///
    /// The handler calls this rather than formatting the error itself, so the formatting code
    /// is only linked into programs that install an error stream: on a microcontroller with
    /// none, `core::fmt` and every error message stay out of flash.
    fn write_error(&self, error: &crate::AppError, limit: Option<usize>) -> fmt::Result {
        error.write_chain(&mut TextSink(self), limit)
    }
}

/// An [`ErrorStream`] as a `core::fmt::Write` sink.
struct TextSink<'s, S: ?Sized>(&'s S);

impl<S: ErrorStream + ?Sized> fmt::Write for TextSink<'_, S> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0.write_str(s)
    }
}

impl<T: ErrorStream + ?Sized> ErrorStream for &T {
    fn write_str(&self, s: &str) -> fmt::Result {
        (**self).write_str(s)
    }

    fn write_error(&self, error: &crate::AppError, limit: Option<usize>) -> fmt::Result {
        (**self).write_error(error, limit)
    }

    fn flush(&self) {
        (**self).flush()
    }
}

impl<T: InputStream + ?Sized> InputStream for &T {
    fn read(&self, buf: &mut [u8]) -> Result<usize, InputError> {
        (**self).read(buf)
    }

    fn read_line(&self, buf: &mut [u8]) -> Result<usize, InputError> {
        (**self).read_line(buf)
    }
}

/// The application's handle on `wsgi.input` (see [`Environ::input`](crate::environ::Environ::input)).
pub struct Input<'e> {
    inner: Option<&'e dyn InputStream>,
}

impl<'e> Input<'e> {
    pub(crate) fn new(inner: Option<&'e dyn InputStream>) -> Self {
        Input { inner }
    }

    /// Read up to `buf.len()` bytes of the body; `Ok(0)` at its end.
    pub fn read(&mut self, buf: &mut [u8]) -> Result<usize, InputError> {
        match self.inner {
            Some(s) => s.read(buf),
            None => Ok(0),
        }
    }

    /// Read one line (up to and including `\n`), bounded by `buf.len()`.
    pub fn read_line(&mut self, buf: &mut [u8]) -> Result<usize, InputError> {
        match self.inner {
            Some(s) => s.read_line(buf),
            None => Ok(0),
        }
    }

    /// Read until `buf` is full or the body ends; returns how many bytes were read.
    pub fn read_full(&mut self, buf: &mut [u8]) -> Result<usize, InputError> {
        let mut n = 0;
        while n < buf.len() {
            let got = self.read(&mut buf[n..])?;
            if got == 0 {
                break;
            }
            n += got;
        }
        Ok(n)
    }

    /// Read and discard the rest of the body; returns how many bytes that was.
    pub fn drain(&mut self) -> Result<u64, InputError> {
        let mut scratch = [0u8; 256];
        let mut total = 0u64;
        loop {
            let got = self.read(&mut scratch)?;
            if got == 0 {
                return Ok(total);
            }
            total += got as u64;
        }
    }

    /// Read the whole body into a vector, refusing more than `limit` bytes (feature `alloc`).
    #[cfg(feature = "alloc")]
    pub fn read_to_vec(&mut self, limit: usize) -> Result<alloc::vec::Vec<u8>, InputError> {
        let mut out = alloc::vec::Vec::new();
        let mut scratch = [0u8; 4096];
        loop {
            let got = self.read(&mut scratch)?;
            if got == 0 {
                return Ok(out);
            }
            if out.len() + got > limit {
                return Err(InputError::TooLarge);
            }
            out.extend_from_slice(&scratch[..got]);
        }
    }
}

impl embedded_io::ErrorType for Input<'_> {
    type Error = InputError;
}

impl embedded_io::Read for Input<'_> {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, InputError> {
        Input::read(self, buf)
    }
}

#[cfg(feature = "std")]
impl std::io::Read for Input<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        Input::read(self, buf).map_err(|e| {
            let kind = match e {
                InputError::Disconnected => std::io::ErrorKind::ConnectionAborted,
                InputError::Malformed(_) => std::io::ErrorKind::InvalidData,
                InputError::TooLarge => std::io::ErrorKind::OutOfMemory,
                InputError::Io(_) => std::io::ErrorKind::Other,
            };
            std::io::Error::new(kind, e)
        })
    }
}

/// The application's handle on `wsgi.errors` (see
/// [`Environ::errors`](crate::environ::Environ::errors)).
pub struct Errors<'e> {
    inner: Option<&'e dyn ErrorStream>,
}

impl<'e> Errors<'e> {
    pub(crate) fn new(inner: Option<&'e dyn ErrorStream>) -> Self {
        Errors { inner }
    }

    /// Log an application error through the stream's [`ErrorStream::write_error`] (nothing
    /// when no stream is installed).
    pub(crate) fn write_error(
        &mut self,
        error: &crate::AppError,
        limit: Option<usize>,
    ) -> fmt::Result {
        match self.inner {
            Some(s) => s.write_error(error, limit),
            None => Ok(()),
        }
    }

    /// Push buffered text out.
    pub fn flush(&mut self) {
        if let Some(s) = self.inner {
            s.flush();
        }
    }
}

impl fmt::Write for Errors<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        match self.inner {
            Some(inner) => inner.write_str(s),
            None => Ok(()),
        }
    }
}

/// A `wsgi.errors` that keeps what is written in a fixed buffer and drops what does not fit.
///
/// Useful in tests and on targets with no console.
///
/// ```
/// use core::fmt::Write;
/// use wsgiref_core::stream::{ErrorBuf, ErrorStream};
/// let errors = ErrorBuf::<16>::new();
/// errors.write_str("oops").unwrap();
/// assert_eq!(errors.text().as_str(), "oops");
/// ```
pub struct ErrorBuf<const N: usize> {
    text: core::cell::RefCell<heapless::String<N>>,
    dropped: core::cell::Cell<usize>,
}

impl<const N: usize> ErrorBuf<N> {
    /// An empty buffer.
    pub const fn new() -> Self {
        ErrorBuf {
            text: core::cell::RefCell::new(heapless::String::new()),
            dropped: core::cell::Cell::new(0),
        }
    }

    /// A copy of what was written and fitted.
    pub fn text(&self) -> heapless::String<N> {
        self.text.borrow().clone()
    }

    /// How many bytes did not fit and were dropped.
    pub fn dropped(&self) -> usize {
        self.dropped.get()
    }

    /// Forget what was written.
    pub fn clear(&self) {
        self.text.borrow_mut().clear();
        self.dropped.set(0);
    }
}

impl<const N: usize> Default for ErrorBuf<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> ErrorStream for ErrorBuf<N> {
    fn write_str(&self, s: &str) -> fmt::Result {
        let mut text = self.text.borrow_mut();
        for (i, c) in s.char_indices() {
            if text.push(c).is_err() {
                self.dropped.set(self.dropped.get() + s.len() - i);
                break;
            }
        }
        Ok(())
    }
}

/// A `wsgi.errors` that discards everything.
#[derive(Clone, Copy, Debug, Default)]
pub struct NullErrors;

impl ErrorStream for NullErrors {
    fn write_str(&self, _: &str) -> fmt::Result {
        Ok(())
    }
}

/// Collects diagnostics in a growable string (feature `alloc`).
#[cfg(feature = "alloc")]
impl ErrorStream for core::cell::RefCell<alloc::string::String> {
    fn write_str(&self, s: &str) -> fmt::Result {
        self.borrow_mut().push_str(s);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::fmt::Write;

    #[test]
    fn slice_input_reads_lines_and_ends() {
        let body = SliceInput::new(b"ab\ncd");
        let mut input = Input::new(Some(&body));
        let mut buf = [0u8; 8];
        assert_eq!(input.read_line(&mut buf).unwrap(), 3);
        assert_eq!(&buf[..3], b"ab\n");
        assert_eq!(input.read_full(&mut buf).unwrap(), 2);
        assert_eq!(input.read(&mut buf).unwrap(), 0);
    }

    #[test]
    fn missing_input_is_empty_and_errors_buffer_bounds() {
        let mut input = Input::new(None);
        assert_eq!(input.drain().unwrap(), 0);
        let eb = ErrorBuf::<4>::new();
        write!(Errors::new(Some(&eb)), "abcdef").unwrap();
        assert_eq!(eb.text().as_str(), "abcd");
        assert_eq!(eb.dropped(), 2);
    }
}
