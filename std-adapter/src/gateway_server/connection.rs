//! One gateway connection on its own thread: read, feed the [`Session`], answer, log; with
//! the server's timeouts and a lingering close.

use std::cell::RefCell;
use std::io::{self, Read, Write};
use std::time::{Duration, Instant};

use wsgiref_core::app::{Application, StartResponse};
use wsgiref_core::gateway::{GatewayConfig, Protocol, Session, Step};
use wsgiref_core::handler::{Outcome, OwnedMemory, RequestLine, RunReport};
use wsgiref_core::{AppError, Environ};

use super::listener::Stream;
use super::server::Inner;
use crate::clock::{http_date_now, unix_now};
use crate::io::{kind_of, StdIo};
use crate::server::access_log::{LogTime, ACCESS_TARGET};
use crate::server::CatchPanic;

/// Log target of the gateway server's own messages (protocol errors, refusals, timeouts).
pub(crate) const TARGET: &str = "wsgiref::gateway";

/// How long a connection accepted just before a shutdown may take to send its first request:
/// a zero-downtime restart stops the old workers while the kernel still hands them connections
/// whose requests are on their way, and closing those would fail a request (the HTTP server
/// waits the same second).
const FIRST_REQUEST_GRACE: Duration = Duration::from_secs(1);

/// Longest single wait of an idle read, so a connection notices a shutdown this often.
const IDLE_SLICE: Duration = Duration::from_millis(200);

/// Most bytes written at once from the coalescing buffer.
const WRITE_BUF: usize = 16 * 1024;

/// The protocol's name in log lines.
pub(crate) fn name(protocol: Protocol) -> &'static str {
    match protocol {
        Protocol::FastCgi => "FastCGI",
        Protocol::Scgi => "SCGI",
        Protocol::Uwsgi => "uwsgi",
    }
}

/// What the access log and the lingering close need of a request, taken from its environ.
#[derive(Default)]
struct Seen {
    remote: Option<String>,
    line: Option<RequestLine>,
    content_length: u64,
}

/// The application, recording what the access log needs as each request starts.
struct Observed<'a, A> {
    app: &'a A,
    seen: RefCell<Seen>,
}

impl<A: Application> Application for Observed<'_, A> {
    type Body = A::Body;

    fn call(
        &self,
        environ: &mut Environ<'_>,
        start_response: &mut StartResponse<'_>,
    ) -> Result<Self::Body, AppError> {
        let get = |k| environ.get(k).unwrap_or(b"");
        let mut line = Vec::with_capacity(64);
        line.extend_from_slice(get("REQUEST_METHOD"));
        line.push(b' ');
        match environ.get("REQUEST_URI") {
            Some(uri) => line.extend_from_slice(uri),
            None => {
                line.extend_from_slice(get("SCRIPT_NAME"));
                line.extend_from_slice(get("PATH_INFO"));
                let query = get("QUERY_STRING");
                if !query.is_empty() {
                    line.push(b'?');
                    line.extend_from_slice(query);
                }
            }
        }
        line.push(b' ');
        line.extend_from_slice(get("SERVER_PROTOCOL"));
        *self.seen.borrow_mut() = Seen {
            remote: environ
                .get("REMOTE_ADDR")
                .map(|r| String::from_utf8_lossy(r).into_owned()),
            line: Some(RequestLine::new(&line)),
            content_length: std::str::from_utf8(get("CONTENT_LENGTH"))
                .ok()
                .and_then(|s| s.trim().parse().ok())
                .unwrap_or(0),
        };
        self.app.call(environ, start_response)
    }
}

/// Where a connection is between requests, and so which deadline its next read has.
#[derive(Clone, Copy)]
enum Phase {
    /// Waiting for the first byte of a request (`idle_timeout`; ends on shutdown).
    Idle { deadline: Instant },
    /// A request started: its params must be complete by `deadline` (`header_timeout`).
    Params { deadline: Instant },
}

/// A connection thread's state kept from one connection to the next: the session's buffers,
/// the base environ, the observing application and the write buffer. Allocating and zeroing
/// them (about 100 KiB with the default limits) for each connection was a visible part of a
/// per-connection request's cost (SCGI, uwsgi).
pub(crate) struct Worker<'i, A> {
    inner: &'i Inner<A>,
    rx: Vec<u8>,
    params: Vec<u8>,
    memory: OwnedMemory,
    base: Environ<'i>,
    app: Observed<'i, CatchPanic<A>>,
    out: Vec<u8>,
}

impl<'i, A: Application> Worker<'i, A> {
    pub(crate) fn new(inner: &'i Inner<A>) -> Self {
        let mut base = Environ::new();
        for (k, v) in &inner.base {
            // Cannot fail: the names are valid environ keys.
            let _ = base.set(k, v.as_slice());
        }
        base.set_errors(&crate::errors::Stderr);
        Worker {
            inner,
            rx: vec![0u8; inner.options.receive_buffer.max(1024)],
            params: vec![0u8; inner.config.limits.max_params_bytes],
            memory: OwnedMemory::default(),
            base,
            app: Observed {
                app: &inner.app,
                seen: RefCell::new(Seen::default()),
            },
            out: Vec::with_capacity(WRITE_BUF),
        }
    }

    /// Serve one accepted connection until it closes.
    pub(crate) fn serve(&mut self, stream: Stream) {
        self.out.clear();
        self.app.seen.take();
        serve(
            stream,
            self.inner,
            Buffers {
                rx: &mut self.rx,
                params: &mut self.params,
                memory: &mut self.memory,
                out: &mut self.out,
            },
            &self.base,
            &self.app,
        );
    }
}

/// The kept buffers [`serve`] borrows for one connection.
struct Buffers<'b> {
    rx: &'b mut [u8],
    params: &'b mut [u8],
    memory: &'b mut OwnedMemory,
    out: &'b mut Vec<u8>,
}

/// Serve one accepted connection until it closes.
fn serve<A: Application>(
    stream: Stream,
    inner: &Inner<A>,
    buffers: Buffers<'_>,
    base: &Environ<'_>,
    app: &Observed<'_, CatchPanic<A>>,
) {
    let peer = stream.peer();
    let protocol = inner.protocol;
    let options = &inner.options;
    if let Err(e) = stream
        .set_nonblocking(false)
        .and_then(|()| stream.set_write_timeout(Some(options.body_timeout)))
    {
        log::debug!(target: TARGET, "{peer}: {e}");
        return;
    }
    let config: GatewayConfig = inner.config;
    let Buffers {
        rx,
        params,
        memory,
        out,
    } = buffers;
    let mut session = Session::new(protocol, rx, params, memory.memory(), config);
    let mut out = Coalesce {
        stream: &stream,
        buf: out,
    };
    let accepted = Instant::now();
    // Whether a request was answered on this connection (it is then a kept one, which a
    // shutdown may close between requests).
    let mut answered_any = false;
    let mut phase = Phase::Idle {
        deadline: accepted + options.idle_timeout,
    };
    loop {
        // Read what the front end sent, within the phase's deadline.
        let deadline = match phase {
            Phase::Idle { deadline } | Phase::Params { deadline } => deadline,
        };
        let now = Instant::now();
        let idle = matches!(phase, Phase::Idle { .. });
        if idle
            && inner.stopping()
            && (answered_any || now.duration_since(accepted) >= FIRST_REQUEST_GRACE)
        {
            log::debug!(target: TARGET, "{peer}: idle connection closed for shutdown");
            return linger(&stream, 0, options.body_timeout);
        }
        let Some(left) = deadline
            .checked_duration_since(now)
            .filter(|d| !d.is_zero())
        else {
            if idle {
                log::debug!(target: TARGET, "{peer}: idle timeout, closing");
            } else {
                log::info!(
                    target: TARGET,
                    "{peer}: {} request params not complete within {:?} (header_timeout), closing",
                    name(protocol),
                    options.header_timeout
                );
            }
            return;
        };
        let wait = if idle { left.min(IDLE_SLICE) } else { left };
        if let Err(e) = stream.set_read_timeout(Some(wait)) {
            log::debug!(target: TARGET, "{peer}: {e}");
            return;
        }
        let space = session.receive_buffer();
        if space.is_empty() {
            // Cannot happen: the session consumes params into its own buffer. Never spin.
            log::error!(target: TARGET, "{peer}: receive buffer full, closing");
            return;
        }
        match (&stream).read(space) {
            Ok(0) => session.receive_eof(),
            Ok(n) => {
                session.received(n);
                if idle {
                    phase = Phase::Params {
                        deadline: Instant::now() + options.header_timeout,
                    };
                }
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                continue
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                log::debug!(target: TARGET, "{peer}: read failed: {e}");
                return;
            }
        }
        // Answer every request whose params are complete; body reads wait body_timeout each.
        if let Err(e) = stream.set_read_timeout(Some(options.body_timeout)) {
            log::debug!(target: TARGET, "{peer}: {e}");
            return;
        }
        loop {
            let date = (protocol == Protocol::Uwsgi).then(http_date_now);
            let step = session.process(app, base, date, StdIo(&stream), &mut out);
            // The session flushes at each response's end; anything left is a management
            // answer (FCGI_GET_VALUES, a refusal) that must go out now too.
            let flushed = out.flush_out();
            match step {
                Step::NeedInput => {
                    if let Err(e) = flushed {
                        log::debug!(target: TARGET, "{peer}: write failed: {e}");
                        return;
                    }
                    break;
                }
                Step::Answered(report) => {
                    let seen = app.seen.take();
                    log_answer(&peer, protocol, &seen, &report);
                    answered_any = true;
                    phase = Phase::Idle {
                        deadline: Instant::now() + options.idle_timeout,
                    };
                    if session.is_closed() {
                        let unread = match report.outcome {
                            // The front end is gone: nothing to wait for.
                            Outcome::Disconnected => return,
                            _ => seen.content_length,
                        };
                        if unread == 0
                            && protocol != Protocol::FastCgi
                            && !stream.has_pending_input()
                        {
                            // An SCGI or uwsgi request without a body was all the front
                            // end sends, and it was read whole: closing now sends a FIN,
                            // not a reset, and frees the thread without waiting for the
                            // front end's close (a blocking read and a wake-up per request).
                            return;
                        }
                        return linger(&stream, unread, options.body_timeout);
                    }
                }
                Step::Close => return linger(&stream, 0, options.body_timeout),
                Step::Failed(error) => {
                    log::warn!(
                        target: TARGET,
                        "{peer}: {} protocol error: {error}; closing the connection",
                        name(protocol)
                    );
                    return;
                }
            }
        }
    }
}

/// One access-log line, as the HTTP server writes it, with the front end's `REMOTE_ADDR`;
/// and a line for a front end that went away mid-response.
fn log_answer(peer: &str, protocol: Protocol, seen: &Seen, report: &RunReport) {
    if report.outcome == Outcome::Disconnected {
        log::info!(
            target: TARGET,
            "{peer}: the {} front end closed the connection (or aborted the request) before \
             the response was complete; the application's iterator was closed",
            name(protocol)
        );
    }
    if log::log_enabled!(target: ACCESS_TARGET, log::Level::Info) {
        let remote = seen.remote.as_deref().unwrap_or("-");
        let line = seen.line.clone().unwrap_or_default();
        log::info!(
            target: ACCESS_TARGET,
            "{remote} - - [{}] \"{line}\" {} {}",
            LogTime(unix_now()),
            report.status,
            report.bytes_sent
        );
    }
}

/// Longest wait of one read while lingering: a front end that has the whole response
/// closes at once, or sends the rest of a body without pauses.
const LINGER_READ: Duration = Duration::from_secs(2);

/// Close after the last response so the front end reads all of it: shut down our sending
/// side (a FIN after the response), then read and drop what it still sends (a body the
/// application left unread, at most `unread` bytes plus framing) until it closes, for at most
/// `body_timeout` in all and [`LINGER_READ`] per read. Closing with unread bytes in the
/// receive queue would send a reset instead, and the front end could lose the response's
/// tail (curl through nginx then fails with "transfer closed with outstanding read data").
fn linger(stream: &Stream, unread: u64, body_timeout: Duration) {
    let until = Instant::now() + body_timeout;
    if stream.shutdown_write().is_err() {
        return;
    }
    // FastCGI frames the body in records of 8 header bytes per up to 65,535 content bytes.
    let mut budget = unread + unread / 4096 + 64 * 1024;
    let mut sink = [0u8; 8192];
    while budget > 0 {
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero()
            || stream
                .set_read_timeout(Some(left.min(LINGER_READ)))
                .is_err()
        {
            return;
        }
        match (&*stream).read(&mut sink) {
            Ok(0) => return,
            Ok(n) => budget = budget.saturating_sub(n as u64),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return,
        }
    }
    log::debug!(target: TARGET, "closing with unread bytes past the request's body");
}

/// The response sink: small writes (record headers, the head, short bodies) gathered into
/// one system call, written out at each flush (the session flushes at a response's end, and
/// after each chunk of a streamed body).
struct Coalesce<'s> {
    stream: &'s Stream,
    buf: &'s mut Vec<u8>,
}

impl Coalesce<'_> {
    fn flush_out(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let result = (&*self.stream).write_all(self.buf);
        self.buf.clear();
        result
    }
}

impl embedded_io::ErrorType for Coalesce<'_> {
    type Error = embedded_io::ErrorKind;
}

impl embedded_io::Write for Coalesce<'_> {
    fn write(&mut self, data: &[u8]) -> Result<usize, Self::Error> {
        if self.buf.len() + data.len() > WRITE_BUF {
            self.flush_out().map_err(|e| kind_of(&e))?;
        }
        if data.len() >= WRITE_BUF {
            return (&*self.stream).write(data).map_err(|e| kind_of(&e));
        }
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> Result<(), Self::Error> {
        self.flush_out().map_err(|e| kind_of(&e))
    }
}
