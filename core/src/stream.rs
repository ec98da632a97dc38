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
pub trait InputStream {
    /// Read up to `buf.len()` body bytes; `Ok(0)` means the body is complete.
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, InputError>;

    /// Read up to and including the next `\n`, or until `buf` is full or the body ends.
    ///
    /// The default reads one byte at a time; buffered implementations should override it.
    fn read_line(&mut self, buf: &mut [u8]) -> Result<usize, InputError> {
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

/// An in-memory body: `&[u8]` is an input stream, handy in tests and for CGI buffers.
impl InputStream for &[u8] {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, InputError> {
        let n = buf.len().min(self.len());
        buf[..n].copy_from_slice(&self[..n]);
        *self = &self[n..];
        Ok(n)
    }

    fn read_line(&mut self, buf: &mut [u8]) -> Result<usize, InputError> {
        let limit = buf.len().min(self.len());
        let n = match self[..limit].iter().position(|&b| b == b'\n') {
            Some(i) => i + 1,
            None => limit,
        };
        buf[..n].copy_from_slice(&self[..n]);
        *self = &self[n..];
        Ok(n)
    }
}

/// A text sink for diagnostics: what a server plugs in as `wsgi.errors`.
///
/// It is `core::fmt::Write` plus `flush`, so `write!` works and nothing needs an allocator.
pub trait ErrorStream: fmt::Write {
    /// Push buffered text out. The default does nothing.
    fn flush(&mut self) {}
}

/// The application's handle on `wsgi.input` (see [`Environ::input`](crate::environ::Environ::input)).
pub struct Input<'e> {
    inner: Option<&'e mut dyn InputStream>,
}

impl<'e> Input<'e> {
    pub(crate) fn new(inner: Option<&'e mut dyn InputStream>) -> Self {
        Input { inner }
    }

    /// Read up to `buf.len()` bytes of the body; `Ok(0)` at its end.
    pub fn read(&mut self, buf: &mut [u8]) -> Result<usize, InputError> {
        match &mut self.inner {
            Some(s) => s.read(buf),
            None => Ok(0),
        }
    }

    /// Read one line (up to and including `\n`), bounded by `buf.len()`.
    pub fn read_line(&mut self, buf: &mut [u8]) -> Result<usize, InputError> {
        match &mut self.inner {
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
    inner: Option<&'e mut dyn ErrorStream>,
}

impl<'e> Errors<'e> {
    pub(crate) fn new(inner: Option<&'e mut dyn ErrorStream>) -> Self {
        Errors { inner }
    }

    /// Push buffered text out.
    pub fn flush(&mut self) {
        if let Some(s) = &mut self.inner {
            s.flush();
        }
    }
}

impl fmt::Write for Errors<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        match &mut self.inner {
            Some(inner) => inner.write_str(s),
            None => Ok(()),
        }
    }
}

/// A `wsgi.errors` that keeps what is written in a fixed buffer and drops what does not fit.
///
/// Useful in tests and on targets with no console; [`as_str`](Self::as_str) reads it back.
pub struct ErrorBuf<const N: usize> {
    text: heapless::String<N>,
    dropped: usize,
}

impl<const N: usize> ErrorBuf<N> {
    /// An empty buffer.
    pub const fn new() -> Self {
        ErrorBuf {
            text: heapless::String::new(),
            dropped: 0,
        }
    }

    /// What was written and fitted.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// How many bytes did not fit and were dropped.
    pub fn dropped(&self) -> usize {
        self.dropped
    }

    /// Forget what was written.
    pub fn clear(&mut self) {
        self.text.clear();
        self.dropped = 0;
    }
}

impl<const N: usize> Default for ErrorBuf<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> fmt::Write for ErrorBuf<N> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for (i, c) in s.char_indices() {
            if self.text.push(c).is_err() {
                self.dropped += s.len() - i;
                break;
            }
        }
        Ok(())
    }
}

impl<const N: usize> ErrorStream for ErrorBuf<N> {}

/// A `wsgi.errors` that discards everything.
#[derive(Clone, Copy, Debug, Default)]
pub struct NullErrors;

impl fmt::Write for NullErrors {
    fn write_str(&mut self, _: &str) -> fmt::Result {
        Ok(())
    }
}

impl ErrorStream for NullErrors {}

#[cfg(feature = "alloc")]
impl ErrorStream for alloc::string::String {}

#[cfg(test)]
mod tests {
    use super::*;
    use core::fmt::Write;

    #[test]
    fn slice_input_reads_lines_and_ends() {
        let mut body: &[u8] = b"ab\ncd";
        let mut input = Input::new(Some(&mut body));
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
        let mut eb = ErrorBuf::<4>::new();
        write!(eb, "abcdef").unwrap();
        assert_eq!(eb.as_str(), "abcd");
        assert_eq!(eb.dropped(), 2);
    }
}
