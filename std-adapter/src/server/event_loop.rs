//! The event-loop worker: one per core, each with its own `SO_REUSEPORT` listener and `mio`
//! poller, serving many non-blocking connections through the core's sans-IO
//! [`Session`](wsgiref_core::handler::Session).
//!
//! Per readable connection: read what the socket has into the connection's receive buffer,
//! answer every complete request buffered (pipelining) into the connection's transmit buffer,
//! and write that buffer with one system call. A write that would block keeps the rest and
//! waits for writability; nothing more is read from that connection until it drains.
//!
//! A request whose head is complete but whose body is not yet buffered stays in the loop when
//! the body fits the receive buffer. When it cannot (`Expect: 100-continue`, a chunked body
//! still arriving, a `Content-Length` larger than the buffer) the connection is handed to a
//! blocking helper thread running the core's `Connection`, with the bytes received so far and
//! any response bytes not yet written.
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
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::net::TcpStream as MioStream;
use mio::{Events, Interest, Poll, Token, Waker};
use wsgiref_core::app::{FileRegion, FileSink};
use wsgiref_core::handler::{OwnedMemory, Session, Step};
use wsgiref_core::proto::HttpDate;
use wsgiref_core::{Application, Environ};

use super::affinity::Placement;
use super::request_handler::RequestHandler;
use super::server::{refuse_busy, OpenGuard, WsgiServer};
use crate::clock::LoopClock;

/// How often deadlines are checked.
pub(crate) const SWEEP: Duration = Duration::from_millis(100);

const LISTENER: Token = Token(0);
const WAKER: Token = Token(1);
/// Connection tokens start here.
const FIRST: usize = 2;

/// Transmit bytes past which the loop stops reading a connection until they are written.
const TX_HIGH_WATER: usize = 256 * 1024;

/// The 408 a partial request gets when its time is up.
const TIMEOUT_RESPONSE: &[u8] = b"HTTP/1.1 408 Request Timeout\r\nContent-Type: text/plain\r\n\
Connection: close\r\nContent-Length: 34\r\n\r\nrequest not received in time (408)\n";

/// One connection of a worker.
struct Conn<'s> {
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
}

/// The part of a file body still to send: `left` bytes from `offset`.
struct QueuedFile {
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
struct Turn {
    now: Instant,
    date: HttpDate,
}

/// What to do with a connection after an event.
enum After {
    Keep,
    /// Not finished (readiness not used up): drive it again on the next turn.
    Again,
    Close,
    HandOff,
}

/// Run one worker until shutdown. `listener` is this worker's own (non-blocking) socket.
///
/// `placement` is set when this worker was pinned to a CPU: the blocking helpers it starts
/// are given the placement's whole set of CPUs back.
pub(crate) fn run<A, H>(
    server: &WsgiServer<A, H>,
    listener: TcpListener,
    placement: Option<Placement>,
) -> io::Result<()>
where
    A: Application + Send + Sync + 'static,
    H: RequestHandler,
{
    let shared = &server.shared;
    let options = &shared.options;
    let mut poll = Poll::new()?;
    let waker = Arc::new(Waker::new(poll.registry(), WAKER)?);
    shared.stop.register(waker)?;
    let mut listener = mio::net::TcpListener::from_std(listener);
    poll.registry()
        .register(&mut listener, LISTENER, Interest::READABLE)?;
    let mut listening = true;
    let mut events = Events::with_capacity(1024);
    let mut conns: Vec<Option<Conn<'_>>> = Vec::new();
    let mut free: Vec<usize> = Vec::new();
    let mut memory = OwnedMemory::default();
    let mut app = shared.app.load();
    let mut next_sweep = Instant::now() + SWEEP;
    let mut stop_deadline: Option<Instant> = None;
    // Connections whose last turn ended before their readiness was used up.
    let mut again: Vec<usize> = Vec::new();
    // The tokens of one turn (reused, so a turn does not allocate).
    let mut tokens: Vec<Token> = Vec::new();

    let mut clock = LoopClock::new();
    // The time, read once per turn of the loop (right after the poll returns) and used for
    // every deadline and `Date` of that turn: clock reads cost as much as a request's parsing
    // on virtual machines (see `LoopClock`).
    let mut now = Instant::now();
    loop {
        if shared.stop.is_requested() && stop_deadline.is_none() {
            stop_deadline = Some(now + options.shutdown_grace);
            if listening {
                let _ = poll.registry().deregister(&mut listener);
                listening = false;
            }
        }
        if let Some(until) = stop_deadline {
            // Close idle connections; the loop ends when none is left (or time is up).
            for i in 0..conns.len() {
                let idle = conns[i]
                    .as_ref()
                    .is_some_and(|c| c.len == 0 && !c.has_unsent());
                if idle || now >= until {
                    close(&mut poll, &mut conns, &mut free, i);
                }
            }
            if conns.iter().all(Option::is_none) {
                return Ok(());
            }
        }
        let wait = if again.is_empty() {
            next_sweep.saturating_duration_since(now)
        } else {
            Duration::ZERO
        };
        if let Err(e) = poll.poll(&mut events, Some(wait)) {
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(e);
            }
        }
        now = Instant::now();
        let date = clock.date(now);
        app = {
            // Pick up set_app (one uncontended lock per batch of events).
            let current = shared.app.load();
            if Arc::ptr_eq(&current, &app) {
                app
            } else {
                current
            }
        };
        let ready = events.iter().map(|e| e.token()).chain(
            std::mem::take(&mut again)
                .into_iter()
                .map(|i| Token(i + FIRST)),
        );
        tokens.clear();
        tokens.extend(ready);
        for &token in &tokens {
            match token {
                LISTENER => {
                    if listening {
                        accept_all(server, &mut poll, &mut listener, &mut conns, &mut free, now);
                    }
                }
                WAKER => {}
                Token(t) => {
                    let i = t - FIRST;
                    let after = match conns.get_mut(i).and_then(Option::as_mut) {
                        Some(conn) => {
                            let turn = Turn { now, date };
                            drive(conn, &*app, server, &mut memory, &mut poll, i, turn)
                        }
                        None => continue,
                    };
                    match after {
                        After::Keep => {}
                        After::Again => again.push(i),
                        After::Close => close(&mut poll, &mut conns, &mut free, i),
                        After::HandOff => {
                            hand_off(server, &mut poll, &mut conns, &mut free, i, placement)
                        }
                    }
                }
            }
        }
        if now >= next_sweep {
            next_sweep = now + SWEEP;
            clock.resync(now);
            for i in 0..conns.len() {
                if let Some(conn) = conns[i].as_mut() {
                    if now >= conn.deadline {
                        if conn.request_started.is_some() && !conn.has_unsent() {
                            log::info!(
                                target: "wsgiref::server",
                                "{}: request not received in time; closed (408)",
                                conn.client
                            );
                            let _ = conn.stream.write(TIMEOUT_RESPONSE);
                        }
                        close(&mut poll, &mut conns, &mut free, i);
                    }
                }
            }
        }
    }
}

fn accept_all<'s, A, H>(
    server: &'s WsgiServer<A, H>,
    poll: &mut Poll,
    listener: &mut mio::net::TcpListener,
    conns: &mut Vec<Option<Conn<'s>>>,
    free: &mut Vec<usize>,
    now: Instant,
) where
    A: Application + Send + Sync + 'static,
    H: RequestHandler,
{
    let shared = &server.shared;
    let options = &shared.options;
    loop {
        let (mut stream, client) = match listener.accept() {
            Ok(pair) => pair,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                log::warn!(target: "wsgiref::server", "accept failed: {e}");
                return;
            }
        };
        let Some(guard) = OpenGuard::try_new(&shared.open, options.max_connections) else {
            refuse_busy(TcpStream::from(stream), &client);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let i = free.pop().unwrap_or_else(|| {
            conns.push(None);
            conns.len() - 1
        });
        if let Err(e) = poll
            .registry()
            .register(&mut stream, Token(i + FIRST), Interest::READABLE)
        {
            log::warn!(target: "wsgiref::server", "{client}: cannot register: {e}");
            free.push(i);
            continue;
        }
        conns[i] = Some(Conn {
            stream,
            client,
            environ: shared.connection_environ(&client),
            rx: vec![0; options.receive_buffer.max(1024)],
            len: 0,
            tx: Vec::new(),
            sent: 0,
            file: None,
            closing: false,
            eof: false,
            want_write: false,
            deadline: now + options.idle_timeout,
            request_started: None,
            _open: guard,
        });
    }
}

fn close(poll: &mut Poll, conns: &mut [Option<Conn<'_>>], free: &mut Vec<usize>, i: usize) {
    if let Some(mut conn) = conns[i].take() {
        let _ = poll.registry().deregister(&mut conn.stream);
        // Half-close so the client reads the last response to its end before it sees EOF.
        let _ = conn.stream.shutdown(std::net::Shutdown::Write);
        free.push(i);
    }
}

/// Read, answer, write: everything one readiness event allows.
fn drive<P, A, H>(
    conn: &mut Conn<'_>,
    app: &P,
    server: &WsgiServer<A, H>,
    memory: &mut OwnedMemory,
    poll: &mut Poll,
    index: usize,
    turn: Turn,
) -> After
where
    P: Application,
    H: RequestHandler,
{
    let shared = &server.shared;
    let options = &shared.options;
    let Turn { now, date } = turn;
    // Passes are bounded: each either consumes bytes or stops.
    for _ in 0..64 {
        if let Err(after) = flush(conn, now + options.body_timeout) {
            return after;
        }
        if conn.has_unsent() {
            // Wait for writability before reading or answering more.
            conn.deadline = now + options.body_timeout;
            return register(conn, poll, index, true);
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
                    if n < space {
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
        // The session stops at a request it cannot buffer (a body larger than the buffer, or
        // a client waiting for `100 Continue`) instead of refusing it; such a connection goes
        // to a blocking thread below.
        let mut session: Session<'_> =
            Session::new(&mut conn.rx, memory.memory(), options.config).handing_off_large_bodies();
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
                    shared.handler.log_request(&conn.client, &log);
                    // A queued file goes out before any later response; and past the
                    // high-water mark, the bytes go out before more are answered.
                    if conn.file.is_some() || conn.tx.len() - conn.sent > TX_HIGH_WATER {
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
                return register(conn, poll, index, true);
            }
        }
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
            return register(conn, poll, index, false);
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
/// The price is that this worker serves only that connection while such a response is being
/// sent; the other workers go on.
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

    fn flush(&mut self) -> Result<(), Self::Error> {
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
    conn.file = None;
    Ok(())
}

/// Nothing is queued where files are not sent with `sendfile(2)`.
#[cfg(not(target_os = "linux"))]
fn send_queued_file(_: &mut Conn<'_>, _: Instant) -> Result<(), After> {
    Ok(())
}

fn register(conn: &mut Conn<'_>, poll: &mut Poll, index: usize, write: bool) -> After {
    if write != conn.want_write {
        let interest = if write {
            Interest::READABLE | Interest::WRITABLE
        } else {
            Interest::READABLE
        };
        if poll
            .registry()
            .reregister(&mut conn.stream, Token(index + FIRST), interest)
            .is_err()
        {
            return After::Close;
        }
        conn.want_write = write;
    }
    After::Keep
}

/// Move a connection to a blocking helper thread (or answer 503 if all are busy).
fn hand_off<A, H>(
    server: &WsgiServer<A, H>,
    poll: &mut Poll,
    conns: &mut [Option<Conn<'_>>],
    free: &mut Vec<usize>,
    i: usize,
    placement: Option<Placement>,
) where
    A: Application + Send + Sync + 'static,
    H: RequestHandler,
{
    let Some(mut conn) = conns[i].take() else {
        return;
    };
    free.push(i);
    let _ = poll.registry().deregister(&mut conn.stream);
    let shared = server.shared.clone();
    let client = conn.client;
    if shared.blocking.load(Ordering::Relaxed) >= shared.options.max_blocking {
        refuse_busy(TcpStream::from(conn.stream), &client);
        return;
    }
    let received = conn.rx[..conn.len].to_vec();
    let unsent = conn.tx.split_off(conn.sent);
    let stream = TcpStream::from(conn.stream);
    // The helper counts the connection as open again (the loop's count ends with `conn`).
    drop(conn.environ);
    drop(conn._open);
    let spawned = std::thread::Builder::new()
        .name("wsgiref-blocking".into())
        .spawn(move || {
            if let Some(placement) = placement {
                placement.release();
            }
            let _open = OpenGuard::try_new(&shared.open, usize::MAX);
            let _helper = OpenGuard::try_new(&shared.blocking, usize::MAX);
            let mut stream = stream;
            if stream.set_nonblocking(false).is_err() {
                return;
            }
            let _ = stream.set_write_timeout(Some(shared.options.body_timeout));
            if !unsent.is_empty() && stream.write_all(&unsent).is_err() {
                return;
            }
            shared.serve_stream(stream, client, received);
        });
    if let Err(e) = spawned {
        log::error!(target: "wsgiref::server", "cannot start a thread: {e}");
    }
}
