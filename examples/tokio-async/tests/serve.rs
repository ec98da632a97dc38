//! The tokio server on an ephemeral 127.0.0.1 port, driven by a std TcpStream client.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// Start the server for `connections` connections; its port and thread.
fn start(connections: u32) -> (u16, std::thread::JoinHandle<std::io::Result<()>>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    listener.set_nonblocking(true).unwrap();
    let thread = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()?;
        runtime.block_on(async {
            let listener = tokio::net::TcpListener::from_std(listener)?;
            wsgiref_tokio_async::run(listener, Some(connections)).await
        })
    });
    (port, thread)
}

/// Send `request`, read until the server closes (bounded by a read timeout).
fn exchange(port: u16, request: &[u8]) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream.write_all(request).unwrap();
    let mut reply = Vec::new();
    stream.read_to_end(&mut reply).unwrap();
    String::from_utf8(reply).unwrap()
}

#[test]
fn serves_pipelined_requests_a_chunked_post_and_refuses_a_malformed_one() {
    let (port, server) = start(3);

    let reply = exchange(
        port,
        b"GET /env?x=1 HTTP/1.1\r\nHost: t\r\n\r\nGET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(reply.matches("HTTP/1.1 200 OK\r\n").count(), 2, "{reply}");
    assert!(reply.contains("\r\nDate: "), "{reply}");
    assert!(
        reply.contains("QUERY_STRING=x=1\nREMOTE_ADDR=127.0.0.1\n"),
        "{reply}"
    );
    assert!(reply.contains(&format!("SERVER_PORT={port}\n")), "{reply}");
    assert!(
        reply.ends_with("Content-Length: 18\r\nConnection: close\r\n\r\nHello from tokio!\n"),
        "{reply}"
    );

    let reply = exchange(
        port,
        b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n\
3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
    );
    assert!(reply.starts_with("HTTP/1.1 200 OK\r\n"), "{reply}");
    assert!(reply.ends_with("\r\n\r\necho: abcde"), "{reply}");

    let reply = exchange(port, b"GET / HTTP/1.1\r\nHost: t\r\nbroken\r\n\r\n");
    assert!(reply.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{reply}");

    server.join().unwrap().unwrap();
}
