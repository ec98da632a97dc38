//! SIGTERM stops the `hello` example even when its stderr is a pipe nobody reads any more
//! (`hello 2>&1 | head -1`, a log collector that went away): the message it prints on the
//! way out must not kill the thread that turns the signal into a shutdown.
//!
//! A child process on 127.0.0.1; every wait is bounded.

mod harden_support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use harden_support::{example_binary, parse_port};

#[test]
fn sigterm_stops_the_server_when_stderr_is_a_closed_pipe() {
    let mut child = Command::new(example_binary("hello"))
        .args(["-b", "127.0.0.1", "0"])
        .env("WSGIREF_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start hello");
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let port = parse_port(&first).unwrap_or_else(|| panic!("no port in {first:?}"));
    // Nobody reads the server's stderr from now on.
    drop(child.stderr.take());
    // It still answers (its access log line goes nowhere, quietly).
    let status = Command::new("curl")
        .args(["-sS", "-o", "/dev/null", "--max-time", "10"])
        .arg(format!("http://127.0.0.1:{port}/"))
        .status()
        .expect("curl (.ci/run installs it)");
    assert!(status.success());
    let kill = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("SIGTERM did not stop the server (stderr a closed pipe)");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "{status:?}");
}
