//! Shims between `std::io` and the `embedded_io` traits the core is generic over.
//!
//! The core handlers take `embedded_io::Read`/`Write`; [`StdIo`] adapts any `std::io` stream
//! (a `TcpStream`, stdin/stdout, a file, a `Vec<u8>`) without copying or buffering, and maps
//! `std::io::ErrorKind` to `embedded_io::ErrorKind` so the core can tell a vanished client
//! (quiet) from a real failure (logged). `WouldBlock` becomes `TimedOut`: a socket read timeout
//! surfaces as `WouldBlock` on Unix, and the core treats it as a timeout.

use std::io;

/// Wrap a `std::io` stream as an `embedded_io` one. See the [module docs](self).
///
/// ```
/// use embedded_io::Write as _;
/// use wsgiref_std::io::StdIo;
///
/// let mut out = StdIo(Vec::new());
/// out.write(b"hi").unwrap();
/// assert_eq!(out.0, b"hi");
/// ```
#[derive(Debug, Default)]
pub struct StdIo<T>(pub T);

/// Translate a `std::io::Error` for the core.
pub fn kind_of(e: &io::Error) -> embedded_io::ErrorKind {
    use embedded_io::ErrorKind as K;
    match e.kind() {
        io::ErrorKind::NotFound => K::NotFound,
        io::ErrorKind::PermissionDenied => K::PermissionDenied,
        io::ErrorKind::ConnectionRefused => K::ConnectionRefused,
        io::ErrorKind::ConnectionReset => K::ConnectionReset,
        io::ErrorKind::ConnectionAborted => K::ConnectionAborted,
        io::ErrorKind::NotConnected => K::NotConnected,
        io::ErrorKind::AddrInUse => K::AddrInUse,
        io::ErrorKind::AddrNotAvailable => K::AddrNotAvailable,
        io::ErrorKind::BrokenPipe => K::BrokenPipe,
        io::ErrorKind::AlreadyExists => K::AlreadyExists,
        io::ErrorKind::InvalidInput => K::InvalidInput,
        io::ErrorKind::InvalidData => K::InvalidData,
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => K::TimedOut,
        io::ErrorKind::Interrupted => K::Interrupted,
        io::ErrorKind::Unsupported => K::Unsupported,
        io::ErrorKind::OutOfMemory => K::OutOfMemory,
        io::ErrorKind::WriteZero => K::WriteZero,
        io::ErrorKind::UnexpectedEof => K::ConnectionAborted,
        _ => K::Other,
    }
}

impl<T> embedded_io::ErrorType for StdIo<T> {
    type Error = embedded_io::ErrorKind;
}

impl<T: io::Read> embedded_io::Read for StdIo<T> {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
        self.0.read(buf).map_err(|e| kind_of(&e))
    }
}

impl<T: io::Write> embedded_io::Write for StdIo<T> {
    fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
        self.0.write(buf).map_err(|e| kind_of(&e))
    }

    fn flush(&mut self) -> Result<(), Self::Error> {
        self.0.flush().map_err(|e| kind_of(&e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use embedded_io::{Read as _, Write as _};

    #[test]
    fn maps_errors_and_passes_bytes() {
        let mut r = StdIo(&b"abc"[..]);
        let mut buf = [0u8; 2];
        assert_eq!(r.read(&mut buf).unwrap(), 2);
        let e = io::Error::from(io::ErrorKind::BrokenPipe);
        assert_eq!(kind_of(&e), embedded_io::ErrorKind::BrokenPipe);
        let e = io::Error::from(io::ErrorKind::WouldBlock);
        assert_eq!(kind_of(&e), embedded_io::ErrorKind::TimedOut);
        let mut w = StdIo(Vec::new());
        w.write(b"x").unwrap();
        w.flush().unwrap();
        assert_eq!(w.0, b"x");
    }
}
