//! The `hello` example as a gateway server, talked to directly: `--protocol fastcgi` on a
//! port, spoken to by a small FastCGI client made of the core's record header encoder and
//! parser (keep-conn, two requests on one connection, `FCGI_GET_VALUES`, garbage); and
//! `--protocol uwsgi -b unix:/path`, whose socket file goes when the process stops.
//!
//! And `serve --protocol scgi`: the directory server behind a front end.
//!
//! The servers are child processes on 127.0.0.1 or a Unix socket; every wait is bounded.

mod harden_support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::os::unix::net::UnixStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use harden_support::{example_binary, Server};
use wsgiref::gateway::fastcgi::{RecordHeader, RecordType};

const LIMIT: Duration = Duration::from_secs(20);

/// One FastCGI record.
fn record(record_type: RecordType, id: u16, content: &[u8]) -> Vec<u8> {
    let header = RecordHeader {
        record_type: record_type as u8,
        request_id: id,
        content_length: content.len() as u16,
        padding_length: 0,
    };
    [&header.encode()[..], content].concat()
}

/// A name-value pair with 1-byte lengths.
fn pair(name: &str, value: &str) -> Vec<u8> {
    let mut out = vec![name.len() as u8, value.len() as u8];
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(value.as_bytes());
    out
}

/// A GET request: BEGIN_REQUEST (Responder, keep-conn as asked), PARAMS, empty STDIN.
fn get_request(id: u16, keep_conn: bool, path: &str) -> Vec<u8> {
    let mut wire = record(
        RecordType::BeginRequest,
        id,
        &[0, 1, u8::from(keep_conn), 0, 0, 0, 0, 0],
    );
    let params: Vec<u8> = [
        ("REQUEST_METHOD", "GET"),
        ("REQUEST_URI", path),
        ("PATH_INFO", path),
        ("SERVER_PROTOCOL", "HTTP/1.1"),
        ("REMOTE_ADDR", "192.0.2.7"),
    ]
    .iter()
    .flat_map(|(n, v)| pair(n, v))
    .collect();
    wire.extend(record(RecordType::Params, id, &params));
    wire.extend(record(RecordType::Params, id, b""));
    wire.extend(record(RecordType::Stdin, id, b""));
    wire
}

/// Read records until an END_REQUEST (or, for a management query, the first record):
/// (type, id, content) of each.
fn read_records(stream: &mut TcpStream, until_end: bool) -> Vec<(u8, u16, Vec<u8>)> {
    let mut records = Vec::new();
    loop {
        let mut header = [0u8; 8];
        stream.read_exact(&mut header).unwrap();
        let h = RecordHeader::parse(&header).unwrap();
        let mut content = vec![0u8; usize::from(h.content_length) + usize::from(h.padding_length)];
        stream.read_exact(&mut content).unwrap();
        content.truncate(usize::from(h.content_length));
        let end = h.record_type == RecordType::EndRequest as u8;
        records.push((h.record_type, h.request_id, content));
        if end || !until_end {
            return records;
        }
    }
}

/// The STDOUT of a response, and its END_REQUEST content.
fn response(records: &[(u8, u16, Vec<u8>)], id: u16) -> (String, Vec<u8>) {
    let mut stdout = Vec::new();
    let mut end = Vec::new();
    for (t, rid, content) in records {
        assert_eq!(*rid, id);
        match *t {
            6 => stdout.extend_from_slice(content),
            3 => end = content.clone(),
            other => panic!("unexpected record type {other}"),
        }
    }
    (String::from_utf8(stdout).unwrap(), end)
}

#[test]
fn hello_speaks_fastcgi_on_a_port() {
    let server = Server::start("hello", &["--protocol", "fastcgi", "-b", "127.0.0.1", "0"]);
    let mut stream = TcpStream::connect(server.addr()).unwrap();
    stream.set_read_timeout(Some(LIMIT)).unwrap();

    // Two requests on one kept connection.
    for id in [1, 2] {
        stream.write_all(&get_request(id, true, "/hi")).unwrap();
        let (stdout, end) = response(&read_records(&mut stream, true), id);
        assert_eq!(
            stdout,
            "Status: 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\n\
             Content-Length: 12\r\n\r\nHello World!"
        );
        // appStatus 0, FCGI_REQUEST_COMPLETE.
        assert_eq!(end, [0, 0, 0, 0, 0, 0, 0, 0]);
    }
    // FCGI_GET_VALUES: one connection, one request at a time.
    stream
        .write_all(&record(
            RecordType::GetValues,
            0,
            &pair("FCGI_MPXS_CONNS", ""),
        ))
        .unwrap();
    let answer = read_records(&mut stream, false);
    assert_eq!(answer[0].0, RecordType::GetValuesResult as u8);
    assert_eq!(answer[0].2, pair("FCGI_MPXS_CONNS", "0"));

    // Without keep-conn the server closes after the response.
    let mut once = TcpStream::connect(server.addr()).unwrap();
    once.set_read_timeout(Some(LIMIT)).unwrap();
    once.write_all(&get_request(9, false, "/once")).unwrap();
    let (stdout, _) = response(&read_records(&mut once, true), 9);
    assert!(stdout.ends_with("Hello World!"), "{stdout}");
    let mut rest = Vec::new();
    once.read_to_end(&mut rest).unwrap();
    assert!(rest.is_empty());
    drop(once);

    // Garbage: the connection is closed and one line says what was wrong, and where.
    let mut bad = TcpStream::connect(server.addr()).unwrap();
    bad.set_read_timeout(Some(LIMIT)).unwrap();
    bad.write_all(b"\x01\x06\x00\x01\x00\x00\x00\x00").unwrap();
    let mut rest = Vec::new();
    let _ = bad.read_to_end(&mut rest);
    assert!(rest.is_empty(), "answered garbage: {rest:?}");
    drop(bad);

    // The kept connection still works after all that.
    stream.write_all(&get_request(3, true, "/again")).unwrap();
    let (stdout, _) = response(&read_records(&mut stream, true), 3);
    assert!(stdout.ends_with("Hello World!"), "{stdout}");
    drop(stream);

    let (status, log) = server.terminate(LIMIT);
    assert!(status.is_some_and(|s| s.success()), "{status:?}\n{log}");
    assert!(
        log.contains("192.0.2.7 - - [") && log.contains("] \"GET /hi HTTP/1.1\" 200 12"),
        "{log}"
    );
    let error = log
        .lines()
        .find(|l| l.contains("FastCGI protocol error"))
        .unwrap_or_else(|| panic!("no protocol error logged:\n{log}"));
    assert!(error.contains("at byte 0"), "{error}");
    // The kept connection ended between requests (after FCGI_GET_VALUES): no error.
    assert_eq!(log.matches("protocol error").count(), 1, "{log}");
}

#[test]
fn hello_speaks_uwsgi_on_a_unix_socket_and_removes_it() {
    let dir = std::env::temp_dir().join(format!("wsgiref-hello-uwsgi-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let socket = dir.join("uwsgi.sock");
    let bind = format!("unix:{}", socket.display());
    let mut child = Command::new(example_binary("hello"))
        .args(["--protocol", "uwsgi", "-b", &bind])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Its first line names the socket (read on a thread: the wait must be bounded).
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let line = rx.recv_timeout(LIMIT);
    let stop = |child: &mut std::process::Child| {
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let deadline = Instant::now() + LIMIT;
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return Some(status);
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    let Ok(line) = line else {
        stop(&mut child);
        panic!("hello printed nothing");
    };
    assert_eq!(line, format!("Serving uwsgi on {bind}...\n"));

    let mut vars = Vec::new();
    for (n, v) in [("REQUEST_METHOD", "GET"), ("PATH_INFO", "/")] {
        vars.extend_from_slice(&(n.len() as u16).to_le_bytes());
        vars.extend_from_slice(n.as_bytes());
        vars.extend_from_slice(&(v.len() as u16).to_le_bytes());
        vars.extend_from_slice(v.as_bytes());
    }
    let mut packet = vec![0];
    packet.extend_from_slice(&(vars.len() as u16).to_le_bytes());
    packet.push(0);
    packet.extend(vars);
    let mut client = UnixStream::connect(&socket).unwrap();
    client.set_read_timeout(Some(LIMIT)).unwrap();
    client.write_all(&packet).unwrap();
    let mut answer = String::new();
    client.read_to_string(&mut answer).unwrap();
    drop(client);
    let status = stop(&mut child);
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
    assert!(answer.ends_with("\r\n\r\nHello World!"), "{answer}");
    assert!(status.is_some_and(|s| s.success()), "{status:?}");
    assert!(!socket.exists(), "the socket file was left behind");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn serve_speaks_scgi() {
    let dir = std::env::temp_dir().join(format!("wsgiref-serve-scgi-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("hello.txt"), "a file\n").unwrap();
    let server = Server::start(
        "serve",
        &["--protocol", "scgi", "-d", dir.to_str().unwrap(), "0"],
    );
    let headers = "CONTENT_LENGTH\x000\x00SCGI\x001\x00REQUEST_METHOD\x00GET\x00\
                   PATH_INFO\x00/hello.txt\x00SERVER_PROTOCOL\x00HTTP/1.1\x00";
    let mut client = TcpStream::connect(server.addr()).unwrap();
    client.set_read_timeout(Some(LIMIT)).unwrap();
    write!(client, "{}:{headers},", headers.len()).unwrap();
    let mut answer = String::new();
    client.read_to_string(&mut answer).unwrap();
    drop(client);
    let (status, log) = server.terminate(LIMIT);
    let _ = std::fs::remove_dir_all(&dir);
    assert!(answer.starts_with("Status: 200 OK\r\n"), "{answer}\n{log}");
    assert!(answer.contains("\r\nContent-Type: text/plain"), "{answer}");
    assert!(answer.ends_with("\r\n\r\na file\n"), "{answer}");
    assert!(status.is_some_and(|s| s.success()), "{status:?}\n{log}");
}

/// One FastCGI request on a fresh connection without keep-conn: `Ok(stdout)` once the
/// response ended, `Err` if the connection failed or ended early.
fn fastcgi_get(address: std::net::SocketAddr, path: &str) -> Result<String, String> {
    let mut stream = TcpStream::connect(address).map_err(|e| format!("connect: {e}"))?;
    stream.set_read_timeout(Some(LIMIT)).unwrap();
    stream
        .write_all(&get_request(1, false, path))
        .map_err(|e| format!("write: {e}"))?;
    let mut raw = Vec::new();
    stream
        .read_to_end(&mut raw)
        .map_err(|e| format!("read: {e}"))?;
    let mut stdout = Vec::new();
    let mut rest = &raw[..];
    while rest.len() >= 8 {
        let length = usize::from(u16::from_be_bytes([rest[4], rest[5]]));
        let total = 8 + length + usize::from(rest[6]);
        if rest.len() < total {
            break;
        }
        match rest[1] {
            6 => stdout.extend_from_slice(&rest[8..8 + length]),
            3 => return Ok(String::from_utf8_lossy(&stdout).into_owned()),
            _ => {}
        }
        rest = &rest[total..];
    }
    Err(format!("no FCGI_END_REQUEST in {} bytes", raw.len()))
}

#[test]
fn hello_runs_fastcgi_worker_processes_and_replaces_them_on_sighup() {
    let server = Server::start(
        "hello",
        &[
            "--protocol",
            "fastcgi",
            "--workers",
            "2",
            "-b",
            "127.0.0.1",
            "0",
        ],
    );
    let address = server.addr();
    // Both workers of the first generation say they serve the inherited socket.
    let started = |n: usize| {
        let deadline = Instant::now() + LIMIT;
        loop {
            let log = server.log();
            if log.matches("serving the inherited socket").count() >= n {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{n} workers did not start:\n{log}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    started(2);
    for _ in 0..20 {
        let stdout = fastcgi_get(address, "/").unwrap_or_else(|e| panic!("{e}\n{}", server.log()));
        assert!(stdout.ends_with("Hello World!"), "{stdout}");
    }
    // Requests on fresh connections all through a zero-downtime restart.
    let mut failures = Vec::new();
    let mut answered = 0;
    server.signal("HUP");
    let deadline = Instant::now() + LIMIT;
    while server.log().matches("serving the inherited socket").count() < 4 || answered < 200 {
        assert!(
            Instant::now() < deadline,
            "no second generation:\n{}",
            server.log()
        );
        match fastcgi_get(address, "/") {
            Ok(_) => answered += 1,
            Err(e) => failures.push(e),
        }
    }
    assert!(failures.is_empty(), "{failures:?}\n{}", server.log());
    let (status, log) = server.terminate(LIMIT);
    assert!(status.is_some_and(|s| s.success()), "{status:?}\n{log}");
}

#[test]
fn a_gateway_server_refuses_http_only_proxy_options() {
    let mut child = Command::new(harden_support::example_binary("hello"))
        .args([
            "--protocol",
            "scgi",
            "--proxy-protocol",
            "-b",
            "127.0.0.1",
            "0",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert!(!child.wait().unwrap().success());
    assert!(
        stderr.contains("proxy_protocol is an HTTP server option"),
        "{stderr}"
    );
}
