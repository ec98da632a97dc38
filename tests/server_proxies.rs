//! The server behind proxies: `ServerOptions::forwarded_allow_ips` and
//! `ServerOptions::proxy_protocol`, over raw TCP from 127.x addresses.
//!
//! The application reports what it sees (`REMOTE_ADDR`, `REMOTE_PORT`, `wsgi.url_scheme`,
//! `HTTP_HOST`, `SERVER_NAME`, `SERVER_PORT`, `wsgiref.proxy.peer`), behind the validator.
//! Clients bind their own source address (127.0.0.2, 127.0.0.3) so that one server sees
//! trusted and untrusted peers. The log lines are checked on the `hello` example run as a
//! process, whose stderr is the log. Every wait is bounded; nothing is timed.

mod server_common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use server_common::{read_response, short_options, start_app, Running, IO_LIMIT};
use wsgiref::app::app_fn;
use wsgiref::simple_server::ServerOptions;
use wsgiref::validate::{validator, IgnoreWarnings};
use wsgiref::{AppError, Application, Environ, StartResponse};

fn report(
    environ: &mut Environ<'_>,
    start_response: &mut StartResponse<'_>,
) -> Result<String, AppError> {
    let mut out = String::new();
    for key in [
        "REMOTE_ADDR",
        "REMOTE_PORT",
        "HTTP_HOST",
        "SERVER_NAME",
        "SERVER_PORT",
        "wsgiref.proxy.peer",
    ] {
        let value = environ.get_str(key).unwrap_or("-");
        out.push_str(&format!("{key}={value}\n"));
    }
    let scheme = environ.url_scheme().map_or("-", |s| s.as_str());
    out.push_str(&format!("wsgi.url_scheme={scheme}\n"));
    start_response.start("200 OK", &[("Content-Type", "text/plain")])?;
    Ok(out)
}

fn reporter() -> impl Application + Send + Sync + 'static {
    validator(app_fn(report)).with_sink(IgnoreWarnings)
}

fn start(options: ServerOptions) -> Running<impl Application + Send + Sync + 'static> {
    start_app(reporter(), options)
}

/// A connection to `server` from the source address `from` (any free port).
fn connect_from(from: &str, server: SocketAddr) -> TcpStream {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    let local: SocketAddr = format!("{from}:0").parse().unwrap();
    socket
        .bind(&local.into())
        .expect("bind the client's address");
    socket
        .connect_timeout(&server.into(), IO_LIMIT)
        .expect("connect");
    let stream: TcpStream = socket.into();
    stream.set_read_timeout(Some(IO_LIMIT)).unwrap();
    stream.set_write_timeout(Some(IO_LIMIT)).unwrap();
    stream.set_nodelay(true).unwrap();
    stream
}

/// The value of `key` in a report.
fn field<'r>(response: &'r str, key: &str) -> &'r str {
    response
        .lines()
        .find_map(|l| l.strip_prefix(key).and_then(|r| r.strip_prefix('=')))
        .unwrap_or_else(|| panic!("no {key} in {response:?}"))
}

/// One request with `extra` header lines on `stream`, its response.
fn get(stream: &mut TcpStream, extra: &str) -> String {
    let request = format!("GET / HTTP/1.1\r\nHost: backend:8000\r\n{extra}\r\n");
    stream.write_all(request.as_bytes()).unwrap();
    let response = read_response(stream);
    assert!(response.starts_with("HTTP/1.1 200 "), "{response:?}");
    response
}

const FORGED: &[&str] = &[
    "X-Forwarded-For: 203.0.113.66\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Host: evil.example\r\n",
    "Forwarded: for=203.0.113.66;proto=https;host=evil.example\r\n",
];

/// What a request that forwarding headers did not change reports, from `ip`.
fn assert_unchanged(response: &str, ip: &str) {
    assert_eq!(field(response, "REMOTE_ADDR"), ip, "{response}");
    assert_ne!(field(response, "REMOTE_PORT"), "-", "{response}");
    assert_eq!(field(response, "wsgi.url_scheme"), "http", "{response}");
    assert_eq!(field(response, "HTTP_HOST"), "backend:8000", "{response}");
    assert_eq!(field(response, "wsgiref.proxy.peer"), "-", "{response}");
}

#[test]
fn forged_forwarding_headers_change_nothing_by_default() {
    let server = start(short_options());
    for forged in FORGED {
        let mut client = connect_from("127.0.0.1", server.addr);
        let response = get(&mut client, forged);
        assert_unchanged(&response, "127.0.0.1");
        assert_eq!(
            field(&response, "SERVER_PORT"),
            server.addr.port().to_string()
        );
    }
}

#[test]
fn forwarding_headers_count_from_trusted_peers_only() {
    let server = start(ServerOptions {
        forwarded_allow_ips: "127.0.0.2".parse().unwrap(),
        ..short_options()
    });
    // 127.0.0.3 is not trusted: nothing changes.
    for forged in FORGED {
        let mut client = connect_from("127.0.0.3", server.addr);
        assert_unchanged(&get(&mut client, forged), "127.0.0.3");
    }
    // 127.0.0.2 is: the headers set the client, the scheme and the host.
    for (headers, port) in [
        (FORGED[0], "-"),
        (
            "Forwarded: for=\"203.0.113.66:4711\";proto=https;host=evil.example\r\n",
            "4711",
        ),
    ] {
        let mut client = connect_from("127.0.0.2", server.addr);
        let response = get(&mut client, headers);
        assert_eq!(
            field(&response, "REMOTE_ADDR"),
            "203.0.113.66",
            "{response}"
        );
        assert_eq!(field(&response, "REMOTE_PORT"), port, "{response}");
        assert_eq!(field(&response, "wsgi.url_scheme"), "https", "{response}");
        assert_eq!(field(&response, "HTTP_HOST"), "evil.example", "{response}");
        assert_eq!(
            field(&response, "SERVER_NAME"),
            "evil.example",
            "{response}"
        );
        assert_eq!(field(&response, "SERVER_PORT"), "443", "{response}");
        assert_eq!(field(&response, "wsgiref.proxy.peer"), "127.0.0.2");
        // The next request of the connection, without headers, is the peer's own again.
        assert_unchanged(&get(&mut client, ""), "127.0.0.2");
    }
    // A chain forged by the client behind the trusted proxy yields only its own address.
    let mut client = connect_from("127.0.0.2", server.addr);
    let response = get(
        &mut client,
        "X-Forwarded-For: 198.51.100.1, 203.0.113.66, 127.0.0.2\r\n",
    );
    assert_eq!(
        field(&response, "REMOTE_ADDR"),
        "203.0.113.66",
        "{response}"
    );
}

fn proxy_v1(source: &str, sport: u16) -> Vec<u8> {
    format!("PROXY TCP4 {source} 127.0.0.1 {sport} 8000\r\n").into_bytes()
}

/// A version 2 `PROXY` header for TCP over IPv4, with a `PP2_TYPE_SSL` TLV when `tls`.
fn proxy_v2(source: [u8; 4], sport: u16, tls: bool) -> Vec<u8> {
    let mut addresses = Vec::new();
    addresses.extend_from_slice(&source);
    addresses.extend_from_slice(&[127, 0, 0, 1]);
    addresses.extend_from_slice(&sport.to_be_bytes());
    addresses.extend_from_slice(&8000u16.to_be_bytes());
    if tls {
        // PP2_TYPE_SSL, length 5: client PP2_CLIENT_SSL, verify 0.
        addresses.extend_from_slice(&[0x20, 0, 5, 0x01, 0, 0, 0, 0]);
    }
    let mut wire = b"\r\n\r\n\0\r\nQUIT\n".to_vec();
    wire.extend_from_slice(&[0x21, 0x11]);
    wire.extend_from_slice(&(addresses.len() as u16).to_be_bytes());
    wire.extend_from_slice(&addresses);
    wire
}

/// The version 2 `LOCAL` header of a health check.
fn proxy_v2_local() -> Vec<u8> {
    let mut wire = b"\r\n\r\n\0\r\nQUIT\n".to_vec();
    wire.extend_from_slice(&[0x20, 0x00, 0, 0]);
    wire
}

fn proxied_options() -> ServerOptions {
    ServerOptions {
        proxy_protocol: true,
        ..short_options()
    }
}

#[test]
fn proxy_protocol_sets_the_client_for_every_request_of_the_connection() {
    let server = start(proxied_options());
    for (header, scheme) in [
        (proxy_v1("192.0.2.1", 5555), "http"),
        (proxy_v2([192, 0, 2, 1], 5555, false), "http"),
        (proxy_v2([192, 0, 2, 1], 5555, true), "https"),
    ] {
        let mut client = connect_from("127.0.0.2", server.addr);
        client.write_all(&header).unwrap();
        for _ in 0..2 {
            let response = get(&mut client, "");
            assert_eq!(field(&response, "REMOTE_ADDR"), "192.0.2.1", "{response}");
            assert_eq!(field(&response, "REMOTE_PORT"), "5555", "{response}");
            assert_eq!(field(&response, "wsgiref.proxy.peer"), "127.0.0.2");
            assert_eq!(field(&response, "wsgi.url_scheme"), scheme, "{response}");
        }
    }
    // LOCAL (a balancer's own connection) keeps the socket's peer.
    let mut client = connect_from("127.0.0.2", server.addr);
    client.write_all(&proxy_v2_local()).unwrap();
    assert_unchanged(&get(&mut client, ""), "127.0.0.2");
}

#[test]
fn proxy_header_split_byte_by_byte_works() {
    let server = start(proxied_options());
    for header in [
        proxy_v1("192.0.2.9", 1234),
        proxy_v2([192, 0, 2, 9], 1234, true),
    ] {
        let mut client = connect_from("127.0.0.2", server.addr);
        // Each byte is its own segment (no Nagle); a pause lets the server see each alone.
        for byte in &header {
            client.write_all(std::slice::from_ref(byte)).unwrap();
            std::thread::sleep(Duration::from_millis(2));
        }
        let response = get(&mut client, "");
        assert_eq!(field(&response, "REMOTE_ADDR"), "192.0.2.9", "{response}");
    }
}

/// `stream` is closed by the server without a byte of answer.
fn assert_closed_silently(stream: &mut TcpStream) {
    let mut out = Vec::new();
    // A reset instead of a FIN (the server closed with bytes unread) is a close too.
    let _ = stream.read_to_end(&mut out);
    assert!(out.is_empty(), "{:?}", String::from_utf8_lossy(&out));
}

#[test]
fn a_connection_without_a_header_is_closed_and_the_server_serves_on() {
    let server = start(ServerOptions {
        header_timeout: Duration::from_secs(1),
        ..proxied_options()
    });
    let attempts: [&[u8]; 4] = [
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
        b"PROXY TCP4 192.0.2.1 127.0.0.1 99999 80\r\n",
        b"PROXY TCP4 192.0.2.1 127.0.0.1 1",
        b"\r\n\r\n\0\r\nQUIT\n\x21",
    ];
    for bytes in attempts {
        let mut client = connect_from("127.0.0.2", server.addr);
        client.write_all(bytes).unwrap();
        // Refused at once (plain HTTP, a bad port), or at the header timeout (unfinished).
        assert_closed_silently(&mut client);
        let mut good = connect_from("127.0.0.2", server.addr);
        good.write_all(&proxy_v1("192.0.2.3", 7)).unwrap();
        let response = get(&mut good, "");
        assert_eq!(field(&response, "REMOTE_ADDR"), "192.0.2.3", "{response}");
    }
}

#[test]
fn with_proxy_protocol_forwarding_headers_are_judged_by_the_header_source() {
    // The balancer (the socket's peer, 127.0.0.2) is listed, and so is one HTTP proxy
    // (192.0.2.10) behind it.
    let server = start(ServerOptions {
        forwarded_allow_ips: "127.0.0.2, 192.0.2.10".parse().unwrap(),
        ..proxied_options()
    });
    // A client straight through the TCP balancer forges X-Forwarded-For: the source is the
    // client, not trusted, so nothing changes, although the balancer is listed.
    let mut client = connect_from("127.0.0.2", server.addr);
    client.write_all(&proxy_v1("198.51.100.1", 4000)).unwrap();
    let response = get(&mut client, FORGED[0]);
    assert_eq!(
        field(&response, "REMOTE_ADDR"),
        "198.51.100.1",
        "{response}"
    );
    assert_eq!(field(&response, "wsgi.url_scheme"), "http", "{response}");
    assert_eq!(field(&response, "HTTP_HOST"), "backend:8000", "{response}");
    // The trusted HTTP proxy's headers count.
    let mut client = connect_from("127.0.0.2", server.addr);
    client.write_all(&proxy_v1("192.0.2.10", 4001)).unwrap();
    let response = get(&mut client, FORGED[0]);
    assert_eq!(
        field(&response, "REMOTE_ADDR"),
        "203.0.113.66",
        "{response}"
    );
    assert_eq!(field(&response, "wsgi.url_scheme"), "https", "{response}");
    // The balancer stays the recorded peer.
    assert_eq!(field(&response, "wsgiref.proxy.peer"), "127.0.0.2");
}

/// The `hello` example, built by `cargo test` beside this test's binary.
fn hello_binary() -> std::path::PathBuf {
    let exe = std::env::current_exe().unwrap();
    let profile = exe.parent().and_then(|p| p.parent()).unwrap();
    profile
        .join("examples")
        .join(format!("hello{}", std::env::consts::EXE_SUFFIX))
}

struct Hello(Child);

impl Drop for Hello {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn hello_logs_refused_connections_and_serves_on() {
    let mut child = Command::new(hello_binary())
        .args(["-b", "127.0.0.1", "--proxy-protocol", "0"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .env("WSGIREF_PLACEMENT", "none")
        .spawn()
        .expect("run the hello example");
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    let port: u16 = line
        .split_whitespace()
        .nth(4)
        .and_then(|p| p.trim_end_matches('.').parse().ok())
        .unwrap_or_else(|| panic!("no port in {line:?}"));
    let hello = Hello(child);
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    for garbage in [&b"GET / HTTP/1.1\r\n\r\n"[..], b"PROXY TCP9 x\r\n"] {
        let mut client = connect_from("127.0.0.2", addr);
        client.write_all(garbage).unwrap();
        assert_closed_silently(&mut client);
    }
    let mut client = connect_from("127.0.0.3", addr);
    client
        .write_all(&proxy_v2([203, 0, 113, 5], 6000, false))
        .unwrap();
    client
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let response = read_response(&mut client);
    assert!(response.ends_with("Hello World!"), "{response:?}");
    // A graceful stop (SIGTERM): the access line, written just after the answer went out,
    // is in before the process exits.
    let mut child = hello;
    let pid = child.0.id().to_string();
    let killed = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(killed.success());
    let deadline = std::time::Instant::now() + IO_LIMIT;
    while child.0.try_wait().unwrap().is_none() {
        assert!(std::time::Instant::now() < deadline, "hello did not stop");
        std::thread::sleep(Duration::from_millis(10));
    }
    let mut stderr = String::new();
    child
        .0
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert!(
        stderr.contains("127.0.0.2") && stderr.contains("not a valid PROXY protocol header"),
        "{stderr}"
    );
    assert_eq!(
        stderr.matches("not a valid PROXY protocol header").count(),
        2,
        "{stderr}"
    );
    // The access log names the client from the header, not the socket's peer.
    assert!(stderr.contains("203.0.113.5 - - ["), "{stderr}");
}
