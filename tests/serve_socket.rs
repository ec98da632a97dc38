//! The `serve` example end to end: the real binary on a real socket (ephemeral port on
//! 127.0.0.1), spoken to with raw HTTP/1.1 over one keep-alive connection, so the framing the
//! server chose (Content-Length for files, ranges, HEAD and 304) is checked on the wire.

mod serve_support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::time::Duration;

use serve_support::Server;

struct Response {
    status: u16,
    head: String,
    body: Vec<u8>,
}

/// Read one response from `stream` (`buf` keeps bytes that arrived past it). Bounded by the
/// socket's read timeout and by the declared length.
fn read_response(stream: &mut TcpStream, buf: &mut Vec<u8>, has_body: bool) -> Response {
    let mut chunk = [0u8; 65536];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        assert!(buf.len() < 65536, "head too long");
        let n = stream.read(&mut chunk).expect("read a response head");
        assert!(
            n > 0,
            "connection closed mid-head: {:?}",
            String::from_utf8_lossy(buf)
        );
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8(buf[..head_end].to_vec()).expect("ASCII head");
    buf.drain(..head_end);
    let status = head[9..12].parse().expect("status code");
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("Content-Length: "))
        .map_or(0, |v| v.trim().parse().expect("a length"));
    let want = if has_body { length } else { 0 };
    while buf.len() < want {
        let n = stream.read(&mut chunk).expect("read a body");
        assert!(n > 0, "connection closed mid-body");
        buf.extend_from_slice(&chunk[..n]);
    }
    let body = buf.drain(..want).collect();
    Response { status, head, body }
}

struct Dir(PathBuf);

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn one_keep_alive_connection_through_the_cases() {
    let base =
        Dir(std::env::temp_dir().join(format!("wsgiref-serve-socket-{}", std::process::id())));
    let root = base.0.join("root");
    std::fs::create_dir_all(root.join("docs")).unwrap();
    std::fs::write(base.0.join("secret.txt"), "secret").unwrap();
    let data: Vec<u8> = (0..300_000u32).map(|i| (i * 7) as u8).collect();
    std::fs::write(root.join("data.bin"), &data).unwrap();
    std::fs::write(root.join("docs/index.html"), "<p>docs</p>").unwrap();

    let server = Server::start(&root);
    let mut stream = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut buf = Vec::new();
    // `ask` borrows the stream and buffer until the end of this block.
    {
        let mut ask = |request: &str, has_body: bool| {
            stream.write_all(request.as_bytes()).unwrap();
            read_response(&mut stream, &mut buf, has_body)
        };

        let r = ask("GET /data.bin HTTP/1.1\r\nHost: t\r\n\r\n", true);
        assert_eq!(r.status, 200, "{}", r.head);
        assert!(r.head.contains("Content-Length: 300000\r\n"), "{}", r.head);
        assert!(!r.head.contains("chunked"), "{}", r.head);
        assert_eq!(r.body, data);
        let last_modified = r
            .head
            .lines()
            .find_map(|l| l.strip_prefix("Last-Modified: "))
            .expect("Last-Modified")
            .to_string();

        let r = ask(
            "GET /data.bin HTTP/1.1\r\nHost: t\r\nRange: bytes=1000-1999\r\n\r\n",
            true,
        );
        assert_eq!(r.status, 206, "{}", r.head);
        assert!(
            r.head.contains("Content-Range: bytes 1000-1999/300000\r\n"),
            "{}",
            r.head
        );
        assert_eq!(r.body, &data[1000..2000]);

        let r = ask("HEAD /data.bin HTTP/1.1\r\nHost: t\r\n\r\n", false);
        assert_eq!(r.status, 200);
        assert!(r.head.contains("Content-Length: 300000\r\n"), "{}", r.head);

        let r = ask(
            &format!(
                "GET /data.bin HTTP/1.1\r\nHost: t\r\nIf-Modified-Since: {last_modified}\r\n\r\n"
            ),
            false,
        );
        assert_eq!(r.status, 304, "{}", r.head);

        let r = ask("GET /%2e%2e/secret.txt HTTP/1.1\r\nHost: t\r\n\r\n", true);
        assert_eq!(r.status, 404);
        let r = ask("GET /docs HTTP/1.1\r\nHost: t\r\n\r\n", true);
        assert_eq!(r.status, 301);
        assert!(r.head.contains("Location: /docs/\r\n"), "{}", r.head);
        let r = ask("DELETE /docs/ HTTP/1.1\r\nHost: t\r\n\r\n", true);
        assert_eq!(r.status, 405);
        assert!(r.head.contains("Allow: GET, HEAD\r\n"), "{}", r.head);
        let r = ask(
            "GET /docs/ HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
            true,
        );
        assert_eq!((r.status, &r.body[..]), (200, &b"<p>docs</p>"[..]));
    }

    // The server closes after `Connection: close`: end of stream, no stray bytes.
    let mut rest = Vec::new();
    stream.read_to_end(&mut rest).unwrap();
    assert!(buf.is_empty() && rest.is_empty(), "{rest:?}");

    // Every request went through the access log.
    let log = server.stop();
    for line in [
        "\"GET /data.bin HTTP/1.1\" 200 300000",
        "\"GET /data.bin HTTP/1.1\" 206 1000",
        "\"DELETE /docs/ HTTP/1.1\" 405",
    ] {
        assert!(log.contains(line), "{line:?} not in the log:\n{log}");
    }
}
