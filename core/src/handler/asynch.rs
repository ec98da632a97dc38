//! [`AsyncConnection`]: the HTTP/1.x server connection over an `embedded-io-async` transport
//! (feature `async`), for async runtimes: embassy on a microcontroller, tokio on a host (through
//! `embedded-io-adapters`).
//!
//! It is the sans-IO [`Session`] with async reads and writes around it: the session never
//! blocks, so the driver awaits only the transport. Requests are therefore run once their
//! head and whole body are buffered (the receive buffer bounds a request, as with `Session`),
//! and each response is staged whole in the caller's transmit buffer before it is written (a
//! larger response fails with a transport error and closes the connection). For responses of
//! unbounded size, use the blocking [`Connection`](crate::handler::Connection).
//!
//! ```
//! use wsgiref_core::app::{app_fn, StartResponse};
//! use wsgiref_core::environ::EnvironBuf;
//! use wsgiref_core::handler::{AsyncConnection, MemoryBuf, Served, ServerConfig};
//! use wsgiref_core::{AppError, Environ};
//!
//! // An in-memory transport whose reads and writes complete at once.
//! struct Pipe { input: &'static [u8], output: heapless::Vec<u8, 512> }
//! impl embedded_io_async::ErrorType for Pipe { type Error = embedded_io::ErrorKind; }
//! impl embedded_io_async::Read for Pipe {
//!     async fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
//!         let n = buf.len().min(self.input.len());
//!         buf[..n].copy_from_slice(&self.input[..n]);
//!         self.input = &self.input[n..];
//!         Ok(n)
//!     }
//! }
//! impl embedded_io_async::Write for Pipe {
//!     async fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
//!         self.output.extend_from_slice(buf).map_err(|_| embedded_io::ErrorKind::OutOfMemory)?;
//!         Ok(buf.len())
//!     }
//!     async fn flush(&mut self) -> Result<(), Self::Error> { Ok(()) }
//! }
//!
//! let app = app_fn(|_env: &mut Environ<'_>, sr: &mut StartResponse<'_>| {
//!     sr.start("200 OK", &[("Content-Type", "text/plain")])?;
//!     Ok::<_, AppError>(&b"hi"[..])
//! });
//! let pipe = Pipe { input: b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", output: heapless::Vec::new() };
//! let (mut rx, mut tx) = ([0u8; 1024], [0u8; 1024]);
//! let mut memory: MemoryBuf = MemoryBuf::new();
//! let mut conn: AsyncConnection<'_, _> =
//!     AsyncConnection::new(pipe, &mut rx, &mut tx, memory.memory(), ServerConfig::default());
//! let mut base = EnvironBuf::<64, 2>::new();
//! let base = base.environ();
//! // Any executor runs it; this transport never suspends, so one poll finishes it.
//! let served = poll_once(conn.serve_one(&app, &base, None));
//! assert!(matches!(served, Some(Ok(Served::Request(_)))));
//! assert!(poll_once(conn.serve_one(&app, &base, None)) == Some(Ok(Served::Closed)));
//! assert!(conn.into_inner().output.ends_with(b"Content-Length: 2\r\n\r\nhi"));
//!
//! fn poll_once<F: core::future::Future>(f: F) -> Option<F::Output> {
//!     let mut f = core::pin::pin!(f);
//!     let mut cx = core::task::Context::from_waker(core::task::Waker::noop());
//!     match f.as_mut().poll(&mut cx) {
//!         core::task::Poll::Ready(v) => Some(v),
//!         core::task::Poll::Pending => None,
//!     }
//! }
//! ```

use embedded_io::{Error as _, ErrorKind, ErrorType};
use embedded_io_async::{Read, Write};

use crate::app::Application;
use crate::environ::Environ;
use crate::handler::connection::{ConnError, Served, ServerConfig};
use crate::handler::memory::Memory;
use crate::handler::output::classify;
use crate::handler::session::{Session, Step};
use crate::proto::HttpDate;

/// An HTTP/1.x server connection over an `embedded-io-async` transport (feature `async`).
///
/// It is a [`Session`] with async reads and writes around it: a request runs once its head
/// and whole body are in the receive buffer (which therefore bounds a request), and each
/// response is staged whole in the transmit buffer before it is written (a larger response
/// fails with a transport error and closes the connection). For responses of unbounded size,
/// use the blocking [`Connection`](crate::handler::Connection).
///
/// `H` is the most request headers parsed per head (more is a 431).
pub struct AsyncConnection<'s, T: Read + Write, const H: usize = 64> {
    io: T,
    session: Session<'s, H>,
    tx: &'s mut [u8],
    closed: bool,
}

/// The transmit buffer as a blocking sink for the session: it only ever appends.
struct Staged<'b> {
    buf: &'b mut [u8],
    len: usize,
}

impl ErrorType for Staged<'_> {
    type Error = ErrorKind;
}

impl embedded_io::Write for Staged<'_> {
    fn write(&mut self, data: &[u8]) -> Result<usize, ErrorKind> {
        let room = &mut self.buf[self.len..];
        if room.len() < data.len() {
            // Refused whole rather than cut short at an arbitrary byte: the handler sees a
            // transport error and closes the connection after what was already staged.
            return Err(ErrorKind::OutOfMemory);
        }
        room[..data.len()].copy_from_slice(data);
        self.len += data.len();
        Ok(data.len())
    }

    fn flush(&mut self) -> Result<(), ErrorKind> {
        Ok(())
    }
}

impl<'s, T: Read + Write, const H: usize> AsyncConnection<'s, T, H> {
    /// A connection over `io`, receiving into `rx` (which bounds a whole request: head and
    /// body), staging each response in `tx` (which bounds a response) and using `memory` for
    /// each request.
    pub fn new(
        io: T,
        rx: &'s mut [u8],
        tx: &'s mut [u8],
        memory: Memory<'s>,
        config: ServerConfig,
    ) -> Self {
        AsyncConnection {
            io,
            session: Session::new(rx, memory, config),
            tx,
            closed: false,
        }
    }

    /// True once the connection cannot serve another request.
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// Give the transport back.
    pub fn into_inner(self) -> T {
        self.io
    }

    /// Serve one request: await its bytes, run `app`, send the response. The same results as
    /// [`Connection::serve_one`](crate::handler::Connection::serve_one); a connection closed
    /// by the client inside a request is answered 400 (the session's rule) before it ends.
    pub async fn serve_one<A: Application>(
        &mut self,
        app: &A,
        base: &Environ<'_>,
        date: Option<HttpDate>,
    ) -> Result<Served, ConnError> {
        if self.closed {
            return Ok(Served::Closed);
        }
        let result = self.serve_inner(app, base, date).await;
        match &result {
            Ok(Served::Request(_)) if !self.session.is_closed() => {}
            Err(ConnError::Timeout { partial: false }) => {}
            _ => self.closed = true,
        }
        result
    }

    /// Serve requests until the connection ends; returns how many were answered.
    pub async fn serve<A: Application>(
        &mut self,
        app: &A,
        base: &Environ<'_>,
        date: Option<HttpDate>,
    ) -> Result<u32, ConnError> {
        let mut answered = 0u32;
        while !self.closed {
            match self.serve_one(app, base, date).await? {
                Served::Request(_) => answered = answered.saturating_add(1),
                Served::Rejected { .. } | Served::Closed => break,
            }
        }
        Ok(answered)
    }

    async fn serve_inner<A: Application>(
        &mut self,
        app: &A,
        base: &Environ<'_>,
        date: Option<HttpDate>,
    ) -> Result<Served, ConnError> {
        // Each turn either answers, or reads at least one byte, or records the end of the
        // stream (after which the session answers, refuses or closes): it ends.
        loop {
            let mut staged = Staged {
                buf: self.tx,
                len: 0,
            };
            let step = self.session.process(app, base, date, &mut staged);
            let len = staged.len;
            self.send(len).await?;
            match step {
                Step::Answered(log) => return Ok(Served::Request(log)),
                Step::Rejected {
                    error,
                    request_line,
                } => {
                    return Ok(Served::Rejected {
                        error,
                        request_line,
                    })
                }
                Step::Close => return Ok(Served::Closed),
                Step::NeedInput => {}
            }
            let space = self.session.receive_buffer();
            if space.is_empty() {
                // The session refuses a full buffer itself; this is only a safety net.
                return Err(ConnError::Io(ErrorKind::OutOfMemory));
            }
            match self.io.read(space).await {
                Ok(0) => self.session.receive_eof(),
                Ok(n) => self.session.received(n),
                Err(e) => {
                    let kind = e.kind();
                    let partial = self.session.buffered() > 0;
                    return Err(match kind {
                        ErrorKind::TimedOut => ConnError::Timeout { partial },
                        _ => match classify(kind) {
                            crate::error::OutputError::Disconnected => ConnError::Disconnected,
                            _ => ConnError::Io(kind),
                        },
                    });
                }
            }
        }
    }

    /// Write the first `len` staged bytes and flush.
    async fn send(&mut self, len: usize) -> Result<(), ConnError> {
        if len == 0 {
            return Ok(());
        }
        let map = |e: T::Error| match classify(e.kind()) {
            crate::error::OutputError::Disconnected => ConnError::Disconnected,
            _ => ConnError::Io(e.kind()),
        };
        self.io.write_all(&self.tx[..len]).await.map_err(map)?;
        self.io.flush().await.map_err(map)
    }
}
