//! `wsgiref::gateway_server` behind a real front end: nginx with `fastcgi_pass` (keep-conn,
//! over TCP), `scgi_pass` (over a Unix socket) and `uwsgi_pass` (over TCP), configured by
//! `tests/nginx/gateway.conf.in` (whose blocks `docs/gateway.md` quotes), reaching one
//! application through three gateway servers.
//!
//! Checked: the environ nginx gives is the same through the three protocols (documented
//! differences aside); a 1 MiB upload streamed through `wsgi.input`; a 300 KB response of no
//! announced length; the error page; keep-conn reuse (five requests over one FastCGI
//! connection); an upload the application leaves unread (the lingering close: the response
//! arrives whole, nginx logs no reset); a client that disconnects during a slowly streamed
//! response (the application's iterator is closed, the next request is answered); garbage
//! sent straight to a listener (one log line with the byte offset, the connection closed);
//! the access log; and the Unix socket file removed once the server is gone.
//!
//! nginx must be installed (`.ci/run` installs it); without it this test fails, it does not
//! skip. Talks to 127.0.0.1 only; every wait is bounded.

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use wsgiref::app::Body;
use wsgiref::gateway::Protocol;
use wsgiref::gateway_server::{make_gateway_server_with, GatewayServer, ListenAddress};
use wsgiref::simple_server::ServerOptions;
use wsgiref::{AppError, Application, Environ, StartResponse};

/// The longest any wait of this test may take (only to stop a hung test).
const LIMIT: Duration = Duration::from_secs(20);
/// Size of the streamed upload and of the large response.
const UPLOAD: usize = 1 << 20;
const BIG: usize = 300_000;
/// The application's read size: the upload arrives in many reads.
const READ_SIZE: usize = 8192;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Proto {
    FastCgi,
    Scgi,
    Uwsgi,
}

impl Proto {
    const ALL: [Proto; 3] = [Proto::FastCgi, Proto::Scgi, Proto::Uwsgi];

    fn prefix(self) -> &'static str {
        match self {
            Proto::FastCgi => "fcgi",
            Proto::Scgi => "scgi",
            Proto::Uwsgi => "uwsgi",
        }
    }

    fn protocol(self) -> Protocol {
        match self {
            Proto::FastCgi => Protocol::FastCgi,
            Proto::Scgi => Protocol::Scgi,
            Proto::Uwsgi => Protocol::Uwsgi,
        }
    }
}

// ---------------------------------------------------------------------------------------
// The server's log lines, captured.
// ---------------------------------------------------------------------------------------

static LINES: Mutex<Vec<String>> = Mutex::new(Vec::new());

struct Capture;

impl log::Log for Capture {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.target().starts_with("wsgiref")
    }
    fn log(&self, record: &log::Record<'_>) {
        if self.enabled(record.metadata()) {
            let line = format!("{} {}: {}", record.level(), record.target(), record.args());
            LINES.lock().unwrap_or_else(|e| e.into_inner()).push(line);
        }
    }
    fn flush(&self) {}
}

fn capture_log() {
    static CAPTURE: Capture = Capture;
    if log::set_logger(&CAPTURE).is_ok() {
        log::set_max_level(log::LevelFilter::Debug);
    }
}

fn logged() -> Vec<String> {
    LINES.lock().unwrap_or_else(|e| e.into_inner()).clone()
}

/// Wait (at most [`LIMIT`]) until `done` holds.
fn eventually(what: &str, done: impl Fn() -> bool) {
    let deadline = Instant::now() + LIMIT;
    while !done() {
        assert!(Instant::now() < deadline, "not within {LIMIT:?}: {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

// ---------------------------------------------------------------------------------------
// The application.
// ---------------------------------------------------------------------------------------

/// FNV-1a, to compare a megabyte without sending it back.
fn fnv(hash: u64, bytes: &[u8]) -> u64 {
    bytes.iter().fold(hash, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}
const FNV_START: u64 = 0xcbf2_9ce4_8422_2325;

fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 % 251) as u8).collect()
}

/// What the application saw, shared by the three servers.
#[derive(Default)]
struct Seen {
    /// Connections per protocol: a gateway server serves each connection on a thread of its
    /// own, so a new thread is a new connection.
    connections: [AtomicUsize; 3],
    /// `close()` calls of the slow streamed bodies.
    slow_closed: AtomicUsize,
}

thread_local! {
    /// This connection's number and the requests it served.
    static CONNECTION: std::cell::Cell<Option<(usize, usize)>> = const { std::cell::Cell::new(None) };
}

/// The one application behind all three protocols. `/big` streams a large pattern in chunks
/// of no announced length; `/slow` streams slowly (for a client that disconnects); `/fail`
/// fails (the error page); `/ignore` answers without reading the body; anything else
/// reports its environ (every variable), its `wsgi.*` group, the body it read through
/// `wsgi.input`, and its connection.
struct ReportApp {
    proto: Proto,
    seen: Arc<Seen>,
}

/// A response body: chunks, each after `delay`; counts its `close()` when `closed` is set.
struct Reply {
    chunks: VecDeque<Vec<u8>>,
    current: Vec<u8>,
    delay: Duration,
    closed: Option<Arc<Seen>>,
}

impl Reply {
    fn new(chunks: Vec<Vec<u8>>) -> Self {
        Reply {
            chunks: chunks.into(),
            current: Vec::new(),
            delay: Duration::ZERO,
            closed: None,
        }
    }
}

impl Body for Reply {
    fn next_chunk(&mut self) -> Result<Option<&[u8]>, AppError> {
        let Some(next) = self.chunks.pop_front() else {
            return Ok(None);
        };
        std::thread::sleep(self.delay);
        self.current = next;
        Ok(Some(&self.current))
    }

    fn close(&mut self) {
        if let Some(seen) = &self.closed {
            seen.slow_closed.fetch_add(1, Ordering::SeqCst);
        }
    }
}

impl Application for ReportApp {
    type Body = Reply;

    fn call(&self, env: &mut Environ<'_>, sr: &mut StartResponse<'_>) -> Result<Reply, AppError> {
        let (conn, req) = CONNECTION.with(|c| {
            let (conn, req) = c.get().unwrap_or_else(|| {
                let n = self.seen.connections[self.proto as usize].fetch_add(1, Ordering::SeqCst);
                (n + 1, 0)
            });
            c.set(Some((conn, req + 1)));
            (conn, req + 1)
        });
        let path = env.get("PATH_INFO").unwrap_or(b"").to_vec();
        match &path[..] {
            b"/fail" => return Err(AppError::msg("the application failed on purpose")),
            b"/big" => {
                sr.start("200 OK", &[("Content-Type", "application/octet-stream")])?;
                let chunks = pattern(BIG).chunks(10_000).map(<[u8]>::to_vec).collect();
                return Ok(Reply::new(chunks));
            }
            b"/slow" => {
                sr.start("200 OK", &[("Content-Type", "application/octet-stream")])?;
                // At most 10 s of 8 KiB chunks: the client leaves long before the end.
                let mut reply = Reply::new(vec![vec![b's'; 8192]; 500]);
                reply.delay = Duration::from_millis(20);
                reply.closed = Some(Arc::clone(&self.seen));
                return Ok(reply);
            }
            b"/ignore" => {
                sr.start("200 OK", &[("Content-Type", "text/plain")])?;
                return Ok(Reply::new(vec![b"ignored the body\n".to_vec()]));
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
        text += &format!(
            "body_len={len}\nbody_hash={hash:x}\nbody_reads={reads}\nconn={conn}\nreq={req}\n"
        );
        sr.start("200 OK", &[("Content-Type", "text/plain")])?;
        Ok(Reply::new(vec![text.into_bytes()]))
    }
}

// ---------------------------------------------------------------------------------------
// The servers and nginx.
// ---------------------------------------------------------------------------------------

/// A gateway server running on a thread of its own until dropped.
struct Running {
    server: Arc<GatewayServer<ReportApp>>,
    thread: Option<std::thread::JoinHandle<std::io::Result<()>>>,
}

impl Running {
    fn start(proto: Proto, address: &str, seen: &Arc<Seen>) -> Running {
        let app = ReportApp {
            proto,
            seen: Arc::clone(seen),
        };
        let options = ServerOptions {
            idle_timeout: LIMIT,
            header_timeout: LIMIT,
            body_timeout: LIMIT,
            shutdown_grace: LIMIT,
            ..ServerOptions::default()
        };
        let server = make_gateway_server_with(proto.protocol(), address, app, options)
            .unwrap_or_else(|e| panic!("{proto:?} on {address}: {e}"));
        let server = Arc::new(server);
        let serving = Arc::clone(&server);
        let thread = std::thread::spawn(move || serving.serve_forever());
        Running {
            server,
            thread: Some(thread),
        }
    }

    /// The address as nginx's `*_pass` takes it.
    fn upstream(&self) -> String {
        self.server.local_address().to_string()
    }

    /// Shut down, wait for `serve_forever`, and drop the server.
    fn stop(mut self) {
        self.server.shutdown_handle().shutdown();
        let thread = self.thread.take().unwrap();
        let deadline = Instant::now() + LIMIT;
        while !thread.is_finished() {
            assert!(Instant::now() < deadline, "serve_forever did not return");
            std::thread::sleep(Duration::from_millis(10));
        }
        thread.join().unwrap().unwrap();
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        // On a failed assertion too: stop serving so the process can end.
        self.server.shutdown_handle().shutdown();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// nginx running on a prefix of its own; stopped and its prefix removed on drop.
struct Nginx {
    child: Child,
    dir: PathBuf,
    port: u16,
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // SIGTERM first: nginx's master then stops its workers. A SIGKILLed master leaves its
        // workers running, orphaned, with the listening socket still open.
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + LIMIT;
        while Instant::now() < deadline && matches!(self.child.try_wait(), Ok(None)) {
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn nginx_binary() -> PathBuf {
    for candidate in ["/usr/sbin/nginx", "/usr/bin/nginx", "/usr/local/sbin/nginx"] {
        if Path::new(candidate).exists() {
            return candidate.into();
        }
    }
    panic!(
        "nginx is not installed: this test needs it (.ci/run installs it with \
         `apt-get install -y --no-install-recommends nginx`)"
    );
}

/// The tests of this file each start an nginx: one at a time, each on its own prefix.
static ONE_NGINX: Mutex<()> = Mutex::new(());
static NGINX_RUNS: AtomicUsize = AtomicUsize::new(0);

fn start_nginx(fcgi: &str, scgi: &str, uwsgi: &str) -> Nginx {
    let run = NGINX_RUNS.fetch_add(1, Ordering::SeqCst);
    let dir = std::env::temp_dir().join(format!(
        "wsgiref-gateway-nginx-{}-{run}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let port = free_port();
    let template = include_str!("nginx/gateway.conf.in");
    // As root, nginx would run its worker as nobody, which cannot use this prefix.
    let is_root = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout == b"0\n")
        .unwrap_or(false);
    let conf = template
        .replace("@DIR@", dir.to_str().unwrap())
        .replace("@USER@", if is_root { "user root;" } else { "" })
        .replace("@FCGI_ADDRESS@", fcgi)
        .replace("@SCGI_ADDRESS@", scgi)
        .replace("@UWSGI_ADDRESS@", uwsgi)
        .replace("@NGINX_PORT@", &port.to_string());
    let conf_path = dir.join("nginx.conf");
    std::fs::write(&conf_path, conf).unwrap();
    let child = Command::new(nginx_binary())
        .arg("-p")
        .arg(&dir)
        .arg("-c")
        .arg(&conf_path)
        .arg("-e")
        .arg(dir.join("error.log"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("nginx could not be started");
    let mut nginx = Nginx { child, dir, port };
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return nginx;
        }
        if let Ok(Some(status)) = nginx.child.try_wait() {
            let mut stderr = String::new();
            if let Some(mut e) = nginx.child.stderr.take() {
                let _ = e.read_to_string(&mut stderr);
            }
            let log = std::fs::read_to_string(nginx.dir.join("error.log")).unwrap_or_default();
            panic!("nginx exited ({status}) before listening:\n{stderr}\n{log}");
        }
        assert!(
            Instant::now() < deadline,
            "nginx did not listen on port {port} within 20 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `curl` through nginx: the status and the body. `upload` is POSTed from a file.
fn curl(nginx: &Nginx, path: &str, upload: Option<&Path>) -> (u16, Vec<u8>) {
    let out = nginx.dir.join("curl.out");
    let mut cmd = Command::new("curl");
    cmd.args([
        "-s",
        "-S",
        "--max-time",
        "60",
        "-H",
        "X-Test: hello",
        "-H",
        "Expect:",
    ])
    .arg("-o")
    .arg(&out)
    .args(["-w", "%{http_code}"]);
    if let Some(file) = upload {
        cmd.args([
            "-H",
            "Content-Type: application/octet-stream",
            "--data-binary",
        ])
        .arg(format!("@{}", file.display()));
    }
    let url = format!("http://127.0.0.1:{}{path}", nginx.port);
    let result = cmd.arg(&url).output().expect("curl could not be run");
    assert!(
        result.status.success(),
        "curl {url}: {}",
        String::from_utf8_lossy(&result.stderr)
    );
    let status = String::from_utf8_lossy(&result.stdout).parse().unwrap();
    (status, std::fs::read(&out).unwrap())
}

/// The `key=value` line of a report, or the value of `param NAME`.
fn field<'a>(report: &'a str, key: &str) -> Option<&'a str> {
    report
        .lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
}

fn report(nginx: &Nginx, path: &str, upload: Option<&Path>) -> String {
    let (status, body) = curl(nginx, path, upload);
    let text = String::from_utf8(body).unwrap();
    assert_eq!(
        status,
        200,
        "{path}: {text}\nserver log: {:#?}\nnginx: {}",
        logged(),
        error_log(nginx)
    );
    text
}

fn error_log(nginx: &Nginx) -> String {
    std::fs::read_to_string(nginx.dir.join("error.log")).unwrap_or_default()
}

/// The environ lines of a report, with the documented differences between the protocols
/// taken out: the location prefix (`/fcgi`, `/scgi`, `/uwsgi`) in SCRIPT_NAME and
/// REQUEST_URI; SCGI's `SCGI=1`; and CONTENT_LENGTH, which nginx always sends over SCGI
/// (`0` for a GET) and sends empty over FastCGI and uwsgi when the request has no body.
fn comparable_environ(report: &str, prefix: &str) -> Vec<String> {
    let mut lines: Vec<String> = report
        .lines()
        .filter(|l| l.starts_with("env ") || l.starts_with("wsgi "))
        .filter(|l| *l != "env SCGI=1")
        .map(|l| match l {
            "env CONTENT_LENGTH=0" => "env CONTENT_LENGTH=".to_string(),
            l => l.replace(&format!("/{prefix}/"), "/P/"),
        })
        .collect();
    lines.sort();
    lines
}

#[test]
fn nginx_reaches_one_application_through_the_three_gateway_servers() {
    let _one = ONE_NGINX.lock().unwrap_or_else(|e| e.into_inner());
    capture_log();
    let seen = Arc::new(Seen::default());
    let socket_dir =
        std::env::temp_dir().join(format!("wsgiref-gateway-sock-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&socket_dir);
    std::fs::create_dir_all(&socket_dir).unwrap();
    let scgi_socket = socket_dir.join("scgi.sock");
    // A stale socket file from a server that died: replaced, since nothing answers on it.
    drop(std::os::unix::net::UnixListener::bind(&scgi_socket).unwrap());
    assert!(scgi_socket.exists());

    let fcgi = Running::start(Proto::FastCgi, "127.0.0.1:0", &seen);
    let scgi = Running::start(
        Proto::Scgi,
        &format!("unix:{}", scgi_socket.display()),
        &seen,
    );
    let uwsgi = Running::start(Proto::Uwsgi, "127.0.0.1:0", &seen);
    assert_eq!(
        scgi.server.local_address(),
        &ListenAddress::Unix(scgi_socket.clone())
    );
    // A live socket is refused, never replaced.
    let taken = make_gateway_server_with(
        Protocol::Scgi,
        &format!("unix:{}", scgi_socket.display()),
        ReportApp {
            proto: Proto::Scgi,
            seen: Arc::clone(&seen),
        },
        ServerOptions::default(),
    );
    assert_eq!(
        taken.err().map(|e| e.kind()),
        Some(std::io::ErrorKind::AddrInUse)
    );

    let nginx = start_nginx(&fcgi.upstream(), &scgi.upstream(), &uwsgi.upstream());
    let upload_path = nginx.dir.join("upload.bin");
    let upload = pattern(UPLOAD);
    std::fs::write(&upload_path, &upload).unwrap();

    let mut environs = Vec::new();
    for proto in Proto::ALL {
        let p = proto.prefix();
        let r = report(&nginx, &format!("/{p}/app/extra/path?a=1&b=%20x"), None);
        let ctx = format!("{proto:?}:\n{r}");
        // The params as nginx passes them.
        assert_eq!(field(&r, "env REQUEST_METHOD"), Some("GET"), "{ctx}");
        assert_eq!(
            field(&r, "env SCRIPT_NAME"),
            Some(format!("/{p}/app").as_str()),
            "{ctx}"
        );
        assert_eq!(field(&r, "env PATH_INFO"), Some("/extra/path"), "{ctx}");
        assert_eq!(field(&r, "env QUERY_STRING"), Some("a=1&b=%20x"), "{ctx}");
        assert_eq!(
            field(&r, "env REQUEST_URI"),
            Some(format!("/{p}/app/extra/path?a=1&b=%20x").as_str()),
            "{ctx}"
        );
        assert_eq!(field(&r, "env HTTP_X_TEST"), Some("hello"), "{ctx}");
        assert_eq!(field(&r, "env SERVER_PROTOCOL"), Some("HTTP/1.1"), "{ctx}");
        assert_eq!(field(&r, "env REMOTE_ADDR"), Some("127.0.0.1"), "{ctx}");
        // The server's base environ lies under the front end's variables.
        assert_eq!(field(&r, "env GATEWAY_INTERFACE"), Some("CGI/1.1"), "{ctx}");
        assert!(
            r.contains("wsgi url_scheme=http multithread=true multiprocess=false run_once=false\n"),
            "{ctx}"
        );
        assert_eq!(field(&r, "body_len"), Some("0"), "{ctx}");
        if proto == Proto::Scgi {
            // nginx puts CONTENT_LENGTH first and SCGI=1, as the specification requires:
            // they follow the base environ's two variables.
            let env: Vec<&str> = r.lines().filter(|l| l.starts_with("env ")).collect();
            assert_eq!(env[2..4], ["env CONTENT_LENGTH=0", "env SCGI=1"], "{ctx}");
        }
        environs.push(comparable_environ(&r, p));

        // A 1 MiB upload, read by the application through wsgi.input while it streams in.
        let r = report(&nginx, &format!("/{p}/app/upload"), Some(&upload_path));
        let ctx = format!("{proto:?}:\n{r}");
        assert_eq!(field(&r, "env REQUEST_METHOD"), Some("POST"), "{ctx}");
        assert_eq!(field(&r, "env CONTENT_LENGTH"), Some("1048576"), "{ctx}");
        assert_eq!(field(&r, "body_len"), Some("1048576"), "{ctx}");
        let hash = format!("{:x}", fnv(FNV_START, &upload));
        assert_eq!(field(&r, "body_hash"), Some(hash.as_str()), "{ctx}");
        let reads: usize = field(&r, "body_reads").unwrap().parse().unwrap();
        assert!(reads >= UPLOAD / READ_SIZE, "{ctx}");

        // A streamed response of no announced length arrives whole (FastCGI: several
        // 65,535-byte STDOUT records).
        let (status, body) = curl(&nginx, &format!("/{p}/app/big"), None);
        assert_eq!(status, 200, "{proto:?}");
        assert!(
            body == pattern(BIG),
            "{proto:?}: {} bytes, not the pattern",
            body.len()
        );

        // An application error is the error page, through every protocol.
        let (status, body) = curl(&nginx, &format!("/{p}/app/fail"), None);
        assert_eq!(status, 500, "{proto:?}");
        assert_eq!(
            body,
            wsgiref::handlers::HandlerConfig::ERROR_BODY,
            "{proto:?}"
        );
    }
    // The same application saw the same environ through all three, differences aside.
    assert_eq!(environs[0], environs[1], "FastCGI and SCGI environs differ");
    assert_eq!(
        environs[0], environs[2],
        "FastCGI and uwsgi environs differ"
    );

    // Keep-conn: every FastCGI request came over one connection, which the server kept open
    // because nginx set FCGI_KEEP_CONN: these two are its fifth and sixth.
    let first = report(&nginx, "/fcgi/app/one", None);
    let second = report(&nginx, "/fcgi/app/two", None);
    assert_eq!(
        field(&first, "conn"),
        field(&second, "conn"),
        "{first}\n{second}"
    );
    let req = |r: &str| field(r, "req").unwrap().parse::<usize>().unwrap();
    assert_eq!(req(&first), 5, "{first}");
    assert_eq!(req(&second), 6, "{second}");
    assert_eq!(
        seen.connections[Proto::FastCgi as usize].load(Ordering::SeqCst),
        1
    );
    // SCGI and uwsgi: a connection per request (4 each, the error page's included).
    assert_eq!(
        seen.connections[Proto::Scgi as usize].load(Ordering::SeqCst),
        4
    );
    assert_eq!(
        seen.connections[Proto::Uwsgi as usize].load(Ordering::SeqCst),
        4
    );
    // The access log: the front end's REMOTE_ADDR and the request line.
    let lines = logged();
    assert!(
        lines.iter().any(|l| {
            l.starts_with("INFO wsgiref::access: 127.0.0.1 - - [")
                && l.contains("] \"GET /fcgi/app/one HTTP/1.1\" 200 ")
        }),
        "{lines:#?}"
    );

    // An upload the application does not read: SCGI and uwsgi close the connection after the
    // response with the body unread. The lingering close lets nginx read the whole response
    // (a close with unread bytes would reset the connection under it).
    for proto in [Proto::Scgi, Proto::Uwsgi] {
        let p = proto.prefix();
        for _ in 0..3 {
            let (status, body) = curl(&nginx, &format!("/{p}/app/ignore"), Some(&upload_path));
            assert_eq!(
                (status, body.as_slice()),
                (200, &b"ignored the body\n"[..]),
                "{proto:?}: {}",
                error_log(&nginx)
            );
        }
    }
    let errors = error_log(&nginx);
    assert!(!errors.contains("reset"), "nginx saw a reset:\n{errors}");

    // A client that disconnects during a slowly streamed response: nginx closes the
    // upstream connection, the application's iterator is closed, the servers serve on.
    for proto in [Proto::FastCgi, Proto::Uwsgi] {
        let before = seen.slow_closed.load(Ordering::SeqCst);
        let mut client = TcpStream::connect(("127.0.0.1", nginx.port)).unwrap();
        client.set_read_timeout(Some(LIMIT)).unwrap();
        write!(
            client,
            "GET /{}/app/slow HTTP/1.1\r\nHost: localhost\r\n\r\n",
            proto.prefix()
        )
        .unwrap();
        let mut got = vec![0u8; 4096];
        let n = client.read(&mut got).unwrap();
        assert!(got[..n].starts_with(b"HTTP/1.1 200 OK"), "{proto:?}");
        drop(client);
        eventually(&format!("{proto:?}: the slow body's close() ran"), || {
            seen.slow_closed.load(Ordering::SeqCst) == before + 1
        });
        let r = report(&nginx, &format!("/{}/app/after", proto.prefix()), None);
        assert_eq!(field(&r, "env PATH_INFO"), Some("/after"), "{proto:?}");
    }
    let lines = logged();
    assert!(
        lines
            .iter()
            .any(|l| l.contains("front end closed the connection")),
        "{lines:#?}"
    );

    // Garbage straight to a listener: one log line saying what and where, the connection
    // closed, the server serving on.
    let ListenAddress::Tcp(fcgi_address) = *fcgi.server.local_address() else {
        unreachable!()
    };
    let mut raw = TcpStream::connect(fcgi_address).unwrap();
    raw.set_read_timeout(Some(LIMIT)).unwrap();
    raw.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let mut rest = Vec::new();
    match raw.read_to_end(&mut rest) {
        Ok(_) => assert!(rest.is_empty(), "answered garbage: {rest:?}"),
        Err(e) => assert_eq!(e.kind(), std::io::ErrorKind::ConnectionReset, "{e}"),
    }
    eventually("the protocol error is logged", || {
        logged().iter().any(|l| {
            l.starts_with("WARN wsgiref::gateway: ")
                && l.contains("FastCGI protocol error: ")
                && l.contains(" at byte ")
        })
    });
    let r = report(&nginx, "/fcgi/app/still", None);
    assert_eq!(field(&r, "env PATH_INFO"), Some("/still"));

    drop(nginx);
    // Stopped: serve_forever returns; the Unix socket file goes with the server.
    fcgi.stop();
    uwsgi.stop();
    scgi.stop();
    assert!(
        !scgi_socket.exists(),
        "{} left behind",
        scgi_socket.display()
    );
    let _ = std::fs::remove_dir_all(&socket_dir);
}
