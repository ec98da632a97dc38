//! [`Session`]: one gateway connection (FastCGI, SCGI or uwsgi) that runs an application,
//! fed bytes and emitting bytes, beside the HTTP [`Session`](crate::handler::Session).
//!
//! See [`Session`] for the framing of each protocol and how the body is streamed.

use core::cell::{Cell, RefCell};

use embedded_io::{Error as _, ErrorType, Read, Write};

use crate::app::{Application, Empty, StartResponse};
use crate::environ::{Environ, Source};
use crate::error::AppError;
use crate::gateway::environ::{url_scheme, ParamsSource};
use crate::gateway::fastcgi::{self, Reply};
use crate::gateway::{scgi, uwsgi, Error, ErrorKind, Event, Limits, Params};
use crate::handler::config::HandlerConfig;
use crate::handler::exchange::Rx;
use crate::handler::output::{write_all, Output};
use crate::handler::response::{Exchange, Response};
use crate::handler::run::{run_app, RunReport};
use crate::handler::simple::request_version;
use crate::handler::Memory;
use crate::proto::{HttpDate, Version};
use crate::storage::Table;
use crate::stream::{InputError, InputStream};

/// Which gateway protocol a [`Session`] speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Protocol {
    /// FastCGI, the Responder role, one request at a time per connection.
    FastCgi,
    /// SCGI: one request per connection.
    Scgi,
    /// The uwsgi protocol (modifier1 0, WSGI requests): one request per connection.
    Uwsgi,
}

/// How a gateway [`Session`] decodes requests and frames responses.
///
/// ```
/// use wsgiref_core::gateway::{GatewayConfig, Protocol};
/// let config = GatewayConfig::new(Protocol::Uwsgi);
/// // uwsgi answers with an HTTP status line; FastCGI and SCGI with CGI's `Status:`.
/// assert!(config.handler.origin_server);
/// assert!(!GatewayConfig::new(Protocol::Scgi).handler.origin_server);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GatewayConfig {
    /// Response framing and the `wsgi.*` flags. [`GatewayConfig::new`] gives
    /// [`HandlerConfig::CGI`] for FastCGI and SCGI, and an HTTP/1.1 origin server with no
    /// `Server` header for uwsgi; all multithreaded, not multiprocess.
    pub handler: HandlerConfig,
    /// What the decoder accepts (params size, body size, ...).
    pub limits: Limits,
    /// FastCGI only: the answers to `FCGI_GET_VALUES`.
    pub fastcgi: fastcgi::Config,
}

impl GatewayConfig {
    /// The defaults for `protocol`.
    pub const fn new(protocol: Protocol) -> Self {
        let handler = match protocol {
            Protocol::FastCgi | Protocol::Scgi => HandlerConfig::CGI,
            Protocol::Uwsgi => HandlerConfig {
                origin_server: true,
                http_version: Version::Http11,
                server_software: None,
                ..HandlerConfig::CGI
            },
        };
        GatewayConfig {
            handler,
            limits: Limits::DEFAULT,
            fastcgi: fastcgi::Config::DEFAULT,
        }
    }
}

/// What [`Session::process`] did, and what the session needs next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// No complete params yet: feed more bytes, then call `process` again.
    NeedInput,
    /// A request was answered into the sink. Call `process` again (FastCGI with keep-conn:
    /// the next request may be buffered already; otherwise it says [`Step::Close`]).
    Answered(RunReport),
    /// The connection's input is malformed (or ended inside a request): log the error and
    /// close the connection. The session is closed.
    Failed(Error),
    /// The session is over: close the connection once the sink's bytes are sent.
    Close,
}

/// The decoder of each protocol, over the session's params buffer.
// Not boxed (there is no allocator): the FastCGI decoder's 256-byte `FCGI_GET_VALUES` buffer
// makes its variant the large one, and a session keeps one protocol for its whole life.
#[allow(clippy::large_enum_variant)]
enum Wire<'s> {
    FastCgi(fastcgi::Decoder<&'s mut [u8]>),
    Scgi(scgi::Decoder<&'s mut [u8]>),
    Uwsgi(uwsgi::Decoder<&'s mut [u8]>),
}

/// The events of all three decoders.
enum WireEvent<'i> {
    NeedMore,
    Params,
    Body(&'i [u8]),
    End,
    Abort,
    Reply(Reply),
}

impl<'i> From<Event<'i>> for WireEvent<'i> {
    fn from(event: Event<'i>) -> Self {
        match event {
            Event::NeedMore => WireEvent::NeedMore,
            Event::Params => WireEvent::Params,
            Event::Body(b) => WireEvent::Body(b),
            Event::End => WireEvent::End,
        }
    }
}

impl Wire<'_> {
    fn feed<'i>(&mut self, input: &'i [u8]) -> Result<(usize, WireEvent<'i>), Error> {
        Ok(match self {
            Wire::FastCgi(d) => {
                let (used, event) = d.feed(input)?;
                let event = match event {
                    fastcgi::Event::NeedMore => WireEvent::NeedMore,
                    fastcgi::Event::Params => WireEvent::Params,
                    fastcgi::Event::Body(b) => WireEvent::Body(b),
                    fastcgi::Event::End => WireEvent::End,
                    fastcgi::Event::Abort => WireEvent::Abort,
                    fastcgi::Event::Reply(r) => WireEvent::Reply(r),
                };
                (used, event)
            }
            Wire::Scgi(d) => {
                let (used, event) = d.feed(input)?;
                (used, event.into())
            }
            Wire::Uwsgi(d) => {
                let (used, event) = d.feed(input)?;
                (used, event.into())
            }
        })
    }

    fn params(&self) -> Option<Params<'_>> {
        match self {
            Wire::FastCgi(d) => d.params(),
            Wire::Scgi(d) => d.params(),
            Wire::Uwsgi(d) => d.params(),
        }
    }
}

/// A gateway connection that runs an [`Application`]: fed bytes, emitting bytes, with no
/// allocator.
///
/// The [gateway decoders](crate::gateway) turn the connection's bytes into params and body
/// events; a `Session` turns those into an application call with the same handler machinery
/// as every other driver (start_response's rules, the error page, `close()` exactly once,
/// HEAD) and frames the output for its protocol:
///
/// | protocol | response bytes | after the response |
/// |---|---|---|
/// | FastCGI (Responder) | CGI-style output (`Status: 200 OK`, headers, body) in `FCGI_STDOUT` records, an empty `FCGI_STDOUT`, `FCGI_END_REQUEST` | ready for the next request with `FCGI_KEEP_CONN`, else closed |
/// | SCGI | CGI-style output, raw | closed (its end is the response's end) |
/// | uwsgi | an HTTP status line response (`HTTP/1.1 200 OK`, headers, body), raw, as uWSGI sends and nginx's `uwsgi_pass` reads | closed |
///
/// The environ is the front end's CGI variables laid over the server's base environ, in
/// CPython's `BaseCGIHandler` order (`HTTP_PROXY` dropped by default, as the CGI handlers
/// drop it), with the `wsgi.*` group from [`GatewayConfig::handler`]; `wsgi.url_scheme` is
/// `https` when `HTTPS` is `on`/`yes`/`1` (CPython's `guess_scheme`) or `REQUEST_SCHEME` is
/// `https`.
///
/// # The body is streamed
///
/// The application runs as soon as the params are complete. Its `wsgi.input` decodes the
/// body from the bytes already fed and, when they run out, reads more from the `source`
/// given to [`Session::process`] (for the std listeners, the socket; for a test or a fuzzer,
/// a slice). No body is ever held whole: the receive buffer holds what one read brought. A
/// caller that cannot block feeds the whole request first and passes an empty source: a body
/// cut short then reads as a disconnect.
///
/// # Driving it
///
/// Bytes received go into [`receive_buffer`](Self::receive_buffer) (or through
/// [`feed`](Self::feed)); [`process`](Self::process) then answers the request once its
/// params are complete, reading the rest of its body from `source` as the application asks
/// for it. However the bytes are cut between feeds and reads, the output is the same (the
/// property tests in `tests/gateway_sessions.rs` check it).
///
/// ```
/// use wsgiref_core::app::{app_fn, StartResponse};
/// use wsgiref_core::environ::EnvironBuf;
/// use wsgiref_core::gateway::{GatewayConfig, Protocol, Session, Step};
/// use wsgiref_core::handler::MemoryBuf;
/// use wsgiref_core::{AppError, Environ};
///
/// let app = app_fn(|env: &mut Environ<'_>, sr: &mut StartResponse<'_>| {
///     let mut body = [0u8; 8];
///     let n = env.input().read(&mut body)?;
///     assert_eq!(&body[..n], b"hi");
///     sr.start("200 OK", &[("Content-Type", "text/plain")])?;
///     Ok::<_, AppError>(&b"hello"[..])
/// });
/// let (mut rx, mut params) = ([0u8; 1024], [0u8; 1024]);
/// let mut memory: MemoryBuf = MemoryBuf::new();
/// let mut session = Session::new(
///     Protocol::Scgi, &mut rx, &mut params, memory.memory(), GatewayConfig::new(Protocol::Scgi),
/// );
/// let mut base_buf = EnvironBuf::<64, 2>::new();
/// let base = base_buf.environ();
///
/// // The params arrive; the body is still on its way (here, in `source`).
/// session.feed(b"69:CONTENT_LENGTH\x002\x00SCGI\x001\x00REQUEST_METHOD\x00POST\x00SERVER_PROTOCOL\x00HTTP/1.1\x00,");
/// let mut out = heapless::Vec::<u8, 256>::new();
/// let source = &b"hi"[..];
/// let step = session.process(&app, &base, None, source, &mut out);
/// assert!(matches!(step, Step::Answered(_)));
/// assert_eq!(out, b"Status: 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello");
/// assert_eq!(session.process(&app, &base, None, &b""[..], &mut out), Step::Close);
/// ```
pub struct Session<'s> {
    wire: Wire<'s>,
    rx: Rx<'s>,
    memory: Memory<'s>,
    config: GatewayConfig,
    /// Bytes consumed by the decoder, for the place of a truncation.
    consumed: u64,
    /// Bytes of a request consumed since the last one ended (so an end of input here cuts
    /// a request short).
    started: bool,
    eof: bool,
    closed: bool,
}

impl<'s> Session<'s> {
    /// A session for `protocol`, receiving into `rx` (any size: the body is streamed, and the
    /// params are collected in `params`, which bounds them with
    /// [`Limits::max_params_bytes`]), using `memory` for the environ and the output.
    pub fn new(
        protocol: Protocol,
        rx: &'s mut [u8],
        params: &'s mut [u8],
        memory: Memory<'s>,
        config: GatewayConfig,
    ) -> Self {
        let wire = match protocol {
            Protocol::FastCgi => {
                Wire::FastCgi(fastcgi::Decoder::new(params, config.limits, config.fastcgi))
            }
            Protocol::Scgi => Wire::Scgi(scgi::Decoder::new(params, config.limits)),
            Protocol::Uwsgi => Wire::Uwsgi(uwsgi::Decoder::new(params, config.limits)),
        };
        Session {
            wire,
            rx: Rx::new(rx),
            memory,
            config,
            consumed: 0,
            started: false,
            eof: false,
            closed: false,
        }
    }

    /// Where to put received bytes; then call [`received`](Self::received).
    pub fn receive_buffer(&mut self) -> &mut [u8] {
        self.rx.space()
    }

    /// Record that `n` bytes were written into [`receive_buffer`](Self::receive_buffer).
    pub fn received(&mut self, n: usize) {
        self.rx.commit(n);
    }

    /// Copy `bytes` in as received; returns how many fitted (call
    /// [`process`](Self::process) to make room for the rest).
    pub fn feed(&mut self, bytes: &[u8]) -> usize {
        self.rx.copy_in(bytes)
    }

    /// The front end finished sending (end of stream): a request cut short is then
    /// [`ErrorKind::Truncated`], and an idle connection [`Step::Close`].
    pub fn receive_eof(&mut self) {
        self.eof = true;
    }

    /// True once the session is over.
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// Decode what was fed; once a request's params are complete, run `app` for it, reading
    /// the rest of its body from `source` as the application asks, and write the response
    /// (and any FastCGI management answer) to `sink`.
    ///
    /// `base` is the server's base environ: its variables lie under the front end's, and
    /// its `wsgi.errors` stream is the request's. `date` is for the `Date` header of a uwsgi
    /// response (an origin server's); FastCGI and SCGI responses carry none, as CGI's.
    pub fn process<A: Application, R: Read, W: Write>(
        &mut self,
        app: &A,
        base: &Environ<'_>,
        date: Option<HttpDate>,
        source: R,
        mut sink: W,
    ) -> Step {
        if self.closed {
            return Step::Close;
        }
        loop {
            let (used, event) = match self.wire.feed(self.rx.pending()) {
                Ok((used, event)) => (used, Owned::from(event)),
                Err(error) => return self.fail(error),
            };
            self.rx.start += used;
            self.consumed += used as u64;
            self.started = match &self.wire {
                // The rest of an answered request's body (skipped) and management records
                // are not a request: an end of input after them cuts nothing short.
                Wire::FastCgi(decoder) => !decoder.between_requests(),
                _ => self.started || used > 0,
            };
            match event {
                Owned::NeedMore => {
                    if !self.eof {
                        return Step::NeedInput;
                    }
                    if self.started {
                        return self.fail(Error::at(ErrorKind::Truncated, self.consumed));
                    }
                    self.closed = true;
                    return Step::Close;
                }
                Owned::Reply(reply) => {
                    if write_all(&mut sink, reply.as_bytes()).is_err() || sink.flush().is_err() {
                        self.closed = true;
                        return Step::Close;
                    }
                }
                Owned::Abort => {
                    // Aborted before its params were complete: nothing ran; just end it.
                    if let Wire::FastCgi(decoder) = &mut self.wire {
                        if let Some(end) = decoder.end_request(0) {
                            let sent = write_all(&mut sink, &end.record).is_ok();
                            self.started = false;
                            if !end.keep_conn || !sent {
                                self.closed = true;
                                return Step::Close;
                            }
                        }
                    }
                }
                Owned::Params => return self.answer(app, base, date, source, sink),
                // The decoders give params before any body: a body event here is the tail of
                // an SCGI or uwsgi request already answered, and those sessions are closed.
                Owned::Body | Owned::End => {
                    self.closed = true;
                    return Step::Close;
                }
            }
        }
    }

    fn fail(&mut self, error: Error) -> Step {
        self.closed = true;
        Step::Failed(error)
    }

    /// Run the request whose params just completed.
    fn answer<A: Application, R: Read, W: Write>(
        &mut self,
        app: &A,
        base: &Environ<'_>,
        date: Option<HttpDate>,
        source: R,
        mut sink: W,
    ) -> Step {
        let config = &self.config;
        let empty = Table::fixed(&mut [], &mut []);
        let base_table = base.ready_table().unwrap_or(&empty);
        let Memory {
            environ_bytes,
            environ_slots,
            output,
        } = &mut self.memory;
        let (fastcgi_id, protocol) = match &self.wire {
            Wire::FastCgi(d) => (d.request_id().unwrap_or(0), Protocol::FastCgi),
            Wire::Scgi(_) => (0, Protocol::Scgi),
            Wire::Uwsgi(_) => (0, Protocol::Uwsgi),
        };
        let room = (environ_bytes.len(), environ_slots.len());
        let mut environ = Environ::fixed(environ_bytes, environ_slots);
        // The params become the environ through the environ seam, written out now: the
        // decoder that holds them also decodes the body the application reads.
        let fits = match self.wire.params() {
            Some(params) => {
                let vars = ParamsSource {
                    params,
                    base: base_table,
                    proxy: config.handler.proxy_header,
                };
                let fits = vars.fits(room.0, room.1);
                if fits {
                    vars.fill(&mut environ);
                }
                fits
            }
            None => false,
        };
        environ.wsgi = Some(config.handler.wsgi_vars(url_scheme(&environ)));
        if let Some(errors) = base.errors_stream() {
            environ.set_errors(errors);
        }
        let exchange = Exchange {
            // A front end speaks for an HTTP/1.x client; an HTTP/0.9 one would get a bare
            // body, which no gateway protocol can carry.
            request_version: match request_version(&environ) {
                Version::Http09 => Version::Http10,
                v => v,
            },
            head_request: environ.get("REQUEST_METHOD") == Some(b"HEAD"),
            persistent: None,
        };
        let input = WireInput {
            state: RefCell::new(InputState {
                wire: &mut self.wire,
                rx: &mut self.rx,
                source,
            }),
            failed: Cell::new(None),
            aborted: Cell::new(false),
            reply: Cell::new(None),
            done: Cell::new(false),
            consumed: Cell::new(0),
        };
        environ.set_input(&input);
        let failure = (!fits).then_some(AppError::msg(
            "the request's params do not fit the environ memory",
        ));
        let report = match protocol {
            Protocol::FastCgi => {
                let records = StdoutRecords {
                    sink: &mut sink,
                    id: fastcgi_id,
                };
                run(
                    app,
                    &mut environ,
                    records,
                    output,
                    config,
                    exchange,
                    date,
                    failure,
                    // The session flushes once FCGI_END_REQUEST follows the body (below).
                    false,
                )
            }
            Protocol::Scgi | Protocol::Uwsgi => run(
                app,
                &mut environ,
                &mut sink,
                output,
                config,
                exchange,
                date,
                failure,
                true,
            ),
        };
        let failed = input.failed.get();
        let aborted = input.aborted.get();
        let reply = input.reply.get();
        self.consumed += input.consumed.get();
        self.started = false;
        if let Some(error) = failed {
            return self.fail(error);
        }
        let Wire::FastCgi(decoder) = &mut self.wire else {
            self.closed = true;
            return Step::Answered(report);
        };
        // FastCGI: end the request, then the connection unless keep-conn holds it open.
        let app_status = u32::from(report.outcome != crate::handler::Outcome::Complete);
        let mut sent = reply.is_none_or(|r| write_all(&mut sink, r.as_bytes()).is_ok());
        let end = decoder.end_request(app_status);
        if !aborted {
            sent &= write_all(
                &mut sink,
                &fastcgi::stream_end(fastcgi::Output::Stdout, fastcgi_id),
            )
            .is_ok();
        }
        if let Some(end) = end {
            sent &= write_all(&mut sink, &end.record).is_ok();
            sent &= sink.flush().is_ok();
            let broken = matches!(
                report.outcome,
                crate::handler::Outcome::Disconnected | crate::handler::Outcome::Failed
            );
            if !end.keep_conn || !sent || broken {
                self.closed = true;
            }
        } else {
            let _ = sink.flush();
            self.closed = true;
        }
        Step::Answered(report)
    }
}

/// Frame the response through `sink` and run the application (or, when the environ could not
/// be built, answer with the error page through the same path, which logs why).
#[allow(clippy::too_many_arguments)]
fn run<A: Application, W: Write>(
    app: &A,
    environ: &mut Environ<'_>,
    sink: W,
    output: &mut [u8],
    config: &GatewayConfig,
    exchange: Exchange,
    date: Option<HttpDate>,
    failure: Option<AppError>,
    flush_at_finish: bool,
) -> RunReport {
    let out = Output::new(sink, output);
    let mut response = Response::new(&config.handler, exchange, date, out, None);
    response.flush_at_finish = flush_at_finish;
    let head = exchange.head_request;
    match failure {
        None => run_app(app, environ, &mut response, &config.handler, head),
        Some(error) => {
            let cell = Cell::new(Some(error));
            let fail = |_: &mut Environ<'_>, _: &mut StartResponse<'_>| {
                Err::<Empty, AppError>(cell.take().unwrap_or(AppError::msg("environ setup failed")))
            };
            run_app(&fail, environ, &mut response, &config.handler, head)
        }
    }
}

/// A [`WireEvent`] without its borrow of the input (the body bytes are read elsewhere).
enum Owned {
    NeedMore,
    Params,
    Body,
    End,
    Abort,
    Reply(Reply),
}

impl From<WireEvent<'_>> for Owned {
    fn from(event: WireEvent<'_>) -> Self {
        match event {
            WireEvent::NeedMore => Owned::NeedMore,
            WireEvent::Params => Owned::Params,
            WireEvent::Body(_) => Owned::Body,
            WireEvent::End => Owned::End,
            WireEvent::Abort => Owned::Abort,
            WireEvent::Reply(r) => Owned::Reply(r),
        }
    }
}

/// What `wsgi.input` reads through: the decoder, the bytes fed, and the source of more.
struct InputState<'c, 's, R> {
    wire: &'c mut Wire<'s>,
    rx: &'c mut Rx<'s>,
    source: R,
}

/// `wsgi.input` of a gateway request: the decoder's body events, refilled from the source.
struct WireInput<'c, 's, R> {
    state: RefCell<InputState<'c, 's, R>>,
    /// The input turned out malformed: the connection must close after the response.
    failed: Cell<Option<Error>>,
    /// FastCGI: the front end aborted the request.
    aborted: Cell<bool>,
    /// FastCGI: a management record to answer once the response is out (the response's
    /// records must not be interleaved with it mid-record).
    reply: Cell<Option<Reply>>,
    /// The body is complete (or can no longer be read).
    done: Cell<bool>,
    consumed: Cell<u64>,
}

impl<R: Read> InputStream for WireInput<'_, '_, R> {
    fn read(&self, buf: &mut [u8]) -> Result<usize, InputError> {
        if buf.is_empty() || self.done.get() {
            return Ok(0);
        }
        let Ok(mut state) = self.state.try_borrow_mut() else {
            return Err(InputError::Io(embedded_io::ErrorKind::Other));
        };
        let InputState { wire, rx, source } = &mut *state;
        loop {
            let pending = rx.pending();
            // At most `buf.len()` bytes: the body bytes the decoder returns then fit `buf`.
            let offered = &pending[..pending.len().min(buf.len())];
            let (used, event) = match wire.feed(offered) {
                Ok(x) => x,
                Err(error) => {
                    self.failed.set(Some(error));
                    self.done.set(true);
                    return Err(InputError::Malformed(error.kind.detail()));
                }
            };
            let n = match event {
                WireEvent::Body(data) => {
                    buf[..data.len()].copy_from_slice(data);
                    Some(data.len())
                }
                _ => None,
            };
            let event = Owned::from(event);
            rx.start += used;
            self.consumed.set(self.consumed.get() + used as u64);
            match event {
                Owned::Body => return Ok(n.unwrap_or(0)),
                Owned::End => {
                    self.done.set(true);
                    return Ok(0);
                }
                Owned::Abort => {
                    self.aborted.set(true);
                    self.done.set(true);
                    return Err(InputError::Disconnected);
                }
                Owned::Reply(reply) => self.reply.set(Some(reply)),
                // Not while a body is read (FastCGI refuses a second request with a reply).
                Owned::Params => {}
                Owned::NeedMore => {
                    if used > 0 && !rx.pending().is_empty() {
                        continue;
                    }
                    let space = rx.space();
                    match source.read(space) {
                        Ok(0) => {
                            // Ended inside the body: the connection is cut.
                            self.failed
                                .set(Some(Error::at(ErrorKind::Truncated, self.consumed.get())));
                            self.done.set(true);
                            return Err(InputError::Disconnected);
                        }
                        Ok(got) => rx.commit(got),
                        Err(e) if e.kind() == embedded_io::ErrorKind::Interrupted => {}
                        Err(e) => {
                            self.done.set(true);
                            return Err(InputError::Io(e.kind()));
                        }
                    }
                }
            }
        }
    }
}

/// The FastCGI response sink: every write becomes `FCGI_STDOUT` records of the request.
struct StdoutRecords<W> {
    sink: W,
    id: u16,
}

impl<W: Write> ErrorType for StdoutRecords<W> {
    type Error = embedded_io::ErrorKind;
}

impl<W: Write> Write for StdoutRecords<W> {
    fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
        let data = &buf[..buf.len().min(fastcgi::MAX_CONTENT)];
        for frame in fastcgi::stream(fastcgi::Output::Stdout, self.id, data) {
            write_all(&mut self.sink, &frame.header)?;
            write_all(&mut self.sink, frame.content)?;
            write_all(&mut self.sink, frame.padding)?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> Result<(), Self::Error> {
        self.sink.flush().map_err(|e| e.kind())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::app_fn;
    use crate::environ::EnvironBuf;
    use crate::gateway::fastcgi::RecordHeader;
    use crate::handler::{MemoryBuf, Outcome};
    use std::vec::Vec;

    fn record(t: u8, id: u16, content: &[u8]) -> Vec<u8> {
        let header = RecordHeader {
            record_type: t,
            request_id: id,
            content_length: content.len() as u16,
            padding_length: 0,
        };
        [&header.encode()[..], content].concat()
    }

    fn pair(name: &str, value: &str) -> Vec<u8> {
        let mut out = std::vec![name.len() as u8, value.len() as u8];
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(value.as_bytes());
        out
    }

    /// A FastCGI request: BEGIN (keep-conn as asked), params, body in one STDIN, empty STDIN.
    fn fcgi_request(id: u16, keep: bool, params: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
        let mut wire = record(1, id, &[0, 1, u8::from(keep), 0, 0, 0, 0, 0]);
        let block: Vec<u8> = params.iter().flat_map(|(n, v)| pair(n, v)).collect();
        wire.extend(record(4, id, &block));
        wire.extend(record(4, id, b""));
        if !body.is_empty() {
            wire.extend(record(5, id, body));
        }
        wire.extend(record(5, id, b""));
        wire
    }

    /// The STDOUT content of `bytes` and the records that are not STDOUT (type, id, content).
    /// A record other than STDOUT: type, request id, content.
    type Record = (u8, u16, Vec<u8>);

    fn unframe(mut bytes: &[u8]) -> (Vec<u8>, Vec<Record>) {
        let (mut stdout, mut others) = (Vec::new(), Vec::new());
        while bytes.len() >= 8 {
            let h = RecordHeader::parse(bytes[..8].try_into().unwrap()).unwrap();
            let len = usize::from(h.content_length);
            let content = &bytes[8..8 + len];
            if h.record_type == 6 {
                stdout.extend_from_slice(content);
            } else {
                others.push((h.record_type, h.request_id, content.to_vec()));
            }
            bytes = &bytes[8 + len + usize::from(h.padding_length)..];
        }
        assert!(bytes.is_empty());
        (stdout, others)
    }

    /// Echo the method and body; fail on `PATH_INFO=/fail`.
    fn echo() -> impl Application {
        app_fn(|env: &mut Environ<'_>, sr: &mut StartResponse<'_>| {
            if env.get("PATH_INFO") == Some(b"/fail") {
                return Err(AppError::msg("boom"));
            }
            let mut body = [0u8; 64];
            let mut n = 0;
            loop {
                let got = env.input().read(&mut body[n..])?;
                if got == 0 {
                    break;
                }
                n += got;
            }
            let scheme = env.url_scheme().unwrap().as_str();
            sr.start(
                "200 OK",
                &[("Content-Type", "text/plain"), ("X-Scheme", scheme)],
            )?;
            let mut out = heapless::Vec::<u8, 96>::new();
            out.extend_from_slice(env.get("REQUEST_METHOD").unwrap_or(b"?"))
                .unwrap();
            out.extend_from_slice(b" ").unwrap();
            out.extend_from_slice(&body[..n]).unwrap();
            Ok::<_, AppError>(crate::app::Once::new(out))
        })
    }

    /// A growable sink (the core's `Vec` has no `embedded_io::Write` without `alloc`).
    struct Sink(Vec<u8>);

    impl ErrorType for Sink {
        type Error = core::convert::Infallible;
    }

    impl Write for Sink {
        fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
            self.0.extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> Result<(), Self::Error> {
            Ok(())
        }
    }

    struct Run {
        out: Vec<u8>,
        steps: Vec<Step>,
    }

    /// Feed `fed`, then process until the session needs input or closes, with `source` as the
    /// body's source.
    fn drive(protocol: Protocol, fed: &[u8], source: &[u8], eof: bool) -> Run {
        drive_with(&echo(), protocol, fed, source, eof)
    }

    fn drive_with(
        app: &impl Application,
        protocol: Protocol,
        fed: &[u8],
        source: &[u8],
        eof: bool,
    ) -> Run {
        let (mut rx, mut params) = ([0u8; 256], [0u8; 1024]);
        let mut memory: MemoryBuf = MemoryBuf::new();
        let mut session = Session::new(
            protocol,
            &mut rx,
            &mut params,
            memory.memory(),
            GatewayConfig::new(protocol),
        );
        let mut base_buf = EnvironBuf::<128, 4>::new();
        let mut base = base_buf.environ();
        base.set("SERVER_SOFTWARE", "base/1").unwrap();
        let mut out = Sink(Vec::new());
        let mut steps = Vec::new();
        let mut fed = fed;
        let mut source = source;
        loop {
            let n = session.feed(fed);
            fed = &fed[n..];
            if fed.is_empty() && eof {
                session.receive_eof();
            }
            let step = session.process(app, &base, None, &mut source, &mut out);
            steps.push(step);
            match step {
                Step::Answered(_) => {}
                Step::NeedInput if !fed.is_empty() => {}
                _ => break,
            }
        }
        Run { out: out.0, steps }
    }

    /// A sink that records where the transport was flushed.
    #[derive(Default)]
    struct Flushes {
        out: Vec<u8>,
        at: Vec<usize>,
    }

    impl ErrorType for Flushes {
        type Error = core::convert::Infallible;
    }

    impl Write for Flushes {
        fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
            self.out.extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> Result<(), Self::Error> {
            self.at.push(self.out.len());
            Ok(())
        }
    }

    #[test]
    fn fastcgi_flushes_a_known_length_body_together_with_its_end_request() {
        // nginx keeps a FastCGI connection only when FCGI_END_REQUEST arrives with the end of
        // a body whose length it knows; a flush between the two (a segment of its own) made it
        // drop kept connections.
        let (mut rx, mut params) = ([0u8; 256], [0u8; 1024]);
        let mut memory: MemoryBuf = MemoryBuf::new();
        let config = GatewayConfig::new(Protocol::FastCgi);
        let mut session = Session::new(
            Protocol::FastCgi,
            &mut rx,
            &mut params,
            memory.memory(),
            config,
        );
        let mut base_buf = EnvironBuf::<128, 4>::new();
        let base = base_buf.environ();
        let wire = fcgi_request(1, true, &[("REQUEST_METHOD", "GET")], b"");
        assert_eq!(session.feed(&wire), wire.len());
        let mut sink = Flushes::default();
        let step = session.process(&echo(), &base, None, &b""[..], &mut sink);
        assert!(matches!(step, Step::Answered(_)), "{step:?}");
        let (stdout, others) = unframe(&sink.out);
        assert!(stdout.ends_with(b"GET "), "{stdout:?}");
        assert_eq!(
            others.last().map(|r| r.0),
            Some(3),
            "ends with FCGI_END_REQUEST"
        );
        assert_eq!(
            sink.at,
            [sink.out.len()],
            "one flush, after FCGI_END_REQUEST"
        );
    }

    #[test]
    fn fastcgi_keep_conn_answers_two_requests_on_one_connection() {
        let params = [
            ("REQUEST_METHOD", "POST"),
            ("SERVER_PROTOCOL", "HTTP/1.1"),
            ("HTTPS", "on"),
        ];
        let mut wire = fcgi_request(1, true, &params, b"one");
        wire.extend(fcgi_request(1, true, &params, b"two"));
        let run = drive(Protocol::FastCgi, &wire, b"", false);
        assert!(matches!(
            run.steps[..],
            [Step::Answered(_), Step::Answered(_), Step::NeedInput]
        ));
        let (stdout, others) = unframe(&run.out);
        let one = "Status: 200 OK\r\nContent-Type: text/plain\r\nX-Scheme: https\r\n\
                   Content-Length: 8\r\n\r\nPOST one";
        let two = one.replace("one", "two");
        assert_eq!(
            std::string::String::from_utf8(stdout).unwrap(),
            std::format!("{one}{two}")
        );
        // Each request: an empty STDOUT is not listed (type 6), then END_REQUEST complete.
        let end = std::vec![0, 0, 0, 0, 0, 0, 0, 0];
        assert_eq!(others, [(3, 1, end.clone()), (3, 1, end)]);
    }

    #[test]
    fn fastcgi_without_keep_conn_closes_and_streams_the_body_from_the_source() {
        let wire = fcgi_request(7, false, &[("REQUEST_METHOD", "PUT")], b"streamed");
        // Only the params are fed; the body records come from the source.
        let split = wire.len() - 8 - (8 + 8);
        let run = drive(Protocol::FastCgi, &wire[..split], &wire[split..], false);
        assert!(
            matches!(run.steps[..], [Step::Answered(r), Step::Close] if r.outcome == Outcome::Complete)
        );
        let (stdout, others) = unframe(&run.out);
        assert!(stdout.ends_with(b"\r\n\r\nPUT streamed"));
        assert_eq!(others.len(), 1);
        assert_eq!(others[0].1, 7);
    }

    #[test]
    fn fastcgi_abort_mid_body_ends_the_request() {
        let mut wire = record(1, 1, &[0, 1, 1, 0, 0, 0, 0, 0]);
        wire.extend(record(4, 1, &pair("REQUEST_METHOD", "POST")));
        wire.extend(record(4, 1, b""));
        wire.extend(record(5, 1, b"partial"));
        wire.extend(record(2, 1, b""));
        let run = drive(Protocol::FastCgi, &wire, b"", false);
        let Step::Answered(report) = run.steps[0] else {
            panic!("{:?}", run.steps)
        };
        // The application saw its input end as a disconnect.
        assert_eq!(report.outcome, Outcome::Disconnected);
        let (stdout, others) = unframe(&run.out);
        assert!(stdout.is_empty());
        assert_eq!(others.len(), 1);
        assert_eq!(others[0].0, 3, "END_REQUEST");
        assert_eq!(run.steps[1], Step::Close);
    }

    #[test]
    fn fastcgi_get_values_and_unknown_roles_are_answered_between_requests() {
        let mut wire = record(9, 0, &pair("FCGI_MPXS_CONNS", ""));
        // A Filter-role request (role 3) is refused with FCGI_UNKNOWN_ROLE.
        wire.extend(record(1, 2, &[0, 3, 1, 0, 0, 0, 0, 0]));
        wire.extend(fcgi_request(1, false, &[("REQUEST_METHOD", "GET")], b""));
        let run = drive(Protocol::FastCgi, &wire, b"", false);
        assert!(matches!(run.steps[..], [Step::Answered(_), Step::Close]));
        let (_, others) = unframe(&run.out);
        let types: Vec<u8> = others.iter().map(|o| o.0).collect();
        assert_eq!(types, [10, 3, 3]);
        assert_eq!(others[1].2[4], 3, "FCGI_UNKNOWN_ROLE");
    }

    #[test]
    fn fastcgi_connection_ending_between_requests_is_closed_not_truncated() {
        // The application leaves the body unread: its records are skipped after the answer.
        let unread = app_fn(|_: &mut Environ<'_>, sr: &mut StartResponse<'_>| {
            sr.start("200 OK", &[])?;
            Ok::<_, AppError>(&b"ok"[..])
        });
        let mut wire = fcgi_request(1, true, &[("REQUEST_METHOD", "POST")], b"unread");
        wire.extend(record(9, 0, &pair("FCGI_MPXS_CONNS", "")));
        let run = drive_with(&unread, Protocol::FastCgi, &wire, b"", true);
        assert!(
            matches!(run.steps[..], [Step::Answered(_), Step::Close]),
            "{:?}",
            run.steps
        );
        let (_, others) = unframe(&run.out);
        assert_eq!(others.last().unwrap().0, 10, "FCGI_GET_VALUES_RESULT");
        // Half a record header, then the end: that is cut short.
        let mut wire = fcgi_request(1, true, &[("REQUEST_METHOD", "GET")], b"");
        wire.extend_from_slice(&[1, 9, 0]);
        let run = drive(Protocol::FastCgi, &wire, b"", true);
        assert!(
            matches!(
                run.steps[..],
                [
                    Step::Answered(_),
                    Step::Failed(Error {
                        kind: ErrorKind::Truncated,
                        ..
                    })
                ]
            ),
            "{:?}",
            run.steps
        );
    }

    #[test]
    fn scgi_answers_cgi_style_and_closes() {
        let block = b"CONTENT_LENGTH\x003\x00SCGI\x001\x00REQUEST_METHOD\x00POST\x00";
        let mut wire = std::format!("{}:", block.len()).into_bytes();
        wire.extend_from_slice(block);
        wire.extend_from_slice(b",abc");
        let run = drive(Protocol::Scgi, &wire, b"", false);
        assert!(matches!(run.steps[..], [Step::Answered(_), Step::Close]));
        assert_eq!(
            run.out,
            b"Status: 200 OK\r\nContent-Type: text/plain\r\nX-Scheme: http\r\n\
              Content-Length: 8\r\n\r\nPOST abc"
        );
    }

    fn uwsgi_packet(pairs: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
        let mut vars = Vec::new();
        for (n, v) in pairs {
            vars.extend_from_slice(&(n.len() as u16).to_le_bytes());
            vars.extend_from_slice(n.as_bytes());
            vars.extend_from_slice(&(v.len() as u16).to_le_bytes());
            vars.extend_from_slice(v.as_bytes());
        }
        let mut wire = std::vec![0];
        wire.extend_from_slice(&(vars.len() as u16).to_le_bytes());
        wire.push(0);
        wire.extend(vars);
        wire.extend_from_slice(body);
        wire
    }

    #[test]
    fn uwsgi_answers_with_a_status_line() {
        let wire = uwsgi_packet(
            &[
                ("REQUEST_METHOD", "GET"),
                ("CONTENT_LENGTH", ""),
                ("SERVER_PROTOCOL", "HTTP/1.1"),
                ("REQUEST_SCHEME", "https"),
            ],
            b"",
        );
        let run = drive(Protocol::Uwsgi, &wire, b"", false);
        assert!(matches!(run.steps[..], [Step::Answered(_), Step::Close]));
        assert_eq!(
            run.out,
            b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Scheme: https\r\n\
              Content-Length: 4\r\n\r\nGET "
        );
    }

    #[test]
    fn an_application_error_is_the_error_page_and_head_has_no_body() {
        let wire = uwsgi_packet(&[("REQUEST_METHOD", "GET"), ("PATH_INFO", "/fail")], b"");
        let run = drive(Protocol::Uwsgi, &wire, b"", false);
        assert!(matches!(run.steps[0], Step::Answered(r) if r.outcome == Outcome::ErrorPage));
        assert!(run
            .out
            .starts_with(b"HTTP/1.1 500 Internal Server Error\r\n"));
        assert!(run.out.ends_with(HandlerConfig::ERROR_BODY));

        let wire = fcgi_request(1, false, &[("REQUEST_METHOD", "HEAD")], b"");
        let run = drive(Protocol::FastCgi, &wire, b"", false);
        let (stdout, _) = unframe(&run.out);
        assert!(stdout.ends_with(b"Content-Length: 5\r\n\r\n"), "{stdout:?}");
    }

    #[test]
    fn a_body_cut_short_or_malformed_input_fails_the_connection() {
        let block = b"CONTENT_LENGTH\x0010\x00SCGI\x001\x00";
        let mut wire = std::format!("{}:", block.len()).into_bytes();
        wire.extend_from_slice(block);
        wire.extend_from_slice(b",abc");
        let run = drive(Protocol::Scgi, &wire, b"", true);
        assert!(
            matches!(
                run.steps[..],
                [Step::Failed(Error {
                    kind: ErrorKind::Truncated,
                    ..
                })]
            ),
            "{:?}",
            run.steps
        );
        // Params cut short by the end of the input.
        let run = drive(Protocol::Scgi, &wire[..10], b"", true);
        assert!(matches!(
            run.steps[..],
            [Step::Failed(Error {
                kind: ErrorKind::Truncated,
                ..
            })]
        ));
        // An idle connection that ends is just closed.
        let run = drive(Protocol::Scgi, b"", b"", true);
        assert_eq!(run.steps, [Step::Close]);
        // A malformed record: a typed error, nothing written.
        let run = drive(Protocol::FastCgi, &[2, 1, 0, 1, 0, 0, 0, 0], b"", false);
        assert!(matches!(
            run.steps[..],
            [Step::Failed(Error {
                kind: ErrorKind::UnsupportedVersion(2),
                ..
            })]
        ));
        assert!(run.out.is_empty());
    }
}
