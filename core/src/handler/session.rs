//! [`Session`]: the sans-IO server connection — fed bytes, emitting bytes.
//!
//! Where [`Connection`](crate::handler::Connection) pulls from a blocking transport, a
//! `Session` is pushed: the runtime (an event loop, a C program, a fuzzer, an interrupt
//! handler) copies received bytes into [`Session::receive_buffer`], then calls
//! [`Session::process`], which answers every complete request buffered so far into an output
//! sink and tells what it needs next. It never blocks, owns no socket and no clock.
//!
//! A request is run once its head **and its whole body** are buffered, so the application's
//! `wsgi.input` never has to wait; the receive buffer therefore bounds the request size (a
//! larger one is refused with 413). `Expect: 100-continue` is answered as soon as its head is
//! complete.
//!
//! ```
//! use wsgiref_core::app::{app_fn, StartResponse};
//! use wsgiref_core::environ::EnvironBuf;
//! use wsgiref_core::handler::{MemoryBuf, ServerConfig, Session, Step};
//! use wsgiref_core::{AppError, Environ};
//!
//! let app = app_fn(|_env: &mut Environ<'_>, sr: &mut StartResponse<'_>| {
//!     sr.start("200 OK", &[("Content-Type", "text/plain")])?;
//!     Ok::<_, AppError>(&b"hi"[..])
//! });
//! let mut rx = [0u8; 1024];
//! let mut memory: MemoryBuf = MemoryBuf::new();
//! let mut session: Session<'_> = Session::new(&mut rx, memory.memory(), ServerConfig::default());
//! let mut base_buf = EnvironBuf::<64, 2>::new();
//! let base = base_buf.environ();
//!
//! // Bytes arrive in two pieces.
//! for piece in [&b"GET / HTTP/1.1\r\nHo"[..], b"st: x\r\n\r\n"] {
//!     let space = session.receive_buffer();
//!     space[..piece.len()].copy_from_slice(piece);
//!     session.received(piece.len());
//! }
//! let mut out = heapless::Vec::<u8, 512>::new();
//! let step = session.process(&app, &base, None, &mut out);
//! assert!(matches!(step, Step::Answered(_)));
//! assert!(out.ends_with(b"\r\n\r\nhi"));
//! assert!(matches!(session.process(&app, &base, None, &mut out), Step::NeedInput));
//! ```

use embedded_io::Write;

use crate::app::Application;
use crate::environ::Environ;
use crate::handler::connection::ServerConfig;
use crate::handler::exchange::{first_line, run_request, write_refusal, Buffered, Exchanged, Rx};
use crate::handler::log::{RequestLine, RequestLog};
use crate::handler::memory::Memory;
use crate::proto::{parse_head, BodyDecoder, Decoded, HttpDate, ProtocolError};

/// What [`Session::process`] did, and what the session needs next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// No complete request is buffered: feed more bytes.
    NeedInput,
    /// A request was answered into the sink. Call `process` again: another pipelined request
    /// may already be buffered.
    Answered(RequestLog),
    /// A request was refused (its error response is in the sink); the session is closed.
    Rejected {
        /// What was wrong, with the status sent.
        error: ProtocolError,
        /// As much of the request line as was received.
        request_line: RequestLine,
    },
    /// The session is over: close the transport once the sink's bytes are sent.
    Close,
}

/// A sans-IO HTTP/1.x server connection. See the [module docs](self).
pub struct Session<'s, const H: usize = 64> {
    rx: Rx<'s>,
    memory: Memory<'s>,
    config: ServerConfig,
    /// No more bytes will arrive.
    eof: bool,
    closed: bool,
    /// `100 Continue` already sent for the request at the front of the buffer.
    continued: bool,
}

impl<'s, const H: usize> Session<'s, H> {
    /// A session receiving into `rx` (which bounds a whole request: head and body) and using
    /// `memory` per request.
    pub fn new(rx: &'s mut [u8], memory: Memory<'s>, config: ServerConfig) -> Self {
        Session {
            rx: Rx::new(rx),
            memory,
            config,
            eof: false,
            closed: false,
            continued: false,
        }
    }

    /// Where to put received bytes; then call [`received`](Self::received). Empty when the
    /// buffer is full (a complete request would have been answered by `process`).
    pub fn receive_buffer(&mut self) -> &mut [u8] {
        self.rx.space()
    }

    /// Record that `n` bytes were written into [`receive_buffer`](Self::receive_buffer).
    pub fn received(&mut self, n: usize) {
        self.rx.commit(n);
    }

    /// Copy `bytes` in as received; returns how many fitted.
    pub fn feed(&mut self, bytes: &[u8]) -> usize {
        let space = self.rx.space();
        let n = space.len().min(bytes.len());
        space[..n].copy_from_slice(&bytes[..n]);
        self.rx.commit(n);
        n
    }

    /// The peer finished sending (end of stream).
    pub fn receive_eof(&mut self) {
        self.eof = true;
    }

    /// True once the session is over.
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// Bytes received but not yet consumed by a request.
    pub fn buffered(&self) -> usize {
        self.rx.end - self.rx.start
    }

    /// Answer the next complete request buffered, writing the response into `sink`.
    ///
    /// Call it after feeding bytes, and again after every [`Step::Answered`].
    pub fn process<A: Application, W: Write>(
        &mut self,
        app: &A,
        base: &Environ<'_>,
        date: Option<HttpDate>,
        mut sink: W,
    ) -> Step {
        if self.closed {
            return Step::Close;
        }
        let limits = self.config.limits;
        let pending = self.rx.pending();
        let full = self.rx.start == 0 && self.rx.end == self.rx.buf.len();
        let readiness = {
            let mut header_buf = [httparse::EMPTY_HEADER; H];
            match parse_head(pending, &mut header_buf, &limits) {
                Err(error) => Err(error),
                Ok(None) => Ok(None),
                Ok(Some(head)) => {
                    let body = &pending[head.head_len..];
                    Ok(Some((
                        body_complete(head.framing, &limits, body),
                        head.expect_continue,
                    )))
                }
            }
        };
        match readiness {
            Err(error) => return self.refuse(error, date, sink),
            Ok(None) => {
                if pending.is_empty() && self.eof {
                    self.closed = true;
                    return Step::Close;
                }
                if self.eof || full {
                    let error = if self.eof {
                        ProtocolError {
                            status: 400,
                            reason: "Bad Request",
                            detail: "connection closed inside a request head",
                        }
                    } else {
                        ProtocolError {
                            status: 431,
                            reason: "Request Header Fields Too Large",
                            detail: "request head larger than the receive buffer",
                        }
                    };
                    return self.refuse(error, date, sink);
                }
                return Step::NeedInput;
            }
            Ok(Some((Err(error), _))) => return self.refuse(error, date, sink),
            Ok(Some((Ok(false), expect))) => {
                if self.eof {
                    let error = ProtocolError {
                        status: 400,
                        reason: "Bad Request",
                        detail: "connection closed inside a request body",
                    };
                    return self.refuse(error, date, sink);
                }
                if full {
                    let error = ProtocolError {
                        status: 413,
                        reason: "Content Too Large",
                        detail: "request larger than the session's receive buffer",
                    };
                    return self.refuse(error, date, sink);
                }
                if expect && !self.continued {
                    self.continued = true;
                    let _ = write_all(&mut sink, b"HTTP/1.1 100 Continue\r\n\r\n");
                }
                return Step::NeedInput;
            }
            Ok(Some((Ok(true), _))) => {}
        }
        self.continued = false;
        let exchanged = run_request::<A, Buffered, W, H>(
            app,
            base,
            date,
            &self.config,
            &mut self.memory,
            &mut self.rx,
            &Buffered,
            sink,
        );
        match exchanged {
            Exchanged::Answered { log, close } => {
                if close {
                    self.closed = true;
                }
                Step::Answered(log)
            }
            Exchanged::Refused {
                error,
                request_line,
            } => {
                self.closed = true;
                Step::Rejected {
                    error,
                    request_line,
                }
            }
        }
    }

    fn refuse<W: Write>(&mut self, error: ProtocolError, date: Option<HttpDate>, sink: W) -> Step {
        let request_line = RequestLine::new(first_line(self.rx.pending()));
        self.closed = true;
        let _ = write_refusal(sink, &error, date, self.config.handler.server_software);
        Step::Rejected {
            error,
            request_line,
        }
    }
}

/// Is the whole body in `bytes`? Runs a copy of the decoder over them (framing errors show
/// up here already, before the application runs).
fn body_complete(
    framing: crate::proto::Framing,
    limits: &crate::proto::Limits,
    mut bytes: &[u8],
) -> Result<bool, ProtocolError> {
    let mut decoder = BodyDecoder::new(framing, limits);
    loop {
        if decoder.is_done() {
            return Ok(true);
        }
        let (used, event) = decoder.decode(bytes)?;
        bytes = &bytes[used..];
        match event {
            Decoded::End => return Ok(true),
            Decoded::Data(_) => {}
            Decoded::NeedMore => {
                if used == 0 || bytes.is_empty() {
                    return Ok(false);
                }
            }
        }
    }
}

fn write_all<W: Write>(sink: &mut W, mut bytes: &[u8]) -> Result<(), W::Error> {
    while !bytes.is_empty() {
        match sink.write(bytes)? {
            0 => break,
            n => bytes = &bytes[n..],
        }
    }
    sink.flush()
}
