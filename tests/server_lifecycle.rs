//! Binding, timeouts and stopping, as a client or an operator sees them: a busy port is
//! refused, `""` serves IPv4 and IPv6, keep-alive connections wait the idle timeout (not the
//! body timeout), an end of stream that comes with the last request is noticed, and a
//! termination signal says how to exit at once.

mod harden_support;
mod server_common;

use std::io::{ErrorKind, Read};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

use server_common::{connect, read_response, read_to_close, send, short_options, start, IO_LIMIT};
use wsgiref::simple_server::{demo_app, make_server, make_server_with, WsgiRequestHandler};

#[test]
fn a_port_in_use_is_refused_as_python_refuses_it() {
    let first = make_server("127.0.0.1", 0, demo_app).unwrap();
    let port = first.server_address().port();
    let second = make_server("127.0.0.1", port, demo_app);
    let error = second
        .err()
        .expect("a second server on a busy port must fail");
    assert_eq!(error.kind(), ErrorKind::AddrInUse, "{error}");
}

#[test]
fn the_empty_host_serves_ipv4_and_ipv6() {
    let server = make_server_with("", 0, demo_app, WsgiRequestHandler, short_options()).unwrap();
    let server = std::sync::Arc::new(server);
    let port = server.server_address().port();
    let runner = server.clone();
    let thread = std::thread::spawn(move || runner.serve_forever());
    let mut addresses = vec![SocketAddr::from(([127, 0, 0, 1], port))];
    // Where the system has IPv6 at all, `""` must serve it too.
    if TcpListener::bind("[::1]:0").is_ok() {
        addresses.push(SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, port)));
    }
    for address in addresses {
        let mut client = connect(address);
        send(&mut client, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        let answer = read_response(&mut client);
        assert!(
            answer.starts_with("HTTP/1.1 200 OK"),
            "{address}: {answer:?}"
        );
        // An IPv4 client shows as IPv4, not as an IPv4-mapped IPv6 address.
        let expected = format!("REMOTE_ADDR = '{}'", address.ip());
        assert!(answer.contains(&expected), "{address}: {answer}");
    }
    server.shutdown();
    thread.join().unwrap().unwrap();
}

/// After a response the connection waits for the next request the whole idle timeout: the
/// (shorter) body timeout that bounds each write must not close it.
#[test]
fn a_keep_alive_connection_waits_the_idle_timeout_not_the_body_timeout() {
    let mut options = short_options();
    options.idle_timeout = Duration::from_secs(8);
    options.body_timeout = Duration::from_millis(500);
    let running = start(options);
    let mut client = connect(running.addr);
    send(&mut client, b"GET /1 HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(read_response(&mut client).ends_with("Hello, world!"));
    // Several body timeouts, well within the idle timeout.
    std::thread::sleep(Duration::from_millis(2000));
    send(&mut client, b"GET /2 HTTP/1.1\r\nHost: x\r\n\r\n");
    let answer = read_response(&mut client);
    assert!(
        answer.ends_with("Hello, world!"),
        "closed early: {answer:?}"
    );
    running.stop().unwrap();
}

/// A client that sends its last request and its end of stream in one segment is answered
/// and closed, not kept waiting for the idle timeout.
#[cfg(target_os = "linux")]
#[test]
fn an_end_of_stream_that_comes_with_the_last_request_is_noticed() {
    let mut options = short_options();
    // No timeout may end the connection within the test's read limit.
    options.idle_timeout = Duration::from_secs(60);
    options.header_timeout = Duration::from_secs(60);
    options.body_timeout = Duration::from_secs(60);
    let running = start(options);
    let mut client = connect(running.addr);
    // Corked: the request and the FIN leave together, in one segment.
    let sock = socket2::SockRef::from(&client);
    sock.set_tcp_cork(true).unwrap();
    send(&mut client, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    client.shutdown(std::net::Shutdown::Write).unwrap();
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    let closed = loop {
        match client.read(&mut buf) {
            Ok(0) => break true,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            // The read limit (IO_LIMIT) ran out: the server kept the connection open.
            Err(_) => break false,
        }
    };
    let text = String::from_utf8_lossy(&out);
    assert!(text.ends_with("Hello, world!"), "{text}");
    assert!(closed, "the server did not close within {IO_LIMIT:?}");
    running.stop().unwrap();
}

/// The first SIGTERM (or Ctrl-C) stops the server gracefully and says that a second one
/// exits at once.
#[test]
fn a_termination_signal_says_a_second_one_exits_at_once() {
    let server = harden_support::Server::start("hello", &["0"]);
    let (status, log) = server.terminate(IO_LIMIT);
    assert!(status.is_some_and(|s| s.success()), "{status:?}\n{log}");
    assert!(log.contains("Ctrl-C again to exit at once"), "{log}");
}

/// The access log of a file sent with `sendfile(2)` counts the bytes that went out: a
/// download cut off early is logged with what the client got, not the file's size.
#[test]
fn a_cut_off_file_download_is_logged_with_the_bytes_sent() {
    use std::sync::{Arc, Mutex};
    use wsgiref::simple_server::{RequestHandler, ServerOptions};
    use wsgiref::{AppError, Environ, StartResponse};
    use wsgiref_core::handler::RequestLog;

    #[derive(Clone, Default)]
    struct Recorder(Arc<Mutex<Vec<u64>>>);
    impl RequestHandler for Recorder {
        fn log_request(&self, _: &SocketAddr, log: &RequestLog) {
            self.0.lock().unwrap().push(log.bytes_sent);
        }
    }

    const SIZE: u64 = 64 << 20;
    let dir = std::env::temp_dir().join(format!("wsgiref-cutoff-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("big.bin");
    let file = std::fs::File::create(&path).unwrap();
    file.set_len(SIZE).unwrap();
    drop(file);
    let served = path.clone();
    let app = move |_: &mut Environ<'_>, start_response: &mut StartResponse<'_>| {
        start_response.start("200 OK", &[("Content-Type", "application/octet-stream")])?;
        let file = std::fs::File::open(&served).map_err(AppError::from)?;
        wsgiref::handlers::FileBody::new(file).map_err(AppError::from)
    };
    let recorder = Recorder::default();
    let options = ServerOptions {
        threads: 1,
        ..short_options()
    };
    let server = make_server_with("127.0.0.1", 0, app, recorder.clone(), options).unwrap();
    let server = Arc::new(server);
    let addr = server.server_address();
    let runner = server.clone();
    let thread = std::thread::spawn(move || runner.serve_forever());

    let mut client = connect(addr);
    send(&mut client, b"GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n");
    let mut got = 0usize;
    let mut buf = vec![0u8; 64 * 1024];
    while got < 1 << 20 {
        match client.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => got += n,
        }
    }
    drop(client);
    // The entry appears once the server notices the client is gone (bounded wait).
    let until = std::time::Instant::now() + IO_LIMIT;
    let logged = loop {
        if let Some(&bytes) = recorder.0.lock().unwrap().first() {
            break Some(bytes);
        }
        if std::time::Instant::now() >= until {
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    server.shutdown();
    thread.join().unwrap().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let logged = logged.expect("the cut-off download was never logged");
    assert!(
        logged < SIZE,
        "logged {logged} bytes of a download cut off early"
    );
    assert!(
        logged >= got as u64 - 1024,
        "logged {logged}, the client read {got}"
    );
}

/// The head of the first response in `answer` (up to its empty line).
fn head_of(answer: &str) -> &str {
    answer.split("\r\n\r\n").next().unwrap_or("")
}

/// An application that answers without reading the body of a client waiting for
/// `100 Continue` leaves that body unsent and unread: the server closes the connection, and
/// the response says `Connection: close` (the client would otherwise reuse a dead one).
#[test]
fn an_unanswered_expect_continue_is_answered_with_connection_close() {
    let running = start(short_options());
    let mut client = connect(running.addr);
    send(
        &mut client,
        b"POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 10\r\n\r\n",
    );
    let answer = String::from_utf8_lossy(&read_to_close(&mut client)).into_owned();
    // No `100 Continue`: the final response comes at once.
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
    assert!(
        head_of(&answer).contains("\r\nConnection: close"),
        "{answer}"
    );
    assert!(answer.ends_with("Hello, world!"), "{answer}");
    running.stop().unwrap();
}

/// A body left unread beyond what the server drains (`ServerConfig::max_drain`, 64 KiB) closes
/// the connection, and the response says so; a smaller one is drained and the connection
/// serves the next request.
#[test]
fn an_unread_body_over_the_drain_limit_is_answered_with_connection_close() {
    let running = start(short_options());
    // The client sends the head only: the rest of its 200,000 bytes would follow.
    let mut client = connect(running.addr);
    send(
        &mut client,
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 200000\r\n\r\n",
    );
    let answer = String::from_utf8_lossy(&read_to_close(&mut client)).into_owned();
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
    assert!(
        head_of(&answer).contains("\r\nConnection: close"),
        "{answer}"
    );
    assert!(answer.ends_with("Hello, world!"), "{answer}");

    // 20,000 bytes (more than the receive buffer, less than the drain limit): drained.
    let mut client = connect(running.addr);
    let mut request = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 20000\r\n\r\n".to_vec();
    request.resize(request.len() + 20_000, b'x');
    send(&mut client, &request);
    let first = read_response(&mut client);
    assert!(first.ends_with("Hello, world!"), "{first}");
    assert!(!first.contains("Connection: close"), "{first}");
    send(&mut client, b"GET /next HTTP/1.1\r\nHost: x\r\n\r\n");
    let second = read_response(&mut client);
    assert!(second.ends_with("Hello, world!"), "{second}");

    // A small chunked body received whole (before the application ran) is drained too.
    send(
        &mut client,
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
    );
    let third = read_response(&mut client);
    assert!(third.ends_with("Hello, world!"), "{third}");
    assert!(!third.contains("Connection: close"), "{third}");
    send(&mut client, b"GET /last HTTP/1.1\r\nHost: x\r\n\r\n");
    let fourth = read_response(&mut client);
    assert!(fourth.ends_with("Hello, world!"), "{fourth}");
    running.stop().unwrap();
}

/// Starts the `echo` example with a request in flight: a client whose `100 Continue` came (so
/// its request is being served, waiting for a body it has not sent yet), and an idle
/// keep-alive client that was answered once.
fn echo_with_a_request_in_flight() -> (harden_support::Server, TcpStream, TcpStream) {
    let server = harden_support::Server::start("echo", &["0"]);
    let mut busy = connect(server.addr());
    send(
        &mut busy,
        b"POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n",
    );
    let mut interim = Vec::new();
    let mut byte = [0u8; 1];
    while !interim.ends_with(b"\r\n\r\n") {
        match busy.read(&mut byte) {
            Ok(1) => interim.push(byte[0]),
            other => panic!("no 100 Continue: {other:?} after {interim:?}"),
        }
    }
    assert_eq!(interim, b"HTTP/1.1 100 Continue\r\n\r\n");
    let mut idle = connect(server.addr());
    send(&mut idle, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    let answer = read_response(&mut idle);
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
    (server, busy, idle)
}

/// On SIGTERM, idle keep-alive connections close (within a second: a request arriving
/// meanwhile would still be answered): the idle client sees its end of stream while the server
/// is still serving a request in flight, which then completes.
#[test]
fn a_termination_signal_closes_idle_connections_at_once() {
    let (mut server, mut busy, mut idle) = echo_with_a_request_in_flight();
    server.signal("TERM");
    let mut buf = [0u8; 64];
    // Bounded by the read limit; the grace for the request in flight is 30 s.
    match idle.read(&mut buf) {
        Ok(0) => {}
        other => panic!("the idle connection was not closed: {other:?}"),
    }
    assert!(
        server.is_running(),
        "the server exited before the request in flight was answered"
    );
    send(&mut busy, b"hello");
    let answer = read_response(&mut busy);
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
    assert!(answer.ends_with("\r\n\r\nhello"), "{answer}");
    let status = server.wait_exit(IO_LIMIT);
    assert!(status.is_some_and(|s| s.success()), "{status:?}");
}

/// A second termination signal while a request is in flight exits at once (the first one
/// said so), without waiting for that request: the process is gone while its client has not
/// even sent its body.
#[test]
fn a_second_termination_signal_exits_at_once() {
    let (mut server, mut busy, _idle) = echo_with_a_request_in_flight();
    server.signal("INT");
    assert!(
        server.wait_for_log("Ctrl-C again to exit at once", IO_LIMIT),
        "{}",
        server.log()
    );
    server.signal("INT");
    // Well within the 30 s grace the request in flight would otherwise get.
    let status = server.wait_exit(IO_LIMIT);
    assert_eq!(
        status.and_then(|s| s.code()),
        Some(128 + 2),
        "{status:?}\n{}",
        server.log()
    );
    // The request in flight was never answered.
    let rest = read_to_close(&mut busy);
    assert!(
        !String::from_utf8_lossy(&rest).contains("200 OK"),
        "{rest:?}"
    );
}

/// The error page of a failed application ends the connection, and its head says so.
#[test]
fn an_error_page_says_that_the_connection_closes() {
    let running = start(short_options());
    let mut client = connect(running.addr);
    send(&mut client, b"GET /panic HTTP/1.1\r\nHost: x\r\n\r\n");
    let answer = String::from_utf8_lossy(&read_to_close(&mut client)).into_owned();
    assert!(answer.starts_with("HTTP/1.1 500 "), "{answer}");
    assert!(
        head_of(&answer).contains("\r\nConnection: close"),
        "{answer}"
    );
    running.stop().unwrap();
}

/// Once a server is stopping, a client that connects is refused at once, not accepted by the
/// kernel into a queue nobody reads and reset when the process exits (seen behind nginx as
/// requests stalled for seconds at each instance's SIGTERM, then 502: `docs/deploy.md`). A
/// front end then tries another instance at once.
#[test]
fn a_stopping_server_refuses_new_connections_instead_of_queueing_them() {
    let mut options = short_options();
    // Long enough that the server is still in its grace when the test gives up.
    options.header_timeout = Duration::from_secs(60);
    options.shutdown_grace = Duration::from_secs(60);
    let server = make_server_with("127.0.0.1", 0, demo_app, WsgiRequestHandler, options).unwrap();
    let server = std::sync::Arc::new(server);
    let address = server.server_address();
    let runner = server.clone();
    let thread = std::thread::spawn(move || runner.serve_forever());
    // A request half sent may keep the server in its shutdown grace (whether it does is not
    // what is tested); the answer to a first one proves the connection was accepted.
    let mut held = connect(address);
    send(&mut held, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(read_response(&mut held).starts_with("HTTP/1.1 200 OK"));
    send(&mut held, b"GET / HTTP/1.1\r\nHost: x\r\n");
    server.shutdown();
    // Connections made before the stop took effect may still be accepted; once it has, every
    // attempt is refused. Only a hung test stops at the limit.
    let limit = std::time::Instant::now() + Duration::from_secs(20);
    let refused = loop {
        // Taken, or left unanswered (the kernel's queue is full): not refused yet.
        match TcpStream::connect_timeout(&address, Duration::from_secs(1)) {
            Err(e) if e.kind() == ErrorKind::ConnectionRefused => break true,
            Ok(_) | Err(_) if std::time::Instant::now() >= limit => break false,
            Ok(_) | Err(_) => std::thread::sleep(Duration::from_millis(10)),
        }
    };
    assert!(
        refused,
        "a stopping server still takes connections 20 s after shutdown()"
    );
    // Once the last client has gone, the server stops.
    drop(held);
    thread.join().unwrap().unwrap();
}

/// A server stopped and run again listens again on its socket, which its stop shut down.
#[test]
fn a_server_stopped_and_run_again_listens_again() {
    let mut options = short_options();
    // One event loop: it serves the server's own socket (more loops add sockets of their own).
    options.threads = 1;
    let server = make_server_with("127.0.0.1", 0, demo_app, WsgiRequestHandler, options).unwrap();
    let server = std::sync::Arc::new(server);
    let address = server.server_address();
    for _ in 0..2 {
        let runner = server.clone();
        let thread = std::thread::spawn(move || runner.serve_forever());
        // From when `serve_forever` has started: a stopped server refuses until then.
        let limit = std::time::Instant::now() + Duration::from_secs(20);
        let mut client = loop {
            match TcpStream::connect(address) {
                Ok(client) => break client,
                Err(e) if std::time::Instant::now() >= limit => panic!("not listening: {e}"),
                Err(_) => std::thread::sleep(Duration::from_millis(10)),
            }
        };
        client.set_read_timeout(Some(IO_LIMIT)).unwrap();
        send(&mut client, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        assert!(read_response(&mut client).starts_with("HTTP/1.1 200 OK"));
        drop(client);
        server.shutdown();
        thread.join().unwrap().unwrap();
    }
}
