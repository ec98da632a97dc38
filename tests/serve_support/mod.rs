//! Shared by the `serve` tests that run the real example binary: start it on an ephemeral
//! port, find the port it printed, stop it at the end.

// Each test binary that includes this module uses only part of it.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How long the server may take to print its port.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// The `serve` example binary. `cargo test` builds the examples before running tests, so it is
/// normally next to this test's own binary (`target/<profile>/examples/serve`). When only some
/// tests were selected (`cargo test --test serve_browser`) it may be missing; it is then built
/// with cargo into a target directory of its own (`target/serve-example`), because the
/// running `cargo test` holds the lock on the main one.
pub fn serve_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's own path");
    // target/<profile>/deps/<test> → target/<profile>
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("test binary inside target/<profile>/deps");
    let name = format!("serve{}", std::env::consts::EXE_SUFFIX);
    let bin = profile_dir.join("examples").join(&name);
    if bin.is_file() {
        return bin;
    }
    let target = profile_dir
        .parent()
        .expect("target directory above the profile directory")
        .join("serve-example");
    let status = Command::new(env!("CARGO"))
        .args(["build", "--quiet", "--example", "serve", "--target-dir"])
        .arg(&target)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .status()
        .expect("run cargo to build the serve example");
    assert!(status.success(), "building the serve example failed");
    let bin = target.join("debug").join("examples").join(name);
    assert!(bin.is_file(), "cargo built no {}", bin.display());
    bin
}

/// A running `serve` process; killed when dropped.
pub struct Server {
    child: Child,
    /// The port it listens on, from its first line of output.
    pub port: u16,
    stderr: Option<std::thread::JoinHandle<String>>,
}

impl Server {
    /// Start `serve DIR 0` and wait (bounded) for its `... port N ...` line.
    pub fn start(dir: &Path) -> Server {
        let mut child = Command::new(serve_binary())
            .arg(dir)
            .arg("0")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn the serve example");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut stderr = child.stderr.take().expect("piped stderr");
        // Collected in the background so a chatty server never blocks on a full pipe.
        let stderr = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text);
            text
        });
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = match rx.recv_timeout(START_TIMEOUT) {
            Ok(line) => line,
            Err(_) => {
                let _ = child.kill();
                panic!("serve printed nothing within {START_TIMEOUT:?}");
            }
        };
        let port = parse_port(&line).unwrap_or_else(|| {
            let _ = child.kill();
            panic!("no `port N` in serve's first line: {line:?}")
        });
        Server {
            child,
            port,
            stderr: Some(stderr),
        }
    }

    /// The server process's id (for /proc accounting).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `http://127.0.0.1:PORT` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Stop the server and return what it wrote to stderr (its access log).
    pub fn stop(mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.stderr
            .take()
            .and_then(|h| h.join().ok())
            .unwrap_or_default()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The number after the word `port` in a line.
pub fn parse_port(line: &str) -> Option<u16> {
    let mut words = line.split(|c: char| c.is_whitespace() || c == ':' || c == ',');
    words.find(|w| *w == "port")?;
    words.find(|w| !w.is_empty())?.parse().ok()
}

/// Run `command` to completion, killing it after `limit`; its stdout, or why it failed.
pub fn run_with_timeout(command: &mut Command, limit: Duration) -> Result<String, String> {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start {command:?}: {e}"))?;
    let mut stdout = child.stdout.take().expect("piped stdout");
    let mut stderr = child.stderr.take().expect("piped stderr");
    let out = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stdout.read_to_string(&mut text);
        text
    });
    let err = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let deadline = Instant::now() + limit;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(50)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("{command:?} did not finish within {limit:?}"));
            }
            Err(e) => return Err(format!("waiting for {command:?}: {e}")),
        }
    };
    let out = out.join().unwrap_or_default();
    let err = err.join().unwrap_or_default();
    if status.success() {
        Ok(out)
    } else {
        Err(format!("{command:?} failed ({status}); stderr:\n{err}"))
    }
}
