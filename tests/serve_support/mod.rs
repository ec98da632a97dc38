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
    /// Start `serve -d DIR 0` and wait (bounded) for its `... port N ...` line.
    pub fn start(dir: &Path) -> Server {
        Server::start_with(dir, &[])
    }

    /// [`start`](Self::start) with extra options before the port (`--no-dotfiles`).
    pub fn start_with(dir: &Path, options: &[&str]) -> Server {
        let mut command = Command::new(serve_binary());
        command.arg("-d").arg(dir).args(options).arg("0");
        Server::spawn(command).0
    }

    /// Start `command` (a `serve` invocation that binds port 0) and wait (bounded) for its
    /// first line, which is returned too.
    pub fn spawn(mut command: Command) -> (Server, String) {
        let mut child = command
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
        let server = Server {
            child,
            port,
            stderr: Some(stderr),
        };
        (server, line)
    }

    /// Send one request (`Connection: close`) and read the whole reply. `extra` are header
    /// lines without their CRLF.
    pub fn request(&self, method: &str, target: &[u8], extra: &[&str]) -> Reply {
        let mut raw = format!("{method} ").into_bytes();
        raw.extend_from_slice(target);
        raw.extend_from_slice(b" HTTP/1.1\r\nHost: t\r\n");
        for line in extra {
            raw.extend_from_slice(line.as_bytes());
            raw.extend_from_slice(b"\r\n");
        }
        raw.extend_from_slice(b"Connection: close\r\n\r\n");
        let address = std::net::SocketAddr::from(([127, 0, 0, 1], self.port));
        Reply::parse(&exchange(address, &raw))
    }

    /// The server process's id (for /proc accounting).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `http://127.0.0.1:PORT` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Stop the server with SIGTERM (gracefully) and wait (bounded) for it: its exit code
    /// (`None` if a signal ended it) and what it wrote to stderr.
    #[allow(dead_code)] // not every test file that shares this module stops servers this way
    pub fn terminate(mut self) -> (Option<i32>, String) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -TERM {}", self.child.id());
        let deadline = std::time::Instant::now() + IO_LIMIT;
        let code = loop {
            if let Some(status) = self.child.try_wait().expect("wait for serve") {
                break status.code();
            }
            assert!(
                std::time::Instant::now() < deadline,
                "serve did not stop after SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        let stderr = self
            .stderr
            .take()
            .and_then(|h| h.join().ok())
            .unwrap_or_default();
        (code, stderr)
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

/// How long one test request may take before the test gives up (a hung server, not a slow one).
pub const IO_LIMIT: Duration = Duration::from_secs(30);

/// Send `raw` to `address` and read until the server closes the connection.
pub fn exchange(address: std::net::SocketAddr, raw: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut stream =
        std::net::TcpStream::connect_timeout(&address, IO_LIMIT).expect("connect to serve");
    stream.set_read_timeout(Some(IO_LIMIT)).unwrap();
    stream.set_write_timeout(Some(IO_LIMIT)).unwrap();
    stream.write_all(raw).expect("send the request");
    let mut out = Vec::new();
    stream.read_to_end(&mut out).expect("read the reply");
    out
}

/// One HTTP response, split up.
#[derive(Debug)]
pub struct Reply {
    /// The status code.
    pub status: u16,
    /// The status line and header lines, CRLF-separated, without the blank line.
    pub head: String,
    /// Everything after the blank line.
    pub body: Vec<u8>,
}

impl Reply {
    /// Split a whole response (one, read until close).
    pub fn parse(raw: &[u8]) -> Reply {
        let end = raw
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .unwrap_or_else(|| panic!("no end of head in {:?}", String::from_utf8_lossy(raw)));
        let head = String::from_utf8(raw[..end].to_vec()).expect("an ASCII head");
        let status = head
            .get(9..12)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("no status in {head:?}"));
        Reply {
            status,
            head,
            body: raw[end + 4..].to_vec(),
        }
    }

    /// The value of the first header line named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().skip(1).find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
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
