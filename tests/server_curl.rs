//! curl against a real server on 127.0.0.1: HTTP/1.0, HTTP/1.1, keep-alive, chunked upload,
//! `Expect: 100-continue`, HEAD. curl must be installed (`.ci/run` installs it); its absence
//! fails these tests.

mod server_common;

use std::io::Write;
use std::process::{Command, Stdio};

use server_common::{short_options, start};

/// Run curl with a time limit; returns (stdout, stderr).
fn curl(args: &[&str], stdin: Option<&[u8]>) -> (Vec<u8>, String) {
    let mut child = Command::new("curl")
        .args(["--silent", "--show-error", "--max-time", "10"])
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("curl is required for these tests (.ci/run installs it): could not run it");
    if let Some(data) = stdin {
        child.stdin.take().unwrap().write_all(data).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "curl {args:?} failed: {stderr}");
    (out.stdout, stderr)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn http_1_0_and_1_1() {
    let running = start(short_options());
    let url = running.url("/");
    let (out, _) = curl(&["--http1.0", "--include", &url], None);
    let out = text(&out);
    assert!(out.starts_with("HTTP/1.1 200 OK\r\n"), "{out}");
    assert!(out.contains("Content-Length: 13\r\n"), "{out}");
    assert!(out.ends_with("\r\n\r\nHello, world!"), "{out}");
    assert!(!out.contains("Connection: keep-alive"), "{out}");

    let (out, _) = curl(&["--http1.1", "--include", &url], None);
    let out = text(&out);
    assert!(out.starts_with("HTTP/1.1 200 OK\r\n"), "{out}");
    assert!(out.contains("\r\nDate: "), "{out}");
    assert!(out.contains("\r\nServer: wsgiref-rs/"), "{out}");
    running.stop().unwrap();
}

#[test]
fn keep_alive_reuses_the_connection() {
    let running = start(short_options());
    let (a, b) = (running.url("/a"), running.url("/b"));
    let (out, err) = curl(&["--verbose", &a, &b], None);
    assert_eq!(text(&out), "Hello, world!Hello, world!");
    assert!(
        err.contains("Re-using existing connection") || err.contains("Reusing existing"),
        "curl did not reuse the connection:\n{err}"
    );
    running.stop().unwrap();
}

#[test]
fn chunked_upload_is_echoed() {
    let running = start(short_options());
    let body: Vec<u8> = (0..100_000u32).map(|i| b'a' + (i % 26) as u8).collect();
    let (out, _) = curl(
        &[
            "-H",
            "Transfer-Encoding: chunked",
            "--data-binary",
            "@-",
            &running.url("/echo"),
        ],
        Some(&body),
    );
    assert_eq!(out.len(), body.len());
    assert!(out == body, "echoed body differs");
    running.stop().unwrap();
}

#[test]
fn expect_100_continue_upload() {
    let running = start(short_options());
    let body = vec![b'x'; 300_000];
    // curl sends Expect: 100-continue for bodies this large; make sure of it.
    let (out, err) = curl(
        &[
            "--verbose",
            "-H",
            "Expect: 100-continue",
            "--data-binary",
            "@-",
            &running.url("/echo"),
        ],
        Some(&body),
    );
    assert!(
        err.contains("HTTP/1.1 100 Continue"),
        "no 100 Continue:\n{err}"
    );
    assert_eq!(out.len(), body.len());
    running.stop().unwrap();
}

#[test]
fn head_has_headers_and_no_body() {
    let running = start(short_options());
    let (out, _) = curl(&["--head", &running.url("/")], None);
    let out = text(&out);
    assert!(out.starts_with("HTTP/1.1 200 OK\r\n"), "{out}");
    assert!(out.contains("Content-Length: 13\r\n"), "{out}");
    assert!(
        out.ends_with("\r\n\r\n"),
        "a body followed the head: {out:?}"
    );
    running.stop().unwrap();
}
