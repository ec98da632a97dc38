//! A response far larger than the event loop's transmit buffer: the `serve` example streams
//! a 96 MiB file to a slow reader, and its peak memory stays a small fraction of the file
//! (the transmit buffer is bounded; large responses are written through, not queued).

mod serve_support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use serve_support::Server;

const FILE_LEN: u64 = 96 << 20;

/// Peak resident memory of a process in KiB (`VmHWM` in /proc/PID/status).
fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM line")
}

#[test]
fn large_file_to_a_slow_reader_keeps_memory_bounded() {
    let dir = std::env::temp_dir().join(format!("wsgiref-serve-large-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // A sparse file: no disk space, and reads return zeros.
    let file = std::fs::File::create(dir.join("big.bin")).unwrap();
    file.set_len(FILE_LEN).unwrap();
    drop(file);

    let server = Server::start(&dir);
    let mut stream = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    stream
        .write_all(b"GET /big.bin HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut buf = vec![0u8; 64 * 1024];
    let mut total = 0u64;
    let mut head_seen = false;
    let mut head = Vec::new();
    let mut reads = 0u64;
    loop {
        let n = stream.read(&mut buf).expect("read within the timeout");
        if n == 0 {
            break;
        }
        reads += 1;
        // A slow start: the server's socket buffer fills and its writes must wait.
        if reads < 20 {
            std::thread::sleep(Duration::from_millis(20));
        }
        if head_seen {
            total += n as u64;
        } else {
            head.extend_from_slice(&buf[..n]);
            if let Some(end) = head.windows(4).position(|w| w == b"\r\n\r\n") {
                head_seen = true;
                total = (head.len() - end - 4) as u64;
                let text = String::from_utf8_lossy(&head[..end]).into_owned();
                assert!(text.starts_with("HTTP/1.1 200 "), "{text}");
                assert!(
                    text.contains(&format!("Content-Length: {FILE_LEN}")),
                    "{text}"
                );
            }
        }
    }
    assert_eq!(total, FILE_LEN, "whole body received");
    let peak = peak_rss_kib(server.pid());
    let _ = std::fs::remove_dir_all(&dir);
    // The file is 96 MiB; the server must not have held it (or a large part of it).
    assert!(
        peak < 32 * 1024,
        "server peak RSS {peak} KiB for a {FILE_LEN}-byte file"
    );
}
