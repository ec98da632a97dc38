//! The event loop: one per worker, each with its own `SO_REUSEPORT` listener and `mio`
//! poller, serving many non-blocking connections through the core's sans-IO
//! [`Session`](wsgiref_core::handler::Session). Whichever thread owns a loop at the moment runs
//! it ([`run`]); see [`super::handover`] for how a loop changes threads when a call blocks.
//!
//! Per readable connection: read what the socket has into the connection's receive buffer,
//! answer every complete request buffered (pipelining) into the connection's transmit buffer,
//! and write that buffer with one system call. A write that would block keeps the rest and
//! waits for writability; nothing more is read from that connection until it drains.
//!
//! A request whose head is complete but whose body is not yet buffered stays in the loop when
//! the body fits the receive buffer. When it cannot (`Expect: 100-continue`, a chunked body
//! still arriving, a `Content-Length` larger than the buffer) that one request is served in
//! blocking mode by the core's `Connection` on the thread driving the connection
//! ([`serve_blocking`]); the connection then comes back to the loop.
//!
//! A file body (`FileBody`) is not written by the application's turn: on Linux the sink queues
//! the file region behind the response head, and the loop sends it with non-blocking
//! `sendfile(2)` as the socket accepts it, like any pending write. A client that reads slowly
//! therefore holds only its own connection, never the worker.
//!
//! Timeouts are checked by a sweep over the worker's connections every [`SWEEP`]; each
//! connection carries one deadline for its current state (idle, partial request, pending
//! write).

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use mio::net::TcpStream as MioStream;
use mio::{Events, Interest, Poll, Token, Waker};
use wsgiref_core::app::{FileRegion, FileSink};
use wsgiref_core::handler::{OwnedMemory, RequestLog, ServerConfig, Session, Step};
use wsgiref_core::proto::HttpDate;
use wsgiref_core::{Application, Environ};

use super::blocking::{serve_one_request, OneRequest};
use super::handover::{Calls, Eager};
use super::proxied::{self, Forwarding, Pending, Progress};
use super::request_handler::RequestHandler;
use super::server::{refuse_busy, OpenGuard, WsgiServer};
use crate::clock::LoopClock;

/// How soon `accept` is tried again after it failed (out of descriptors, say).
const ACCEPT_RETRY: Duration = Duration::from_millis(10);

/// How often deadlines are checked.
pub(crate) const SWEEP: Duration = Duration::from_millis(100);

const LISTENER: Token = Token(0);
const WAKER: Token = Token(1);
/// Connection tokens start here.
const FIRST: usize = 2;

/// Most transmit bytes a connection queues: a response that would grow its queue past this
/// is written through in blocking mode (its thread is then in a call, and the monitor hands
/// the loop to another thread if the client is slow), so a slow reader costs at most this.
const TX_HIGH_WATER: usize = 256 * 1024;

/// Queued transmit bytes past which the loop answers no further pipelined request of that
/// connection (and reads nothing more from it) until the client has taken them. Small
/// responses to a client that pipelines without reading thus stop at about this much.
const TX_PAUSE: usize = 64 * 1024;

/// The 408 a partial request gets when its time is up.
const TIMEOUT_RESPONSE: &[u8] = b"HTTP/1.1 408 Request Timeout\r\nContent-Type: text/plain\r\n\
Connection: close\r\nContent-Length: 34\r\n\r\nrequest not received in time (408)\n";

/// One connection of a worker.
pub(crate) struct Conn<'s> {
    stream: MioStream,
    client: SocketAddr,
    /// The base environ of this connection's requests (server base + client address).
    environ: Environ<'s>,
    /// Receive buffer: `rx[..len]` holds bytes not consumed by a request yet.
    rx: Vec<u8>,
    len: usize,
    /// Response bytes not yet written: `tx[sent..]`.
    tx: Vec<u8>,
    sent: usize,
    /// A file region queued behind `tx` (a file body), sent once `tx` is written.
    file: Option<QueuedFile>,
    /// Close once `tx` is written.
    closing: bool,
    /// The peer sent EOF.
    eof: bool,
    /// Interest currently registered includes WRITABLE.
    want_write: bool,
    deadline: Instant,
    /// When the partial request at the front of `rx` started arriving.
    request_started: Option<Instant>,
    _open: OpenGuard<'s>,
    /// The handler's access log, for responses logged after the loop's turn (file bodies).
    logger: &'s dyn AccessLog,
    /// The PROXY protocol header still to be read (`ServerOptions::proxy_protocol`); until
    /// it is, `client` is the socket's peer and no request is read.
    proxy: Option<Box<Pending>>,
}

/// The request handler's `log_request`, without its type (a connection does not carry it).
trait AccessLog: Sync {
    fn log(&self, client: &SocketAddr, log: &RequestLog);
}

impl<H: RequestHandler> AccessLog for H {
    fn log(&self, client: &SocketAddr, log: &RequestLog) {
        self.log_request(client, log);
    }
}

impl Conn<'_> {
    /// Log a file response whose transfer ends unfinished, with the bytes that went out.
    fn log_unfinished_file(&mut self) {
        if let Some(queued) = self.file.take() {
            if let Some(mut log) = queued.log {
                log.bytes_sent = log.bytes_sent.saturating_sub(queued.left);
                self.logger.log(&self.client, &log);
            }
        }
    }
}

// SAFETY: a `Conn` moves between threads when its loop is handed over (see `handover`), and
// only one thread uses it at a time (it sits in its loop's mutex, or is owned by the thread
// driving it). Everything in it is `Send` except, as far as the compiler can tell, `environ`:
// an `Environ` may hold trait-object references (its input, error stream and deferred
// variables). The one kept here is the connection's base environ: it never has an input or
// deferred variables (those belong to a request's own environ, built per request), and its
// error stream is the static `AtRest` (a `Sync` unit) whenever the connection is at rest. The
// handler's own stream is attached only for the duration of one `drive` on one thread
// (`Conn::attach_errors`, `Conn::detach_errors`), and detached before the connection can move.
#[allow(unsafe_code)]
unsafe impl Send for Conn<'_> {}

/// The error stream a connection's base environ holds at rest (never written: the handler's
/// stream is attached whenever a request runs).
struct AtRest;

impl wsgiref_core::stream::ErrorStream for AtRest {
    fn write_str(&self, _: &str) -> std::fmt::Result {
        Ok(())
    }
}

static AT_REST: AtRest = AtRest;

impl<'s> Conn<'s> {
    /// Attach the handler's `wsgi.errors` for the requests about to run on this thread.
    fn attach_errors(&mut self, errors: &'s dyn wsgiref_core::stream::ErrorStream) {
        self.environ.set_errors(errors);
    }

    /// Back to the `Send`-safe state (see the `Send` impl above).
    fn detach_errors(&mut self) {
        self.environ.set_errors(&AT_REST);
    }
}

/// The part of a file body still to send: `left` bytes from `offset`.
struct QueuedFile {
    /// The response's access-log entry, logged when the transfer ends (with the bytes that
    /// really went out, if it ends early).
    log: Option<RequestLog>,
    /// The body's file, duplicated (`try_clone`) so it outlives the application's body.
    file: std::fs::File,
    offset: u64,
    left: u64,
}

impl Conn<'_> {
    /// Response bytes or a file region still to be written.
    fn has_unsent(&self) -> bool {
        self.sent < self.tx.len() || self.file.is_some()
    }
}

/// The time of one turn of the loop, read once and shared by every connection it drives.
#[derive(Clone, Copy)]
pub(crate) struct Turn {
    now: Instant,
    date: HttpDate,
    /// The event that has a connection driven said the peer closed its side (a FIN that
    /// came with the last bytes raises no further readiness).
    peer_closed: bool,
}

/// What to do with a connection after an event.
pub(crate) enum After {
    Keep,
    /// Not finished (readiness not used up): drive it again on the next turn.
    Again,
    Close,
    HandOff,
}

/// One event loop: its poller, listener and connections. Whichever thread owns the loop at
/// the moment (see [`super::handover`]) holds `state` while it polls and dispatches, and lets
/// go of it while it drives one connection (the application runs then), so that a thread
/// stuck in that connection can be replaced.
pub(crate) struct Loop<'s> {
    pub(crate) state: Mutex<LoopState<'s>>,
    /// Registrations can be changed without the state (a connection driven outside it).
    registry: mio::Registry,
    waker: Arc<Waker>,
    /// The owner's application calls, watched by the monitor.
    pub(crate) calls: Calls,
    /// Whether calls on this loop have been blocking lately.
    pub(crate) eager: Eager,
    /// Connections given back by threads that were replaced while serving them.
    returns: Mutex<Vec<(usize, Conn<'s>, After)>>,
    /// The server's descriptor in reserve, shared by its loops: when `accept` fails for want
    /// of descriptors, it is closed so that one connection can be accepted, answered 503 and
    /// closed; it is taken again when a connection closes.
    spare_fd: Arc<Mutex<Option<std::fs::File>>>,
}

/// What the owner of a loop holds.
pub(crate) struct LoopState<'s> {
    poll: Poll,
    listener: mio::net::TcpListener,
    listening: bool,
    /// The listening socket is this server's own (not inherited from a supervisor or
    /// systemd, whose socket other processes go on serving): a stop shuts it down.
    own_listener: bool,
    events: Events,
    conns: Vec<Option<Conn<'s>>>,
    free: Vec<usize>,
    /// Connections taken out of `conns` by a thread serving them now.
    out: usize,
    /// The ready tokens of the current turn, each with whether its event reported the peer's
    /// end of stream; `tokens[next..]` are still to be handled.
    tokens: Vec<(Token, bool)>,
    next: usize,
    /// Connections whose last turn ended before their readiness was used up.
    again: Vec<usize>,
    next_sweep: Instant,
    stop_deadline: Option<Instant>,
    /// Until then, a stopping loop keeps idle connections open ([`STOP_LINGER`]).
    stop_linger_until: Option<Instant>,
    clock: LoopClock,
    turn: Turn,
    /// The loop has ended (shutdown done, or a fatal error).
    pub(crate) finished: bool,
    /// `accept` failed with connections possibly still queued: try again next turn (the
    /// listener raises no new readiness for them).
    accept_retry: bool,
}

impl<'s> Loop<'s> {
    /// A loop serving `listener` (this worker's non-blocking socket); `own_listener`: the
    /// socket is the server's own, not inherited (see [`LoopState`]).
    pub(crate) fn new<A, H>(
        server: &WsgiServer<A, H>,
        listener: TcpListener,
        own_listener: bool,
    ) -> io::Result<Self>
    where
        A: Application + Send + Sync + 'static,
        H: RequestHandler,
    {
        let poll = Poll::new()?;
        let registry = poll.registry().try_clone()?;
        let waker = Arc::new(Waker::new(poll.registry(), WAKER)?);
        server.shared.stop.register(waker.clone())?;
        let mut listener = mio::net::TcpListener::from_std(listener);
        poll.registry()
            .register(&mut listener, LISTENER, Interest::READABLE)?;
        let now = Instant::now();
        let mut clock = LoopClock::new();
        let date = clock.date(now);
        Ok(Loop {
            state: Mutex::new(LoopState {
                poll,
                listener,
                listening: true,
                own_listener,
                events: Events::with_capacity(1024),
                conns: Vec::new(),
                free: Vec::new(),
                out: 0,
                tokens: Vec::new(),
                next: 0,
                again: Vec::new(),
                next_sweep: now + SWEEP,
                stop_deadline: None,
                stop_linger_until: None,
                clock,
                turn: Turn {
                    now,
                    date,
                    peer_closed: false,
                },
                finished: false,
                accept_retry: false,
            }),
            registry,
            waker,
            calls: Calls::default(),
            eager: Eager::default(),
            returns: Mutex::new(Vec::new()),
            spare_fd: server.shared.spare_fd.clone(),
        })
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, LoopState<'s>> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Give back a connection a replaced thread finished serving; the owner picks it up.
    fn give_back(&self, index: usize, conn: Conn<'s>, after: After) {
        self.returns
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((index, conn, after));
        if let Err(e) = self.waker.wake() {
            log::warn!(target: "wsgiref::server", "could not wake a server loop: {e}");
        }
    }
}

/// Why a thread stopped running a loop.
pub(crate) enum Exit {
    /// The loop ended (shutdown, or an error, returned).
    Finished(io::Result<()>),
    /// The monitor gave the loop to another thread while this one was in a call; the
    /// connection it was serving has been given back.
    Replaced,
}

/// Run `lp` on this thread until it ends or this thread is replaced. `memory` is this
/// thread's request memory; `app` its reference to the current application.
///
/// `dispatch` gives a connection to a spare thread to serve once (taking it out of the
/// option), or leaves it (no spare idle); it is asked while the loop is eager (see [`Eager`]).
pub(crate) fn run<'s, A, H>(
    server: &'s WsgiServer<A, H>,
    lp: &Loop<'s>,
    memory: &mut OwnedMemory,
    dispatch: &dyn Fn(usize, &mut Option<Conn<'s>>, Turn),
) -> Exit
where
    A: Application + Send + Sync + 'static,
    H: RequestHandler,
{
    let shared = &server.shared;
    let mut app = shared.app.load();
    let mut st = lp.lock();
    if st.finished {
        return Exit::Finished(Ok(()));
    }
    lp.calls.owned_here();
    loop {
        if st.next == st.tokens.len() {
            if let Err(e) = new_turn(server, lp, &mut st) {
                st.finished = true;
                return Exit::Finished(Err(e));
            }
            if st.finished {
                return Exit::Finished(Ok(()));
            }
            // Pick up set_app (one uncontended lock per turn).
            let current = shared.app.load();
            if !Arc::ptr_eq(&current, &app) {
                app = current;
            }
            continue;
        }
        let (token, peer_closed) = st.tokens[st.next];
        st.next += 1;
        match token {
            LISTENER => {
                if st.listening {
                    accept_all(server, lp, &mut st);
                }
            }
            WAKER => {}
            Token(t) => {
                let i = t - FIRST;
                let Some(mut conn) = st.conns.get_mut(i).and_then(Option::take) else {
                    continue;
                };
                st.out += 1;
                let turn = Turn {
                    peer_closed,
                    ..st.turn
                };
                if lp.eager.is_on(turn.now) {
                    let mut slot = Some(conn);
                    dispatch(i, &mut slot, turn);
                    // Taken by a spare thread, or still here to be served inline.
                    let Some(kept) = slot else { continue };
                    conn = kept;
                }
                let ticket = lp.calls.begin();
                drop(st);
                conn.attach_errors(shared.handler.get_stderr());
                let mut after = drive(&mut conn, &*app, server, memory, &lp.registry, i, turn);
                if let After::HandOff = after {
                    after = serve_blocking(&mut conn, &*app, server);
                }
                conn.detach_errors();
                if !lp.calls.end(ticket) {
                    lp.give_back(i, conn, after);
                    return Exit::Replaced;
                }
                st = lp.lock();
                st.out -= 1;
                settle(lp, &mut st, i, conn, after);
            }
        }
    }
}

/// Serve connection `index` of `lp` once on this (spare) thread, for an eager loop, and give
/// it back to the loop.
pub(crate) fn serve_once<'s, A, H>(
    server: &'s WsgiServer<A, H>,
    lp: &Loop<'s>,
    memory: &mut OwnedMemory,
    index: usize,
    mut conn: Conn<'s>,
    turn: Turn,
) where
    A: Application + Send + Sync + 'static,
    H: RequestHandler,
{
    let app = server.shared.app.load();
    conn.attach_errors(server.shared.handler.get_stderr());
    let mut after = drive(&mut conn, &*app, server, memory, &lp.registry, index, turn);
    if let After::HandOff = after {
        after = serve_blocking(&mut conn, &*app, server);
    }
    conn.detach_errors();
    lp.give_back(index, conn, after);
}

/// Put a connection back in its slot after it was driven, as `after` says.
fn settle<'s>(lp: &Loop<'s>, st: &mut LoopState<'s>, i: usize, mut conn: Conn<'s>, after: After) {
    match after {
        After::Keep => st.conns[i] = Some(conn),
        After::Again => {
            st.conns[i] = Some(conn);
            st.again.push(i);
        }
        After::Close | After::HandOff => {
            conn.log_unfinished_file();
            let _ = lp.registry.deregister(&mut conn.stream);
            // Half-close so the client reads the last response to its end before it sees EOF.
            let _ = conn.stream.shutdown(std::net::Shutdown::Write);
            drop(conn);
            st.free.push(i);
            // A descriptor is free now: hold it in reserve again if the reserve was used.
            let mut spare = lp.spare_fd.lock().unwrap_or_else(|p| p.into_inner());
            if spare.is_none() {
                *spare = spare_descriptor();
            }
        }
    }
}

/// How long a graceful stop keeps connections without a request open: a request that
/// arrives meanwhile is answered with `Connection: close` (`ServerConfig::keep_alive` off
/// while stopping). Closing them at once fails the request a client was sending just then:
/// a connection accepted a moment before the stop whose request is still on its way, or a
/// keep-alive client's next request (during a zero-downtime restart: "broken pipe" for a
/// client sending GETs on fresh connections, read errors for wrk's keep-alive ones). An idle
/// client delays a stop by this much at most.
const STOP_LINGER: Duration = Duration::from_secs(1);

/// Start a turn: shutdown bookkeeping, wait for events, take back given-back connections,
/// check deadlines. Fills `st.tokens`.
fn new_turn<'s, A, H>(
    server: &'s WsgiServer<A, H>,
    lp: &Loop<'s>,
    st: &mut LoopState<'s>,
) -> io::Result<()>
where
    A: Application + Send + Sync + 'static,
    H: RequestHandler,
{
    let shared = &server.shared;
    let options = &shared.options;
    let mut now = st.turn.now;
    if shared.stop.is_requested() && st.stop_deadline.is_none() {
        st.stop_deadline = Some(now + options.shutdown_grace);
        st.stop_linger_until = Some(now + STOP_LINGER);
        if st.listening {
            let st = &mut *st;
            let _ = st.poll.registry().deregister(&mut st.listener);
            st.listening = false;
            if st.own_listener {
                stop_listening(server, lp, st);
            }
        }
    }
    if let Some(until) = st.stop_deadline {
        // Close idle connections once they had `STOP_LINGER` to send one more request; the
        // loop ends when none is left (or time is up).
        let lingered = now >= st.stop_linger_until.unwrap_or(now);
        for i in 0..st.conns.len() {
            let idle = st.conns[i]
                .as_ref()
                .is_some_and(|c| c.len == 0 && !c.has_unsent());
            if (idle && lingered) || now >= until {
                close(lp, st, i);
            }
        }
        if st.conns.iter().all(Option::is_none) && (st.out == 0 || now >= until) {
            st.finished = true;
            return Ok(());
        }
    }
    let wait = if !st.again.is_empty() {
        Duration::ZERO
    } else if st.accept_retry {
        // Descriptors may free up at any time; the queued clients are not forgotten.
        ACCEPT_RETRY.min(st.next_sweep.saturating_duration_since(now))
    } else {
        st.next_sweep.saturating_duration_since(now)
    };
    let st = &mut *st;
    if let Err(e) = st.poll.poll(&mut st.events, Some(wait)) {
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
    now = Instant::now();
    let date = st.clock.date(now);
    st.turn = Turn {
        now,
        date,
        peer_closed: false,
    };
    st.tokens.clear();
    st.next = 0;
    st.tokens
        .extend(st.events.iter().map(|e| (e.token(), e.is_read_closed())));
    st.tokens
        .extend(st.again.drain(..).map(|i| (Token(i + FIRST), false)));
    if std::mem::take(&mut st.accept_retry) {
        st.tokens.push((LISTENER, false));
    }
    // Connections given back by other threads: readiness that came while they were away was
    // ignored (edge-triggered: it will not come again), so each one with something to do
    // (bytes buffered or waiting in the socket, output pending, or asked to be driven again)
    // is driven in this turn.
    let returned = std::mem::take(&mut *lp.returns.lock().unwrap_or_else(|p| p.into_inner()));
    for (i, conn, after) in returned {
        st.out -= 1;
        let again = match after {
            After::Again => true,
            After::Keep => conn.len > 0 || conn.has_unsent() || has_input(&conn.stream),
            After::Close | After::HandOff => false,
        };
        if again {
            st.tokens.push((Token(i + FIRST), false));
        }
        // Scheduled above already: `Again` is only kept.
        let after = if let After::Again = after {
            After::Keep
        } else {
            after
        };
        settle(lp, st, i, conn, after);
    }
    if now >= st.next_sweep {
        st.next_sweep = now + SWEEP;
        st.clock.resync(now);
        for i in 0..st.conns.len() {
            if let Some(conn) = st.conns[i].as_mut() {
                if now >= conn.deadline {
                    if conn.proxy.is_some() {
                        log::warn!(
                            target: "wsgiref::server",
                            "{}: PROXY protocol header not received in time; closed",
                            conn.client
                        );
                    } else if conn.request_started.is_some() && !conn.has_unsent() {
                        log::info!(
                            target: "wsgiref::server",
                            "{}: request not received in time; closed (408)",
                            conn.client
                        );
                        let _ = conn.stream.write(TIMEOUT_RESPONSE);
                    }
                    close(lp, st, i);
                }
            }
        }
    }
    Ok(())
}

/// Stop taking connections on a stopping loop's own listening socket: accept those queued
/// already (they are served within the shutdown grace), then shut the socket down, so that
/// the kernel refuses new ones at once instead of queueing them until the process exits and
/// resetting them then; a front end retries a refused connection on another instance at
/// once. [`WsgiServer::serve_forever`] listens on the socket again when it is called again.
fn stop_listening<'s, A, H>(server: &'s WsgiServer<A, H>, lp: &Loop<'s>, st: &mut LoopState<'s>)
where
    A: Application + Send + Sync + 'static,
    H: RequestHandler,
{
    accept_all(server, lp, st);
    if let Err(e) = rustix::net::shutdown(&st.listener, rustix::net::Shutdown::Read) {
        log::debug!(target: "wsgiref::server", "cannot shut the listening socket down: {e}");
    }
}

fn accept_all<'s, A, H>(server: &'s WsgiServer<A, H>, lp: &Loop<'s>, st: &mut LoopState<'s>)
where
    A: Application + Send + Sync + 'static,
    H: RequestHandler,
{
    let shared = &server.shared;
    let options = &shared.options;
    let now = st.turn.now;
    loop {
        let (mut stream, client) = match st.listener.accept() {
            Ok(pair) => pair,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) if out_of_descriptors(&e) => {
                // The backlog is not lost: free the spare descriptor, take one connection,
                // tell it the server is busy, and go on (each pass refuses one); without a
                // spare, come back next turn.
                let mut spare = lp.spare_fd.lock().unwrap_or_else(|p| p.into_inner());
                if spare.take().is_none() {
                    // Lost to another accept: retry when a connection has closed.
                    *spare = spare_descriptor();
                    st.accept_retry = true;
                    return;
                }
                // (Linux reports the missing descriptor before it looks at the backlog, so
                // the backlog may well be empty.)
                let empty = match st.listener.accept() {
                    Ok((stream, client)) => {
                        log::warn!(target: "wsgiref::server", "out of file descriptors: {e}");
                        refuse_busy(TcpStream::from(stream), &unmap(client));
                        false
                    }
                    Err(e) => e.kind() == io::ErrorKind::WouldBlock,
                };
                *spare = spare_descriptor();
                match empty {
                    true => return,
                    _ if spare.is_none() => {
                        st.accept_retry = true;
                        return;
                    }
                    _ => continue,
                }
            }
            Err(e) => {
                log::warn!(target: "wsgiref::server", "accept failed: {e}");
                st.accept_retry = true;
                return;
            }
        };
        // An IPv4 client of a dual-stack listener arrives as `::ffff:a.b.c.d`: its
        // REMOTE_ADDR and access log line show the IPv4 address it really has.
        let client = unmap(client);
        let Some(guard) = OpenGuard::try_new(&shared.open, options.max_connections) else {
            refuse_busy(TcpStream::from(stream), &client);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let i = st.free.pop().unwrap_or_else(|| {
            st.conns.push(None);
            st.conns.len() - 1
        });
        if let Err(e) = lp
            .registry
            .register(&mut stream, Token(i + FIRST), Interest::READABLE)
        {
            log::warn!(target: "wsgiref::server", "{client}: cannot register: {e}");
            st.free.push(i);
            continue;
        }
        st.conns[i] = Some(Conn {
            stream,
            client,
            environ: {
                let mut environ = shared.connection_environ(&client);
                environ.set_errors(&AT_REST);
                environ
            },
            rx: vec![0; options.receive_buffer.max(1024)],
            len: 0,
            tx: Vec::new(),
            sent: 0,
            file: None,
            closing: false,
            eof: false,
            want_write: false,
            // The PROXY header is part of the first request's head, for the timeout.
            deadline: now
                + match options.proxy_protocol {
                    true => options.header_timeout,
                    false => options.idle_timeout,
                },
            request_started: None,
            _open: guard,
            logger: &shared.handler,
            proxy: options.proxy_protocol.then(Pending::new),
        });
    }
}

/// Whether a socket has bytes (or an end of stream, or an error) to read now.
fn has_input(stream: &MioStream) -> bool {
    !matches!(stream.peek(&mut [0u8; 1]), Err(e) if e.kind() == io::ErrorKind::WouldBlock)
}

/// A descriptor to hold in reserve for `accept` (see `Loop::spare_fd`).
pub(crate) fn spare_descriptor() -> Option<std::fs::File> {
    std::fs::File::open("/dev/null").ok()
}

/// `accept` failed because the process (EMFILE) or the system (ENFILE) has no descriptor
/// left.
fn out_of_descriptors(e: &io::Error) -> bool {
    #[cfg(unix)]
    {
        let code = e.raw_os_error();
        code == Some(rustix::io::Errno::MFILE.raw_os_error())
            || code == Some(rustix::io::Errno::NFILE.raw_os_error())
    }
    #[cfg(not(unix))]
    {
        let _ = e;
        false
    }
}

/// The IPv4 address behind an IPv4-mapped IPv6 one; other addresses as they are.
pub(crate) fn unmap(address: SocketAddr) -> SocketAddr {
    match address {
        SocketAddr::V6(v6) => match v6.ip().to_ipv4_mapped() {
            Some(v4) => SocketAddr::new(v4.into(), v6.port()),
            None => address,
        },
        SocketAddr::V4(_) => address,
    }
}

fn close<'s>(lp: &Loop<'s>, st: &mut LoopState<'s>, i: usize) {
    if let Some(conn) = st.conns[i].take() {
        settle(lp, st, i, conn, After::Close);
    }
}

/// Read the PROXY protocol header of a new connection (`ServerOptions::proxy_protocol`) as
/// far as it has come. `None` once it is complete: the connection's peer and base environ are
/// then the header's, and its requests are served as usual.
#[cold]
#[inline(never)]
fn proxy_header<'s, A, H>(
    conn: &mut Conn<'s>,
    server: &'s WsgiServer<A, H>,
    registry: &mio::Registry,
    index: usize,
    now: Instant,
) -> Option<After>
where
    A: Application,
    H: RequestHandler,
{
    let pending = conn.proxy.as_mut()?;
    let socket_peer = conn.client;
    let progress = proxied::read_header(
        pending,
        &mut conn.stream,
        &socket_peer,
        &mut conn.rx,
        &mut conn.len,
    );
    match progress {
        Progress::Waiting => Some(register(conn, registry, index, false)),
        Progress::Refused => Some(After::Close),
        Progress::Done(header) => {
            conn.proxy = None;
            let peer = proxied::effective_peer(&header, socket_peer);
            let mut environ = server.shared.connection_environ(&peer);
            proxied::annotate(&mut environ, &header, socket_peer, peer);
            conn.environ = environ;
            conn.client = peer;
            conn.deadline = now + server.shared.options.idle_timeout;
            None
        }
    }
}

/// Read, answer, write: everything one readiness event allows.
fn drive<'s, P, A, H>(
    conn: &mut Conn<'s>,
    app: &P,
    server: &'s WsgiServer<A, H>,
    memory: &mut OwnedMemory,
    registry: &mio::Registry,
    index: usize,
    turn: Turn,
) -> After
where
    P: Application,
    A: Application,
    H: RequestHandler,
{
    let shared = &server.shared;
    let options = &shared.options;
    let Turn {
        now,
        date,
        peer_closed,
    } = turn;
    if conn.proxy.is_some() {
        if let Some(after) = proxy_header(conn, server, registry, index, now) {
            return after;
        }
    }
    // Forwarding headers count from the peers `forwarded_allow_ips` names (the PROXY
    // header's source, when there is one).
    let app = &Forwarding::new(app, options, conn.client);
    // Passes are bounded: each either consumes bytes or stops.
    for _ in 0..64 {
        if let Err(after) = flush(conn, now + options.body_timeout) {
            return after;
        }
        if conn.has_unsent() {
            // Wait for writability before reading or answering more.
            conn.deadline = now + options.body_timeout;
            return register(conn, registry, index, true);
        }
        if conn.closing {
            return After::Close;
        }
        // Read until the socket is drained, the buffer is full, or EOF.
        let mut blocked = false;
        // The last read returned less than asked: probably drained, but not proven (a FIN
        // that came with the data raises no new readiness edge).
        let mut short_read = false;
        while conn.len < conn.rx.len() && !conn.eof {
            let space = conn.rx.len() - conn.len;
            match conn.stream.read(&mut conn.rx[conn.len..]) {
                Ok(0) => conn.eof = true,
                Ok(n) => {
                    conn.len += n;
                    // Unless the peer closed: then read on to the end of stream, which no
                    // further event would announce.
                    if n < space && !peer_closed {
                        // A short read drained the socket; the next bytes bring a new edge.
                        // This saves the read that would only say EAGAIN.
                        blocked = true;
                        short_read = true;
                        break;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    blocked = true;
                    break;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    log::debug!(target: "wsgiref::server", "{}: {e}", conn.client);
                    return After::Close;
                }
            }
        }
        // While stopping, each response says `Connection: close` (see `STOP_LINGER`).
        let config = ServerConfig {
            keep_alive: options.config.keep_alive && !shared.stop.is_requested(),
            ..options.config
        };
        // The session stops at a request it cannot buffer (a body larger than the buffer, or
        // a client waiting for `100 Continue`) instead of refusing it; such a connection goes
        // to a blocking thread below.
        let mut session: Session<'_> =
            Session::new(&mut conn.rx, memory.memory(), config).handing_off_large_bodies();
        session.received(conn.len);
        let end = conn.len;
        if conn.eof {
            session.receive_eof();
        }
        let date = Some(date);
        // The session was stopped with more requests possibly buffered (behind a queued file
        // or a large response); they are answered in another pass once the bytes are out.
        let mut stopped_early = false;
        loop {
            let sink = TxSink {
                tx: &mut conn.tx,
                file: &mut conn.file,
                stream: &conn.stream,
                timeout: options.body_timeout,
                blocking: false,
            };
            let step = session.process_with_files(app, &conn.environ, date, sink);
            match step {
                Step::Answered(log) => {
                    conn.request_started = None;
                    match conn.file.as_mut() {
                        // Logged when the file has been sent (or the transfer ends early).
                        Some(queued) => queued.log = Some(log),
                        None => shared.handler.log_request(&conn.client, &log),
                    }
                    // A queued file goes out before any later response; and past the
                    // high-water mark, the bytes go out before more are answered.
                    if conn.file.is_some() || conn.tx.len() - conn.sent > TX_PAUSE {
                        stopped_early = true;
                        break;
                    }
                }
                Step::Rejected {
                    error,
                    request_line,
                } => {
                    shared
                        .handler
                        .log_refusal(&conn.client, &error, &request_line);
                    conn.closing = true;
                    break;
                }
                Step::Close => {
                    conn.closing = true;
                    break;
                }
                Step::NeedInput => break,
            }
        }
        if session.is_closed() {
            conn.closing = true;
        }
        let wants_stream = session.wants_stream();
        // Keep the unconsumed bytes at the front of the buffer for the next event.
        let left = session.buffered();
        conn.rx.copy_within(end - left..end, 0);
        conn.len = left;
        if conn.len == 0 {
            conn.request_started = None;
            conn.deadline = now + options.idle_timeout;
        } else {
            let started = *conn.request_started.get_or_insert(now);
            conn.deadline = started + options.header_timeout;
            if !conn.closing && !conn.eof && wants_stream {
                if conn.file.is_none() {
                    return After::HandOff;
                }
                // The file goes out first; the hand-off follows in a later pass.
                stopped_early = true;
            }
        }
        if conn.has_unsent() {
            if let Err(after) = flush(conn, now + options.body_timeout) {
                return after;
            }
            if conn.has_unsent() {
                conn.deadline = now + options.body_timeout;
                return register(conn, registry, index, true);
            }
        }
        // Everything is written: the connection waits for a request again (its first byte
        // or the rest of it). Writing no longer sets its clock.
        conn.deadline = match conn.request_started {
            Some(started) => started + options.header_timeout,
            None => now + options.idle_timeout,
        };
        if conn.closing {
            return After::Close;
        }
        if stopped_early && conn.len > 0 {
            // Everything is written and requests wait in the buffer: no readiness event will
            // come for bytes already received, so answer them now.
            continue;
        }
        if blocked {
            if short_read && conn.len > 0 {
                // A request is incomplete: read once more before waiting, so an end of
                // stream that arrived with its last bytes is seen now rather than at the
                // header timeout.
                continue;
            }
            return register(conn, registry, index, false);
        }
        // The buffer was full or EOF came: another pass reads on (or ends the session).
    }
    // Still busy after many passes (a client pipelining without pause): let the others run
    // and come back to this one on the next turn of the loop.
    After::Again
}

/// The sink a session answers into: the connection's transmit buffer, bounded, and its file
/// queue.
///
/// Small responses (the usual case) are only appended; the loop writes them with one system
/// call after the batch. A file body is queued behind them (see [`FileSink`] below) and sent by
/// the loop as the socket drains. A response that would push the buffer past
/// [`TX_HIGH_WATER`] (a long stream produced by the application) is written out as it is
/// produced instead: the socket is switched to blocking mode with the body timeout as its
/// write timeout, so memory stays bounded by the high-water mark whatever the response size.
/// The thread is in a call meanwhile: if the client is slow, the monitor hands the loop to
/// another thread, and only this connection waits.
struct TxSink<'c> {
    tx: &'c mut Vec<u8>,
    file: &'c mut Option<QueuedFile>,
    stream: &'c MioStream,
    timeout: Duration,
    /// The socket was switched to blocking mode (switched back on drop).
    blocking: bool,
}

impl TxSink<'_> {
    fn write_through(&mut self, bytes: &[u8]) -> io::Result<()> {
        if !self.blocking {
            let sock = socket2::SockRef::from(self.stream);
            sock.set_nonblocking(false)?;
            sock.set_write_timeout(Some(self.timeout))?;
            self.blocking = true;
        }
        let mut stream = self.stream;
        stream.write_all(bytes)
    }
}

impl FileSink for TxSink<'_> {
    /// `sendfile(2)` for a [`FileBody`](crate::file::FileBody) (any `std::fs::File` region)
    /// on Linux: the file goes from the page cache to the socket without passing through this
    /// process. Normally the region is only queued (the file duplicated with `try_clone`) and
    /// reported sent; the loop sends it after the head with non-blocking `sendfile` as the
    /// socket accepts it, so a slow reader costs its own connection nothing more than a
    /// pending write, and a file that turns out shorter than announced closes the connection.
    /// If the response was already being written in blocking mode (past the high-water mark),
    /// the file follows the same way, at once.
    fn send_file(
        &mut self,
        region: &FileRegion<'_>,
    ) -> Option<Result<u64, embedded_io::ErrorKind>> {
        let file = region.file.downcast_ref::<std::fs::File>()?;
        // One file per response, and the loop answers nothing more until it is sent.
        debug_assert!(self.file.is_none(), "a second file queued behind the first");
        if cfg!(target_os = "linux") && !self.blocking {
            // A file that cannot be duplicated is read as usual.
            let file = file.try_clone().ok()?;
            *self.file = Some(QueuedFile {
                log: None,
                file,
                offset: region.offset,
                left: region.len,
            });
            return Some(Ok(region.len));
        }
        send_file_linux(self, file, region.offset, region.len)
    }
}

/// One `sendfile(2)` call of at most `left` bytes of `file` from `*offset` (advanced by what
/// was sent), shared by the blocking and the non-blocking file paths.
#[cfg(target_os = "linux")]
fn sendfile_chunk(
    stream: &MioStream,
    file: &std::fs::File,
    offset: &mut u64,
    left: u64,
) -> rustix::io::Result<usize> {
    // At most 1 GiB per call: Linux sends at most 0x7ffff000 bytes at once anyway.
    let count = left.min(1 << 30) as usize;
    rustix::fs::sendfile(stream, file, Some(offset), count)
}

#[cfg(target_os = "linux")]
fn send_file_linux(
    sink: &mut TxSink<'_>,
    file: &std::fs::File,
    offset: u64,
    len: u64,
) -> Option<Result<u64, embedded_io::ErrorKind>> {
    let queued = std::mem::take(sink.tx);
    if let Err(e) = sink.write_through(&queued) {
        return Some(Err(crate::io::kind_of(&e)));
    }
    *sink.tx = queued;
    sink.tx.clear();
    let mut at = offset;
    let end = offset.saturating_add(len);
    while at < end {
        let left = end - at;
        match sendfile_chunk(sink.stream, file, &mut at, left) {
            // End of file: the file is shorter than announced; the handler notices the
            // missing bytes and closes the connection.
            Ok(0) => break,
            Ok(_) => {}
            Err(rustix::io::Errno::INTR) => {}
            // With a write timeout set, EAGAIN on a blocking socket means it expired.
            Err(rustix::io::Errno::AGAIN) => return Some(Err(embedded_io::ErrorKind::TimedOut)),
            Err(e) => return Some(Err(crate::io::kind_of(&io::Error::from(e)))),
        }
    }
    Some(Ok(at - offset))
}

/// Elsewhere the body is read and written as usual.
#[cfg(not(target_os = "linux"))]
fn send_file_linux(
    _: &mut TxSink<'_>,
    _: &std::fs::File,
    _: u64,
    _: u64,
) -> Option<Result<u64, embedded_io::ErrorKind>> {
    None
}

impl Drop for TxSink<'_> {
    fn drop(&mut self) {
        if self.blocking {
            // If this fails the next non-blocking read or write reports it.
            let _ = socket2::SockRef::from(self.stream).set_nonblocking(true);
        }
    }
}

impl embedded_io::ErrorType for TxSink<'_> {
    type Error = embedded_io::ErrorKind;
}

impl embedded_io::Write for TxSink<'_> {
    fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
        if !self.blocking && self.tx.len() + buf.len() <= TX_HIGH_WATER {
            self.tx.extend_from_slice(buf);
            return Ok(buf.len());
        }
        // Write what is queued, then this, straight to the socket.
        let queued = std::mem::take(self.tx);
        self.write_through(&queued)
            .and_then(|()| self.write_through(buf))
            .map_err(|e| crate::io::kind_of(&e))?;
        *self.tx = queued;
        self.tx.clear();
        Ok(buf.len())
    }

    /// The core flushes after each block of a body of unknown length, after each legacy
    /// `write()`, and at the end of a response: the bytes queued so far go to the socket now,
    /// as far as it takes them without blocking, so a block is on its way before the
    /// application is asked for the next one (PEP 3333: a server must not delay any block).
    /// What the socket does not take stays queued, bounded by [`TX_HIGH_WATER`].
    fn flush(&mut self) -> Result<(), Self::Error> {
        if self.blocking || self.tx.is_empty() {
            return Ok(());
        }
        let mut stream = self.stream;
        let mut written = 0;
        while written < self.tx.len() {
            match stream.write(&self.tx[written..]) {
                Ok(0) => return Err(embedded_io::ErrorKind::WriteZero),
                Ok(n) => written += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(crate::io::kind_of(&e)),
            }
        }
        if written == self.tx.len() {
            self.tx.clear();
        } else {
            self.tx.drain(..written);
        }
        Ok(())
    }
}

/// Write pending transmit bytes without blocking. Progress moves the connection's deadline to
/// `deadline` (the turn's time plus the body timeout: no clock read per write).
fn flush(conn: &mut Conn<'_>, deadline: Instant) -> Result<(), After> {
    while conn.sent < conn.tx.len() {
        match conn.stream.write(&conn.tx[conn.sent..]) {
            Ok(0) => return Err(After::Close),
            Ok(n) => {
                conn.sent += n;
                conn.deadline = deadline;
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                log::debug!(target: "wsgiref::server", "{}: {e}", conn.client);
                return Err(After::Close);
            }
        }
    }
    conn.tx.clear();
    conn.sent = 0;
    send_queued_file(conn, deadline)
}

/// Send the queued file region without blocking, after the transmit bytes.
#[cfg(target_os = "linux")]
fn send_queued_file(conn: &mut Conn<'_>, deadline: Instant) -> Result<(), After> {
    let Some(queued) = conn.file.as_mut() else {
        return Ok(());
    };
    while queued.left > 0 {
        match sendfile_chunk(&conn.stream, &queued.file, &mut queued.offset, queued.left) {
            Ok(0) => {
                // The file is shorter than its announced length: the response cannot be
                // completed, and the client must not wait for the missing bytes.
                log::warn!(
                    target: "wsgiref::server",
                    "{}: file ended {} bytes short of its Content-Length; closed",
                    conn.client,
                    queued.left
                );
                return Err(After::Close);
            }
            Ok(n) => {
                queued.left -= n as u64;
                conn.deadline = deadline;
            }
            Err(rustix::io::Errno::AGAIN) => return Ok(()),
            Err(rustix::io::Errno::INTR) => {}
            Err(e) => {
                log::debug!(target: "wsgiref::server", "{}: {e}", conn.client);
                return Err(After::Close);
            }
        }
    }
    if let Some(log) = conn.file.take().and_then(|queued| queued.log) {
        conn.logger.log(&conn.client, &log);
    }
    Ok(())
}

/// Nothing is queued where files are not sent with `sendfile(2)`.
#[cfg(not(target_os = "linux"))]
fn send_queued_file(_: &mut Conn<'_>, _: Instant) -> Result<(), After> {
    Ok(())
}

fn register(conn: &mut Conn<'_>, registry: &mio::Registry, index: usize, write: bool) -> After {
    if write != conn.want_write {
        let interest = if write {
            Interest::READABLE | Interest::WRITABLE
        } else {
            Interest::READABLE
        };
        if registry
            .reregister(&mut conn.stream, Token(index + FIRST), interest)
            .is_err()
        {
            return After::Close;
        }
        conn.want_write = write;
    }
    After::Keep
}

/// Serve the request at the front of `conn` in blocking mode on this thread: its body does
/// not fit the receive buffer, arrives chunked, or waits for `100 Continue`. The thread is in
/// a call meanwhile, so if it waits the monitor hands the loop to another thread. Afterwards
/// the connection goes back to the loop (registered again, to be driven once more: bytes of a
/// next request may be buffered) or is closed.
fn serve_blocking<P, A, H>(conn: &mut Conn<'_>, app: &P, server: &WsgiServer<A, H>) -> After
where
    P: Application,
    H: RequestHandler,
{
    let shared = &server.shared;
    let options = &shared.options;
    // A second descriptor of the same socket, in blocking mode while the request is served
    // (the mode belongs to the socket, so it is switched back after). The connection keeps
    // its own descriptor and poller registration; events meanwhile are ignored, and the loop
    // drives the connection once more when it is back.
    let stream: TcpStream = match socket2::SockRef::from(&conn.stream).try_clone() {
        Ok(socket) => socket.into(),
        Err(e) => {
            log::warn!(target: "wsgiref::server", "{}: {e}", conn.client);
            return After::Close;
        }
    };
    let mut stream = stream;
    if stream.set_nonblocking(false).is_err() {
        return After::Close;
    }
    let _ = stream.set_write_timeout(Some(options.body_timeout));
    if conn.sent < conn.tx.len() && stream.write_all(&conn.tx[conn.sent..]).is_err() {
        return After::Close;
    }
    conn.tx.clear();
    conn.sent = 0;
    let received = conn.rx[..conn.len].to_vec();
    conn.len = 0;
    let (handler, client) = (&shared.handler, conn.client);
    match serve_one_request(
        handler,
        stream,
        client,
        &Forwarding::new(app, options, client),
        &conn.environ,
        options,
        received,
    ) {
        OneRequest::Closed => After::Close,
        OneRequest::KeepOpen(stream, left) => {
            // `stream` (the duplicate) closes here; the connection's own descriptor stays.
            if left.len() > conn.rx.len() || stream.set_nonblocking(true).is_err() {
                return After::Close;
            }
            conn.rx[..left.len()].copy_from_slice(&left);
            conn.len = left.len();
            conn.request_started = None;
            After::Again
        }
    }
}
