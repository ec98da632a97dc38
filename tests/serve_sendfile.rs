//! File bodies through the server's sendfile path: the `serve` example answers with
//! `FileBody`, which the event loop sends with `sendfile(2)` on Linux. The bytes on the wire
//! must be exactly those of the file (whole, single ranges, HEAD), the connection must stay
//! usable for the next request, a client that leaves mid-file must not disturb others, and a
//! client that stops reading a large file must not hold up other connections.

mod serve_support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use serve_support::Server;

/// A file of pseudo-random bytes (not zeros, so misplaced bytes would show).
fn random_file(dir: &std::path::Path, name: &str, len: usize) -> Vec<u8> {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let data: Vec<u8> = (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect();
    std::fs::write(dir.join(name), &data).unwrap();
    data
}

/// Read one response from `reader`: status line, headers, and a body of Content-Length
/// bytes (none for HEAD).
fn read_response(
    reader: &mut BufReader<TcpStream>,
    head: bool,
) -> (String, Vec<(String, String)>, Vec<u8>) {
    let mut status = String::new();
    reader.read_line(&mut status).unwrap();
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let (name, value) = line.split_once(": ").expect("header line");
        headers.push((name.to_ascii_lowercase(), value.to_string()));
    }
    let len: usize = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .map(|(_, v)| v.parse().unwrap())
        .unwrap_or(0);
    let mut body = vec![0u8; if head { 0 } else { len }];
    reader.read_exact(&mut body).unwrap();
    (status.trim_end().to_string(), headers, body)
}

/// A keep-alive client connection: a writer for requests, a buffered reader for responses.
fn connect(port: u16) -> (TcpStream, BufReader<TcpStream>) {
    let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    (stream.try_clone().unwrap(), BufReader::new(stream))
}

/// A site directory for one test: `big.bin`, 256 MiB of zeros (sparse: no disk space used),
/// and `small.txt` holding `small`.
fn site_with_big_file(tag: &str, small: &[u8]) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("wsgiref-sendfile-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::File::create(dir.join("big.bin"))
        .unwrap()
        .set_len(256 << 20)
        .unwrap();
    std::fs::write(dir.join("small.txt"), small).unwrap();
    dir
}

fn header<'h>(headers: &'h [(String, String)], name: &str) -> Option<&'h str> {
    headers
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

#[test]
fn files_ranges_and_head_are_byte_exact_on_one_keep_alive_connection() {
    let dir = std::env::temp_dir().join(format!("wsgiref-sendfile-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // Larger than the transmit buffer and the read block, not a multiple of either.
    let data = random_file(&dir, "data.bin", 5 * 1024 * 1024 + 12_345);
    std::fs::write(dir.join("small.txt"), b"small file\n").unwrap();
    let server = Server::start(&dir);

    let (mut writer, mut reader) = connect(server.port);

    writer
        .write_all(b"GET /data.bin HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let (status, headers, body) = read_response(&mut reader, false);
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert_eq!(
        header(&headers, "content-length"),
        Some(data.len().to_string().as_str())
    );
    assert!(body == data, "the whole file differs from what was served");

    writer
        .write_all(b"GET /data.bin HTTP/1.1\r\nHost: x\r\nRange: bytes=1000000-3999999\r\n\r\n")
        .unwrap();
    let (status, headers, body) = read_response(&mut reader, false);
    assert_eq!(status, "HTTP/1.1 206 Partial Content");
    assert_eq!(
        header(&headers, "content-range"),
        Some(format!("bytes 1000000-3999999/{}", data.len()).as_str())
    );
    assert!(
        body == data[1_000_000..4_000_000],
        "the range differs from the file's bytes"
    );

    writer
        .write_all(b"GET /data.bin HTTP/1.1\r\nHost: x\r\nRange: bytes=-100\r\n\r\n")
        .unwrap();
    let (status, _, body) = read_response(&mut reader, false);
    assert_eq!(status, "HTTP/1.1 206 Partial Content");
    assert_eq!(body, &data[data.len() - 100..]);

    writer
        .write_all(b"HEAD /data.bin HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let (status, headers, _) = read_response(&mut reader, true);
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert_eq!(
        header(&headers, "content-length"),
        Some(data.len().to_string().as_str())
    );

    // The connection still frames the next response correctly.
    writer
        .write_all(b"GET /small.txt HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let (status, _, body) = read_response(&mut reader, false);
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert_eq!(body, b"small file\n");

    drop(writer);
    drop(reader);
    server.stop();
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_client_leaving_mid_file_does_not_disturb_the_server() {
    let dir = site_with_big_file("gone", b"still here\n");
    let server = Server::start(&dir);

    for _ in 0..3 {
        let mut stream = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        stream
            .write_all(b"GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        let mut some = vec![0u8; 1 << 20];
        stream.read_exact(&mut some).unwrap();
        assert!(some.starts_with(b"HTTP/1.1 200 OK\r\n"));
        // Gone with ~255 MiB unsent.
    }

    let (mut writer, mut reader) = connect(server.port);
    writer
        .write_all(b"GET /small.txt HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let (status, _, body) = read_response(&mut reader, false);
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert_eq!(body, b"still here\n");

    drop(writer);
    drop(reader);
    server.stop();
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_client_that_stops_reading_a_large_file_holds_up_nobody() {
    let dir = site_with_big_file("slow", b"not blocked\n");
    let server = Server::start(&dir);

    // Two stalled downloads: they fill their socket buffers and then read nothing, so the
    // server's sendfile would wait for them if it blocked (up to the 30 s body timeout).
    let mut stalled = Vec::new();
    for _ in 0..2 {
        let mut stream = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
        stream
            .write_all(b"GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        let mut first = [0u8; 17];
        stream.read_exact(&mut first).unwrap();
        assert_eq!(&first, b"HTTP/1.1 200 OK\r\n");
        stalled.push(stream);
    }
    std::thread::sleep(Duration::from_millis(300));

    // Connections land on the workers by hash; with a dozen of them, some share a worker with
    // a stalled download. Each must be answered well within the body timeout.
    for i in 0..12 {
        let (mut writer, mut reader) = connect(server.port);
        reader
            .get_ref()
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        writer
            .write_all(b"GET /small.txt HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        let (status, _, body) = read_response(&mut reader, false);
        assert_eq!(status, "HTTP/1.1 200 OK", "connection {i}");
        assert_eq!(body, b"not blocked\n", "connection {i}");
    }

    // The stalled downloads are still intact: reading on delivers more of the file's bytes.
    for mut stream in stalled {
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut more = vec![0u8; 4 << 20];
        stream.read_exact(&mut more).unwrap();
    }
    server.stop();
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn pipelined_file_requests_are_all_answered() {
    let dir = std::env::temp_dir().join(format!("wsgiref-sendfile-pipe-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let files: Vec<Vec<u8>> = (0..4)
        .map(|i| random_file(&dir, &format!("f{i}.bin"), 1000 + i * 777))
        .collect();
    let server = Server::start(&dir);

    // Four requests in one write: each answer is a file body, sent after its head.
    let (mut writer, mut reader) = connect(server.port);
    reader
        .get_ref()
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let requests: String = (0..4)
        .map(|i| format!("GET /f{i}.bin HTTP/1.1\r\nHost: x\r\n\r\n"))
        .collect();
    writer.write_all(requests.as_bytes()).unwrap();
    for (i, data) in files.iter().enumerate() {
        let (status, _, body) = read_response(&mut reader, false);
        assert_eq!(status, "HTTP/1.1 200 OK", "response {i}");
        assert!(body == *data, "response {i} differs from f{i}.bin");
    }

    drop(writer);
    drop(reader);
    server.stop();
    std::fs::remove_dir_all(&dir).unwrap();
}
