//! The gateway decoders against a real front end: nginx with `fastcgi_pass` (keep-conn),
//! `scgi_pass` and `uwsgi_pass` to test-only listeners that decode what nginx really sends with
//! `wsgiref_core::gateway` and answer with the encoders, checked with curl through nginx.
//!
//! A second test puts `wsgiref_core::gateway::Session` behind the same nginx: one real
//! application (reporting its environ and the body it read through `wsgi.input`) answers
//! through FastCGI, SCGI and uwsgi, with the same environ (documented differences aside), a
//! streamed 1 MiB upload, a streamed response, the error page, and keep-conn reuse.
//!
//! The listeners here are test scaffolding (a thread per connection), not the product's
//! listeners, which are the next step of issue 26. nginx must be installed (`.ci/run` installs it); without it this test fails, it
//! does not skip. Talks to 127.0.0.1 only; every wait is bounded.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use wsgiref_core::gateway::fastcgi::{self, Output};
use wsgiref_core::gateway::{scgi, uwsgi, Event, Limits, Params};

/// The longest a socket operation of a listener may wait.
const IO_LIMIT: Duration = Duration::from_secs(20);
/// Receive buffer of each connection: body chunks can never be larger.
const READ_BUF: usize = 16 * 1024;
/// Size of the streamed upload and of the large response.
const UPLOAD: usize = 1 << 20;
const BIG: usize = 300_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Proto {
    FastCgi,
    Scgi,
    Uwsgi,
}

impl Proto {
    fn prefix(self) -> &'static str {
        match self {
            Proto::FastCgi => "fcgi",
            Proto::Scgi => "scgi",
            Proto::Uwsgi => "uwsgi",
        }
    }
}

/// What the listeners saw that a test must know: decoder errors (any fails the test) and
/// how many connections each protocol accepted.
#[derive(Default)]
struct Log {
    errors: Mutex<Vec<String>>,
    connections: [AtomicUsize; 3],
}

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

/// One request as the application sees it.
struct Request {
    params: Vec<(Vec<u8>, Vec<u8>)>,
    body_len: usize,
    body_hash: u64,
    body_events: usize,
}

impl Request {
    fn new(params: Params<'_>) -> Self {
        Request {
            params: params
                .iter()
                .map(|(n, v)| (n.to_vec(), v.to_vec()))
                .collect(),
            body_len: 0,
            body_hash: FNV_START,
            body_events: 0,
        }
    }

    fn body(&mut self, chunk: &[u8]) {
        assert!(chunk.len() <= READ_BUF);
        self.body_len += chunk.len();
        self.body_hash = fnv(self.body_hash, chunk);
        self.body_events += 1;
    }

    /// The response body: `/big` a large pattern, anything else a report of the request.
    fn answer(&self, conn: usize, req: usize, keep_conn: bool) -> Vec<u8> {
        let path = self.params.iter().find(|(n, _)| n == b"PATH_INFO");
        if path.is_some_and(|(_, v)| v == b"/big") {
            return pattern(BIG);
        }
        let mut out = Vec::new();
        for (n, v) in &self.params {
            out.extend_from_slice(b"param ");
            out.extend_from_slice(n);
            out.push(b'=');
            out.extend_from_slice(v);
            out.push(b'\n');
        }
        let lines = format!(
            "body_len={}\nbody_hash={:x}\nbody_events={}\nconn={conn}\nreq={req}\nkeep_conn={keep_conn}\n",
            self.body_len, self.body_hash, self.body_events
        );
        out.extend_from_slice(lines.as_bytes());
        out
    }
}

/// A response head: CGI style (`Status:`) for FastCGI and SCGI, a status line for uwsgi
/// (what uWSGI itself sends).
fn head(proto: Proto, body_len: usize) -> Vec<u8> {
    let status = match proto {
        Proto::Uwsgi => "HTTP/1.1 200 OK",
        _ => "Status: 200 OK",
    };
    format!(
        "{status}\r\nContent-Type: application/octet-stream\r\nContent-Length: {body_len}\r\n\r\n"
    )
    .into_bytes()
}

fn serve_fastcgi(mut stream: TcpStream, conn: usize, log: &Log) -> std::io::Result<()> {
    let mut decoder = fastcgi::Decoder::new(
        vec![0u8; 32 * 1024],
        Limits::DEFAULT,
        fastcgi::Config::DEFAULT,
    );
    let mut buf = vec![0u8; READ_BUF];
    let mut current: Option<Request> = None;
    let mut served = 0;
    loop {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            return Ok(());
        }
        let mut input = &buf[..n];
        loop {
            let (used, event) = match decoder.feed(input) {
                Ok(x) => x,
                Err(e) => {
                    log.errors.lock().unwrap().push(format!("fastcgi: {e}"));
                    return Ok(());
                }
            };
            input = &input[used..];
            match event {
                fastcgi::Event::NeedMore => break,
                fastcgi::Event::Params => current = Some(Request::new(decoder.params().unwrap())),
                fastcgi::Event::Body(chunk) => current.as_mut().unwrap().body(chunk),
                fastcgi::Event::End => {
                    served += 1;
                    let request = current.take().unwrap();
                    let id = decoder.request_id().unwrap();
                    let body = request.answer(conn, served, decoder.keep_conn());
                    let mut response = head(Proto::FastCgi, body.len());
                    response.extend_from_slice(&body);
                    let mut wire = Vec::new();
                    for frame in fastcgi::stream(Output::Stdout, id, &response) {
                        wire.extend_from_slice(&frame.header);
                        wire.extend_from_slice(frame.content);
                        wire.extend_from_slice(frame.padding);
                    }
                    wire.extend_from_slice(&fastcgi::stream_end(Output::Stdout, id));
                    let end = decoder.end_request(0).unwrap();
                    wire.extend_from_slice(&end.record);
                    stream.write_all(&wire)?;
                    if !end.keep_conn {
                        return Ok(());
                    }
                }
                fastcgi::Event::Abort => {
                    let end = decoder.end_request(1).unwrap();
                    stream.write_all(&end.record)?;
                }
                fastcgi::Event::Reply(reply) => stream.write_all(reply.as_bytes())?,
            }
        }
    }
}

/// SCGI and uwsgi: one request per connection, then the raw response and close.
fn serve_single(
    proto: Proto,
    mut stream: TcpStream,
    conn: usize,
    log: &Log,
) -> std::io::Result<()> {
    enum Decoder {
        Scgi(scgi::Decoder<Vec<u8>>),
        Uwsgi(uwsgi::Decoder<Vec<u8>>),
    }
    let mut decoder = match proto {
        Proto::Scgi => Decoder::Scgi(scgi::Decoder::new(vec![0; 32 * 1024], Limits::DEFAULT)),
        _ => Decoder::Uwsgi(uwsgi::Decoder::new(vec![0; 32 * 1024], Limits::DEFAULT)),
    };
    let mut buf = vec![0u8; READ_BUF];
    let mut current: Option<Request> = None;
    loop {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            log.errors
                .lock()
                .unwrap()
                .push(format!("{proto:?}: closed mid-request"));
            return Ok(());
        }
        let mut input = &buf[..n];
        loop {
            let fed = match &mut decoder {
                Decoder::Scgi(d) => d.feed(input),
                Decoder::Uwsgi(d) => d.feed(input),
            };
            let (used, event) = match fed {
                Ok(x) => x,
                Err(e) => {
                    log.errors.lock().unwrap().push(format!("{proto:?}: {e}"));
                    return Ok(());
                }
            };
            input = &input[used..];
            match event {
                Event::NeedMore => break,
                Event::Params => {
                    let params = match &decoder {
                        Decoder::Scgi(d) => d.params(),
                        Decoder::Uwsgi(d) => d.params(),
                    };
                    current = Some(Request::new(params.unwrap()));
                }
                Event::Body(chunk) => current.as_mut().unwrap().body(chunk),
                Event::End => {
                    let body = current.take().unwrap().answer(conn, 1, false);
                    let mut response = head(proto, body.len());
                    response.extend_from_slice(&body);
                    stream.write_all(&response)?;
                    return Ok(());
                }
            }
        }
    }
}

/// A listener on an ephemeral port of 127.0.0.1 serving `proto`, a thread per connection.
fn listen(proto: Proto, log: Arc<Log>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let counter = &log.connections[proto as usize];
            let conn = counter.fetch_add(1, Ordering::SeqCst) + 1;
            let log = Arc::clone(&log);
            std::thread::spawn(move || {
                stream.set_read_timeout(Some(IO_LIMIT)).unwrap();
                stream.set_write_timeout(Some(IO_LIMIT)).unwrap();
                let result = match proto {
                    Proto::FastCgi => serve_fastcgi(stream, conn, &log),
                    _ => serve_single(proto, stream, conn, &log),
                };
                if let Err(e) = result {
                    log.errors
                        .lock()
                        .unwrap()
                        .push(format!("{proto:?} connection {conn}: {e}"));
                }
            });
        }
    });
    port
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
        let deadline = Instant::now() + IO_LIMIT;
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

fn start_nginx(fcgi: u16, scgi: u16, uwsgi: u16) -> Nginx {
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
        .replace("@FCGI_PORT@", &fcgi.to_string())
        .replace("@SCGI_PORT@", &scgi.to_string())
        .replace("@UWSGI_PORT@", &uwsgi.to_string())
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

fn report(nginx: &Nginx, log: &Log, path: &str, upload: Option<&Path>) -> String {
    let (status, body) = curl(nginx, path, upload);
    let text = String::from_utf8(body).unwrap();
    assert_eq!(
        status,
        200,
        "{path}: {text}\nlisteners: {:?}\nnginx: {}",
        log.errors.lock().unwrap(),
        error_log(nginx)
    );
    text
}

fn error_log(nginx: &Nginx) -> String {
    std::fs::read_to_string(nginx.dir.join("error.log")).unwrap_or_default()
}

#[test]
fn nginx_fastcgi_scgi_and_uwsgi_reach_the_decoders_intact() {
    let _one = ONE_NGINX.lock().unwrap_or_else(|e| e.into_inner());
    let log = Arc::new(Log::default());
    let fcgi = listen(Proto::FastCgi, Arc::clone(&log));
    let scgi = listen(Proto::Scgi, Arc::clone(&log));
    let uwsgi = listen(Proto::Uwsgi, Arc::clone(&log));
    let nginx = start_nginx(fcgi, scgi, uwsgi);
    let upload_path = nginx.dir.join("upload.bin");
    let upload = pattern(UPLOAD);
    std::fs::write(&upload_path, &upload).unwrap();

    for proto in [Proto::FastCgi, Proto::Scgi, Proto::Uwsgi] {
        let p = proto.prefix();
        // Params as nginx passes them.
        let r = report(
            &nginx,
            &log,
            &format!("/{p}/app/extra/path?a=1&b=%20x"),
            None,
        );
        let ctx = format!("{proto:?}:\n{r}");
        assert_eq!(field(&r, "param REQUEST_METHOD"), Some("GET"), "{ctx}");
        assert_eq!(
            field(&r, "param SCRIPT_NAME"),
            Some(format!("/{p}/app").as_str()),
            "{ctx}"
        );
        assert_eq!(field(&r, "param PATH_INFO"), Some("/extra/path"), "{ctx}");
        assert_eq!(field(&r, "param QUERY_STRING"), Some("a=1&b=%20x"), "{ctx}");
        assert_eq!(
            field(&r, "param REQUEST_URI"),
            Some(format!("/{p}/app/extra/path?a=1&b=%20x").as_str()),
            "{ctx}"
        );
        assert_eq!(field(&r, "param HTTP_X_TEST"), Some("hello"), "{ctx}");
        assert_eq!(
            field(&r, "param SERVER_PROTOCOL"),
            Some("HTTP/1.1"),
            "{ctx}"
        );
        assert_eq!(field(&r, "body_len"), Some("0"), "{ctx}");
        if proto == Proto::Scgi {
            // nginx puts CONTENT_LENGTH first and SCGI=1, as the specification requires.
            assert!(
                r.starts_with("param CONTENT_LENGTH=0\nparam SCGI=1\n"),
                "{ctx}"
            );
        }

        // A 1 MiB upload, streamed: many body chunks, never the whole body at once.
        let r = report(
            &nginx,
            &log,
            &format!("/{p}/app/upload"),
            Some(&upload_path),
        );
        let ctx = format!("{proto:?}:\n{r}");
        assert_eq!(field(&r, "param REQUEST_METHOD"), Some("POST"), "{ctx}");
        assert_eq!(field(&r, "param CONTENT_LENGTH"), Some("1048576"), "{ctx}");
        assert_eq!(field(&r, "body_len"), Some("1048576"), "{ctx}");
        let hash = format!("{:x}", fnv(FNV_START, &upload));
        assert_eq!(field(&r, "body_hash"), Some(hash.as_str()), "{ctx}");
        let events: usize = field(&r, "body_events").unwrap().parse().unwrap();
        assert!(events >= UPLOAD / READ_BUF, "{ctx}");

        // A large response arrives intact (FastCGI: several 65,535-byte STDOUT records).
        let (status, body) = curl(&nginx, &format!("/{p}/app/big"), None);
        assert_eq!(status, 200, "{proto:?}");
        assert!(
            body == pattern(BIG),
            "{proto:?}: {} bytes, not the pattern",
            body.len()
        );
    }

    // fastcgi_keep_conn on: every FastCGI request above and these two came over one
    // connection, which the application kept open because nginx set FCGI_KEEP_CONN.
    let first = report(&nginx, &log, "/fcgi/app/one", None);
    let second = report(&nginx, &log, "/fcgi/app/two", None);
    assert_eq!(field(&first, "keep_conn"), Some("true"), "{first}");
    assert_eq!(
        field(&first, "conn"),
        field(&second, "conn"),
        "{first}\n{second}"
    );
    let req = |r: &str| field(r, "req").unwrap().parse::<usize>().unwrap();
    assert_eq!(req(&second), req(&first) + 1);
    assert_eq!(req(&second), 5, "{second}");
    assert_eq!(
        log.connections[Proto::FastCgi as usize].load(Ordering::SeqCst),
        1
    );
    // SCGI and uwsgi: a connection per request.
    assert_eq!(
        log.connections[Proto::Scgi as usize].load(Ordering::SeqCst),
        3
    );
    assert_eq!(
        log.connections[Proto::Uwsgi as usize].load(Ordering::SeqCst),
        3
    );

    let errors = log.errors.lock().unwrap();
    assert!(
        errors.is_empty(),
        "listener errors: {errors:?}\n{}",
        error_log(&nginx)
    );
}

// ---------------------------------------------------------------------------------------
// The gateway sessions: nginx reaches a real application through `gateway::Session`.
// ---------------------------------------------------------------------------------------

use std::cell::Cell;

use wsgiref_core::app::{app_fn, Chunks, StartResponse};
use wsgiref_core::environ::EnvironBuf;
use wsgiref_core::gateway::{GatewayConfig, Protocol, Session, Step};
use wsgiref_core::handler::MemoryBuf;
use wsgiref_core::{AppError, Environ};

/// A TCP stream as the `embedded_io` source and sink a session takes.
struct Io<'s>(&'s TcpStream);

fn io_kind(e: std::io::Error) -> embedded_io::ErrorKind {
    match e.kind() {
        std::io::ErrorKind::BrokenPipe => embedded_io::ErrorKind::BrokenPipe,
        std::io::ErrorKind::ConnectionReset => embedded_io::ErrorKind::ConnectionReset,
        std::io::ErrorKind::Interrupted => embedded_io::ErrorKind::Interrupted,
        _ => embedded_io::ErrorKind::Other,
    }
}

impl embedded_io::ErrorType for Io<'_> {
    type Error = embedded_io::ErrorKind;
}

impl embedded_io::Read for Io<'_> {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
        self.0.read(buf).map_err(io_kind)
    }
}

impl embedded_io::Write for Io<'_> {
    fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
        self.0.write(buf).map_err(io_kind)
    }
    fn flush(&mut self) -> Result<(), Self::Error> {
        self.0.flush().map_err(io_kind)
    }
}

/// The one application behind all three protocols. `/big` streams a large pattern in chunks
/// of no announced length; `/fail` fails (the error page); anything else reports its
/// environ (every variable), its `wsgi.*` group, and the body it read through `wsgi.input`.
fn report_app(conn: usize, served: &Cell<usize>) -> impl wsgiref_core::app::Application + '_ {
    app_fn(move |env: &mut Environ<'_>, sr: &mut StartResponse<'_>| {
        served.set(served.get() + 1);
        let path = env.get("PATH_INFO").unwrap_or(b"").to_vec();
        if path == b"/fail" {
            return Err(AppError::msg("the application failed on purpose"));
        }
        if path == b"/big" {
            sr.start("200 OK", &[("Content-Type", "application/octet-stream")])?;
            let chunks: Vec<Vec<u8>> = pattern(BIG).chunks(10_000).map(<[u8]>::to_vec).collect();
            return Ok(Chunks::new(chunks.into_iter()));
        }
        let (mut len, mut hash, mut reads) = (0usize, FNV_START, 0usize);
        let mut buf = vec![0u8; 8192];
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
            "body_len={len}\nbody_hash={hash:x}\nbody_reads={reads}\nconn={conn}\nreq={}\n",
            served.get()
        );
        sr.start("200 OK", &[("Content-Type", "text/plain")])?;
        Ok(Chunks::new(vec![text.into_bytes()].into_iter()))
    })
}

/// One connection served by a `gateway::Session`: read, feed, process; the session reads
/// the rest of a body from the stream itself while the application reads `wsgi.input`.
fn serve_session(protocol: Protocol, stream: TcpStream, conn: usize, log: &Log) {
    let (mut rx, mut params) = (vec![0u8; READ_BUF], vec![0u8; 32 * 1024]);
    let mut memory = Box::new(MemoryBuf::<16384, 256, 8192>::new());
    let mut session = Session::new(
        protocol,
        &mut rx,
        &mut params,
        memory.memory(),
        GatewayConfig::new(protocol),
    );
    let mut base_buf = EnvironBuf::<256, 8>::new();
    let mut base = base_buf.environ();
    base.set("SERVER_SOFTWARE", "gateway-test/1").unwrap();
    let served = Cell::new(0);
    let app = report_app(conn, &served);
    loop {
        let space = session.receive_buffer();
        match (&stream).read(space) {
            Ok(0) => session.receive_eof(),
            Ok(n) => session.received(n),
            Err(e) => {
                log.errors
                    .lock()
                    .unwrap()
                    .push(format!("{protocol:?} connection {conn}: {e}"));
                return;
            }
        }
        loop {
            match session.process(&app, &base, None, Io(&stream), Io(&stream)) {
                Step::NeedInput => break,
                Step::Answered(_) => {}
                Step::Close => return,
                Step::Failed(e) => {
                    log.errors
                        .lock()
                        .unwrap()
                        .push(format!("{protocol:?} connection {conn}: {e}"));
                    return;
                }
            }
        }
    }
}

fn listen_sessions(protocol: Protocol, log: Arc<Log>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let counter = &log.connections[protocol as usize];
            let conn = counter.fetch_add(1, Ordering::SeqCst) + 1;
            let log = Arc::clone(&log);
            std::thread::spawn(move || {
                stream.set_read_timeout(Some(IO_LIMIT)).unwrap();
                stream.set_write_timeout(Some(IO_LIMIT)).unwrap();
                serve_session(protocol, stream, conn, &log);
            });
        }
    });
    port
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
fn nginx_reaches_one_application_through_the_three_gateway_sessions() {
    let _one = ONE_NGINX.lock().unwrap_or_else(|e| e.into_inner());
    let log = Arc::new(Log::default());
    let fcgi = listen_sessions(Protocol::FastCgi, Arc::clone(&log));
    let scgi = listen_sessions(Protocol::Scgi, Arc::clone(&log));
    let uwsgi = listen_sessions(Protocol::Uwsgi, Arc::clone(&log));
    let nginx = start_nginx(fcgi, scgi, uwsgi);
    let upload_path = nginx.dir.join("upload.bin");
    let upload = pattern(UPLOAD);
    std::fs::write(&upload_path, &upload).unwrap();

    let mut environs = Vec::new();
    for proto in [Proto::FastCgi, Proto::Scgi, Proto::Uwsgi] {
        let p = proto.prefix();
        let r = report(
            &nginx,
            &log,
            &format!("/{p}/app/extra/path?a=1&b=%20x"),
            None,
        );
        let ctx = format!("{proto:?}:\n{r}");
        assert_eq!(field(&r, "env REQUEST_METHOD"), Some("GET"), "{ctx}");
        assert_eq!(field(&r, "env PATH_INFO"), Some("/extra/path"), "{ctx}");
        assert_eq!(field(&r, "env QUERY_STRING"), Some("a=1&b=%20x"), "{ctx}");
        assert_eq!(field(&r, "env HTTP_X_TEST"), Some("hello"), "{ctx}");
        // The base environ lies under the front end's variables.
        assert_eq!(
            field(&r, "env SERVER_SOFTWARE"),
            Some("gateway-test/1"),
            "{ctx}"
        );
        assert!(
            r.contains("wsgi url_scheme=http multithread=true multiprocess=false run_once=false\n"),
            "{ctx}"
        );
        assert_eq!(field(&r, "body_len"), Some("0"), "{ctx}");
        environs.push(comparable_environ(&r, p));

        // A 1 MiB upload, read by the application through wsgi.input while it streams in.
        let r = report(
            &nginx,
            &log,
            &format!("/{p}/app/upload"),
            Some(&upload_path),
        );
        let ctx = format!("{proto:?}:\n{r}");
        assert_eq!(field(&r, "env CONTENT_LENGTH"), Some("1048576"), "{ctx}");
        assert_eq!(field(&r, "body_len"), Some("1048576"), "{ctx}");
        let hash = format!("{:x}", fnv(FNV_START, &upload));
        assert_eq!(field(&r, "body_hash"), Some(hash.as_str()), "{ctx}");

        // A streamed response of no announced length arrives whole.
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
            wsgiref_core::handler::HandlerConfig::ERROR_BODY,
            "{proto:?}"
        );
    }
    // The same application saw the same environ through all three, differences aside.
    assert_eq!(environs[0], environs[1], "FastCGI and SCGI environs differ");
    assert_eq!(
        environs[0], environs[2],
        "FastCGI and uwsgi environs differ"
    );

    // Keep-conn: every FastCGI request came over one connection, which the session kept
    // open because nginx set FCGI_KEEP_CONN.
    let first = report(&nginx, &log, "/fcgi/app/one", None);
    let second = report(&nginx, &log, "/fcgi/app/two", None);
    assert_eq!(
        field(&first, "conn"),
        field(&second, "conn"),
        "{first}\n{second}"
    );
    let req = |r: &str| field(r, "req").unwrap().parse::<usize>().unwrap();
    assert_eq!(req(&second), req(&first) + 1);
    assert_eq!(
        log.connections[Proto::FastCgi as usize].load(Ordering::SeqCst),
        1
    );
    // SCGI and uwsgi: a connection per request.
    assert_eq!(
        log.connections[Proto::Scgi as usize].load(Ordering::SeqCst),
        4
    );
    assert_eq!(
        log.connections[Proto::Uwsgi as usize].load(Ordering::SeqCst),
        4
    );

    let errors = log.errors.lock().unwrap();
    assert!(
        errors.is_empty(),
        "listener errors: {errors:?}\n{}",
        error_log(&nginx)
    );
}
