//! [`Connection`]: an HTTP/1.x server connection over any `embedded_io` transport.

use core::cell::RefCell;

use embedded_io::{Error as _, ErrorKind, ErrorType, Read, Write};

use crate::app::Application;
use crate::environ::Environ;
use crate::handler::config::HandlerConfig;
use crate::handler::exchange::{first_line, run_request, write_refusal, Exchanged, Refill, Rx};
use crate::handler::log::{RequestLine, RequestLog};
use crate::handler::memory::Memory;
use crate::handler::output::{classify, write_all};
use crate::proto::{HttpDate, Limits, ProtocolError, UnderscorePolicy};

/// Settings of an HTTP server connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServerConfig {
    /// Parsing limits (request line, headers, body), and whether `CONNECT` is handed to the
    /// application ([`Limits::allow_connect`]; by default it is refused with 501).
    pub limits: Limits,
    /// What to do with request header names containing `_`. (What to do with a `Proxy`
    /// header, the other field left out of the environ by default, is
    /// [`HandlerConfig::proxy_header`], as the CGI handlers need it too.)
    pub underscore: UnderscorePolicy,
    /// Response framing and error page settings.
    pub handler: HandlerConfig,
    /// Unread request body bytes the server reads and discards after the application returns,
    /// to keep the connection usable; a larger rest closes the connection instead.
    pub max_drain: u64,
    /// Whether a connection may stay open for another request (on by default). A server that
    /// is stopping turns it off: each connection's next response then says
    /// `Connection: close` and the connection closes after it, so a keep-alive client opens a
    /// new connection (to a server that is not stopping) instead of losing a request sent just
    /// as its idle connection was closed.
    pub keep_alive: bool,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            limits: Limits::default(),
            underscore: UnderscorePolicy::default(),
            handler: HandlerConfig::SERVER,
            max_drain: 64 * 1024,
            keep_alive: true,
        }
    }
}

/// What [`Connection::serve_one`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Served {
    /// A request was answered by the application (or by the error page).
    Request(RequestLog),
    /// A malformed or over-limit request was refused with the given status; the connection
    /// is now closed.
    Rejected {
        /// Why it was refused (and with which status).
        error: ProtocolError,
        /// As much of the request line as was received.
        request_line: RequestLine,
    },
    /// The client closed the connection cleanly between requests (or it was already closed).
    Closed,
}

/// Why a connection ended abnormally. The connection is closed afterwards.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ConnError {
    /// A read timed out (the transport's own timeout). `partial` is true when part of a
    /// request head had arrived (a 408 was sent then).
    Timeout {
        /// Part of a request had arrived.
        partial: bool,
    },
    /// The client vanished in the middle of a request head.
    Disconnected,
    /// The transport failed.
    Io(ErrorKind),
}

impl core::fmt::Display for ConnError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            ConnError::Timeout { partial: true } => f.write_str("timed out reading a request head"),
            ConnError::Timeout { partial: false } => f.write_str("idle connection timed out"),
            ConnError::Disconnected => f.write_str("client disconnected mid-request"),
            ConnError::Io(kind) => write!(f, "connection I/O error: {kind:?}"),
        }
    }
}

impl core::error::Error for ConnError {}

/// The transport, shared between the body reader and the response writer (both are used
/// while the application runs; neither holds the borrow across calls).
struct Shared<T>(RefCell<T>);

/// `embedded_io::Write` onto the shared transport.
struct SharedWriter<'c, T>(&'c Shared<T>);

impl<T: ErrorType> ErrorType for SharedWriter<'_, T> {
    type Error = ErrorKind;
}

impl<T: Write> Write for SharedWriter<'_, T> {
    fn write(&mut self, buf: &[u8]) -> Result<usize, ErrorKind> {
        let mut io = self.0 .0.try_borrow_mut().map_err(|_| ErrorKind::Other)?;
        io.write(buf).map_err(|e| e.kind())
    }

    fn flush(&mut self) -> Result<(), ErrorKind> {
        let mut io = self.0 .0.try_borrow_mut().map_err(|_| ErrorKind::Other)?;
        io.flush().map_err(|e| e.kind())
    }
}

impl<T: Read + Write> Refill for Shared<T> {
    fn refill(&self, rx: &mut Rx<'_>) -> Result<usize, ErrorKind> {
        let space = rx.space();
        if space.is_empty() {
            return Err(ErrorKind::OutOfMemory);
        }
        let mut io = self.0.try_borrow_mut().map_err(|_| ErrorKind::Other)?;
        loop {
            match io.read(space) {
                Ok(n) => {
                    rx.commit(n);
                    return Ok(n);
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => return Err(e.kind()),
            }
        }
    }

    fn interim(&self, bytes: &[u8]) -> Result<(), ErrorKind> {
        let mut w = SharedWriter(self);
        write_all(&mut w, bytes)?;
        w.flush()
    }
}

/// [`Connection`]: an HTTP/1.x server connection over any `embedded_io` transport.
///
/// This is the loop CPython's `WSGIRequestHandler` runs once per connection, extended to
/// HTTP/1.1: read a request head into a caller-owned buffer, parse it with the sans-IO
/// [`proto`](crate::proto) machine, build the environ by `simple_server`'s rules, run the
/// application, frame the response, then go on with the next (possibly already pipelined)
/// request while the connection stays persistent.
///
/// It blocks on the transport. Time is the caller's business: a server sets read timeouts on
/// its sockets (a timed-out read surfaces as [`ConnError::Timeout`]) and passes the current
/// [`HttpDate`] in.
///
/// ```
/// use wsgiref_core::app::{app_fn, StartResponse};
/// use wsgiref_core::environ::EnvironBuf;
/// use wsgiref_core::handler::{Connection, MemoryBuf, ServerConfig, Served};
/// use wsgiref_core::{AppError, Environ};
///
/// // An in-memory transport: requests in, responses out.
/// struct Pipe<'a> { input: &'a [u8], output: heapless::Vec<u8, 1024> }
/// impl embedded_io::ErrorType for Pipe<'_> { type Error = embedded_io::ErrorKind; }
/// impl embedded_io::Read for Pipe<'_> {
///     fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
///         let n = buf.len().min(self.input.len());
///         buf[..n].copy_from_slice(&self.input[..n]);
///         self.input = &self.input[n..];
///         Ok(n)
///     }
/// }
/// impl embedded_io::Write for Pipe<'_> {
///     fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
///         self.output.extend_from_slice(buf).map_err(|_| embedded_io::ErrorKind::OutOfMemory)?;
///         Ok(buf.len())
///     }
///     fn flush(&mut self) -> Result<(), Self::Error> { Ok(()) }
/// }
///
/// let app = app_fn(|_env: &mut Environ<'_>, sr: &mut StartResponse<'_>| {
///     sr.start("200 OK", &[("Content-Type", "text/plain")])?;
///     Ok::<_, AppError>(&b"hi"[..])
/// });
/// let pipe = Pipe { input: b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", output: heapless::Vec::new() };
/// let mut rx = [0u8; 1024];
/// let mut memory: MemoryBuf = MemoryBuf::new();
/// let mut conn: Connection<'_, _> =
///     Connection::new(pipe, &mut rx, memory.memory(), ServerConfig::default());
/// let base = EnvironBuf::<64, 2>::new();
/// let mut base = base;
/// let base = base.environ();
/// assert!(matches!(conn.serve_one(&app, &base, None), Ok(Served::Request(_))));
/// assert!(matches!(conn.serve_one(&app, &base, None), Ok(Served::Closed)));
/// let out = conn.into_inner().output;
/// assert!(out.starts_with(b"HTTP/1.1 200 OK\r\n"));
/// assert!(out.ends_with(b"Content-Length: 2\r\n\r\nhi"));
/// ```
///
/// `H` is the most request headers parsed (more is a 431); each costs 32 bytes of stack while
/// a head is parsed.
pub struct Connection<'s, T: Read + Write, const H: usize = 64> {
    io: Shared<T>,
    rx: Rx<'s>,
    memory: Memory<'s>,
    config: ServerConfig,
    closed: bool,
}

impl<'s, T: Read + Write, const H: usize> Connection<'s, T, H> {
    /// A connection over `io`, receiving into `rx` (which bounds the request head: a head
    /// larger than `rx` is refused with 431) and using `memory` for each request.
    pub fn new(io: T, rx: &'s mut [u8], memory: Memory<'s>, config: ServerConfig) -> Self {
        Connection {
            io: Shared(RefCell::new(io)),
            rx: Rx::new(rx),
            memory,
            config,
            closed: false,
        }
    }

    /// True once the connection cannot serve another request.
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// True when bytes of a next (pipelined) request are already buffered.
    pub fn has_buffered_input(&self) -> bool {
        self.rx.start < self.rx.end
    }

    /// The bytes received but not consumed by a request yet (the start of a pipelined next
    /// request), so a server that served one request here can carry them elsewhere, for
    /// example back to an event loop.
    pub fn buffered_input(&self) -> &[u8] {
        &self.rx.buf[self.rx.start..self.rx.end]
    }

    /// The settings.
    pub fn config(&self) -> &ServerConfig {
        &self.config
    }

    /// Give the transport back.
    pub fn into_inner(self) -> T {
        self.io.0.into_inner()
    }

    /// Mutable access to the transport between requests (to change timeouts, say).
    pub fn transport_mut(&mut self) -> &mut T {
        self.io.0.get_mut()
    }

    /// Serve one request: read its head (blocking), run `app`, send the response.
    ///
    /// Errors close the connection, except an idle timeout
    /// (`ConnError::Timeout { partial: false }`: not one byte of a new request arrived), after
    /// which the connection can be used again; a server polling many idle connections uses
    /// that to return to its event loop.
    ///
    /// `base` holds the server's variables (SERVER_NAME, SERVER_PORT, REMOTE_ADDR,
    /// SCRIPT_NAME...), laid under the request's own. `date` is sent as the `Date` header.
    pub fn serve_one<A: Application>(
        &mut self,
        app: &A,
        base: &Environ<'_>,
        date: Option<HttpDate>,
    ) -> Result<Served, ConnError> {
        if self.closed {
            return Ok(Served::Closed);
        }
        let result = self.serve_inner(app, base, date);
        match result {
            Ok(Served::Request(_)) => {}
            // No byte of a new request arrived before the transport's timeout: the connection
            // is still usable, and the caller decides whether to wait again or close it.
            Err(ConnError::Timeout { partial: false }) => {}
            _ => self.closed = true,
        }
        result
    }

    fn serve_inner<A: Application>(
        &mut self,
        app: &A,
        base: &Environ<'_>,
        date: Option<HttpDate>,
    ) -> Result<Served, ConnError> {
        // Try the bytes already buffered (a pipelined request, or a head that arrived in one
        // read) first; read more only while the head is incomplete. The head is parsed once per
        // attempt, and the attempt that finds it complete serves it.
        let mut line = RequestLine::default();
        loop {
            let exchanged = run_request::<A, Shared<T>, SharedWriter<'_, T>, H, false>(
                app,
                base,
                date,
                &self.config,
                &mut self.memory,
                &mut self.rx,
                &self.io,
                SharedWriter(&self.io),
                None,
                &mut line,
            );
            match exchanged {
                Exchanged::Answered { report, close, .. } => {
                    if close {
                        self.closed = true;
                    }
                    // The body was received over the head: the line was copied to `line`.
                    return Ok(Served::Request(report.log(line)));
                }
                Exchanged::Refused { error } => return Ok(self.refuse(error, date)),
                Exchanged::Incomplete { .. } => {}
            }
            match self.io.refill(&mut self.rx) {
                Ok(0) if self.rx.start == self.rx.end => return Ok(Served::Closed),
                Ok(0) => return Err(ConnError::Disconnected),
                Ok(_) => {}
                Err(ErrorKind::OutOfMemory) => {
                    let error = ProtocolError::header_fields_too_large(
                        "request head larger than the receive buffer",
                    );
                    return Ok(self.refuse(error, date));
                }
                Err(ErrorKind::TimedOut) => {
                    let partial = self.rx.start < self.rx.end;
                    if partial {
                        let error = ProtocolError::new(408, "request head not received in time");
                        self.refuse(error, date);
                    }
                    return Err(ConnError::Timeout { partial });
                }
                Err(kind) => {
                    return Err(match classify(kind) {
                        crate::error::OutputError::Disconnected => ConnError::Disconnected,
                        _ => ConnError::Io(kind),
                    })
                }
            }
        }
    }

    /// Answer a refused request and close.
    /// Nothing of the request was consumed: its line is the first of the pending bytes.
    fn refuse(&mut self, error: ProtocolError, date: Option<HttpDate>) -> Served {
        let request_line = RequestLine::new(first_line(self.rx.pending()));
        self.closed = true;
        let _ = write_refusal(
            SharedWriter(&self.io),
            self.memory.output,
            &error,
            date,
            &self.config.handler,
        );
        Served::Rejected {
            error,
            request_line,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_config_is_http11_with_a_drain_limit() {
        let config = ServerConfig::default();
        assert_eq!(config.handler.http_version, crate::proto::Version::Http11);
        assert!(config.max_drain > 0);
    }

    /// Requests in (then end of stream), responses out.
    struct Pipe<'a> {
        input: &'a [u8],
        output: std::vec::Vec<u8>,
    }

    impl ErrorType for Pipe<'_> {
        type Error = ErrorKind;
    }

    impl Read for Pipe<'_> {
        fn read(&mut self, buf: &mut [u8]) -> Result<usize, ErrorKind> {
            let n = buf.len().min(self.input.len());
            buf[..n].copy_from_slice(&self.input[..n]);
            self.input = &self.input[n..];
            Ok(n)
        }
    }

    impl Write for Pipe<'_> {
        fn write(&mut self, buf: &[u8]) -> Result<usize, ErrorKind> {
            self.output.extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> Result<(), ErrorKind> {
            Ok(())
        }
    }

    /// Serve `input` with an application that never reads the request body; every response.
    fn serve_unread(input: &[u8], config: ServerConfig) -> std::string::String {
        let app = crate::app::app_fn(
            |_: &mut Environ<'_>, start: &mut crate::app::StartResponse<'_>| {
                start.start("200 OK", &[("Content-Type", "text/plain")])?;
                Ok::<_, crate::AppError>(&b"hi"[..])
            },
        );
        let mut rx = [0u8; 1024];
        let mut memory: crate::handler::MemoryBuf = crate::handler::MemoryBuf::new();
        let pipe = Pipe {
            input,
            output: std::vec::Vec::new(),
        };
        let mut conn: Connection<'_, _> = Connection::new(pipe, &mut rx, memory.memory(), config);
        let mut base = crate::environ::EnvironBuf::<64, 2>::new();
        let base = base.environ();
        while let Ok(Served::Request(_)) = conn.serve_one(&app, &base, None) {}
        std::string::String::from_utf8(conn.into_inner().output).unwrap()
    }

    const NEXT: &str = "GET /next HTTP/1.1\r\nHost: x\r\n\r\n";

    /// A body the connection will not read to its end closes it, and the head says so (it is
    /// known when the head is written); a body it can drain keeps it open.
    #[test]
    fn a_body_left_unread_is_announced_with_connection_close() {
        let config = ServerConfig::default();
        let closed = [
            // A client waiting for `100 Continue`, which will not come now.
            (
                "POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n",
                config,
            ),
            // A chunked body being received (its end not read: its size is unknown).
            (
                "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n",
                config,
            ),
            (
                "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
                config,
            ),
            // More left than the drain limit.
            (
                "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n0123456789",
                ServerConfig {
                    max_drain: 4,
                    ..config
                },
            ),
        ];
        for (request, config) in closed {
            let input = std::format!("{request}{NEXT}");
            let out = serve_unread(input.as_bytes(), config);
            assert_eq!(out.matches("HTTP/1.1 ").count(), 1, "{request:?}: {out}");
            assert!(out.starts_with("HTTP/1.1 200 OK\r\n"), "{request:?}: {out}");
            assert!(
                out.contains("\r\nConnection: close\r\n"),
                "{request:?}: {out}"
            );
        }
        let kept = ["POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n0123456789"];
        for request in kept {
            let input = std::format!("{request}{NEXT}");
            let out = serve_unread(input.as_bytes(), config);
            assert_eq!(
                out.matches("HTTP/1.1 200 OK").count(),
                2,
                "{request:?}: {out}"
            );
            assert!(!out.contains("Connection: close"), "{request:?}: {out}");
        }
    }
}
