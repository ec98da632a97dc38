//! The gateway server's own behaviour, with a tiny SCGI and FastCGI client on 127.0.0.1:
//! timeouts, the connection limit, panics, shutdown. (nginx in front: tests/gateway_nginx.rs.)

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use wsgiref_core::app::{app_fn, Once, StartResponse};
use wsgiref_core::gateway::Protocol;
use wsgiref_core::{AppError, Application, Environ};

use super::{make_gateway_server_with, GatewayServer};
use crate::server::ServerOptions;

/// Only to stop a hung test.
const LIMIT: Duration = Duration::from_secs(20);

fn options() -> ServerOptions {
    ServerOptions {
        idle_timeout: LIMIT * 3,
        header_timeout: LIMIT * 3,
        body_timeout: LIMIT,
        shutdown_grace: LIMIT,
        ..ServerOptions::default()
    }
}

/// A server on a free port of 127.0.0.1, serving on a thread: (server, its thread).
type Serving<A> = (
    Arc<GatewayServer<A>>,
    std::thread::JoinHandle<std::io::Result<()>>,
);

fn serve<A: Application + Send + Sync + 'static>(
    protocol: Protocol,
    app: A,
    options: ServerOptions,
) -> Serving<A> {
    let server = Arc::new(make_gateway_server_with(protocol, "127.0.0.1:0", app, options).unwrap());
    let serving = Arc::clone(&server);
    let thread = std::thread::spawn(move || serving.serve_forever());
    (server, thread)
}

fn connect<A>(server: &GatewayServer<A>) -> TcpStream {
    let port = server.local_address().port().unwrap();
    let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.set_read_timeout(Some(LIMIT)).unwrap();
    stream
}

fn scgi_request(path: &str) -> Vec<u8> {
    let headers = format!(
        "CONTENT_LENGTH\x000\x00SCGI\x001\x00REQUEST_METHOD\x00GET\x00PATH_INFO\x00{path}\x00"
    );
    format!("{}:{headers},", headers.len()).into_bytes()
}

/// Everything until the server closes (a reset counts as the end too).
fn read_all(stream: &mut TcpStream) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return out,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return out,
            Err(e) => panic!("read: {e} (after {} bytes)", out.len()),
        }
    }
}

fn eventually(what: &str, done: impl Fn() -> bool) {
    let deadline = Instant::now() + LIMIT;
    while !done() {
        assert!(Instant::now() < deadline, "not within {LIMIT:?}: {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn hello(_: &mut Environ<'_>, sr: &mut StartResponse<'_>) -> Result<&'static [u8], AppError> {
    sr.start("200 OK", &[("Content-Type", "text/plain")])?;
    Ok(b"hello")
}

fn stop<A: Application + Send + Sync + 'static>((server, thread): Serving<A>) {
    server.shutdown_handle().shutdown();
    eventually("serve_forever returns", || thread.is_finished());
    thread.join().unwrap().unwrap();
}

#[test]
fn an_scgi_request_is_answered_and_the_connection_closed() {
    let serving = serve(Protocol::Scgi, hello, options());
    let mut client = connect(&serving.0);
    client.write_all(&scgi_request("/")).unwrap();
    let answer = read_all(&mut client);
    assert_eq!(
        answer,
        b"Status: 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello"
    );
    stop(serving);
}

#[test]
fn params_that_trickle_past_header_timeout_close_the_connection() {
    let mut options = options();
    options.header_timeout = Duration::from_millis(200);
    let serving = serve(Protocol::Scgi, hello, options);
    let mut client = connect(&serving.0);
    // The start of a request, then nothing: the connection is closed, nothing answered.
    client.write_all(b"70:CONTENT_LENGTH\x00").unwrap();
    assert_eq!(read_all(&mut client), b"");
    // The server serves on.
    let mut next = connect(&serving.0);
    next.write_all(&scgi_request("/")).unwrap();
    assert!(read_all(&mut next).ends_with(b"hello"));
    stop(serving);
}

#[test]
fn an_idle_connection_closes_after_idle_timeout() {
    let mut options = options();
    options.idle_timeout = Duration::from_millis(200);
    let serving = serve(Protocol::FastCgi, hello, options);
    let mut client = connect(&serving.0);
    assert_eq!(read_all(&mut client), b"");
    eventually("the connection is counted closed", || {
        serving.0.open_connections() == 0
    });
    stop(serving);
}

#[test]
fn beyond_max_connections_a_connection_is_closed_and_the_others_are_served() {
    let mut options = options();
    options.max_connections = 1;
    let serving = serve(Protocol::Scgi, hello, options);
    let mut first = connect(&serving.0);
    eventually("the first connection is open", || {
        serving.0.open_connections() == 1
    });
    let mut second = connect(&serving.0);
    second.write_all(&scgi_request("/")).ok();
    assert_eq!(
        read_all(&mut second),
        b"",
        "the second is closed unanswered"
    );
    first.write_all(&scgi_request("/")).unwrap();
    assert!(read_all(&mut first).ends_with(b"hello"));
    stop(serving);
}

#[test]
fn a_panicking_application_gets_the_error_page_and_the_server_serves_on() {
    let app = app_fn(|env: &mut Environ<'_>, sr: &mut StartResponse<'_>| {
        if env.get("PATH_INFO") == Some(b"/panic") {
            panic!("on purpose");
        }
        sr.start("200 OK", &[])?;
        Ok::<_, AppError>(&b"fine"[..])
    });
    let serving = serve(Protocol::Scgi, app, options());
    let mut client = connect(&serving.0);
    client.write_all(&scgi_request("/panic")).unwrap();
    let answer = read_all(&mut client);
    assert!(
        answer.starts_with(b"Status: 500 Internal Server Error\r\n"),
        "{}",
        String::from_utf8_lossy(&answer)
    );
    let mut client = connect(&serving.0);
    client.write_all(&scgi_request("/")).unwrap();
    assert!(read_all(&mut client).ends_with(b"fine"));
    stop(serving);
}

/// A FastCGI GET with keep-conn.
fn fastcgi_get(id: u16) -> Vec<u8> {
    let record = |t: u8, content: &[u8]| {
        let mut r = vec![1, t, 0, id as u8, 0, content.len() as u8, 0, 0];
        r[2..4].copy_from_slice(&id.to_be_bytes());
        r.extend_from_slice(content);
        r
    };
    let mut wire = record(1, &[0, 1, 1, 0, 0, 0, 0, 0]);
    wire.extend(record(4, b"\x0e\x03REQUEST_METHODGET"));
    wire.extend(record(4, b""));
    wire.extend(record(5, b""));
    wire
}

/// The bytes up to and including an FCGI_END_REQUEST record (16 bytes from its header).
fn read_response(stream: &mut TcpStream) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let mut header = [0u8; 8];
        stream.read_exact(&mut header).unwrap();
        let len = usize::from(u16::from_be_bytes([header[4], header[5]])) + usize::from(header[6]);
        let mut content = vec![0u8; len];
        stream.read_exact(&mut content).unwrap();
        out.extend_from_slice(&header);
        out.extend_from_slice(&content);
        if header[1] == 3 {
            return out;
        }
    }
}

#[test]
fn shutdown_finishes_the_request_in_flight_closes_idle_connections_and_returns() {
    let (entered_tx, entered) = mpsc::channel::<()>();
    let (release, released) = mpsc::channel::<()>();
    let entered_tx = Mutex::new(entered_tx);
    let released = Mutex::new(released);
    let blocked = AtomicBool::new(false);
    let app = app_fn(move |_: &mut Environ<'_>, sr: &mut StartResponse<'_>| {
        // The first request waits until the test lets it go.
        if !blocked.swap(true, Ordering::SeqCst) {
            entered_tx.lock().unwrap().send(()).unwrap();
            released.lock().unwrap().recv_timeout(LIMIT).unwrap();
        }
        sr.start("200 OK", &[])?;
        Ok::<_, AppError>(&b"done"[..])
    });
    let serving = serve(Protocol::FastCgi, app, options());
    // An idle kept connection (one request answered) and a request in flight.
    let mut idle = connect(&serving.0);
    let mut busy = connect(&serving.0);
    busy.write_all(&fastcgi_get(1)).unwrap();
    entered.recv_timeout(LIMIT).unwrap();
    idle.write_all(&fastcgi_get(1)).unwrap();
    assert!(read_response(&mut idle).windows(4).any(|w| w == b"done"));

    serving.0.shutdown_handle().shutdown();
    // The idle connection is closed; serve_forever waits for the busy one.
    assert_eq!(read_all(&mut idle), b"");
    assert!(!serving.1.is_finished());
    release.send(()).unwrap();
    let answer = read_response(&mut busy);
    assert!(answer.windows(4).any(|w| w == b"done"));
    // Kept but idle now, and shutting down: closed, and serve_forever returns.
    assert_eq!(read_all(&mut busy), b"");
    eventually("serve_forever returns", || serving.1.is_finished());
    serving.1.join().unwrap().unwrap();
}

/// Answers with the id of the thread that served the request; requests to `/hold` wait until
/// `holding` of them have arrived, so that they are served at the same time.
struct ThreadIds {
    holding: usize,
    arrived: Mutex<usize>,
    all_in: std::sync::Condvar,
}

impl Application for ThreadIds {
    type Body = Once<Vec<u8>>;

    fn call(
        &self,
        env: &mut Environ<'_>,
        sr: &mut StartResponse<'_>,
    ) -> Result<Self::Body, AppError> {
        if env.get("PATH_INFO") == Some(b"/hold") {
            let mut arrived = self.arrived.lock().unwrap();
            *arrived += 1;
            self.all_in.notify_all();
            let (arrived, _) = self
                .all_in
                .wait_timeout_while(arrived, LIMIT, |n| *n < self.holding)
                .unwrap();
            assert!(
                *arrived >= self.holding,
                "the held requests were not served at once"
            );
        }
        sr.start("200 OK", &[])?;
        Ok(Once::new(
            format!("{:?}", std::thread::current().id()).into_bytes(),
        ))
    }
}

/// The body of an SCGI answer: the serving thread's id.
fn thread_of(answer: &[u8]) -> String {
    let at = answer.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    String::from_utf8(answer[at + 4..].to_vec()).unwrap()
}

#[test]
fn a_connection_thread_serves_the_next_connection_and_more_threads_start_when_needed() {
    let app = ThreadIds {
        holding: 3,
        arrived: Mutex::new(0),
        all_in: std::sync::Condvar::new(),
    };
    let serving = serve(Protocol::Scgi, app, options());
    assert_eq!(serving.0.idle_threads(), 0);
    let ask = |path: &str| {
        let mut client = connect(&serving.0);
        client.write_all(&scgi_request(path)).unwrap();
        thread_of(&read_all(&mut client))
    };
    // One connection after the other: the same thread, idle in between.
    let first = ask("/");
    eventually("the thread waits for the next connection", || {
        serving.0.idle_threads() == 1
    });
    assert_eq!(
        ask("/"),
        first,
        "the idle thread serves the next connection"
    );
    eventually("idle again", || serving.0.idle_threads() == 1);
    // Three at once, with one idle thread: two more threads start and all three are served
    // together (each request waits for the other two).
    let held: Vec<_> = (0..3)
        .map(|_| {
            let mut client = connect(&serving.0);
            client.write_all(&scgi_request("/hold")).unwrap();
            client
        })
        .collect();
    let mut threads: Vec<String> = held
        .into_iter()
        .map(|mut client| thread_of(&read_all(&mut client)))
        .collect();
    threads.sort();
    threads.dedup();
    assert_eq!(threads.len(), 3, "three threads: {threads:?}");
    assert!(
        threads.contains(&first),
        "the idle one among them: {threads:?}"
    );
    eventually("all three wait for connections", || {
        serving.0.idle_threads() == 3
    });
    stop(serving);
}

#[test]
fn idle_connection_threads_exit_when_serve_forever_returns() {
    // The application holds `marker`: once the server and every connection thread are gone,
    // so is the application, and only the test's reference is left.
    let marker = Arc::new(());
    let held = Arc::clone(&marker);
    let app = app_fn(move |env: &mut Environ<'_>, sr: &mut StartResponse<'_>| {
        let _held = &held;
        hello(env, sr)
    });
    let serving = serve(Protocol::Scgi, app, options());
    let mut client = connect(&serving.0);
    client.write_all(&scgi_request("/")).unwrap();
    assert!(read_all(&mut client).ends_with(b"hello"));
    eventually("the thread is idle", || serving.0.idle_threads() == 1);
    let server = Arc::clone(&serving.0);
    stop(serving);
    eventually("the idle thread is gone", || server.idle_threads() == 0);
    drop(server);
    eventually("the idle thread dropped the application", || {
        Arc::strong_count(&marker) == 1
    });
}

#[test]
fn a_bodyless_scgi_request_frees_its_thread_before_the_front_end_closes() {
    let mut options = options();
    // A lingering close would drain the client below for longer than the test waits.
    options.body_timeout = LIMIT * 3;
    let serving = serve(Protocol::Scgi, hello, options);
    let mut client = connect(&serving.0);
    client.write_all(&scgi_request("/")).unwrap();
    assert!(read_all(&mut client).ends_with(b"hello"));
    // The client has the whole response, keeps its side open and goes on sending a byte now
    // and then (until the server is gone): a lingering close would read them for
    // body_timeout. The server is done with the connection anyway.
    let done = Arc::new(AtomicBool::new(false));
    let trickle = {
        let done = Arc::clone(&done);
        std::thread::spawn(move || {
            for _ in 0..1000 {
                if done.load(Ordering::SeqCst) || client.write_all(b"x").is_err() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        })
    };
    eventually("the connection is counted closed", || {
        serving.0.open_connections() == 0
    });
    eventually("its thread is idle", || serving.0.idle_threads() == 1);
    done.store(true, Ordering::SeqCst);
    trickle.join().unwrap();
    stop(serving);
}
