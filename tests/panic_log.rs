//! A panicking application is logged once: one line with the panic's message and location
//! (no second copy from Rust's panic hook, none from the `log` crate), and a backtrace only
//! when `RUST_BACKTRACE` asks for one.
//!
//! The server must run in a process of its own so that its stderr can be read whole: the
//! test runs its own binary again (`child_serves_one_panicking_request`, which does nothing
//! unless `PANIC_LOG_CHILD` is set) and reads the child's stderr.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::Duration;

use wsgiref::app::app_fn;
use wsgiref::simple_server::{init_stderr_logger, make_server};
use wsgiref::AppError;

const MARKER: &str = "panic-log-marker-7731";

#[test]
fn child_serves_one_panicking_request() {
    if std::env::var_os("PANIC_LOG_CHILD").is_none() {
        return;
    }
    init_stderr_logger();
    let app = app_fn(
        |_environ, _start_response| -> Result<&'static str, AppError> {
            panic!("{MARKER}");
        },
    );
    let server = make_server("127.0.0.1", 0, app).unwrap();
    let addr = server.server_address();
    std::thread::scope(|s| {
        let served = s.spawn(|| server.handle_request(Some(Duration::from_secs(10))));
        let mut client = TcpStream::connect(addr).unwrap();
        client
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        client.write_all(b"GET / HTTP/1.0\r\n\r\n").unwrap();
        let mut out = Vec::new();
        client.read_to_end(&mut out).unwrap();
        assert!(out.starts_with(b"HTTP/1.1 500 "), "{out:?}");
        assert!(served.join().unwrap().unwrap());
    });
}

/// The child's stderr, with `RUST_BACKTRACE` set to `backtrace`.
fn child_stderr(backtrace: &str) -> String {
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_serves_one_panicking_request",
            "--nocapture",
        ])
        .env("PANIC_LOG_CHILD", "1")
        .env("RUST_BACKTRACE", backtrace)
        .env_remove("RUST_LIB_BACKTRACE")
        .env_remove("RUST_LOG")
        .env_remove("WSGIREF_LOG")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success(), "child failed: {out:?}");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn a_panic_is_logged_once_with_its_location() {
    let stderr = child_stderr("0");
    assert_eq!(stderr.matches(MARKER).count(), 1, "{stderr}");
    let line = stderr.lines().find(|l| l.contains(MARKER)).unwrap();
    assert!(
        line.starts_with("Error: application panicked at tests/panic_log.rs:"),
        "{stderr}"
    );
    assert!(!stderr.contains("stack backtrace"), "{stderr}");
    assert!(!stderr.contains("RUST_BACKTRACE"), "{stderr}");
}

#[test]
fn a_backtrace_follows_when_rust_backtrace_asks() {
    let stderr = child_stderr("1");
    assert_eq!(stderr.matches(MARKER).count(), 1, "{stderr}");
    let after = &stderr[stderr.find(MARKER).unwrap()..];
    assert!(after.contains("\nstack backtrace:\n"), "{stderr}");
}
