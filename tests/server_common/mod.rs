//! Shared by the server tests: a test application, a server on an ephemeral port of
//! 127.0.0.1 run on a background thread, and bounded raw-socket helpers.
#![allow(dead_code)] // each test file uses a different subset

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use wsgiref::simple_server::{make_server_with, ServerOptions, WsgiRequestHandler, WsgiServer};
use wsgiref::validate::{validator, IgnoreWarnings, Validator};
use wsgiref::{AppError, Application, Environ, StartResponse};
use wsgiref_core::app::Once;

/// The longest any single socket operation of a test may wait.
pub const IO_LIMIT: Duration = Duration::from_secs(10);

/// Routes: `/panic` panics, `/slow` sleeps 500 ms first, `/echo` answers the request body,
/// anything else "Hello, world!".
pub fn test_app(
    environ: &mut Environ<'_>,
    start_response: &mut StartResponse<'_>,
) -> Result<Once<Vec<u8>>, AppError> {
    let path = environ.get_str("PATH_INFO").unwrap_or("").to_owned();
    match path.as_str() {
        "/panic" => panic!("test application panicked on purpose"),
        "/slow" => std::thread::sleep(Duration::from_millis(500)),
        _ => {}
    }
    let body = if path == "/echo" {
        environ.input().read_to_vec(1 << 20)?
    } else {
        b"Hello, world!".to_vec()
    };
    start_response.start("200 OK", &[("Content-Type", "text/plain")])?;
    Ok(Once::new(body))
}

pub type TestApp = Validator<
    fn(&mut Environ<'_>, &mut StartResponse<'_>) -> Result<Once<Vec<u8>>, AppError>,
    IgnoreWarnings,
>;

/// The test application behind the validator: every request of the suite is checked.
pub fn validated() -> TestApp {
    validator(test_app as fn(&mut Environ<'_>, &mut StartResponse<'_>) -> _)
        .with_sink(IgnoreWarnings)
}

/// A running server; stopped (gracefully) and joined on drop.
pub struct Running<A: Application + Send + Sync + 'static = TestApp> {
    pub server: Arc<WsgiServer<A>>,
    pub addr: SocketAddr,
    thread: Option<JoinHandle<std::io::Result<()>>>,
}

impl<A: Application + Send + Sync + 'static> Running<A> {
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.addr.port())
    }

    /// Stop and wait for `serve_forever` to return.
    pub fn stop(mut self) -> std::io::Result<()> {
        self.server.shutdown();
        self.thread
            .take()
            .map_or(Ok(()), |t| t.join().expect("server thread"))
    }
}

impl<A: Application + Send + Sync + 'static> Drop for Running<A> {
    fn drop(&mut self) {
        if let Some(thread) = self.thread.take() {
            self.server.shutdown();
            let _ = thread.join();
        }
    }
}

/// Options with short timeouts, so tests that wait for them stay short.
pub fn short_options() -> ServerOptions {
    ServerOptions {
        idle_timeout: Duration::from_secs(5),
        header_timeout: Duration::from_secs(5),
        body_timeout: Duration::from_secs(5),
        shutdown_grace: Duration::from_secs(5),
        ..ServerOptions::default()
    }
}

pub fn start(options: ServerOptions) -> Running {
    start_app(validated(), options)
}

/// [`start`] with another application.
pub fn start_app<A: Application + Send + Sync + 'static>(
    app: A,
    options: ServerOptions,
) -> Running<A> {
    let server = make_server_with("127.0.0.1", 0, app, WsgiRequestHandler, options)
        .expect("bind 127.0.0.1:0");
    let server = Arc::new(server);
    let addr = server.server_address();
    let runner = server.clone();
    let thread = std::thread::spawn(move || runner.serve_forever());
    Running {
        server,
        addr,
        thread: Some(thread),
    }
}

/// A client socket with bounded waits.
pub fn connect(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect_timeout(&addr, IO_LIMIT).expect("connect");
    stream.set_read_timeout(Some(IO_LIMIT)).unwrap();
    stream.set_write_timeout(Some(IO_LIMIT)).unwrap();
    stream
}

/// Read one response (head and a `Content-Length` body, none without the header); what
/// arrived so far when the connection closes or errs (empty if nothing did).
pub fn read_response(stream: &mut TcpStream) -> String {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        if let Some(end) = out.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&out[..end]).to_ascii_lowercase();
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .map_or(0, |v| v.trim().parse().unwrap());
            if out.len() >= end + 4 + length {
                return String::from_utf8_lossy(&out).into_owned();
            }
        }
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return String::from_utf8_lossy(&out).into_owned(),
            Ok(n) => out.extend_from_slice(&buf[..n]),
        }
    }
}

/// Read until the peer closes (or the read limit passes: then what arrived so far).
pub fn read_to_close(stream: &mut TcpStream) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return out,
            Ok(n) => out.extend_from_slice(&buf[..n]),
        }
    }
}

/// Read until `out` holds `count` occurrences of `needle` (bounded by the read limit).
pub fn read_until_count(stream: &mut TcpStream, needle: &[u8], count: usize) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    while occurrences(&out, needle) < count {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
        }
    }
    out
}

pub fn occurrences(haystack: &[u8], needle: &[u8]) -> usize {
    haystack
        .windows(needle.len())
        .filter(|w| *w == needle)
        .count()
}

pub fn send(stream: &mut TcpStream, bytes: &[u8]) {
    stream.write_all(bytes).expect("send");
}
