//! A server out of file descriptors: clients over the limit are answered 503 and closed (a
//! descriptor is kept in reserve for that), none is left waiting in the backlog, and the
//! server serves again once descriptors are free. The server runs as a separate process
//! (`examples/hello.rs`) under `ulimit -n`, so the limit is its own.

mod harden_support;
mod server_common;

use std::io::Read;
use std::net::TcpStream;
use std::time::Duration;

use harden_support::{example_binary, Server};
use server_common::{connect, send};

/// The status line of one response, or what went wrong.
fn status(stream: &mut TcpStream) -> String {
    let mut out = Vec::new();
    let mut buf = [0u8; 1024];
    while !out.windows(2).any(|w| w == b"\r\n") {
        match stream.read(&mut buf) {
            Ok(0) => return "closed without an answer".into(),
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) => return format!("no answer: {e}"),
        }
    }
    let text = String::from_utf8_lossy(&out);
    text.lines().next().unwrap_or("").to_string()
}

#[test]
fn clients_over_the_descriptor_limit_get_503_and_the_server_recovers() {
    let hello = example_binary("hello");
    let script = format!("ulimit -n 48 && exec {} 0", hello.display());
    let server = Server::start_path_with_env("bash", &["-c", &script], &[("WSGIREF_LOG", "off")]);
    let addr = server.addr();
    // Far more keep-alive clients than the server has descriptors for.
    let mut clients = Vec::new();
    for _ in 0..80 {
        let mut client = connect(addr);
        client
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        send(&mut client, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        clients.push(client);
    }
    let statuses: Vec<String> = clients.iter_mut().map(status).collect();
    let ok = statuses
        .iter()
        .filter(|s| s.as_str() == "HTTP/1.1 200 OK")
        .count();
    let busy = statuses
        .iter()
        .filter(|s| s.as_str() == "HTTP/1.1 503 Service Unavailable")
        .count();
    // Every client got an answer: served, or told the server is busy.
    assert_eq!(ok + busy, clients.len(), "{statuses:?}");
    assert!(ok > 0 && busy > 0, "{statuses:?}");
    // Descriptors free again: new clients are served.
    drop(clients);
    std::thread::sleep(Duration::from_millis(200));
    let mut client = connect(addr);
    send(&mut client, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(status(&mut client), "HTTP/1.1 200 OK");
    drop(server);
}
