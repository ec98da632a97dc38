//! Shared by the hardening suites (adversarial, soak, serve attack): run an example binary in a
//! child process on an ephemeral port of 127.0.0.1, keep its stderr (the access log), stop it
//! gracefully or by force, and read a few numbers about it from /proc.
//!
//! The servers run as child processes, not threads, so that a crash shows as a dead process
//! instead of a dead test, and so that their descriptors, threads and memory can be counted
//! from /proc without the test's own counting in the way.

// Each test binary that includes this module uses only part of it.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a server may take to print its port.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// An example (or test helper) binary that cargo built next to this test's own binary:
/// `target/<profile>/examples/<name>`. `cargo test` builds the examples before the tests.
pub fn example_binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's own path");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("test binary inside target/<profile>/deps");
    let bin = profile_dir
        .join("examples")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        bin.is_file(),
        "{} is missing: run these tests with `cargo test` (which builds the examples), or \
         `cargo build --example {name}` first",
        bin.display()
    );
    bin
}

/// A running server process; killed when dropped.
pub struct Server {
    child: Child,
    /// The port it listens on, from its first line of output.
    pub port: u16,
    /// Everything it wrote to stderr so far (its access log and diagnostics).
    log: Arc<Mutex<String>>,
    reader: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    /// Start the example `name` with `args`, and wait (bounded) for the `... port N ...` line
    /// it prints first.
    pub fn start(name: &str, args: &[&str]) -> Server {
        Self::start_with_env(name, args, &[])
    }

    /// [`start`](Self::start) with extra environment variables.
    pub fn start_with_env(name: &str, args: &[&str], env: &[(&str, &str)]) -> Server {
        let bin = example_binary(name);
        Self::start_path_with_env(bin.to_str().expect("UTF-8 path"), args, env)
    }

    /// Start the program at `path` with `args` and `env`; the first line of its output that
    /// names a port (within the first 20) gives the port.
    pub fn start_path_with_env(path: &str, args: &[&str], env: &[(&str, &str)]) -> Server {
        let name = path;
        let mut command = Command::new(path);
        command
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in env {
            command.env(k, v);
        }
        let mut child = command.spawn().expect("spawn the server example");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut stderr = child.stderr.take().expect("piped stderr");
        let log = Arc::new(Mutex::new(String::new()));
        // Collected in the background so that a chatty server never blocks on a full pipe.
        let sink = log.clone();
        let reader = std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            loop {
                match stderr.read(&mut buf) {
                    Ok(0) | Err(_) => return,
                    Ok(n) => sink
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .push_str(&String::from_utf8_lossy(&buf[..n])),
                }
            }
        });
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut out = BufReader::new(stdout);
            for _ in 0..20 {
                let mut line = String::new();
                match out.read_line(&mut line) {
                    Ok(0) | Err(_) => break,
                    Ok(_) if parse_port(&line).is_some() => {
                        let _ = tx.send(line);
                        break;
                    }
                    Ok(_) => {}
                }
            }
            // Keep draining so that later output never blocks the server.
            let _ = std::io::copy(&mut out, &mut std::io::sink());
            // Keep draining so that later output never blocks the server.
            let _ = std::io::copy(&mut out, &mut std::io::sink());
        });
        let line = match rx.recv_timeout(START_TIMEOUT) {
            Ok(line) => line,
            Err(_) => {
                let _ = child.kill();
                panic!("{name} printed no port within {START_TIMEOUT:?}");
            }
        };
        let port = parse_port(&line).unwrap_or_else(|| {
            let _ = child.kill();
            panic!("no `port N` in {name}'s first line: {line:?}")
        });
        Server {
            child,
            port,
            log,
            reader: Some(reader),
        }
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `127.0.0.1:PORT`.
    pub fn addr(&self) -> std::net::SocketAddr {
        std::net::SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// A copy of what the server wrote to stderr so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Whether the process is still running (a crash shows here).
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Ask for a graceful stop (SIGTERM) and wait up to `limit` for the process to exit.
    /// Returns its exit status and its whole stderr, or `None` if it did not exit in time (it
    /// is then killed).
    pub fn terminate(mut self, limit: Duration) -> (Option<ExitStatus>, String) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + limit;
        let status = loop {
            match self.child.try_wait() {
                Ok(Some(status)) => break Some(status),
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20))
                }
                _ => {
                    let _ = self.child.kill();
                    let _ = self.child.wait();
                    break None;
                }
            }
        };
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
        (status, self.log())
    }

    /// Send signal `name` (`TERM`, `INT`) to the server without waiting for anything.
    pub fn signal(&self, name: &str) {
        let sent = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.child.id().to_string())
            .status();
        assert!(
            sent.as_ref().is_ok_and(|s| s.success()),
            "kill -{name} failed: {sent:?}"
        );
    }

    /// Wait up to `limit` for the process to exit on its own; its exit status, or `None` if
    /// it is still running then (it is left running: dropping the server kills it).
    pub fn wait_exit(&mut self, limit: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + limit;
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => return Some(status),
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20))
                }
                _ => return None,
            }
        }
    }

    /// Wait up to `limit` for `needle` to appear in the server's stderr; whether it did.
    pub fn wait_for_log(&self, needle: &str, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        while !self.log().contains(needle) {
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        true
    }

    /// Kill the server and return its stderr.
    pub fn stop(mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
        self.log()
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
    words
        .find(|w| !w.is_empty())?
        .trim_end_matches('.')
        .parse()
        .ok()
}

/// Open file descriptors of process `pid` (entries of /proc/PID/fd).
pub fn fd_count(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count())
}

/// Threads of process `pid` (entries of /proc/PID/task).
pub fn thread_count(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/task")).map_or(0, |d| d.count())
}

/// Resident set size of process `pid` in KiB (`VmRSS` of /proc/PID/status).
pub fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

#[test]
fn port_is_found_in_the_first_line() {
    assert_eq!(parse_port("Serving HTTP on port 34367..."), Some(34367));
    assert_eq!(
        parse_port("serving /x on port 8000: http://127.0.0.1:8000/"),
        Some(8000)
    );
    assert_eq!(parse_port("no number here"), None);
}
