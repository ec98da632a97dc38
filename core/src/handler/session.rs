//! [`Session`]: the sans-IO server connection — fed bytes, emitting bytes.

use embedded_io::Write;

use crate::app::Application;
use crate::app::{send_file_via, FileSink, SendFileRef};
use crate::environ::Environ;
use crate::handler::connection::ServerConfig;
use crate::handler::exchange::{first_line, run_request, write_refusal, Buffered, Exchanged, Rx};
use crate::handler::log::{RequestLine, RequestLog};
use crate::handler::memory::Memory;
use crate::handler::output::write_all;
use crate::proto::{HttpDate, ProtocolError};

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

/// [`Session`]: the sans-IO server connection — fed bytes, emitting bytes.
///
/// Where [`Connection`](crate::handler::Connection) pulls from a blocking transport, a
/// `Session` is pushed: the runtime (an event loop, a C program, a fuzzer, an interrupt
/// handler) copies received bytes into [`Session::receive_buffer`], then calls
/// [`Session::process`], which answers every complete request buffered so far into an output
/// sink and tells what it needs next. It never blocks, owns no socket and no clock.
///
/// A request is run once its head **and its whole body** are buffered, so the application's
/// `wsgi.input` never has to wait; the receive buffer therefore bounds the request size (a
/// larger one is refused with 413). `Expect: 100-continue` is answered as soon as its head is
/// complete.
///
/// ```
/// use wsgiref_core::app::{app_fn, StartResponse};
/// use wsgiref_core::environ::EnvironBuf;
/// use wsgiref_core::handler::{MemoryBuf, ServerConfig, Session, Step};
/// use wsgiref_core::{AppError, Environ};
///
/// let app = app_fn(|_env: &mut Environ<'_>, sr: &mut StartResponse<'_>| {
///     sr.start("200 OK", &[("Content-Type", "text/plain")])?;
///     Ok::<_, AppError>(&b"hi"[..])
/// });
/// let mut rx = [0u8; 1024];
/// let mut memory: MemoryBuf = MemoryBuf::new();
/// let mut session: Session<'_> = Session::new(&mut rx, memory.memory(), ServerConfig::default());
/// let mut base_buf = EnvironBuf::<64, 2>::new();
/// let base = base_buf.environ();
///
/// // Bytes arrive in two pieces.
/// for piece in [&b"GET / HTTP/1.1\r\nHo"[..], b"st: x\r\n\r\n"] {
///     let space = session.receive_buffer();
///     space[..piece.len()].copy_from_slice(piece);
///     session.received(piece.len());
/// }
/// let mut out = heapless::Vec::<u8, 512>::new();
/// let step = session.process(&app, &base, None, &mut out);
/// assert!(matches!(step, Step::Answered(_)));
/// assert!(out.ends_with(b"\r\n\r\nhi"));
/// assert!(matches!(session.process(&app, &base, None, &mut out), Step::NeedInput));
/// ```
///
/// `H` is the most request headers parsed (more is a 431); each costs 32 bytes of stack while
/// a head is parsed.
pub struct Session<'s, const H: usize = 64> {
    rx: Rx<'s>,
    memory: Memory<'s>,
    config: ServerConfig,
    /// No more bytes will arrive.
    eof: bool,
    closed: bool,
    /// `100 Continue` already sent for the request at the front of the buffer.
    continued: bool,
    /// Leave requests this session cannot buffer to the caller instead of refusing them.
    hand_off: bool,
    /// The last `process` stopped at such a request.
    wants_stream: bool,
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
            hand_off: false,
            wants_stream: false,
        }
    }

    /// Do not refuse a request whose body cannot be buffered (413) or that waits for
    /// `100 Continue`: stop at it with [`Step::NeedInput`] and report it through
    /// [`wants_stream`](Self::wants_stream), so a server can go on with a streaming
    /// [`Connection`](crate::handler::Connection) from the same bytes. Without it, the session
    /// answers such requests itself (413, or `100 Continue` and then waits).
    pub fn handing_off_large_bodies(mut self) -> Self {
        self.hand_off = true;
        self
    }

    /// True when the last [`process`](Self::process) stopped at a request with a complete head
    /// whose body this session will not buffer (see
    /// [`handing_off_large_bodies`](Self::handing_off_large_bodies)).
    pub fn wants_stream(&self) -> bool {
        self.wants_stream
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
        self.rx.copy_in(bytes)
    }

    /// The peer finished sending (end of stream).
    ///
    /// Bytes of a request head still waiting for their end are then refused with `400 Bad
    /// Request`, where CPython's `http.server` answers a head whose last line lacks its line
    /// end: see the handler module's "The server's own refusals".
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
        sink: W,
    ) -> Step {
        self.process_inner(app, base, date, sink, None)
    }

    /// [`process`](Self::process) for a sink that can send files itself: a body that is a
    /// [`FileRegion`](crate::app::FileRegion) (see [`Body::file_region`](crate::Body::file_region))
    /// goes out through [`FileSink::send_file`] after the head, instead of being read
    /// through the application's chunks. The std server does this with `sendfile(2)`.
    pub fn process_with_files<A: Application, W: Write + FileSink>(
        &mut self,
        app: &A,
        base: &Environ<'_>,
        date: Option<HttpDate>,
        sink: W,
    ) -> Step {
        self.process_inner(app, base, date, sink, Some(send_file_via::<W>))
    }

    fn process_inner<A: Application, W: Write>(
        &mut self,
        app: &A,
        base: &Environ<'_>,
        date: Option<HttpDate>,
        mut sink: W,
        sendfile: Option<SendFileRef<W>>,
    ) -> Step {
        self.wants_stream = false;
        if self.closed {
            return Step::Close;
        }
        let exchanged = run_request::<A, Buffered, &mut W, H, true>(
            app,
            base,
            date,
            &self.config,
            &mut self.memory,
            &mut self.rx,
            &Buffered,
            &mut sink,
            sendfile,
            // A session serves from its buffer: the line stays there (`line` below).
            &mut RequestLine::default(),
        );
        match exchanged {
            Exchanged::Answered {
                report,
                close,
                line,
            } => {
                self.continued = false;
                if close {
                    self.closed = true;
                }
                // The log line is copied once, here, straight into the step.
                Step::Answered(report.log(RequestLine::new(&self.rx.buf[line])))
            }
            Exchanged::Refused { error } => self.refuse(error, date, &mut sink),
            Exchanged::Incomplete { head: None } => {
                let pending = self.rx.pending();
                if pending.is_empty() && self.eof {
                    self.closed = true;
                    return Step::Close;
                }
                if self.eof {
                    let error =
                        ProtocolError::bad_request("connection closed inside a request head");
                    return self.refuse(error, date, &mut sink);
                }
                if self.is_full() {
                    let error = ProtocolError::header_fields_too_large(
                        "request head larger than the receive buffer",
                    );
                    return self.refuse(error, date, &mut sink);
                }
                Step::NeedInput
            }
            Exchanged::Incomplete { head: Some(head) } => {
                if self.hand_off
                    && !self.eof
                    && (self.is_full() || head.cannot_fit || head.expect_continue)
                {
                    self.wants_stream = true;
                    return Step::NeedInput;
                }
                if self.eof {
                    let error =
                        ProtocolError::bad_request("connection closed inside a request body");
                    return self.refuse(error, date, &mut sink);
                }
                if self.is_full() || head.cannot_fit {
                    let error = ProtocolError::content_too_large(
                        "request larger than the session's receive buffer",
                    );
                    return self.refuse(error, date, &mut sink);
                }
                if head.expect_continue && !self.continued {
                    self.continued = true;
                    // A sink that fails here fails again, and is reported, with the response.
                    if write_all(&mut sink, b"HTTP/1.1 100 Continue\r\n\r\n").is_ok() {
                        let _ = sink.flush();
                    }
                }
                Step::NeedInput
            }
        }
    }

    /// The buffered bytes fill the whole receive buffer: nothing more can arrive.
    fn is_full(&self) -> bool {
        self.rx.end - self.rx.start == self.rx.buf.len()
    }

    fn refuse<W: Write>(&mut self, error: ProtocolError, date: Option<HttpDate>, sink: W) -> Step {
        let request_line = RequestLine::new(first_line(self.rx.pending()));
        self.closed = true;
        let _ = write_refusal(sink, self.memory.output, &error, date, &self.config.handler);
        Step::Rejected {
            error,
            request_line,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::{app_fn, Once, StartResponse};
    use crate::environ::EnvironBuf;
    use crate::error::AppError;
    use crate::handler::memory::MemoryBuf;

    /// A "file": bytes behind an id, so a sink can recognise it by downcasting.
    struct FakeFile {
        data: &'static [u8],
    }

    /// A body over a region of a [`FakeFile`]: readable chunk by chunk, and offered as a
    /// file region.
    struct FileBody {
        file: FakeFile,
        offset: usize,
        len: usize,
        read: bool,
        closed: bool,
    }

    impl crate::Body for FileBody {
        fn next_chunk(&mut self) -> Result<Option<&[u8]>, AppError> {
            if core::mem::replace(&mut self.read, true) {
                return Ok(None);
            }
            Ok(Some(&self.file.data[self.offset..self.offset + self.len]))
        }
        fn length(&self) -> Option<u64> {
            Some(self.len as u64)
        }
        fn close(&mut self) {
            assert!(!self.closed, "closed twice");
            self.closed = true;
        }
        fn file_region(&self) -> Option<crate::app::FileRegion<'_>> {
            Some(crate::app::FileRegion {
                file: &self.file,
                offset: self.offset as u64,
                len: self.len as u64,
            })
        }
    }

    /// A sink that sends `FakeFile` regions itself (marking them), or declines.
    struct FileSinkVec {
        out: heapless::Vec<u8, 1024>,
        accept: bool,
        calls: usize,
    }

    impl embedded_io::ErrorType for FileSinkVec {
        type Error = core::convert::Infallible;
    }

    impl Write for FileSinkVec {
        fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
            let n = buf.len().min(self.out.capacity() - self.out.len());
            self.out.extend_from_slice(&buf[..n]).unwrap();
            Ok(n)
        }
        fn flush(&mut self) -> Result<(), Self::Error> {
            Ok(())
        }
    }

    impl FileSink for FileSinkVec {
        fn send_file(
            &mut self,
            region: &crate::app::FileRegion<'_>,
        ) -> Option<Result<u64, embedded_io::ErrorKind>> {
            self.calls += 1;
            let file = region.file.downcast_ref::<FakeFile>()?;
            if !self.accept {
                return None;
            }
            let start = region.offset as usize;
            self.out.extend_from_slice(b"<sendfile>").unwrap();
            self.out
                .extend_from_slice(&file.data[start..start + region.len as usize])
                .unwrap();
            Some(Ok(region.len))
        }
    }

    fn file_app() -> impl Application {
        app_fn(|env: &mut Environ<'_>, sr: &mut StartResponse<'_>| {
            let chunked = env.get("QUERY_STRING") == Some(b"chunked");
            let headers: &[(&str, &str)] = &[("Content-Type", "text/plain")];
            sr.start("200 OK", headers)?;
            if chunked {
                // No exact length: a file region cannot frame the response by itself.
                return Ok::<_, AppError>(crate::app::Either::Right(crate::app::Chunks::new(
                    [&b"4567"[..], b"89"].into_iter(),
                )));
            }
            let body = FileBody {
                file: FakeFile {
                    data: b"0123456789abcdef",
                },
                offset: 4,
                len: 6,
                read: false,
                closed: false,
            };
            Ok(crate::app::Either::Left(body))
        })
    }

    fn run_file(request: &[u8], accept: bool) -> (std::string::String, usize) {
        let mut rx = [0u8; 512];
        let mut memory: MemoryBuf = MemoryBuf::new();
        let mut base_buf = EnvironBuf::<256, 8>::new();
        let base = base_buf.environ();
        let mut session: Session<'_> =
            Session::new(&mut rx, memory.memory(), ServerConfig::default());
        session.feed(request);
        let mut sink = FileSinkVec {
            out: heapless::Vec::new(),
            accept,
            calls: 0,
        };
        let step = session.process_with_files(&file_app(), &base, None, &mut sink);
        assert!(matches!(step, Step::Answered(_)), "{step:?}");
        (
            std::string::String::from_utf8(sink.out.to_vec()).unwrap(),
            sink.calls,
        )
    }

    #[test]
    fn file_bodies_go_through_the_sinks_sendfile() {
        let (out, calls) = run_file(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", true);
        assert_eq!(calls, 1);
        assert!(out.starts_with("HTTP/1.1 200 OK\r\n"), "{out}");
        assert!(
            out.ends_with("Content-Length: 6\r\n\r\n<sendfile>456789"),
            "{out}"
        );
    }

    #[test]
    fn a_declined_sendfile_falls_back_to_reading_the_same_bytes() {
        let (out, calls) = run_file(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", false);
        assert_eq!(calls, 1);
        assert!(out.ends_with("Content-Length: 6\r\n\r\n456789"), "{out}");
    }

    #[test]
    fn head_and_open_ended_bodies_never_call_sendfile() {
        let (out, calls) = run_file(b"HEAD / HTTP/1.1\r\nHost: x\r\n\r\n", true);
        assert_eq!(calls, 0);
        assert!(out.ends_with("Content-Length: 6\r\n\r\n"), "{out}");
        let (out, calls) = run_file(b"GET /?chunked HTTP/1.1\r\nHost: x\r\n\r\n", true);
        assert_eq!(calls, 0);
        assert!(out.contains("Transfer-Encoding: chunked"), "{out}");
    }

    #[test]
    fn each_step_logs_its_own_request_line() {
        // Pipelined requests (the second after empty lines, which the parser skips, and with
        // a body), a refused third: each step names the line of the request it answered.
        with_session(
            b"GET /one?q HTTP/1.1\r\nHost: x\r\n\r\n\r\n\r\n\
              POST /two HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc\
              BAD\x01 /three HTTP/1.1\r\n\r\n",
            |session, base| {
                let app = app_fn(|_: &mut Environ<'_>, sr: &mut StartResponse<'_>| {
                    sr.start("200 OK", &[])?;
                    Ok::<_, AppError>(&b"ok"[..])
                });
                let mut out = heapless::Vec::<u8, 1024>::new();
                let mut lines = std::vec::Vec::new();
                loop {
                    match session.process(&app, base, None, &mut out) {
                        Step::Answered(log) => {
                            assert_eq!(log.status, 200);
                            lines.push(log.request_line.as_bytes().to_vec());
                        }
                        Step::Rejected {
                            error,
                            request_line,
                        } => {
                            assert_eq!(error.status, 400);
                            lines.push(request_line.as_bytes().to_vec());
                        }
                        other => panic!("unexpected {other:?}"),
                    }
                    if session.is_closed() {
                        break;
                    }
                }
                assert_eq!(
                    lines,
                    [
                        &b"GET /one?q HTTP/1.1"[..],
                        b"POST /two HTTP/1.1",
                        b"BAD\x01 /three HTTP/1.1"
                    ]
                );
            },
        );
    }

    #[test]
    fn plain_process_reads_file_bodies() {
        with_session(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", |session, base| {
            let mut out = heapless::Vec::<u8, 512>::new();
            let step = session.process(&file_app(), base, None, &mut out);
            assert!(matches!(step, Step::Answered(_)));
            assert!(out.ends_with(b"Content-Length: 6\r\n\r\n456789"));
        });
    }

    #[test]
    fn keep_alive_off_answers_with_connection_close_and_ends_the_session() {
        let two = b"GET / HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n";
        for keep_alive in [true, false] {
            let mut rx = [0u8; 512];
            let mut memory: MemoryBuf = MemoryBuf::new();
            let mut base_buf = EnvironBuf::<256, 8>::new();
            let base = base_buf.environ();
            let config = ServerConfig {
                keep_alive,
                ..ServerConfig::default()
            };
            let mut session: Session<'_> = Session::new(&mut rx, memory.memory(), config);
            session.feed(two);
            let mut out = heapless::Vec::<u8, 1024>::new();
            let step = session.process(&echo(), &base, None, &mut out);
            assert!(matches!(step, Step::Answered(_)));
            let closes = out.windows(19).any(|w| w == b"Connection: close\r\n");
            assert_eq!(closes, !keep_alive, "{:?}", core::str::from_utf8(&out));
            assert_eq!(session.is_closed(), !keep_alive);
            // The second request is answered only on a connection that stays open.
            let second = session.process(&echo(), &base, None, &mut out);
            assert_eq!(matches!(second, Step::Answered(_)), keep_alive);
        }
    }

    /// Run `test` on a session (512-byte receive buffer, default memory and config, an empty
    /// base environ) that has been fed `input`.
    fn with_session(input: &[u8], test: impl FnOnce(&mut Session<'_>, &Environ<'_>)) {
        let mut rx = [0u8; 512];
        let mut memory: MemoryBuf = MemoryBuf::new();
        let mut base_buf = EnvironBuf::<256, 8>::new();
        let base = base_buf.environ();
        let mut session: Session<'_> =
            Session::new(&mut rx, memory.memory(), ServerConfig::default());
        session.feed(input);
        test(&mut session, &base);
    }

    fn echo() -> impl Application {
        app_fn(|env: &mut Environ<'_>, sr: &mut StartResponse<'_>| {
            let mut body = heapless::Vec::<u8, 256>::new();
            let mut buf = [0u8; 64];
            loop {
                let n = env.input().read(&mut buf)?;
                if n == 0 {
                    break;
                }
                body.extend_from_slice(&buf[..n])
                    .map_err(|_| AppError::msg("body too long"))?;
            }
            sr.start("200 OK", &[("Content-Type", "text/plain")])?;
            Ok::<_, AppError>(Once::new(body))
        })
    }

    /// Feed `input` in pieces of `piece` bytes, processing after each; returns output + steps.
    fn run(
        input: &[u8],
        piece: usize,
        rx_len: usize,
    ) -> (heapless::Vec<u8, 4096>, heapless::Vec<Step, 8>) {
        let mut rx = [0u8; 1024];
        let mut memory: MemoryBuf = MemoryBuf::new();
        let mut session: Session<'_, 16> =
            Session::new(&mut rx[..rx_len], memory.memory(), ServerConfig::default());
        let mut base_buf = EnvironBuf::<64, 2>::new();
        let base = base_buf.environ();
        let app = echo();
        let mut out = heapless::Vec::<u8, 4096>::new();
        let mut steps = heapless::Vec::<Step, 8>::new();
        let note = |step: Step, steps: &mut heapless::Vec<Step, 8>| {
            if step != Step::NeedInput {
                let _ = steps.push(step);
            }
        };
        for chunk in input.chunks(piece.max(1)) {
            let mut rest = chunk;
            while !rest.is_empty() && !session.is_closed() {
                let n = session.feed(rest);
                rest = &rest[n..];
                loop {
                    let step = session.process(&app, &base, None, &mut out);
                    let again = matches!(step, Step::Answered(_));
                    note(step, &mut steps);
                    if !again {
                        break;
                    }
                }
                if n == 0 {
                    break;
                }
            }
        }
        session.receive_eof();
        let step = session.process(&app, &base, None, &mut out);
        note(step, &mut steps);
        (out, steps)
    }

    #[test]
    fn output_does_not_depend_on_how_input_is_split() {
        let input = b"POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhelloPOST /b HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n";
        let (whole, steps) = run(input, input.len(), 1024);
        assert_eq!(steps.len(), 3, "{steps:?}");
        assert!(whole.ends_with(b"\r\n\r\nabc"));
        for piece in [1, 2, 3, 7, 16, 50] {
            let (split, split_steps) = run(input, piece, 1024);
            assert_eq!(split, whole, "piece size {piece}");
            assert_eq!(split_steps, steps);
        }
    }

    #[test]
    fn oversize_requests_and_truncated_input_are_refused() {
        let big = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n";
        let (out, steps) = run(big, big.len(), 64);
        assert!(
            out.starts_with(b"HTTP/1.1 413 "),
            "{:?}",
            core::str::from_utf8(&out)
        );
        assert!(matches!(steps[0], Step::Rejected { .. }));

        let (out, _) = run(b"GET / HTTP/1.1\r\nHo", 4, 1024);
        assert!(out.starts_with(b"HTTP/1.1 400 "));

        let (out, steps) = run(b"", 1, 1024);
        assert!(out.is_empty());
        assert_eq!(steps[..], [Step::Close]);
    }

    #[test]
    fn expect_continue_is_answered_once_before_the_body() {
        let head =
            b"POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n";
        let mut rx = [0u8; 512];
        let mut memory: MemoryBuf = MemoryBuf::new();
        let mut session: Session<'_, 16> =
            Session::new(&mut rx, memory.memory(), ServerConfig::default());
        let mut base_buf = EnvironBuf::<64, 2>::new();
        let base = base_buf.environ();
        let app = echo();
        let mut out = heapless::Vec::<u8, 1024>::new();
        session.feed(head);
        assert_eq!(
            session.process(&app, &base, None, &mut out),
            Step::NeedInput
        );
        assert_eq!(
            session.process(&app, &base, None, &mut out),
            Step::NeedInput
        );
        assert_eq!(&out[..], b"HTTP/1.1 100 Continue\r\n\r\n");
        session.feed(b"ok");
        assert!(matches!(
            session.process(&app, &base, None, &mut out),
            Step::Answered(_)
        ));
        assert!(out.ends_with(b"\r\n\r\nok"));
    }

    #[test]
    fn hand_off_mode_stops_at_bodies_it_cannot_buffer() {
        let app = echo();
        let mut base_buf = EnvironBuf::<64, 2>::new();
        let base = base_buf.environ();
        for head in [
            &b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\nab"[..],
            b"POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n",
        ] {
            let mut rx = [0u8; 512];
            let mut memory: MemoryBuf = MemoryBuf::new();
            let mut session: Session<'_, 16> =
                Session::new(&mut rx, memory.memory(), ServerConfig::default())
                    .handing_off_large_bodies();
            let mut out = heapless::Vec::<u8, 256>::new();
            session.feed(head);
            assert_eq!(
                session.process(&app, &base, None, &mut out),
                Step::NeedInput
            );
            assert!(session.wants_stream());
            // Nothing answered, nothing consumed: a streaming connection takes over the bytes.
            assert!(out.is_empty());
            assert_eq!(session.buffered(), head.len());
        }
        // A request that fits is served as usual, and the flag is clear.
        let mut rx = [0u8; 512];
        let mut memory: MemoryBuf = MemoryBuf::new();
        let mut session: Session<'_, 16> =
            Session::new(&mut rx, memory.memory(), ServerConfig::default())
                .handing_off_large_bodies();
        let mut out = heapless::Vec::<u8, 256>::new();
        session.feed(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nok");
        assert!(matches!(
            session.process(&app, &base, None, &mut out),
            Step::Answered(_)
        ));
        assert!(!session.wants_stream());
    }
}
