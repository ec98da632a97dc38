//! Shared by the front-end tests of the gateway protocols (tests/gateway_fronts.rs): the
//! reporting application, the real gateway server it runs in, a front end run as a child
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
use wsgiref::gateway_server::{make_gateway_server_with, GatewayServer, ListenAddress};
use wsgiref::simple_server::ServerOptions;
use wsgiref::{AppError, Application, Environ, StartResponse};

/// The longest any single wait of these tests may take (a hung test stops, it never hangs).
pub const WAIT: Duration = Duration::from_secs(30);
/// Size of the upload read through `wsgi.input`.
pub const UPLOAD: usize = 1 << 20;
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
/// - anything else: a report, one `env NAME=value` line per variable, the `wsgi` group, and
///   `body_len`/`body_hash` of what it read through `wsgi.input`.
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
            _ => {}
        }
        let (mut len, mut hash) = (0usize, FNV_START);
        let mut buf = vec![0u8; 8192];
        loop {
            let n = env.input().read(&mut buf)?;
            if n == 0 {
                break;
            }
            len += n;
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
        text += &format!("body_len={len}\nbody_hash={hash:x}\n");
        sr.start("200 OK", &[("Content-Type", "text/plain")])?;
        Ok(Either::Right(Once::new(text.into_bytes())))
    }
}

// ---------------------------------------------------------------------------------------
// The backend.
// ---------------------------------------------------------------------------------------

/// The real gateway server (`wsgiref::gateway_server`) serving [`report_app`] over one
/// protocol on an ephemeral port of 127.0.0.1, on a thread of its own; shut down on drop.
pub struct Backend {
    pub port: u16,
    pub state: Arc<AppState>,
    server: Arc<GatewayServer<ReportApp>>,
    thread: Option<std::thread::JoinHandle<std::io::Result<()>>>,
}

/// The body type of [`ReportApp`].
pub type ReportBody = Either<Either<Streamed, Endless>, Once<Vec<u8>>>;

pub fn start_backend(protocol: Protocol) -> Backend {
    let state = Arc::new(AppState::default());
    let app = ReportApp {
        state: Arc::clone(&state),
    };
    let options = ServerOptions {
        idle_timeout: WAIT,
        header_timeout: WAIT,
        body_timeout: WAIT,
        shutdown_grace: WAIT,
        ..ServerOptions::default()
    };
    let server = make_gateway_server_with(protocol, "127.0.0.1:0", app, options)
        .unwrap_or_else(|e| panic!("{protocol:?} server on 127.0.0.1:0: {e}"));
    let port = match server.local_address() {
        ListenAddress::Tcp(address) => address.port(),
        other => panic!("{protocol:?} server on {other}, not TCP"),
    };
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
