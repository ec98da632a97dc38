//! One HTTP request/response exchange, shared by the blocking [`Connection`] driver and the
//! sans-IO [`Session`]: the receive buffer, the request body reader, and the procedure that
//! turns a parsed head into an environ, runs the application and frames its response.
//!
//! [`Connection`]: crate::handler::Connection
//! [`Session`]: crate::handler::Session

use core::cell::{Cell, RefCell};

use embedded_io::{ErrorKind, Write};

use crate::app::{Application, SendFile};
use crate::environ::Environ;
use crate::handler::connection::ServerConfig;
use crate::handler::log::{RequestLine, RequestLog};
use crate::handler::memory::Memory;
use crate::handler::output::{classify, write_all, Output};
use crate::handler::response::{format_u64, Exchange, Response};
use crate::handler::run::run_app;
use crate::handler::simple::setup_wsgi;
use crate::headers::Headers;
use crate::proto::{
    fill_environ, parse_head, BodyDecoder, Decoded, Framing, HttpDate, Limits, ProtocolError,
};
use crate::relocate::relocate;
use crate::stream::{InputError, InputStream};

/// The receive buffer: `buf[start..end]` holds bytes received but not consumed yet.
pub(crate) struct Rx<'r> {
    pub(crate) buf: &'r mut [u8],
    pub(crate) start: usize,
    pub(crate) end: usize,
}

impl<'r> Rx<'r> {
    pub(crate) fn new(buf: &'r mut [u8]) -> Self {
        Rx {
            buf,
            start: 0,
            end: 0,
        }
    }

    pub(crate) fn pending(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    /// Free space at the end, after moving pending bytes to the front when that helps.
    pub(crate) fn space(&mut self) -> &mut [u8] {
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        } else if self.end == self.buf.len() && self.start > 0 {
            relocate(self.buf, self.start, 0, self.end - self.start);
            self.end -= self.start;
            self.start = 0;
        }
        &mut self.buf[self.end..]
    }

    /// Mark `n` bytes of [`space`](Self::space) as received.
    pub(crate) fn commit(&mut self, n: usize) {
        self.end = (self.end + n).min(self.buf.len());
    }
}

/// Where more request bytes come from while an application reads its body.
pub(crate) trait Refill {
    /// Receive more bytes into `rx`; `Ok(0)` at end of stream.
    fn refill(&self, rx: &mut Rx<'_>) -> Result<usize, ErrorKind>;
    /// Send an interim response (`100 Continue`) ahead of the real one.
    fn interim(&self, bytes: &[u8]) -> Result<(), ErrorKind>;
}

/// No source: the whole body is already buffered (the sans-IO session guarantees it).
pub(crate) struct Buffered;

impl Refill for Buffered {
    fn refill(&self, _: &mut Rx<'_>) -> Result<usize, ErrorKind> {
        Ok(0)
    }

    fn interim(&self, _: &[u8]) -> Result<(), ErrorKind> {
        Ok(())
    }
}

/// `wsgi.input` of a request: decodes the body framing as the application reads, asking the
/// [`Refill`] source for more bytes when the buffer runs dry.
pub(crate) struct BodyInput<'c, 'r, S: Refill> {
    source: &'c S,
    rx: RefCell<&'c mut Rx<'r>>,
    decoder: RefCell<BodyDecoder>,
    /// `Expect: 100-continue` not yet answered.
    expect: Cell<bool>,
    /// The response head has started to go out (then a 100 Continue is too late).
    head_started: &'c Cell<bool>,
}

impl<S: Refill> BodyInput<'_, '_, S> {
    pub(crate) fn is_done(&self) -> bool {
        self.decoder.borrow().is_done()
    }
}

fn input_error(kind: ErrorKind) -> InputError {
    match classify(kind) {
        crate::error::OutputError::Disconnected => InputError::Disconnected,
        _ => InputError::Io(kind),
    }
}

fn protocol_to_input(e: ProtocolError) -> InputError {
    if e.status == 413 {
        InputError::TooLarge
    } else {
        InputError::Malformed(e.detail)
    }
}

impl<S: Refill> InputStream for BodyInput<'_, '_, S> {
    fn read(&self, buf: &mut [u8]) -> Result<usize, InputError> {
        if buf.is_empty() {
            return Ok(0);
        }
        let busy = || InputError::Io(ErrorKind::Other);
        let mut rx = self.rx.try_borrow_mut().map_err(|_| busy())?;
        let mut decoder = self.decoder.try_borrow_mut().map_err(|_| busy())?;
        loop {
            if decoder.is_done() {
                return Ok(0);
            }
            // Offer the decoder at most `buf.len()` bytes so the data it returns fits `buf`.
            let window_end = rx.end.min(rx.start + buf.len());
            let (used, event) = decoder
                .decode(&rx.buf[rx.start..window_end])
                .map_err(protocol_to_input)?;
            match event {
                Decoded::Data(data) => {
                    let n = data.len();
                    buf[..n].copy_from_slice(data);
                    rx.start += used;
                    if n > 0 {
                        return Ok(n);
                    }
                }
                Decoded::End => {
                    rx.start += used;
                    return Ok(0);
                }
                Decoded::NeedMore => {
                    rx.start += used;
                    if used > 0 && rx.start < rx.end {
                        continue;
                    }
                    if self.expect.replace(false) && !self.head_started.get() {
                        self.source
                            .interim(b"HTTP/1.1 100 Continue\r\n\r\n")
                            .map_err(input_error)?;
                    }
                    match self.source.refill(&mut rx) {
                        Ok(0) => return Err(InputError::Disconnected),
                        Ok(_) => {}
                        Err(kind) => return Err(input_error(kind)),
                    }
                }
            }
        }
    }
}

/// What [`run_request`] produced.
pub(crate) enum Exchanged {
    /// The application answered (or its error page did).
    Answered {
        log: RequestLog,
        /// The connection must close after this response.
        close: bool,
    },
    /// The request was refused before the application ran.
    Refused {
        error: ProtocolError,
        request_line: RequestLine,
    },
    /// Not enough bytes yet; nothing was consumed. `head` is `Some` when the head is complete
    /// but (with `need_body`) the body is not.
    Incomplete { head: Option<HeadInfo> },
}

/// What a caller waiting for a body needs to know about the head.
#[derive(Clone, Copy, Debug)]
pub(crate) struct HeadInfo {
    /// The client waits for `100 Continue` before sending the body.
    pub(crate) expect_continue: bool,
    /// The declared Content-Length cannot fit the receive buffer, however long one waits.
    pub(crate) cannot_fit: bool,
}

/// Serve the request at the front of `rx`, if it is complete: build its environ over `base`,
/// run `app` with a body reader fed by `source`, write the response to `sink`, and leave `rx`
/// at the start of the next request (or report that the connection must close).
///
/// `sendfile` is the sink's way of sending file bodies, when it has one.
///
/// The head is parsed once, here. With `need_body` the request runs only when its whole body
/// is buffered too (the sans-IO session, which must never wait inside the application);
/// otherwise the body is read through `source` as the application asks for it.
#[allow(clippy::too_many_arguments)]
pub(crate) fn run_request<A: Application, S: Refill, W: Write, const H: usize>(
    app: &A,
    base: &Environ<'_>,
    date: Option<HttpDate>,
    config: &ServerConfig,
    memory: &mut Memory<'_>,
    rx: &mut Rx<'_>,
    source: &S,
    sink: W,
    need_body: bool,
    sendfile: Option<SendFile<W>>,
) -> Exchanged {
    let limits = config.limits;
    let mut header_buf = [httparse::EMPTY_HEADER; H];
    let pending = &rx.buf[rx.start..rx.end];
    let head = match parse_head(pending, &mut header_buf, &limits) {
        Ok(Some(head)) => head,
        Ok(None) => return Exchanged::Incomplete { head: None },
        Err(error) => {
            return Exchanged::Refused {
                error,
                request_line: RequestLine::new(first_line(pending)),
            }
        }
    };
    let framing = head.framing;
    let head_len = head.head_len;
    if need_body {
        match body_complete(framing, &limits, &pending[head_len..]) {
            Ok(true) => {}
            Ok(false) => {
                let cannot_fit = match framing {
                    Framing::Length(n) => (head_len as u64).saturating_add(n) > rx.buf.len() as u64,
                    _ => false,
                };
                return Exchanged::Incomplete {
                    head: Some(HeadInfo {
                        expect_continue: head.expect_continue,
                        cannot_fit,
                    }),
                };
            }
            Err(error) => {
                return Exchanged::Refused {
                    error,
                    request_line: RequestLine::new(first_line(pending)),
                }
            }
        }
    }
    let request_line = RequestLine::new(head.request_line);
    let head_request = head.method == b"HEAD";
    let exchange = Exchange {
        request_version: head.version,
        head_request,
        persistent: Some(head.keep_alive),
    };
    let expect = head.expect_continue && framing != Framing::None && !need_body;
    let mut environ = Environ::fixed(&mut *memory.environ_bytes, &mut *memory.environ_slots);
    // CPython copies the server's base environ first, then adds the request's variables
    // (its skip rule looks at what is already there).
    let built = environ
        .fill_from(base)
        .map_err(|_| environ_too_large())
        .and_then(|()| fill_environ(&head, &mut environ, config.underscore))
        .and_then(|()| setup_wsgi(&mut environ, &config.handler).map_err(|_| environ_too_large()));
    if let Err(error) = built {
        return Exchanged::Refused {
            error,
            request_line,
        };
    }
    rx.start += head_len;

    let head_started = Cell::new(false);
    let input = BodyInput {
        source,
        rx: RefCell::new(rx),
        decoder: RefCell::new(BodyDecoder::new(framing, &limits)),
        expect: Cell::new(expect),
        head_started: &head_started,
    };
    environ.set_input(&input);
    // The server's wsgi.errors (CPython's get_stderr) comes with its base environ.
    if let Some(errors) = base.errors_stream() {
        environ.set_errors(errors);
    }
    // The response lives in this block and is dropped in place at its end (before the body is
    // drained): `drop(response)` moved its ~360 bytes into `drop`'s argument first.
    let report = {
        let headers = Headers::fixed(&mut *memory.header_bytes, &mut *memory.header_slots);
        let out = Output::new(sink, &mut *memory.output);
        let mut response = Response::new(
            &config.handler,
            exchange,
            date,
            headers,
            out,
            Some(&head_started),
        );
        response.sendfile = sendfile;
        run_app(
            app,
            &mut environ,
            &mut response,
            &config.handler,
            head_request,
        )
    };
    let mut close = report.must_close;
    if !close && !input.is_done() {
        close = if input.expect.get() {
            // The client waits for a go-ahead we never gave: it will not send the body.
            true
        } else {
            !drain(&input, config.max_drain)
        };
    }
    Exchanged::Answered {
        log: RequestLog {
            request_line,
            status: report.status,
            bytes_sent: report.bytes_sent,
            outcome: report.outcome,
        },
        close,
    }
}

/// Is the whole body in `bytes`? Runs a fresh decoder over them; framing errors show up here
/// already, before the application runs.
fn body_complete(
    framing: Framing,
    limits: &Limits,
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

pub(crate) fn environ_too_large() -> ProtocolError {
    ProtocolError::header_fields_too_large("request variables do not fit the environ storage")
}

/// The first line of a (possibly partial) head, without its line end. Empty lines before the
/// request line (which the parser skips, RFC 9112 §2.2) are skipped here too, so that the log
/// shows the request line rather than an empty one.
pub(crate) fn first_line(bytes: &[u8]) -> &[u8] {
    let start = bytes
        .iter()
        .position(|&b| b != b'\r' && b != b'\n')
        .unwrap_or(bytes.len());
    let bytes = &bytes[start..];
    let end = bytes
        .iter()
        .position(|&b| b == b'\n')
        .unwrap_or(bytes.len());
    let line = &bytes[..end];
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// A fixed buffer that parts are appended to; what does not fit is dropped (a refusal's head
/// and body are far smaller than the buffer).
struct Staging<'b> {
    buf: &'b mut [u8],
    at: usize,
}

impl Staging<'_> {
    /// Out of line on purpose: inlined at each of a refusal's dozen parts it cost about
    /// 300 B of flash on a Cortex-M, for a path taken once per refused connection.
    #[inline(never)]
    fn put(&mut self, part: &[u8]) {
        let take = part.len().min(self.buf.len() - self.at);
        self.buf[self.at..self.at + take].copy_from_slice(&part[..take]);
        self.at += take;
    }

    fn filled(&self) -> &[u8] {
        &self.buf[..self.at]
    }
}

/// Read and drop the rest of a request body, up to `limit` bytes; true when it ended cleanly.
///
/// Out of line on purpose: its 512-byte scratch buffer would otherwise sit in the caller's
/// frame for the whole exchange, under the application's stack (measured: +412 B of stack
/// high-water on the Cortex-M firmware), although draining is the rare path.
#[inline(never)]
fn drain<S: Refill>(input: &BodyInput<'_, '_, S>, limit: u64) -> bool {
    let mut scratch = [0u8; 512];
    let mut total = 0u64;
    loop {
        match input.read(&mut scratch) {
            Ok(0) => return true,
            Ok(n) => {
                total += n as u64;
                if total > limit {
                    return false;
                }
            }
            Err(_) => return false,
        }
    }
}

/// Write the small, self-contained response that refuses a request (the connection closes
/// after it).
pub(crate) fn write_refusal<W: Write>(
    mut sink: W,
    error: &ProtocolError,
    date: Option<HttpDate>,
    server_software: Option<&str>,
) -> Result<(), ErrorKind> {
    let mut buf = [0u8; 512];
    let mut head = Staging {
        buf: &mut buf,
        at: 0,
    };
    let mut put = |part: &[u8]| head.put(part);
    let mut digits = [0u8; 20];
    put(b"HTTP/1.1 ");
    put(format_u64(u64::from(error.status), &mut digits));
    put(b" ");
    put(error.reason.as_bytes());
    put(b"\r\n");
    if let Some(date) = &date {
        put(b"Date: ");
        put(date.as_bytes());
        put(b"\r\n");
    }
    if let Some(software) = server_software {
        put(b"Server: ");
        put(software.as_bytes());
        put(b"\r\n");
    }
    put(b"Content-Type: text/plain\r\nConnection: close\r\nContent-Length: ");
    // The body: `<reason>: <detail>\n`, or `<reason>\n` without a detail (`terse-errors`).
    let separator: &[u8] = if error.detail.is_empty() { b"" } else { b": " };
    let body_len = error.reason.len() + separator.len() + error.detail.len() + 1;
    put(format_u64(body_len as u64, &mut digits));
    put(b"\r\n\r\n");
    put(error.reason.as_bytes());
    put(separator);
    put(error.detail.as_bytes());
    put(b"\n");
    write_all(&mut sink, head.filled())?;
    sink.flush().map_err(|e| embedded_io::Error::kind(&e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_line_strips_line_ends() {
        assert_eq!(first_line(b"GET / HTTP/1.1\r\nHost: x"), b"GET / HTTP/1.1");
        assert_eq!(first_line(b"GET /\n"), b"GET /");
        assert_eq!(first_line(b"GE"), b"GE");
        // Leading empty lines (skipped by the parser) are not the request line.
        assert_eq!(
            first_line(b"\r\n\r\nGET /x HTTP/1.1\r\n"),
            b"GET /x HTTP/1.1"
        );
        assert_eq!(first_line(b"\n\r\n"), b"");
    }

    #[test]
    fn refusal_page_frames_reason_and_detail() {
        let mut out = heapless::Vec::<u8, 512>::new();
        let error = ProtocolError::bad_request("header line without a colon");
        write_refusal(&mut out, &error, None, Some("test/1")).unwrap();
        // With `terse-errors` the detail is empty and the body is the reason alone.
        let body = if error.detail.is_empty() {
            "Bad Request\n"
        } else {
            "Bad Request: header line without a colon\n"
        };
        let expected = std::format!(
            "HTTP/1.1 400 Bad Request\r\nServer: test/1\r\nContent-Type: text/plain\r\n\
             Connection: close\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        assert_eq!(core::str::from_utf8(&out).unwrap(), expected);
    }

    #[test]
    fn rx_compacts_before_running_out_of_space() {
        let mut buf = [0u8; 8];
        let mut rx = Rx::new(&mut buf);
        rx.space()[..8].copy_from_slice(b"abcdefgh");
        rx.commit(8);
        rx.start = 6;
        assert_eq!(rx.space().len(), 6);
        assert_eq!(rx.pending(), b"gh");
    }
}
