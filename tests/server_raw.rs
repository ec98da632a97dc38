//! Raw-socket tests against a real server on 127.0.0.1: pipelining, slowloris, the connection
//! limit, a panicking application, graceful shutdown, IPv6.

mod server_common;

use std::io::Read;
use std::time::Duration;

use server_common::{
    connect, occurrences, read_to_close, read_until_count, send, short_options, start,
};
use wsgiref::simple_server::{demo_app, make_server};

#[test]
fn pipelined_requests_are_answered_in_order() {
    let running = start(short_options());
    let mut client = connect(running.addr);
    send(
        &mut client,
        b"GET /1 HTTP/1.1\r\nHost: x\r\n\r\n\
          POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nfirst\
          POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nsecond\r\n0\r\n\r\n\
          GET /4 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    let out = read_to_close(&mut client);
    let text = String::from_utf8_lossy(&out);
    assert_eq!(occurrences(&out, b"HTTP/1.1 200 OK\r\n"), 4, "{text}");
    let hello = text.find("Hello, world!").unwrap();
    let first = text.find("\r\n\r\nfirst").expect("first echo");
    let second = text.find("\r\n\r\nsecond").expect("second echo");
    assert!(hello < first && first < second, "{text}");
    assert!(
        text.ends_with("Connection: close\r\nContent-Length: 13\r\n\r\nHello, world!")
            || text.ends_with("Hello, world!"),
        "{text}"
    );
    running.stop().unwrap();
}

#[test]
fn slowloris_is_cut_off_after_the_header_timeout() {
    let mut options = short_options();
    options.header_timeout = Duration::from_millis(600);
    let running = start(options);
    let mut client = connect(running.addr);
    // Trickle a head one byte at a time, each byte well within any per-read timeout; the
    // server must stop waiting once the head deadline passes and close with a 408.
    let mut closed = false;
    for &b in
        b"GET / HTTP/1.1\r\nHost: slow\r\nX-Pad: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
    {
        if std::io::Write::write_all(&mut client, &[b]).is_err() {
            closed = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
        let mut probe = [0u8; 256];
        client.set_nonblocking(true).unwrap();
        let peeked = client.read(&mut probe);
        client.set_nonblocking(false).unwrap();
        if let Ok(n) = peeked {
            let answer = String::from_utf8_lossy(&probe[..n]).into_owned();
            assert!(n == 0 || answer.starts_with("HTTP/1.1 408 "), "{answer}");
            closed = true;
            break;
        }
    }
    assert!(closed, "the server kept waiting for a trickled head");
    running.stop().unwrap();
}

#[test]
fn over_the_connection_limit_is_503() {
    let mut options = short_options();
    options.max_connections = 2;
    let running = start(options);
    // Two connections in use (each has completed a request, so the server has accepted it).
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut c = connect(running.addr);
        send(&mut c, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        read_until_count(&mut c, b"Hello, world!", 1);
        held.push(c);
    }
    let mut third = connect(running.addr);
    let out = read_to_close(&mut third);
    let text = String::from_utf8_lossy(&out);
    assert!(
        text.starts_with("HTTP/1.1 503 Service Unavailable\r\n"),
        "{text}"
    );
    drop(held);
    running.stop().unwrap();
}

#[test]
fn a_panicking_application_gets_500_and_the_server_serves_on() {
    let running = start(short_options());
    let mut client = connect(running.addr);
    send(&mut client, b"GET /panic HTTP/1.1\r\nHost: x\r\n\r\n");
    let out = read_to_close(&mut client);
    let text = String::from_utf8_lossy(&out);
    assert!(
        text.starts_with("HTTP/1.1 500 Internal Server Error\r\n"),
        "{text}"
    );
    assert!(
        text.ends_with("A server error occurred.  Please contact the administrator."),
        "{text}"
    );
    let mut next = connect(running.addr);
    send(
        &mut next,
        b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    let out = read_to_close(&mut next);
    assert!(out.starts_with(b"HTTP/1.1 200 OK\r\n"));
    assert!(out.ends_with(b"Hello, world!"));
    running.stop().unwrap();
}

#[test]
fn shutdown_finishes_the_request_in_flight() {
    let running = start(short_options());
    let mut client = connect(running.addr);
    send(&mut client, b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n");
    // Let the request reach the application, then stop the server while it sleeps.
    std::thread::sleep(Duration::from_millis(150));
    let server = running.server.clone();
    let addr = running.addr;
    running.stop().unwrap();
    let out = read_to_close(&mut client);
    let text = String::from_utf8_lossy(&out);
    assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
    assert!(text.ends_with("Hello, world!"), "{text}");
    assert_eq!(server.open_connections(), 0);
    // No longer serving: a new connection is not answered (refused, or never accepted).
    if let Ok(mut late) = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(1)) {
        late.set_read_timeout(Some(Duration::from_millis(300)))
            .unwrap();
        let _ = std::io::Write::write_all(&mut late, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        let mut buf = [0u8; 64];
        assert!(
            !matches!(late.read(&mut buf), Ok(n) if n > 0),
            "served after shutdown"
        );
    }
}

#[test]
fn ipv6_and_handle_request() {
    let Ok(server) = make_server("::1", 0, demo_app) else {
        // No IPv6 loopback on this machine: IPv4 is covered by every other test.
        eprintln!("skipping: cannot bind ::1");
        return;
    };
    let addr = server.server_address();
    assert!(addr.is_ipv6());
    assert_eq!(
        server.base_environ().get("SERVER_PORT"),
        Some(addr.port().to_string().as_bytes())
    );
    std::thread::scope(|s| {
        let handled = s.spawn(|| server.handle_request(Some(Duration::from_secs(10))));
        let mut client = connect(addr);
        send(&mut client, b"GET /demo?x=1 HTTP/1.0\r\n\r\n");
        let out = read_to_close(&mut client);
        let text = String::from_utf8_lossy(&out);
        assert!(text.contains("\r\n\r\nHello world!\n\n"), "{text}");
        assert!(text.contains("QUERY_STRING = 'x=1'\n"), "{text}");
        assert!(text.contains("REMOTE_ADDR = '::1'\n"), "{text}");
        assert!(text.contains("GATEWAY_INTERFACE = 'CGI/1.1'\n"), "{text}");
        assert!(handled.join().unwrap().unwrap());
    });
}
