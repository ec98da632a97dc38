//! One HTTP request/response exchange, shared by the blocking [`Connection`] driver and the
//! sans-IO [`Session`]: the receive buffer, the request body reader, and the procedure that
//! turns a parsed head into an environ, runs the application and frames its response.
//!
//! [`Connection`]: crate::handler::Connection
//! [`Session`]: crate::handler::Session

use core::cell::{Cell, RefCell};
use core::ops::Range;

use embedded_io::{ErrorKind, Write};

use crate::app::{Application, Respond, SendFile};
use crate::environ::{Deferred, Environ, WsgiVars, HTTPS};
use crate::error::AppError;
use crate::handler::config::HandlerConfig;
use crate::handler::connection::ServerConfig;
use crate::handler::log::{RequestLine, RequestLog};
use crate::handler::memory::Memory;
use crate::handler::output::{classify, Output};
use crate::handler::response::{Exchange, RequestBody, Response};
use crate::handler::run::{run_app, RunReport};
use crate::proto::environ::ENVIRON_FULL;
use crate::proto::view::RequestView;
use crate::proto::{
    environ::HeaderPolicy, parse_head, BodyDecoder, Decoded, Framing, HttpDate, Limits,
    ProtocolError, Version,
};
use crate::relocate::relocate;
use crate::storage::Table;
use crate::stream::{InputError, InputStream};
use crate::util::scheme_for_https;

/// Header slots tried first (see `run_request`): more than the 10 to 20 fields a browser
/// sends.
#[cfg(not(target_os = "none"))]
const SMALL_HEADERS: usize = 24;

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

    /// Copy as much of `bytes` as fits in as received; returns how many fitted. Both sessions'
    /// `feed` (HTTP/1 and the gateway protocols).
    pub(crate) fn copy_in(&mut self, bytes: &[u8]) -> usize {
        let space = self.space();
        let n = space.len().min(bytes.len());
        space[..n].copy_from_slice(&bytes[..n]);
        self.commit(n);
        n
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

/// Where the bytes of a request body are.
pub(crate) enum Window<'c, 'r> {
    /// All received already, behind the head: only read (the head beside them stays
    /// borrowed by the deferred environ). `used` bytes are consumed.
    Buffered { bytes: &'c [u8], used: usize },
    /// In the receive buffer (the environ was written out, so the head's bytes are free),
    /// refilled from the source.
    Streamed(&'c mut Rx<'r>),
}

impl Window<'_, '_> {
    fn pending(&self) -> &[u8] {
        match self {
            Window::Buffered { bytes, used } => &bytes[*used..],
            Window::Streamed(rx) => rx.pending(),
        }
    }

    fn consume(&mut self, n: usize) {
        match self {
            Window::Buffered { used, .. } => *used += n,
            Window::Streamed(rx) => rx.start += n,
        }
    }
}

/// `wsgi.input` of a request: decodes the body framing as the application reads, asking the
/// [`Refill`] source for more bytes when a streamed body's buffer runs dry.
///
/// One type for both windows (rather than one per window) so that firmware links one `read`
/// and one set of `InputStream` default methods.
pub(crate) struct BodyInput<'c, 'r, S: Refill> {
    source: &'c S,
    window: RefCell<Window<'c, 'r>>,
    decoder: RefCell<BodyDecoder>,
    /// `Expect: 100-continue` not yet answered.
    expect: Cell<bool>,
    /// The response head has started to go out (then a 100 Continue is too late).
    head_started: Cell<bool>,
    /// Unread body bytes the server would drain after the response
    /// ([`ServerConfig::max_drain`]).
    max_drain: u64,
}

impl<'c, 'r, S: Refill> BodyInput<'c, 'r, S> {
    pub(crate) fn new(
        source: &'c S,
        window: Window<'c, 'r>,
        decoder: BodyDecoder,
        expect: bool,
        max_drain: u64,
    ) -> Self {
        BodyInput {
            source,
            window: RefCell::new(window),
            decoder: RefCell::new(decoder),
            expect: Cell::new(expect),
            head_started: Cell::new(false),
            max_drain,
        }
    }

    pub(crate) fn is_done(&self) -> bool {
        self.decoder.borrow().is_done()
    }

    /// Bytes of a buffered body consumed so far (framing included); 0 for a streamed one,
    /// whose buffer keeps its own place.
    fn consumed(&self) -> usize {
        match &*self.window.borrow() {
            Window::Buffered { used, .. } => *used,
            Window::Streamed(_) => 0,
        }
    }
}

/// What becomes of the body once the response head is out, decided from what is known then:
///
/// * all read: nothing;
/// * a client still waiting for `100 Continue` (the application read nothing): it will not
///   send the body, which the server will not wait for: the connection closes;
/// * a `Content-Length` with more left than `max_drain`: the drain after the response would
///   give up: the connection closes;
/// * a chunked body being received (the blocking `Connection`): its size is unknown until
///   its end, so the connection closes (as h11 does when a response is done before its
///   request); the checks for its end that would be needed to drain a small one cost 250 B
///   of flash on the Cortex-M firmware. A chunked body that was buffered whole (the sans-IO
///   `Session`) is drained when its bytes are within `max_drain`.
///
/// A rest within `max_drain` that the client then fails to send (it stalls past the read
/// timeout, or vanishes) still ends the connection after a head that promised keep-alive:
/// that is the client's doing, and it is not waiting for an answer any more.
impl<S: Refill> RequestBody for BodyInput<'_, '_, S> {
    fn head_going_out(&self) -> bool {
        self.head_started.set(true);
        // Never borrowed here: the response is not written from inside a body read.
        let (Ok(decoder), Ok(window)) = (self.decoder.try_borrow(), self.window.try_borrow())
        else {
            return true;
        };
        if decoder.is_done() {
            return false;
        }
        if self.expect.get() {
            return true;
        }
        match decoder.remaining_hint() {
            Some(left) => left > self.max_drain,
            // Chunked: its size is unknown until its end. A buffered body is all here, and
            // holds no more data than bytes; a streamed one may go on for ever.
            None => match &*window {
                Window::Buffered { .. } => window.pending().len() as u64 > self.max_drain,
                Window::Streamed(_) => true,
            },
        }
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
        let mut window = self.window.try_borrow_mut().map_err(|_| busy())?;
        let mut decoder = self.decoder.try_borrow_mut().map_err(|_| busy())?;
        loop {
            if decoder.is_done() {
                return Ok(0);
            }
            // Offer the decoder at most `buf.len()` bytes so the data it returns fits `buf`.
            let pending = window.pending();
            let (used, event) = decoder
                .decode(&pending[..pending.len().min(buf.len())])
                .map_err(protocol_to_input)?;
            match event {
                Decoded::Data(data) => {
                    let n = data.len();
                    buf[..n].copy_from_slice(data);
                    window.consume(used);
                    if n > 0 {
                        return Ok(n);
                    }
                }
                Decoded::End => {
                    window.consume(used);
                    return Ok(0);
                }
                Decoded::NeedMore => {
                    window.consume(used);
                    if used > 0 && !window.pending().is_empty() {
                        continue;
                    }
                    let Window::Streamed(rx) = &mut *window else {
                        // A buffered body was complete when the request started, so running
                        // out means the framing said more than arrived: as a vanished client.
                        return Err(InputError::Disconnected);
                    };
                    if self.expect.replace(false) && !self.head_started.get() {
                        self.source
                            .interim(b"HTTP/1.1 100 Continue\r\n\r\n")
                            .map_err(input_error)?;
                    }
                    match self.source.refill(rx) {
                        Ok(0) => return Err(InputError::Disconnected),
                        Ok(_) => {}
                        Err(kind) => return Err(input_error(kind)),
                    }
                }
            }
        }
    }
}

/// What [`run_request`] produced. Small on purpose (no request line inside): it is moved
/// out of `run_request` and matched by the driver on every request. A 200-byte log line
/// carried through those moves was 5% of a typical request's time in a profile (`memcpy`)
/// and 304 B of flash on a Cortex-M; the driver now copies the line once, where it needs it.
pub(crate) enum Exchanged {
    /// The application answered (or its error page did).
    Answered {
        report: RunReport,
        /// The connection must close after this response.
        close: bool,
        /// Where the request line is in the receive buffer, which still holds it when the
        /// request was served from the buffer (`BUFFERED`). A streamed request's buffer was
        /// reused for its body: its line was copied to `run_request`'s `line_out` instead.
        line: Range<usize>,
    },
    /// The request was refused before the application ran; nothing was consumed, so its
    /// request line is `first_line` of the receive buffer's pending bytes.
    Refused { error: ProtocolError },
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

/// Serve the request at the front of `rx`, if it is complete: set up its environ over `base`,
/// run `app` with a body reader fed by `source`, write the response to `sink`, and leave `rx`
/// at the start of the next request (or report that the connection must close).
///
/// `sendfile` is the sink's way of sending file bodies, when it has one. `line_out` receives
/// a copy of the request line of a streamed request (see [`Exchanged::Answered`]).
///
/// The head is parsed once, here. Two ways to serve it, chosen at compile time:
///
/// * `BUFFERED` (the sans-IO session, which must never wait inside the application): the
///   request runs only when its whole body is buffered too. The environ is *deferred* (see
///   `environ::vars`): its variables stay in the head, which stays put in `rx`, and the body
///   is decoded from the bytes behind it.
/// * otherwise (the blocking connection): the body is read through `source` as the
///   application asks, into the receive buffer the head occupied, so the environ is written
///   out first. This path keeps a blocking firmware small: a deferred environ here would
///   need a second way to receive a body behind a pinned head, and an application that reads
///   its environ would link both (measured: 3.5 KB more flash on the Cortex-M firmware).
#[allow(clippy::too_many_arguments)]
pub(crate) fn run_request<
    A: Application,
    S: Refill,
    W: Write,
    const H: usize,
    const BUFFERED: bool,
>(
    app: &A,
    base: &Environ<'_>,
    date: Option<HttpDate>,
    config: &ServerConfig,
    memory: &mut Memory<'_>,
    rx: &mut Rx<'_>,
    source: &S,
    sink: W,
    sendfile: Option<SendFile<W>>,
    line_out: &mut RequestLine,
) -> Exchanged {
    let limits = config.limits;
    #[cfg(target_os = "none")]
    let mut full = [httparse::EMPTY_HEADER; H];
    let pending = &rx.buf[rx.start..rx.end];
    // Most requests have a few header fields: parse into a small array first (filling all
    // `H` empty slots of the full one cost about 3 instructions per slot, 190 per request for
    // the default 64), and into the full array only when the small one ran out. Hosts only:
    // on a microcontroller `H` is small and the second path cost 120 B of flash.
    #[cfg(not(target_os = "none"))]
    let (mut small, mut full): (
        [httparse::Header<'_>; SMALL_HEADERS],
        [httparse::Header<'_>; H],
    );
    // The head, or the answer when there is none yet (or a refusal).
    macro_rules! head_or_return {
        ($parsed:expr) => {
            match $parsed {
                Ok(Some(head)) => head,
                Ok(None) => return Exchanged::Incomplete { head: None },
                Err(error) => return Exchanged::Refused { error },
            }
        };
    }
    #[cfg(not(target_os = "none"))]
    let head = head_or_return!(if H > SMALL_HEADERS {
        small = [httparse::EMPTY_HEADER; SMALL_HEADERS];
        match parse_head(pending, &mut small, &limits) {
            Err(e) if e.status == 431 && limits.max_headers > SMALL_HEADERS => {
                full = [httparse::EMPTY_HEADER; H];
                parse_head(pending, &mut full, &limits)
            }
            other => other,
        }
    } else {
        full = [httparse::EMPTY_HEADER; H];
        parse_head(pending, &mut full, &limits)
    });
    #[cfg(target_os = "none")]
    let head = head_or_return!(parse_head(pending, &mut full, &limits));
    let framing = head.framing;
    let head_len = head.head_len;
    if BUFFERED {
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
            Err(error) => return Exchanged::Refused { error },
        }
    }
    // Where the request line sits in the buffer (the parser skipped empty lines before it).
    let line_at = rx.start + (head.request_line.as_ptr() as usize - pending.as_ptr() as usize);
    let line = line_at..line_at + head.request_line.len();
    let exchange = Exchange {
        request_version: head.version,
        head_request: head.method == b"HEAD",
        persistent: Some(head.keep_alive && config.keep_alive),
    };
    // The base is always written out (built with `set`); `empty` only satisfies the type.
    let empty = Table::fixed(&mut [], &mut []);
    let base_table = base.ready_table().unwrap_or(&empty);
    let view = RequestView {
        head: &head,
        base: base_table,
        policy: HeaderPolicy {
            underscore: config.underscore,
            proxy: config.handler.proxy_header,
        },
        server_software: config.handler.default_server_software(),
    };
    let Memory {
        environ_bytes,
        environ_slots,
        output,
    } = memory;
    if BUFFERED {
        let body = BodyInput::new(
            source,
            Window::Buffered {
                bytes: &pending[head_len..],
                used: 0,
            },
            BodyDecoder::new(framing, &limits),
            false,
            config.max_drain,
        );
        // The environ (borrowing the head in `rx`) ends with this block.
        let report = {
            // The view is moved into the `Deferred` before anything borrows it, so that it is
            // built in place: checked first and moved after, it was stored field by field,
            // then reloaded whole, a store-forwarding stall worth 2% of a typical request's
            // time (`perf annotate`).
            let (bytes, slots) = (environ_bytes.len(), environ_slots.len());
            let mut deferred = Deferred::new(environ_bytes, environ_slots, view);
            if !deferred.source.fits(bytes, slots) {
                return Exchanged::Refused {
                    error: ENVIRON_FULL,
                };
            }
            let mut environ = Environ::deferred(&mut deferred);
            environ.wsgi = Some(wsgi_vars(base_table, &config.handler));
            environ.set_input(&body);
            // The server's wsgi.errors (CPython's get_stderr) comes with its base environ.
            if let Some(errors) = base.errors_stream() {
                environ.set_errors(errors);
            }
            respond(
                app,
                &mut environ,
                output,
                sink,
                sendfile,
                config,
                exchange,
                date,
                // A request without a body (most of them) has nothing to leave unread.
                if framing == Framing::None {
                    None
                } else {
                    Some(&body)
                },
            )
        };
        let mut close = report.must_close;
        if !close && !body.is_done() {
            close = !drain(&body, config.max_drain);
        }
        rx.start += head_len + body.consumed();
        return Exchanged::Answered {
            report,
            close,
            line,
        };
    }

    // The body is read into the buffer the head occupies: the environ is written out now,
    // in CPython's order (the base, the request's variables, SERVER_SOFTWARE).
    let mut environ = Environ::fixed(environ_bytes, environ_slots);
    if let Err(error) = view.fill(&mut environ) {
        return Exchanged::Refused { error };
    }
    // The body is about to be received over the head: keep the request line for the log.
    *line_out = RequestLine::new(head.request_line);
    environ.wsgi = Some(wsgi_vars(base_table, &config.handler));
    let expect = head.expect_continue && framing != Framing::None;
    rx.start += head_len;
    let input = BodyInput::new(
        source,
        Window::Streamed(rx),
        BodyDecoder::new(framing, &limits),
        expect,
        config.max_drain,
    );
    environ.set_input(&input);
    if let Some(errors) = base.errors_stream() {
        environ.set_errors(errors);
    }
    let report = respond(
        app,
        &mut environ,
        output,
        sink,
        sendfile,
        config,
        exchange,
        date,
        Some(&input),
    );
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
        report,
        close,
        line,
    }
}

/// Run the application over `environ` and frame its response into `sink`.
///
/// Inlined on purpose: out of line, its ~800-byte frame (the response and the error path)
/// sits under the request's own; in one frame the two share space (measured on the Cortex-M
/// firmware: 230 B less stack high-water).
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn respond<A: Application, W: Write>(
    app: &A,
    environ: &mut Environ<'_>,
    output: &mut [u8],
    sink: W,
    sendfile: Option<SendFile<W>>,
    config: &ServerConfig,
    exchange: Exchange,
    date: Option<HttpDate>,
    request_body: Option<&dyn RequestBody>,
) -> RunReport {
    let out = Output::new(sink, output);
    let mut response = Response::new(&config.handler, exchange, date, out, request_body);
    response.sendfile = sendfile;
    run_app(
        app,
        environ,
        &mut response,
        &config.handler,
        exchange.head_request,
    )
}

impl RunReport {
    /// The access-log record of this run of the request whose line is `request_line`.
    pub(crate) fn log(self, request_line: RequestLine) -> RequestLog {
        RequestLog {
            request_line,
            status: self.status,
            bytes_sent: self.bytes_sent,
            outcome: self.outcome,
        }
    }
}

/// The typed `wsgi.*` group of a server's request. The scheme is guessed from the base: the
/// request's own variables never include `HTTPS`.
fn wsgi_vars(base: &Table<'_>, config: &HandlerConfig) -> WsgiVars {
    config.wsgi_vars(scheme_for_https(HTTPS.value_in(base)))
}

/// Is the whole body in `bytes`? Runs a fresh decoder over them; framing errors show up here
/// already, before the application runs.
fn body_complete(
    framing: Framing,
    limits: &Limits,
    mut bytes: &[u8],
) -> Result<bool, ProtocolError> {
    if framing == Framing::None {
        // Most requests (a GET): no decoder to set up (50 instructions a request).
        return Ok(true);
    }
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

/// Read and drop the rest of a request body, up to `limit` bytes; true when it ended cleanly.
///
/// Out of line on purpose: its 512-byte scratch buffer would otherwise sit in the caller's
/// frame for the whole exchange, under the application's stack (measured: +412 B of stack
/// high-water on the Cortex-M firmware), although draining is the rare path.
#[inline(never)]
fn drain(input: &dyn InputStream, limit: u64) -> bool {
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

/// Write the response that refuses a request (the connection closes after it): the status
/// and reason, `text/plain`, and a body saying what was wrong (`<reason>: <detail>`, or
/// `<reason>` alone with `terse-errors`). It goes through the same [`Response`] as an
/// application's answer, so the framing rules (`Date`, `Server`, `Content-Length`,
/// `Connection: close`) are the ones of every other response; `output` stages it.
pub(crate) fn write_refusal<W: Write>(
    sink: W,
    output: &mut [u8],
    error: &ProtocolError,
    date: Option<HttpDate>,
    config: &HandlerConfig,
) -> Result<(), AppError> {
    let exchange = Exchange {
        // The request's own version is unknown or unusable: answer as HTTP/1.1 would be.
        request_version: Version::Http11,
        head_request: false,
        persistent: Some(false),
    };
    let mut response = Response::new(config, exchange, date, Output::new(sink, output), None);
    // `<code> <reason>`: a three-digit code, and every reason this crate refuses with is
    // shorter than 40 bytes.
    let mut status = heapless::String::<48>::new();
    let code = error.status;
    for digit in [code / 100 % 10, code / 10 % 10, code % 10] {
        let _ = status.push(char::from(b'0' + digit as u8));
    }
    let _ = status.push(' ');
    let _ = status.push_str(error.reason);
    response.start_response(&status, &[("Content-Type", "text/plain")], false)?;
    let separator: &[u8] = if error.detail.is_empty() { b"" } else { b": " };
    let parts = [
        error.reason.as_bytes(),
        separator,
        error.detail.as_bytes(),
        b"\n",
    ];
    response.length_hint = Some(parts.iter().map(|p| p.len() as u64).sum());
    for part in parts {
        response.body(part)?;
    }
    response.finish()
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
        let config = HandlerConfig {
            server_software: Some("test/1"),
            ..ServerConfig::default().handler
        };
        write_refusal(&mut out, &mut [0; 256], &error, None, &config).unwrap();
        // With `terse-errors` the detail is empty and the body is the reason alone.
        let body = if error.detail.is_empty() {
            "Bad Request\n"
        } else {
            "Bad Request: header line without a colon\n"
        };
        let expected = std::format!(
            "HTTP/1.1 400 Bad Request\r\nServer: test/1\r\nContent-Type: text/plain\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
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
