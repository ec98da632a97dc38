//! Shared by the front-end tests of the gateway protocols (tests/gateway_fronts.rs,
//! tests/gateway_nginx.rs): the reporting application, the real gateway server it runs in, a front end run as a child
//! process in a temporary directory of its own, curl as the client, and a look at the
//! backend's TCP connections (for keep-conn reuse).
//!
//! Everything talks to 127.0.0.1 only; every wait is bounded.
#![allow(dead_code)] // each test binary uses a part of it

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use wsgiref::app::{Body, Either, Once};
use wsgiref::gateway::Protocol;
use wsgiref::gateway_server::{make_gateway_server_with, GatewayServer};
use wsgiref::simple_server::ServerOptions;
use wsgiref::{AppError, Application, Environ, StartResponse};

/// The longest any single wait of these tests may take (a hung test stops, it never hangs).
pub const WAIT: Duration = Duration::from_secs(30);
/// Size of the upload read through `wsgi.input`.
pub const UPLOAD: usize = 1 << 20;
/// The application's read size: the upload arrives in many reads.
pub const READ_SIZE: usize = 8192;
/// Size of the streamed response (no announced length).
pub const BIG: usize = 300_000;
/// The endless response stops here if nobody cuts it short: far more than any front end
/// buffers, so a body that reaches it means the disconnect went unnoticed.
pub const ENDLESS_CAP: u64 = 512 << 20;

/// FNV-1a, to compare a megabyte without sending it back.
pub fn fnv(hash: u64, bytes: &[u8]) -> u64 {
    bytes.iter().fold(hash, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}
pub const FNV_START: u64 = 0xcbf2_9ce4_8422_2325;

/// Deterministic bytes that are not a repetition of a short period.
pub fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 % 251) as u8).collect()
}

/// What the application saw, for the assertions the responses cannot carry.
#[derive(Default)]
pub struct AppState {
    /// Requests the application was called for.
    pub calls: AtomicUsize,
    /// `close()` calls of the endless body.
    pub endless_closes: AtomicUsize,
    /// Bytes the endless body had produced when it was closed (the last one).
    pub endless_sent: AtomicU64,
}

/// `/endless`: 64 KiB chunks until [`ENDLESS_CAP`]; its `close` records how far it got.
pub struct Endless {
    state: Arc<AppState>,
    chunk: Vec<u8>,
    sent: u64,
}

impl Body for Endless {
    fn next_chunk(&mut self) -> Result<Option<&[u8]>, AppError> {
        if self.sent >= ENDLESS_CAP {
            return Ok(None);
        }
        self.sent += self.chunk.len() as u64;
        Ok(Some(&self.chunk))
    }

    fn close(&mut self) {
        self.state.endless_sent.store(self.sent, Ordering::SeqCst);
        self.state.endless_closes.fetch_add(1, Ordering::SeqCst);
    }
}

/// A streamed body of no announced length: `pattern(BIG)` in 10,000-byte chunks.
pub struct Streamed {
    data: Vec<u8>,
    at: usize,
}

impl Body for Streamed {
    fn next_chunk(&mut self) -> Result<Option<&[u8]>, AppError> {
        if self.at >= self.data.len() {
            return Ok(None);
        }
        let end = (self.at + 10_000).min(self.data.len());
        let chunk = &self.data[self.at..end];
        self.at = end;
        Ok(Some(chunk))
    }
}

/// The one application behind every front end and protocol.
///
/// - `/big`: [`BIG`] bytes of [`pattern`], streamed in chunks, no `Content-Length`;
/// - `/fail`: an application error (the server's 500 page);
/// - `/endless`: [`Endless`], for the client that disconnects;
/// - `/ignore`: a short answer without reading the body (for the lingering close);
/// - anything else: a report, one `env NAME=value` line per variable, the `wsgi` group, and
///   `body_len`/`body_hash`/`body_reads` of what it read through `wsgi.input` (reads of
///   [`READ_SIZE`]).
pub struct ReportApp {
    pub state: Arc<AppState>,
}

impl Application for ReportApp {
    type Body = ReportBody;

    fn call(
        &self,
        env: &mut Environ<'_>,
        sr: &mut StartResponse<'_>,
    ) -> Result<ReportBody, AppError> {
        let state = &self.state;
        state.calls.fetch_add(1, Ordering::SeqCst);
        let path = env.get("PATH_INFO").unwrap_or(b"").to_vec();
        match &path[..] {
            b"/fail" => return Err(AppError::msg("the application failed on purpose")),
            b"/big" => {
                sr.start("200 OK", &[("Content-Type", "application/octet-stream")])?;
                return Ok(Either::Left(Either::Left(Streamed {
                    data: pattern(BIG),
                    at: 0,
                })));
            }
            b"/endless" => {
                sr.start("200 OK", &[("Content-Type", "application/octet-stream")])?;
                return Ok(Either::Left(Either::Right(Endless {
                    state: Arc::clone(state),
                    chunk: pattern(64 * 1024),
                    sent: 0,
                })));
            }
            b"/ignore" => {
                sr.start("200 OK", &[("Content-Type", "text/plain")])?;
                return Ok(one_chunk(b"ignored the body\n".to_vec()));
            }
            _ => {}
        }
        let (mut len, mut hash, mut reads) = (0usize, FNV_START, 0usize);
        let mut buf = vec![0u8; READ_SIZE];
        loop {
            let n = env.input().read(&mut buf)?;
            if n == 0 {
                break;
            }
            len += n;
            reads += 1;
            hash = fnv(hash, &buf[..n]);
        }
        let mut text = String::new();
        for (k, v) in env.iter() {
            text += &format!("env {k}={}\n", String::from_utf8_lossy(v));
        }
        let w = env.wsgi.unwrap();
        text += &format!(
            "wsgi url_scheme={} multithread={} multiprocess={} run_once={}\n",
            w.url_scheme, w.multithread, w.multiprocess, w.run_once
        );
        text += &format!("body_len={len}\nbody_hash={hash:x}\nbody_reads={reads}\n");
        sr.start("200 OK", &[("Content-Type", "text/plain")])?;
        Ok(one_chunk(text.into_bytes()))
    }
}

/// The URL prefix of each protocol's location in the front ends' configs.
pub fn prefix(protocol: Protocol) -> &'static str {
    match protocol {
        Protocol::FastCgi => "fcgi",
        Protocol::Scgi => "scgi",
        Protocol::Uwsgi => "uwsgi",
    }
}

// ---------------------------------------------------------------------------------------
// The backend.
// ---------------------------------------------------------------------------------------

/// The real gateway server (`wsgiref::gateway_server`) serving [`ReportApp`] over one
/// protocol, on a thread of its own; shut down on drop (which removes a Unix socket file).
pub struct Backend {
    /// The TCP port (0 for a Unix socket).
    pub port: u16,
    pub state: Arc<AppState>,
    pub server: Arc<GatewayServer<ReportApp>>,
    thread: Option<std::thread::JoinHandle<std::io::Result<()>>>,
}

/// The body type of [`ReportApp`]. Reports are one chunk of known length (`Content-Length`):
/// nginx then takes a FastCGI response as complete when the body is in, and keeps the
/// connection only if `FCGI_END_REQUEST` came with it; the keep-conn checks below would fail
/// if the server sent the end record in a later segment (it did, before the core's
/// `Response::flush_at_finish`).
pub type ReportBody = Either<Either<Streamed, Endless>, Once<Vec<u8>>>;

/// A report or short answer: one chunk of known length.
fn one_chunk(bytes: Vec<u8>) -> ReportBody {
    Either::Right(Once::new(bytes))
}

/// The options of every backend: generous timeouts, only to stop a hung test.
pub fn backend_options() -> ServerOptions {
    ServerOptions {
        idle_timeout: WAIT,
        header_timeout: WAIT,
        body_timeout: WAIT,
        shutdown_grace: WAIT,
        ..ServerOptions::default()
    }
}

/// A backend on an ephemeral port of 127.0.0.1.
pub fn start_backend(protocol: Protocol) -> Backend {
    start_backend_at(protocol, "127.0.0.1:0")
}

/// A backend on `address` (`HOST:PORT` or `unix:/path`).
pub fn start_backend_at(protocol: Protocol, address: &str) -> Backend {
    let state = Arc::new(AppState::default());
    let app = ReportApp {
        state: Arc::clone(&state),
    };
    let server = make_gateway_server_with(protocol, address, app, backend_options())
        .unwrap_or_else(|e| panic!("{protocol:?} server on {address}: {e}"));
    let port = server.local_address().port().unwrap_or(0);
    let server = Arc::new(server);
    let serving = Arc::clone(&server);
    let thread = std::thread::spawn(move || serving.serve_forever());
    Backend {
        port,
        state,
        server,
        thread: Some(thread),
    }
}

impl Backend {
    /// The address as a front end's `*_pass` takes it: `127.0.0.1:PORT` or `unix:/path`.
    pub fn upstream(&self) -> String {
        self.server.local_address().to_string()
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        // Shut down and wait (bounded) for serve_forever, so no connection thread outlives the
        // test; a failed assertion gets here too.
        self.server.shutdown_handle().shutdown();
        if let Some(thread) = self.thread.take() {
            let deadline = Instant::now() + WAIT;
            while !thread.is_finished() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
            }
            if thread.is_finished() && !std::thread::panicking() {
                thread.join().unwrap().expect("serve_forever failed");
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Front ends.
// ---------------------------------------------------------------------------------------

/// A free TCP port of 127.0.0.1 (bound, read, released).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A temporary directory of its own, removed on drop; world-writable, since Apache and
/// lighttpd open their logs after dropping root to www-data.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(name: &str) -> TempDir {
        static RUNS: AtomicUsize = AtomicUsize::new(0);
        let run = RUNS.fetch_add(1, Ordering::SeqCst);
        let dir = std::env::temp_dir().join(format!("wsgiref-{name}-{}-{run}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The first of `candidates` that exists, or a loud failure naming the package to install.
pub fn binary(candidates: &[&str], package: &str) -> PathBuf {
    for candidate in candidates {
        if Path::new(candidate).exists() {
            return candidate.into();
        }
    }
    panic!(
        "{package} is not installed: this test needs it (.ci/run installs it with \
         `apt-get install -y --no-install-recommends {package}`)"
    );
}

/// A front end running in the foreground as a child, listening on `port`; stopped with
/// SIGTERM and waited for on drop (then SIGKILL if it is still there after [`WAIT`]).
pub struct FrontEnd {
    pub name: &'static str,
    pub child: Child,
    pub port: u16,
    /// Its error log, shown when something fails.
    pub error_log: PathBuf,
    pub dir: TempDir,
}

impl FrontEnd {
    /// Start `command` (which must not daemonize) and wait until `port` accepts.
    pub fn start(
        name: &'static str,
        mut command: Command,
        port: u16,
        error_log: PathBuf,
        dir: TempDir,
    ) -> FrontEnd {
        let child = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{name} could not be started: {e}"));
        let mut front = FrontEnd {
            name,
            child,
            port,
            error_log,
            dir,
        };
        let deadline = Instant::now() + WAIT;
        loop {
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return front;
            }
            if let Ok(Some(status)) = front.child.try_wait() {
                let mut stderr = String::new();
                if let Some(mut e) = front.child.stderr.take() {
                    let _ = e.read_to_string(&mut stderr);
                }
                panic!(
                    "{name} exited ({status}) before listening:\n{stderr}\n{}",
                    front.log()
                );
            }
            assert!(
                Instant::now() < deadline,
                "{name} did not listen on port {port} within {WAIT:?}\n{}",
                front.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.error_log).unwrap_or_default()
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }
}

impl Drop for FrontEnd {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + WAIT;
        while Instant::now() < deadline && matches!(self.child.try_wait(), Ok(None)) {
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---------------------------------------------------------------------------------------
// The client.
// ---------------------------------------------------------------------------------------

/// `curl` GET (or POST of the file `upload`): the status and the body.
pub fn curl(front: &FrontEnd, path: &str, upload: Option<&Path>) -> (u16, Vec<u8>) {
    static RUNS: AtomicUsize = AtomicUsize::new(0);
    let out = front
        .dir
        .0
        .join(format!("curl-{}.out", RUNS.fetch_add(1, Ordering::SeqCst)));
    let mut cmd = Command::new("curl");
    cmd.args(["-s", "-S", "--max-time", "60"])
        .args(["-H", "X-Test: hello", "-H", "Expect:"])
        .arg("-o")
        .arg(&out)
        .args(["-w", "%{http_code}"]);
    if let Some(file) = upload {
        cmd.args(["-H", "Content-Type: application/octet-stream"])
            .arg("--data-binary")
            .arg(format!("@{}", file.display()));
    }
    let url = front.url(path);
    let result = cmd.arg(&url).output().expect("curl could not be run");
    assert!(
        result.status.success(),
        "curl {url}: {}\n{}",
        String::from_utf8_lossy(&result.stderr),
        front.log()
    );
    let status = String::from_utf8_lossy(&result.stdout).parse().unwrap();
    let body = std::fs::read(&out).unwrap();
    let _ = std::fs::remove_file(&out);
    (status, body)
}

/// A `200` report as text (fails the test, with the front end's log, on any other status).
pub fn report(front: &FrontEnd, path: &str, upload: Option<&Path>) -> String {
    let (status, body) = curl(front, path, upload);
    let text = String::from_utf8_lossy(&body).into_owned();
    assert_eq!(
        status,
        200,
        "{} {path}: {text}\n{}",
        front.name,
        front.log()
    );
    text
}

/// The `key=value` line of a report (`env NAME` for a variable).
pub fn field<'a>(report: &'a str, key: &str) -> Option<&'a str> {
    report
        .lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
}

/// Ask for `/endless` over a raw connection, read a little of it, and hang up.
pub fn disconnect_mid_response(front: &FrontEnd, path: &str) {
    let mut stream = TcpStream::connect(("127.0.0.1", front.port)).unwrap();
    stream.set_read_timeout(Some(WAIT)).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\n\r\n",
        front.port
    )
    .unwrap();
    let mut buf = vec![0u8; 64 * 1024];
    let mut got = 0;
    while got < 256 * 1024 {
        let n = stream.read(&mut buf).unwrap();
        assert!(n > 0, "{}: the endless response ended early", front.name);
        if got == 0 {
            assert!(
                buf[..n].starts_with(b"HTTP/1.1 200"),
                "{}: {}",
                front.name,
                String::from_utf8_lossy(&buf[..n.min(200)])
            );
        }
        got += n;
    }
    // Reset rather than close politely, as a client that crashed or was killed.
    drop(stream);
}

/// The checks every front end and protocol must pass alike, at location `/{p}/app`:
///
/// - `GET /P/app/extra/path?a=1&b=%20x` (with `X-Test: hello`): the CGI variables a WSGI
///   application relies on and the `wsgi` group; its report is returned;
/// - a 1 MiB upload, read by the application through `wsgi.input` in many reads;
/// - a streamed response of no announced length arrives whole (FastCGI: several 65,535-byte
///   STDOUT records);
/// - an application error is the server's error page, passed on by the front end.
pub fn exercise_common(front: &FrontEnd, p: &str, who: &str) -> String {
    let r = report(front, &format!("/{p}/app/extra/path?a=1&b=%20x"), None);
    let ctx = format!("{who}:\n{r}");
    assert_eq!(field(&r, "env REQUEST_METHOD"), Some("GET"), "{ctx}");
    assert_eq!(
        field(&r, "env SCRIPT_NAME"),
        Some(format!("/{p}/app").as_str()),
        "{ctx}"
    );
    assert_eq!(field(&r, "env PATH_INFO"), Some("/extra/path"), "{ctx}");
    assert_eq!(field(&r, "env QUERY_STRING"), Some("a=1&b=%20x"), "{ctx}");
    assert_eq!(field(&r, "env HTTP_X_TEST"), Some("hello"), "{ctx}");
    assert_eq!(field(&r, "env SERVER_PROTOCOL"), Some("HTTP/1.1"), "{ctx}");
    assert!(
        r.contains("wsgi url_scheme=http multithread=true multiprocess=false run_once=false\n"),
        "{ctx}"
    );
    assert_eq!(field(&r, "body_len"), Some("0"), "{ctx}");

    let upload = pattern(UPLOAD);
    let upload_path = front.dir.0.join("upload.bin");
    std::fs::write(&upload_path, &upload).unwrap();
    let u = report(front, &format!("/{p}/app/upload"), Some(&upload_path));
    let ctx = format!("{who}:\n{u}");
    assert_eq!(field(&u, "env REQUEST_METHOD"), Some("POST"), "{ctx}");
    assert_eq!(field(&u, "env CONTENT_LENGTH"), Some("1048576"), "{ctx}");
    assert_eq!(field(&u, "body_len"), Some("1048576"), "{ctx}");
    let hash = format!("{:x}", fnv(FNV_START, &upload));
    assert_eq!(field(&u, "body_hash"), Some(hash.as_str()), "{ctx}");
    let reads: usize = field(&u, "body_reads").unwrap().parse().unwrap();
    assert!(reads >= UPLOAD / READ_SIZE, "{ctx}");

    let (status, body) = curl(front, &format!("/{p}/app/big"), None);
    assert_eq!(status, 200, "{who}");
    assert!(
        body == pattern(BIG),
        "{who}: {} bytes, not the pattern",
        body.len()
    );

    let (status, body) = curl(front, &format!("/{p}/app/fail"), None);
    assert_eq!(status, 500, "{who}");
    assert_eq!(
        body,
        wsgiref::handlers::HandlerConfig::ERROR_BODY,
        "{who}: {}",
        String::from_utf8_lossy(&body)
    );
    r
}

/// A client that hangs up during `/endless` at `path` ([`disconnect_mid_response`]): the
/// front end must drop the backend connection, and the server stop the response and close
/// the body (its `close()` ran, short of [`ENDLESS_CAP`]).
pub fn hang_up_mid_response(front: &FrontEnd, backend: &Backend, path: &str, who: &str) {
    let closes = backend.state.endless_closes.load(Ordering::SeqCst);
    disconnect_mid_response(front, path);
    wait_until(&format!("{who}: the endless body closed"), || {
        backend.state.endless_closes.load(Ordering::SeqCst) == closes + 1
    });
    let sent = backend.state.endless_sent.load(Ordering::SeqCst);
    assert!(
        sent < ENDLESS_CAP,
        "{who}: the endless body ran to its end ({sent} bytes): the disconnect went unnoticed"
    );
}

/// Wait (bounded by [`WAIT`]) until `done()` holds.
pub fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + WAIT;
    while !done() {
        assert!(Instant::now() < deadline, "not within {WAIT:?}: {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The client-side ports of the established TCP connections to 127.0.0.1:`port`: how a test
/// sees which connection a front end keeps to the backend. Asked of the kernel through `ss`
/// (netlink, filtered in the kernel): /proc/net/tcp lists every socket of the machine, and
/// with the TIME_WAIT sockets of load tests run alongside, reading it takes seconds.
pub fn established_to(port: u16) -> Vec<u16> {
    let out = Command::new("ss")
        .args(["-H", "-t", "-n", "state", "established"])
        .arg(format!("( dport = :{port} )"))
        .output()
        .expect("ss (iproute2) could not be run");
    assert!(
        out.status.success(),
        "ss: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Each line: Recv-Q Send-Q LOCAL:PORT PEER:PORT
    let mut ports: Vec<u16> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|line| {
            let local = line.split_whitespace().nth(2)?;
            local.rsplit(':').next()?.parse().ok()
        })
        .collect();
    ports.sort_unstable();
    ports
}
