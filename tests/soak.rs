//! Soak and fault test: a mixed load against a real server in a child process, then the
//! books are balanced.
//!
//! The server is this very test binary, re-executed with `SOAK_SERVER_CHILD=1` (see
//! [`soak_server_child`]): a `make_server_with` server with short timeouts and a mixed
//! application (`/hello`, `/echo`, `/panic`, `/error`, `/stall`, `/big`, `/slow-body`). Running
//! it as a process of its own lets the test count its descriptors and threads and read its
//! memory from /proc, and see a crash as a dead process.
//!
//! The load: keep-alive clients, pipelining clients, uploads, clients that vanish mid-request
//! and mid-response, slowloris clients, slow readers; the applications panic, fail and stall.
//! Afterwards: every request a well-behaved client sent was answered exactly once (client-side
//! count against the access log, by a unique id in each query string), no descriptor or thread
//! leaked, the resident memory stayed within a bound, every log line is well-formed. Finally a
//! graceful shutdown (SIGTERM) in the middle of responses: they all complete, and the process
//! exits cleanly.
//!
//! `cargo test --test soak` runs ~20 s of load; `SOAK_SECS=600` runs ten minutes.

mod harden_support;

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use harden_support::{fd_count, rss_kib, thread_count, Server};

const IO_LIMIT: Duration = Duration::from_secs(15);
/// Size of a `/big` response; bigger than the socket buffers, so a vanishing or slow reader
/// really leaves the server blocked in a write.
const BIG: usize = 4 << 20;
/// How much the resident memory may grow between the warm-up and the end of the load.
const RSS_GROWTH_LIMIT_KIB: u64 = 32 * 1024;

// ---------------------------------------------------------------------------------------------
// The server side (runs in the child process).

mod app {
    use std::time::Duration;

    use wsgiref::{AppError, Environ, StartResponse};
    use wsgiref_core::app::Body;

    /// A body of parts, with a pause before the part at `stall_at` (so that a client has the
    /// head and the first part while the application is still running).
    pub struct Parts {
        parts: Vec<Vec<u8>>,
        next: usize,
        stall_at: Option<usize>,
    }

    impl Body for Parts {
        fn next_chunk(&mut self) -> Result<Option<&[u8]>, AppError> {
            if self.stall_at == Some(self.next) {
                std::thread::sleep(Duration::from_millis(300));
            }
            self.next += 1;
            Ok(self.parts.get(self.next - 1).map(Vec::as_slice))
        }
    }

    fn whole(data: Vec<u8>) -> Parts {
        Parts {
            parts: vec![data],
            next: 0,
            stall_at: None,
        }
    }

    pub fn mixed(
        environ: &mut Environ<'_>,
        start_response: &mut StartResponse<'_>,
    ) -> Result<Parts, AppError> {
        let path = environ.get_str("PATH_INFO").unwrap_or("").to_owned();
        let ok = [("Content-Type", "application/octet-stream")];
        match path.as_str() {
            "/hello" => {
                start_response.start("200 OK", &ok)?;
                Ok(whole(b"Hello, world!".to_vec()))
            }
            "/echo" => {
                let body = environ.input().read_to_vec(8 << 20)?;
                start_response.start("200 OK", &ok)?;
                Ok(whole(body))
            }
            "/panic" => panic!("soak: the application panicked on purpose"),
            "/error" => Err(AppError::text("soak: the application failed on purpose")),
            "/stall" => {
                std::thread::sleep(Duration::from_millis(100));
                start_response.start("200 OK", &ok)?;
                Ok(whole(b"stalled".to_vec()))
            }
            "/big" => {
                start_response.start("200 OK", &ok)?;
                Ok(whole(vec![b'b'; super::BIG]))
            }
            "/slow-body" => {
                start_response.start("200 OK", &ok)?;
                Ok(Parts {
                    parts: vec![b"begin\n".to_vec(), b"end\n".to_vec()],
                    next: 0,
                    stall_at: Some(1),
                })
            }
            _ => {
                start_response.start("404 Not Found", &ok)?;
                Ok(whole(Vec::new()))
            }
        }
    }
}

/// `wsgi.errors` for the soak server: stderr, a whole line per write.
///
/// The default `wsgi.errors` of the server writes each fragment of a traceback with its own
/// write, so under load an access-log line from another thread can land inside a traceback
/// line (seen in this test: `wsgiref_core::127.0.0.1 - - [...] "GET /error?id=458 ..."`). The
/// soak server collects each thread's fragments until a line is complete, so that its log can
/// be checked line by line.
struct LineStderr;

thread_local! {
    static PENDING: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
}

impl wsgiref_core::stream::ErrorStream for LineStderr {
    fn write_str(&self, s: &str) -> std::fmt::Result {
        PENDING.with(|p| {
            let mut p = p.borrow_mut();
            p.push_str(s);
            if let Some(end) = p.rfind('\n') {
                let lines: String = p.drain(..=end).collect();
                let _ = std::io::stderr().lock().write_all(lines.as_bytes());
            }
        });
        Ok(())
    }

    fn flush(&self) {
        PENDING.with(|p| {
            let mut p = p.borrow_mut();
            if !p.is_empty() {
                p.push('\n');
                let _ = std::io::stderr().lock().write_all(p.as_bytes());
                p.clear();
            }
        });
    }
}

/// The default request handler, but with [`LineStderr`] as `wsgi.errors`.
struct SoakHandler;

impl wsgiref::simple_server::RequestHandler for SoakHandler {
    fn get_stderr(&self) -> &dyn wsgiref_core::stream::ErrorStream {
        &LineStderr
    }
}

/// The child process: serve the mixed application until SIGTERM. Does nothing (and passes)
/// when run as an ordinary test.
#[test]
fn soak_server_child() {
    if std::env::var_os("SOAK_SERVER_CHILD").is_none() {
        return;
    }
    use wsgiref::simple_server::{init_stderr_logger, make_server_with, ServerOptions};
    init_stderr_logger();
    // Short timeouts, so that slowloris and slow clients meet them within the run.
    let options = ServerOptions {
        header_timeout: Duration::from_secs(2),
        body_timeout: Duration::from_secs(3),
        idle_timeout: Duration::from_secs(5),
        shutdown_grace: Duration::from_secs(10),
        ..ServerOptions::default()
    };
    let server = make_server_with("127.0.0.1", 0, app::mixed, SoakHandler, options).expect("bind");
    server
        .shutdown_handle()
        .on_termination_signals()
        .expect("signal handler");
    println!("soak server on port {}", server.server_address().port());
    std::io::stdout().flush().unwrap();
    server.serve_forever().expect("serve_forever");
    // Only a clean return from serve_forever reaches this line (checked by the parent).
    eprintln!("soak server stopped cleanly");
    std::process::exit(0);
}

// ---------------------------------------------------------------------------------------------
// The client side.

/// Ids of well-behaved requests that got their answer, and of requests whose client vanished.
#[derive(Default)]
struct Books {
    answered: Mutex<Vec<u64>>,
    /// The path of each request, for the failure messages.
    paths: Mutex<HashMap<u64, &'static str>>,
    abandoned: Mutex<Vec<u64>>,
    errors: Mutex<Vec<String>>,
}

impl Books {
    fn answered(&self, id: u64) {
        self.answered.lock().unwrap().push(id);
    }
    fn sent(&self, id: u64, path: &'static str) {
        self.paths.lock().unwrap().insert(id, path);
    }
    fn abandoned(&self, id: u64) {
        self.abandoned.lock().unwrap().push(id);
    }
    fn error(&self, what: String) {
        let mut errors = self.errors.lock().unwrap();
        if errors.len() < 50 {
            errors.push(what);
        }
    }
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

fn next_id() -> u64 {
    NEXT_ID.fetch_add(1, Ordering::Relaxed)
}

fn connect(addr: SocketAddr) -> std::io::Result<TcpStream> {
    let stream = TcpStream::connect_timeout(&addr, IO_LIMIT)?;
    stream.set_read_timeout(Some(IO_LIMIT))?;
    stream.set_write_timeout(Some(IO_LIMIT))?;
    Ok(stream)
}

/// A small deterministic generator per client thread.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// One response read from a buffered connection.
struct Reply {
    status: u16,
    body: Vec<u8>,
    close: bool,
}

/// Reads responses off a stream, keeping what arrived beyond the current one.
struct Reader {
    stream: TcpStream,
    buf: Vec<u8>,
    /// A slow reader: pause after every read.
    slow: bool,
}

impl Reader {
    fn new(stream: TcpStream) -> Reader {
        Reader {
            stream,
            buf: Vec::new(),
            slow: false,
        }
    }

    fn fill(&mut self) -> std::io::Result<()> {
        if self.slow {
            std::thread::sleep(Duration::from_millis(20));
        }
        let mut chunk = [0u8; 64 * 1024];
        let n = self.stream.read(&mut chunk)?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(())
    }

    fn take_line(&mut self) -> std::io::Result<Vec<u8>> {
        loop {
            if let Some(i) = self.buf.windows(2).position(|w| w == b"\r\n") {
                let line = self.buf[..i].to_vec();
                self.buf.drain(..i + 2);
                return Ok(line);
            }
            self.fill()?;
        }
    }

    fn take(&mut self, n: usize) -> std::io::Result<Vec<u8>> {
        while self.buf.len() < n {
            self.fill()?;
        }
        Ok(self.buf.drain(..n).collect())
    }

    /// The next final response (1xx skipped).
    fn reply(&mut self) -> std::io::Result<Reply> {
        loop {
            let status_line = String::from_utf8_lossy(&self.take_line()?).into_owned();
            let status: u16 = status_line
                .get(9..12)
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| bad(format!("bad status line {status_line:?}")))?;
            let mut length = None;
            let mut chunked = false;
            let mut close = false;
            loop {
                let line = self.take_line()?;
                if line.is_empty() {
                    break;
                }
                let line = String::from_utf8_lossy(&line).to_ascii_lowercase();
                if let Some(v) = line.strip_prefix("content-length:") {
                    length = v.trim().parse::<usize>().ok();
                } else if line.starts_with("transfer-encoding:") && line.contains("chunked") {
                    chunked = true;
                } else if line.starts_with("connection:") && line.contains("close") {
                    close = true;
                }
            }
            if status < 200 {
                continue;
            }
            let body = if chunked {
                let mut body = Vec::new();
                loop {
                    let size_line = String::from_utf8_lossy(&self.take_line()?).into_owned();
                    let size = usize::from_str_radix(size_line.trim(), 16)
                        .map_err(|_| bad(format!("bad chunk size {size_line:?}")))?;
                    if size == 0 {
                        while !self.take_line()?.is_empty() {}
                        break body;
                    }
                    body.extend(self.take(size)?);
                    self.take_line()?;
                }
            } else if let Some(n) = length {
                self.take(n)?
            } else {
                return Err(bad("response without a length".into()));
            };
            return Ok(Reply {
                status,
                body,
                close,
            });
        }
    }
}

fn bad(message: String) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, message)
}

/// A request for `path` with id `id` (in the query, so the access log names it).
fn request(path: &str, id: u64, body: Option<&[u8]>, chunked: bool) -> Vec<u8> {
    let mut out = format!("{} {path}?id={id} HTTP/1.1\r\nHost: soak\r\n", {
        if body.is_some() {
            "POST"
        } else {
            "GET"
        }
    })
    .into_bytes();
    match body {
        None => out.extend_from_slice(b"\r\n"),
        Some(data) if chunked => {
            out.extend_from_slice(b"Transfer-Encoding: chunked\r\n\r\n");
            for piece in data.chunks(7919) {
                out.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
                out.extend_from_slice(piece);
                out.extend_from_slice(b"\r\n");
            }
            out.extend_from_slice(b"0\r\n\r\n");
        }
        Some(data) => {
            out.extend_from_slice(format!("Content-Length: {}\r\n\r\n", data.len()).as_bytes());
            out.extend_from_slice(data);
        }
    }
    out
}

/// What a mixed request expects back.
fn expected(path: &str, body: &[u8]) -> (u16, Option<Vec<u8>>) {
    match path {
        "/hello" => (200, Some(b"Hello, world!".to_vec())),
        "/echo" => (200, Some(body.to_vec())),
        "/stall" => (200, Some(b"stalled".to_vec())),
        "/slow-body" => (200, Some(b"begin\nend\n".to_vec())),
        "/big" => (200, None),
        _ => (500, None),
    }
}

/// Keep-alive client: sequential requests of every kind on one connection, reconnecting
/// when the server closes (after a panic, an error, or its idle timeout).
fn keep_alive_client(addr: SocketAddr, seed: u64, stop: &AtomicBool, books: &Books) {
    let mut rng = Rng(seed);
    let paths = [
        "/hello", "/hello", "/echo", "/echo", "/stall", "/panic", "/error",
    ];
    let mut reader: Option<Reader> = None;
    while !stop.load(Ordering::Relaxed) {
        let r = match reader.as_mut() {
            Some(r) => r,
            None => match connect(addr) {
                Ok(stream) => reader.insert(Reader::new(stream)),
                Err(e) => {
                    books.error(format!("keep-alive connect: {e}"));
                    return;
                }
            },
        };
        let path = paths[rng.below(paths.len() as u64) as usize];
        let body: Vec<u8> = (0..rng.below(70_000)).map(|i| (i % 251) as u8).collect();
        let upload = (path == "/echo").then_some(&body[..]);
        let id = next_id();
        books.sent(id, path);
        let wire = request(path, id, upload, rng.below(2) == 0);
        if let Err(e) = r.stream.write_all(&wire) {
            // The server closed an idle connection just now; the request was not read.
            books.abandoned(id);
            if e.kind() != std::io::ErrorKind::BrokenPipe
                && e.kind() != std::io::ErrorKind::ConnectionReset
            {
                books.error(format!("keep-alive write {path}: {e}"));
            }
            reader = None;
            continue;
        }
        match r.reply() {
            Ok(reply) => {
                let (status, want) = expected(path, &body);
                if reply.status != status || want.is_some_and(|w| w != reply.body) {
                    books.error(format!("{path} id={id}: got {}", reply.status));
                }
                books.answered(id);
                if reply.close {
                    reader = None;
                }
            }
            Err(e) if r.buf.is_empty() && e.kind() == std::io::ErrorKind::UnexpectedEof => {
                // Closed by the idle timeout before the request arrived: a race, not a loss.
                books.abandoned(id);
                reader = None;
            }
            Err(e) => {
                books.error(format!("keep-alive {path} id={id}: {e}"));
                books.abandoned(id);
                reader = None;
            }
        }
    }
}

/// Pipelining client: five requests in one write, five answers in order.
fn pipelining_client(addr: SocketAddr, seed: u64, stop: &AtomicBool, books: &Books) {
    let mut rng = Rng(seed);
    while !stop.load(Ordering::Relaxed) {
        let Ok(stream) = connect(addr) else {
            books.error("pipelining connect".into());
            return;
        };
        let mut reader = Reader::new(stream);
        let mut batch = Vec::new();
        let mut wire = Vec::new();
        for _ in 0..5 {
            let path = ["/hello", "/echo", "/stall"][rng.below(3) as usize];
            let body: Vec<u8> = (0..rng.below(3000))
                .map(|i| (i % 13) as u8 + b'a')
                .collect();
            let id = next_id();
            wire.extend(request(
                path,
                id,
                (path == "/echo").then_some(&body[..]),
                false,
            ));
            books.sent(id, path);
            batch.push((id, path, body));
        }
        if reader.stream.write_all(&wire).is_err() {
            books.error("pipelining write".into());
            return;
        }
        for (id, path, body) in batch {
            match reader.reply() {
                Ok(reply) => {
                    let (status, want) = expected(path, &body);
                    if reply.status != status || want.is_some_and(|w| w != reply.body) {
                        books.error(format!("pipelined {path} id={id}: got {}", reply.status));
                    }
                    books.answered(id);
                }
                Err(e) => {
                    books.error(format!("pipelined {path} id={id}: {e}"));
                    books.abandoned(id);
                }
            }
        }
    }
}

/// Clients that vanish: mid-head, mid-body, and mid-response (a 4 MiB answer).
fn vanishing_client(addr: SocketAddr, seed: u64, stop: &AtomicBool, books: &Books) {
    let mut rng = Rng(seed);
    while !stop.load(Ordering::Relaxed) {
        let Ok(mut stream) = connect(addr) else {
            books.error("vanishing connect".into());
            return;
        };
        let id = next_id();
        books.abandoned(id);
        match rng.below(3) {
            0 => {
                let wire = request("/hello", id, None, false);
                let cut = 1 + rng.below(wire.len() as u64 - 2) as usize;
                let _ = stream.write_all(&wire[..cut]);
            }
            1 => {
                let body = vec![b'u'; 100_000];
                let wire = request("/echo", id, Some(&body), rng.below(2) == 0);
                let cut = wire.len() / 2;
                let _ = stream.write_all(&wire[..cut]);
            }
            _ => {
                let _ = stream.write_all(&request("/big", id, None, false));
                let mut some = [0u8; 1000];
                let _ = stream.read(&mut some);
            }
        }
        drop(stream);
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Slowloris: a head trickled a byte at a time; the server must answer 408 (or close) after
/// its header timeout while serving everyone else.
fn slowloris_client(addr: SocketAddr, stop: &AtomicBool, books: &Books) {
    while !stop.load(Ordering::Relaxed) {
        let Ok(mut stream) = connect(addr) else {
            books.error("slowloris connect".into());
            return;
        };
        let id = next_id();
        books.abandoned(id);
        let wire = request("/hello", id, None, false);
        let mut cut_off = false;
        for &b in &wire[..wire.len() - 2] {
            if stop.load(Ordering::Relaxed) || stream.write_all(&[b]).is_err() {
                cut_off = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(150));
        }
        let mut rest = Vec::new();
        let _ = stream.read_to_end(&mut rest);
        if !cut_off && !rest.is_empty() && !rest.starts_with(b"HTTP/1.1 408") {
            books.error(format!(
                "slowloris got {:?}",
                String::from_utf8_lossy(&rest[..rest.len().min(40)])
            ));
        }
    }
}

/// Slow reader: a 4 MiB answer read in 64 KiB sips with pauses; it must arrive whole.
fn slow_reader_client(addr: SocketAddr, stop: &AtomicBool, books: &Books) {
    while !stop.load(Ordering::Relaxed) {
        let Ok(mut stream) = connect(addr) else {
            books.error("slow reader connect".into());
            return;
        };
        let id = next_id();
        if stream.write_all(&request("/big", id, None, false)).is_err() {
            books.error("slow reader write".into());
            return;
        }
        let mut reader = Reader::new(stream);
        reader.slow = true;
        match reader.reply() {
            Ok(reply) if reply.status == 200 && reply.body.len() == BIG => books.answered(id),
            Ok(reply) => {
                books.error(format!(
                    "slow reader id={id}: {} with {} bytes",
                    reply.status,
                    reply.body.len()
                ));
                books.answered(id);
            }
            Err(e) => {
                books.error(format!("slow reader id={id}: {e}"));
                books.abandoned(id);
            }
        }
    }
}

/// `id=N` values in the access log lines, and how often each appears.
fn logged_ids(log: &str) -> HashMap<u64, usize> {
    let mut ids = HashMap::new();
    for line in log.lines().filter(|l| is_access_line(l)) {
        // Only whole request lines count: a refusal logs the fragment it got, which may end
        // inside the id.
        let id = line.split("?id=").nth(1).and_then(|rest| {
            let digits = rest.split(|c: char| !c.is_ascii_digit()).next()?;
            rest[digits.len()..]
                .starts_with(" HTTP/1.1\"")
                .then_some(digits)
        });
        if let Some(id) = id.and_then(|n| n.parse().ok()) {
            *ids.entry(id).or_insert(0) += 1;
        }
    }
    ids
}

/// `127.0.0.1 - - [dd/Mon/yyyy hh:mm:ss] ` and the rest of the line after it.
fn after_prefix(line: &str) -> Option<&str> {
    let rest = line.strip_prefix("127.0.0.1 - - [")?;
    let (stamp, rest) = rest.split_once("] ")?;
    let b = stamp.as_bytes();
    let digits = |r: std::ops::Range<usize>| r.clone().all(|i| b[i].is_ascii_digit());
    let ok = b.len() == 20
        && digits(0..2)
        && b[2] == b'/'
        && b[3..6].iter().all(u8::is_ascii_alphabetic)
        && b[6] == b'/'
        && digits(7..11)
        && b[11] == b' '
        && digits(12..14)
        && b[14] == b':'
        && digits(15..17)
        && b[17] == b':'
        && digits(18..20);
    ok.then_some(rest)
}

/// `PREFIX "REQUEST LINE" STATUS SIZE`.
fn is_access_line(line: &str) -> bool {
    let Some(rest) = after_prefix(line) else {
        return false;
    };
    let Some(rest) = rest.strip_prefix('"') else {
        return false;
    };
    let Some((request, tail)) = rest.rsplit_once("\" ") else {
        return false;
    };
    let mut parts = tail.split(' ');
    // `0` is what the server logs for a request whose client vanished before any answer.
    let status_ok = parts
        .next()
        .is_some_and(|s| s == "0" || (s.len() == 3 && s.bytes().all(|b| b.is_ascii_digit())));
    let size_ok = parts
        .next()
        .is_some_and(|s| s == "-" || (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())));
    status_ok && size_ok && parts.next().is_none() && !request.contains('\n')
}

/// The shapes a log line of this server may take: an access line, a refusal line, a
/// server diagnostic, or the lines the application's failures write to `wsgi.errors`.
fn is_well_formed(line: &str) -> bool {
    if is_access_line(line) || line.is_empty() {
        return true;
    }
    if let Some(rest) = after_prefix(line) {
        return rest.starts_with("code ") && rest.contains(", message ");
    }
    const KNOWN: &[&str] = &[
        "soak server stopped cleanly",
        "ERROR: ",
        "WARN: ",
        "INFO: ",
        "127.0.0.1:",
        "Traceback",
        "AppError",
        "  ",
        "soak: the application",
        "caused by",
        "panic",
        "thread '",
        "note: run with `RUST_BACKTRACE=1`",
        "Error:",
        "Exception",
        // The first termination signal's note to the operator (ShutdownHandle).
        "Shutting down: ",
    ];
    KNOWN.iter().any(|k| line.starts_with(k))
}

/// Poll (bounded) until `f` holds, returning its last value either way.
fn settle<T: Copy + PartialEq>(want: T, limit: Duration, f: impl Fn() -> T) -> T {
    let until = Instant::now() + limit;
    loop {
        let now = f();
        if now == want || Instant::now() > until {
            return now;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Poll `f` until it is at most `limit_value` or `limit` has passed; returns the last value.
fn settle_at_most(limit_value: usize, limit: Duration, f: impl Fn() -> usize) -> usize {
    let until = Instant::now() + limit;
    loop {
        let now = f();
        if now <= limit_value || Instant::now() > until {
            return now;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Run every kind of client for `secs` seconds.
fn load(addr: SocketAddr, secs: u64, books: &Books, seed: u64) {
    let stop = AtomicBool::new(false);
    std::thread::scope(|s| {
        for i in 0..6 {
            let stop = &stop;
            s.spawn(move || keep_alive_client(addr, seed ^ ((i + 1) * 7919), stop, books));
        }
        for i in 0..2 {
            let stop = &stop;
            s.spawn(move || pipelining_client(addr, seed ^ ((i + 11) * 104_729), stop, books));
        }
        for i in 0..2 {
            let stop = &stop;
            s.spawn(move || vanishing_client(addr, seed ^ ((i + 21) * 1_299_709), stop, books));
        }
        s.spawn(|| slowloris_client(addr, &stop, books));
        s.spawn(|| slow_reader_client(addr, &stop, books));
        std::thread::sleep(Duration::from_secs(secs));
        stop.store(true, Ordering::Relaxed);
    });
}

fn soak_secs() -> u64 {
    std::env::var("SOAK_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20)
}

#[test]
fn mixed_load_loses_nothing_and_leaks_nothing() {
    let exe = std::env::current_exe().unwrap();
    let exe = exe.to_str().unwrap();
    let server = Server::start_path_with_env(
        exe,
        &[
            "--exact",
            "soak_server_child",
            "--nocapture",
            "--test-threads=1",
        ],
        &[("SOAK_SERVER_CHILD", "1"), ("RUST_BACKTRACE", "0")],
    );
    let pid = server.pid();
    let addr = server.addr();
    let books = Books::default();
    let total = soak_secs();
    let warm = (total / 5).max(3);

    // Warm-up: threads, allocator arenas and buffers reach their working size.
    load(addr, warm, &books, 1);
    let fds_before = settle(0, Duration::from_secs(8), || {
        // Wait until the server holds no connection: its descriptors stop changing.
        let a = fd_count(pid);
        std::thread::sleep(Duration::from_millis(200));
        a.abs_diff(fd_count(pid))
    });
    assert_eq!(fds_before, 0, "descriptor count never settled");
    let (fds0, threads0, rss0) = (fd_count(pid), thread_count(pid), rss_kib(pid));

    load(addr, total - warm, &books, 2);

    let fds1 = settle_at_most(fds0, Duration::from_secs(10), || fd_count(pid));
    let threads1 = settle_at_most(threads0, Duration::from_secs(10), || thread_count(pid));
    let rss1 = rss_kib(pid);
    eprintln!(
        "soak: {} s; fds {fds0} -> {fds1}, threads {threads0} -> {threads1}, \
         RSS {rss0} KiB -> {rss1} KiB",
        total
    );

    // A graceful shutdown in the middle of responses: each client has the head and the first
    // part of `/slow-body` (so the application is running) when SIGTERM arrives.
    let mut in_flight = Vec::new();
    for _ in 0..4 {
        let mut stream = connect(addr).unwrap();
        let id = next_id();
        stream
            .write_all(&request("/slow-body", id, None, false))
            .unwrap();
        let mut reader = Reader::new(stream);
        // The status line proves the request is being served.
        let line = reader.take_line().unwrap();
        assert!(line.starts_with(b"HTTP/1.1 200"), "{line:?}");
        in_flight.push((id, reader));
    }
    let mut server = server;
    assert!(server.is_running(), "the server died under load");
    let (status, log) = server.terminate(Duration::from_secs(20));
    for (id, mut reader) in in_flight {
        // The rest of the head and the whole body must still arrive.
        let mut rest = Vec::new();
        let _ = reader.stream.read_to_end(&mut rest);
        reader.buf.extend(rest);
        let text = String::from_utf8_lossy(&reader.buf).into_owned();
        assert!(
            text.contains("begin\n") && text.contains("end\n") && text.ends_with("0\r\n\r\n")
                || text.ends_with("end\n"),
            "in-flight id={id} cut short by the shutdown: {text:?}"
        );
        books.answered(id);
    }
    assert!(
        status.is_some_and(|s| s.success()),
        "the server did not exit cleanly after SIGTERM: {status:?}"
    );
    assert!(
        log.contains("soak server stopped cleanly"),
        "serve_forever did not return"
    );

    if let Some(path) = std::env::var_os("SOAK_LOG") {
        // For a look at the server's side after a long run.
        let _ = std::fs::write(path, &log);
    }

    // The books.
    let errors = books.errors.lock().unwrap();
    assert!(errors.is_empty(), "client errors:\n{}", errors.join("\n"));
    let logged = logged_ids(&log);
    let answered = books.answered.lock().unwrap();
    let abandoned: std::collections::HashSet<u64> =
        books.abandoned.lock().unwrap().iter().copied().collect();
    let mut lost = Vec::new();
    let paths = books.paths.lock().unwrap();
    for id in answered.iter() {
        if logged.get(id).copied().unwrap_or(0) != 1 {
            lost.push((*id, paths.get(id).copied().unwrap_or("?")));
        }
    }
    let twice: Vec<_> = logged.iter().filter(|(_, &n)| n > 1).collect();
    let unknown: Vec<_> = logged
        .keys()
        .filter(|id| !answered.contains(id) && !abandoned.contains(id))
        .collect();
    eprintln!(
        "soak: {} requests answered, {} abandoned by their clients, {} access lines",
        answered.len(),
        abandoned.len(),
        logged.values().sum::<usize>()
    );
    assert!(answered.len() > 100, "too little load: {}", answered.len());
    assert!(lost.is_empty(), "answered but not logged once: {lost:?}");
    assert!(twice.is_empty(), "logged more than once: {twice:?}");
    assert!(unknown.is_empty(), "logged but never sent: {unknown:?}");
    let malformed: Vec<&str> = log.lines().filter(|l| !is_well_formed(l)).collect();
    assert!(
        malformed.is_empty(),
        "malformed log lines:\n{}",
        malformed.join("\n")
    );

    // No leaks. The baseline can still include idle keep-alive connections of the warm-up
    // (they are quiet, so the count looked settled) which the idle timeout closes during the
    // run: fewer descriptors afterwards is fine, more is a leak.
    assert!(fds1 <= fds0, "file descriptors leaked: {fds0} -> {fds1}");
    assert!(
        threads1 <= threads0,
        "threads leaked: {threads0} -> {threads1}"
    );
    assert!(
        rss1 <= rss0 + RSS_GROWTH_LIMIT_KIB,
        "resident memory grew from {rss0} KiB to {rss1} KiB"
    );
}

#[test]
fn log_line_shapes() {
    let good = r#"127.0.0.1 - - [05/Jun/2006 18:49:54] "GET /x?id=7 HTTP/1.1" 200 13"#;
    assert!(is_access_line(good));
    assert_eq!(logged_ids(good).get(&7), Some(&1));
    let cut = r#"127.0.0.1 - - [05/Jun/2006 18:49:54] "GET /x?id=7" 400 -"#;
    assert!(logged_ids(cut).is_empty());
    assert!(is_well_formed(
        "127.0.0.1 - - [05/Jun/2006 18:49:54] code 400, message bad"
    ));
    assert!(!is_access_line(
        r#"127.0.0.1 - - [5/Jun/2006 18:49:54] "GET / HTTP/1.1" 200 13"#
    ));
    assert!(!is_access_line(
        r#"127.0.0.1 - - [05/Jun/2006 18:49:54] "GET / HTTP/1.1" 2000 13"#
    ));
    assert!(!is_well_formed("garbage"));
}
