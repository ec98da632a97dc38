//! Worker processes under a supervisor (`ServerOptions::workers`) and systemd socket
//! activation, run as processes: the `workers` example answers `pid N`, so each test sees
//! which process served it. Talks to 127.0.0.1 only; every wait is bounded (the bounds stop a
//! hung test, they assert nothing about speed). Needs `systemd-socket-activate` (Debian
//! package `systemd`, which `.ci/run` installs): without it the socket-activation tests fail,
//! they do not skip.

use std::collections::BTreeSet;
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Longest any one wait may take before the test gives up.
const PATIENCE: Duration = Duration::from_secs(30);

/// The `workers` example (answers `pid N`).
fn workers_binary() -> PathBuf {
    example_binary("workers")
}

/// Example `name`, built by `cargo test` beside the test binaries (or built here).
fn example_binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's own path");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("test binary inside target/<profile>/deps");
    let file = format!("{name}{}", std::env::consts::EXE_SUFFIX);
    let bin = profile_dir.join("examples").join(&file);
    if bin.is_file() {
        return bin;
    }
    let target = profile_dir
        .parent()
        .expect("target directory above the profile directory")
        .join("processes-examples");
    let status = Command::new(env!("CARGO"))
        .args(["build", "--quiet", "--example", name, "--target-dir"])
        .arg(&target)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .status()
        .expect("run cargo to build an example");
    assert!(status.success(), "building the {name} example failed");
    target.join("debug").join("examples").join(file)
}

/// A running supervisor (or socket-activated server), killed with its workers when dropped.
struct Server {
    child: Child,
    port: u16,
    /// Where its stderr (the log) goes, shown when a test fails.
    log: PathBuf,
}

impl Server {
    /// `command` must print `Serving HTTP on port N (pid P)...` first.
    fn start(mut command: Command, tag: &str) -> Server {
        let log = std::env::temp_dir().join(format!(
            "wsgiref-processes-{tag}-{}.log",
            std::process::id()
        ));
        let stderr = std::fs::File::create(&log).expect("log file");
        let mut child = command
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("start the workers example");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        // Reads every line (the workers print theirs too) so that no writer ever blocks.
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { return };
                let _ = tx.send(line);
            }
        });
        let first = rx.recv_timeout(PATIENCE).unwrap_or_else(|_| {
            let _ = child.kill();
            panic!("no start-up line; log:\n{}", read(&log))
        });
        let port = first
            .split("port ")
            .nth(1)
            .map(|rest| {
                rest.split(|c: char| !c.is_ascii_digit())
                    .next()
                    .unwrap_or("")
            })
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("no port in {first:?}"));
        Server { child, port, log }
    }

    fn supervised(workers: usize, tag: &str) -> Server {
        let mut command = Command::new(workers_binary());
        command.args(["--workers", &workers.to_string(), "0"]);
        Server::start(command, tag)
    }

    fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    fn address(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([&format!("-{signal}"), &self.pid().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{signal} {}", self.pid());
    }

    /// Wait for the process to exit; its status code (None: killed by a signal).
    fn wait(&mut self) -> Option<i32> {
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait for the server") {
                return status.code();
            }
            assert!(
                Instant::now() < deadline,
                "server did not exit; log:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn log(&self) -> String {
        read(&self.log)
    }

    /// The pids that answer, sampled until `want` distinct ones were seen (or for at most
    /// [`PATIENCE`]). Eight clients at once: the workers' event loops all wait on the one
    /// socket and the kernel wakes them all, so a lone sequential client may well be served
    /// by one worker every time, while concurrent ones find the others free.
    fn worker_pids(&self, want: usize) -> BTreeSet<i32> {
        let address = self.address();
        let seen = Mutex::new(BTreeSet::new());
        let deadline = Instant::now() + PATIENCE;
        std::thread::scope(|scope| {
            for _ in 0..8 {
                scope.spawn(|| {
                    while seen.lock().unwrap().len() < want && Instant::now() < deadline {
                        let pid = get(address, "/").unwrap_or_else(|e| {
                            panic!("request failed: {e}; log:\n{}", self.log())
                        });
                        seen.lock().unwrap().insert(pid);
                    }
                });
            }
        });
        seen.into_inner().unwrap()
    }

    /// Wait until a worker has started serving `/slow` (the workers example says so on
    /// stderr), so that the request is in flight, not queued, when the test goes on.
    fn wait_for_slow_request(&self) {
        let deadline = Instant::now() + PATIENCE;
        while !self.log().contains("slow request started") {
            assert!(
                Instant::now() < deadline,
                "the slow request never started; log:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// The pids of the workers the supervisor says it started, once there are at least `n`.
    fn started(&self, n: usize) -> BTreeSet<i32> {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let log = self.log();
            let pids: BTreeSet<i32> = log
                .lines()
                .filter_map(|line| line.split_once("): started, pid ")?.1.trim().parse().ok())
                .collect();
            if pids.len() >= n {
                return pids;
            }
            assert!(
                Instant::now() < deadline,
                "fewer than {n} workers started; log:\n{log}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // Workers are in process groups of their own: SIGKILL to the supervisor only would
        // leave them to notice their parent is gone; SIGQUIT kills them first.
        let _ = Command::new("kill")
            .args(["-QUIT", &self.pid().to_string()])
            .stderr(Stdio::null())
            .status();
        let deadline = Instant::now() + PATIENCE;
        while self.child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.log);
    }
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// One GET on a fresh connection; the pid in the answer.
fn get(address: SocketAddr, path: &str) -> Result<i32, String> {
    let body = fetch(address, path)?;
    body.lines()
        .next()
        .and_then(|line| line.strip_prefix("pid "))
        .and_then(|p| p.trim().parse().ok())
        .ok_or_else(|| format!("no pid in {body:?}"))
}

/// One GET on a fresh connection; the body of its `200` answer.
fn fetch(address: SocketAddr, path: &str) -> Result<String, String> {
    let mut stream = TcpStream::connect_timeout(&address, PATIENCE).map_err(|e| e.to_string())?;
    stream
        .set_read_timeout(Some(PATIENCE))
        .map_err(|e| e.to_string())?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .map_err(|e| e.to_string())?;
    let mut reply = String::new();
    stream
        .read_to_string(&mut reply)
        .map_err(|e| format!("reading the answer: {e}"))?;
    if !reply.starts_with("HTTP/1.1 200 ") {
        return Err(format!("not a 200: {reply:?}"));
    }
    reply
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_string())
        .ok_or_else(|| format!("no body in {reply:?}"))
}

/// Whether process `pid` is gone (or a zombie nobody reaped yet: it serves nothing).
fn gone(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        // `pid (comm) S ...`: the state follows the last ')'.
        Ok(stat) => stat
            .rsplit(')')
            .next()
            .is_some_and(|rest| rest.trim_start().starts_with('Z')),
    }
}

fn wait_until_gone(pids: &BTreeSet<i32>, log: impl Fn() -> String) {
    let deadline = Instant::now() + PATIENCE;
    while !pids.iter().all(|pid| gone(*pid)) {
        assert!(
            Instant::now() < deadline,
            "processes {pids:?} still running; log:\n{}",
            log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn workers_serve_from_distinct_processes() {
    let server = Server::supervised(2, "distinct");
    let pids = server.worker_pids(2);
    assert_eq!(pids.len(), 2, "two workers answer: {pids:?}");
    assert!(
        !pids.contains(&server.pid()),
        "the supervisor serves nothing itself"
    );
    let body = fetch(server.address(), "/").unwrap();
    assert!(body.contains("wsgi.multiprocess true"), "{body:?}");
    // Removed once read: programs the application starts do not think they are workers.
    assert!(body.contains("WSGIREF_WORKER unset"), "{body:?}");
}

#[test]
fn a_killed_worker_is_replaced_and_requests_keep_succeeding() {
    let server = Server::supervised(2, "kill-worker");
    let before = server.started(2);
    let victim = *before.iter().next().unwrap();
    let status = Command::new("kill")
        .args(["-KILL", &victim.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    wait_until_gone(&BTreeSet::from([victim]), || server.log());
    // Every request after the worker died is answered (by the other worker at first).
    for _ in 0..50 {
        let pid = get(server.address(), "/")
            .unwrap_or_else(|e| panic!("request failed: {e}; log:\n{}", server.log()));
        assert_ne!(pid, victim);
    }
    // The supervisor starts another (at most once a second per slot), which answers too.
    let newcomer = *server
        .started(3)
        .difference(&before)
        .next()
        .expect("a third pid");
    let deadline = Instant::now() + PATIENCE;
    while !server.worker_pids(2).contains(&newcomer) {
        assert!(
            Instant::now() < deadline,
            "the replacement {newcomer} never answered; log:\n{}",
            server.log()
        );
    }
    let log = server.log();
    assert!(
        log.contains(&format!("pid {victim}): exited (signal: 9")),
        "the death is logged with its signal:\n{log}"
    );
}

#[test]
fn sighup_replaces_every_worker_without_a_failed_request() {
    let server = Server::supervised(2, "hup");
    let old = server.started(2);
    let address = server.address();
    let stop = Arc::new(AtomicBool::new(false));
    let answered = Arc::new(AtomicUsize::new(0));
    let failures = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::new(Mutex::new(BTreeSet::new()));
    // A client sending GETs on fresh connections, one after another, until told to stop
    // (or for at most 20 000 requests).
    let client = {
        let (stop, answered, failures, seen) = (
            stop.clone(),
            answered.clone(),
            failures.clone(),
            seen.clone(),
        );
        std::thread::spawn(move || {
            for _ in 0..20_000 {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                match get(address, "/") {
                    Ok(pid) => {
                        answered.fetch_add(1, Ordering::Relaxed);
                        seen.lock().unwrap().insert(pid);
                    }
                    Err(e) => failures.lock().unwrap().push(e),
                }
            }
        })
    };
    // A request in flight on an old worker while it is replaced: it must be answered.
    let slow = std::thread::spawn(move || get(address, "/slow"));
    server.wait_for_slow_request();
    server.signal("HUP");
    // Wait until only new workers answer, and the old ones have exited.
    wait_until_gone(&old, || server.log());
    assert_eq!(server.started(4).len(), 4, "two new workers");
    // Some more requests, all to the new generation.
    let after = answered.load(Ordering::Relaxed);
    let deadline = Instant::now() + PATIENCE;
    while answered.load(Ordering::Relaxed) < after + 200 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    stop.store(true, Ordering::Relaxed);
    client.join().unwrap();
    let slow = slow.join().unwrap();
    let failures = failures.lock().unwrap();
    assert!(
        failures.is_empty(),
        "{} of {} requests failed: {:?}; log:\n{}",
        failures.len(),
        answered.load(Ordering::Relaxed) + failures.len(),
        &failures[..failures.len().min(5)],
        server.log()
    );
    let slow = slow.expect("the request in flight during the restart is answered");
    assert!(old.contains(&slow), "an old worker served the slow request");
    let now = server.worker_pids(2);
    assert_eq!(now.len(), 2, "{now:?}");
    assert!(
        now.is_disjoint(&old),
        "every worker was replaced: {old:?} → {now:?}"
    );
    assert!(
        seen.lock().unwrap().iter().any(|pid| !old.contains(pid)),
        "the client loop was served by the new workers"
    );
}

#[test]
fn sigterm_stops_the_supervisor_and_every_worker() {
    let mut server = Server::supervised(2, "term");
    let workers = server.started(2);
    // A request in flight when the stop begins is still answered.
    let address = server.address();
    let slow = std::thread::spawn(move || get(address, "/slow"));
    server.wait_for_slow_request();
    server.signal("TERM");
    assert_eq!(server.wait(), Some(0), "log:\n{}", server.log());
    assert!(
        slow.join().unwrap().is_ok(),
        "the request in flight is answered; log:\n{}",
        server.log()
    );
    // The supervisor waited for its workers, so they are gone, not orphaned.
    assert!(
        workers.iter().all(|pid| gone(*pid)),
        "workers {workers:?} outlived their supervisor; log:\n{}",
        server.log()
    );
}

#[test]
fn workers_stop_when_the_supervisor_is_killed() {
    let mut server = Server::supervised(2, "orphans");
    let workers = server.started(2);
    // Both serve, so both watch their supervisor (a worker killed before that exits on its
    // own check at start-up, with another message).
    assert_eq!(server.worker_pids(2), workers);
    server.signal("KILL");
    assert_eq!(server.wait(), None, "killed by a signal");
    wait_until_gone(&workers, || server.log());
    let log = server.log();
    assert!(log.contains("is gone; stopping"), "{log}");
}

/// A port free a moment ago, for `systemd-socket-activate` to bind.
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

fn socket_activated(workers: usize, tag: &str) -> Server {
    let tool = Path::new("/usr/bin/systemd-socket-activate");
    assert!(
        tool.is_file(),
        "systemd-socket-activate is not installed: this test needs it (Debian package \
         `systemd`; .ci/run installs it)"
    );
    let port = free_port();
    let mut command = Command::new(tool);
    command
        .args(["-l", &format!("127.0.0.1:{port}")])
        .arg(workers_binary())
        // A port the server would bind were it not given the socket: not the one it serves.
        .args(["--workers", &workers.to_string(), "1"]);
    // systemd-socket-activate prints its own lines on stderr and execs the server at the
    // first connection, so the start-up line comes after one.
    let probe = std::thread::spawn(move || {
        let deadline = Instant::now() + PATIENCE;
        loop {
            match get(SocketAddr::from(([127, 0, 0, 1], port)), "/") {
                Ok(pid) => return Ok(pid),
                Err(e) if Instant::now() > deadline => return Err(e),
                Err(_) => std::thread::sleep(Duration::from_millis(50)),
            }
        }
    });
    let server = Server::start(command, tag);
    assert_eq!(server.port, port, "it serves the socket it was given");
    let first = probe.join().unwrap();
    assert!(
        first.is_ok(),
        "the first request is answered: {first:?}; log:\n{}",
        server.log()
    );
    server
}

#[test]
fn socket_activation_serves_the_given_socket() {
    let server = socket_activated(0, "activate");
    // systemd-socket-activate execs the server in its own process: that process answers.
    let pids = server.worker_pids(1);
    assert_eq!(
        pids,
        BTreeSet::from([server.pid()]),
        "log:\n{}",
        server.log()
    );
    let body = fetch(server.address(), "/").unwrap();
    assert!(body.contains("wsgi.multiprocess false"), "{body:?}");
}

#[test]
fn socket_activation_with_workers_hands_the_socket_on() {
    let server = socket_activated(2, "activate-workers");
    let pids = server.worker_pids(2);
    assert_eq!(pids.len(), 2, "two workers answer: {pids:?}");
    assert!(!pids.contains(&server.pid()), "{}", server.log());
}

#[test]
fn sigttin_adds_a_worker_and_sigttou_removes_one() {
    let server = Server::supervised(1, "ttin");
    server.started(1);
    server.signal("TTIN");
    // A second worker starts, and both answer.
    server.started(2);
    let pids = server.worker_pids(2);
    assert_eq!(pids.len(), 2, "{pids:?}; log:\n{}", server.log());
    server.signal("TTOU");
    let deadline = Instant::now() + PATIENCE;
    while !server.log().contains("): stopped (exit status: 0)") {
        assert!(
            Instant::now() < deadline,
            "no worker stopped after SIGTTOU; log:\n{}",
            server.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let log = server.log();
    assert!(
        log.contains("workers: 1 → 2") && log.contains("workers: 2 → 1"),
        "{log}"
    );
    // The one left still answers.
    assert_eq!(server.worker_pids(1).len(), 1);
}

#[test]
fn a_worker_signalled_twice_still_finishes_its_request() {
    // systemd's default KillMode=control-group sends SIGTERM to every process of the service,
    // so a worker may get one from systemd and one from its supervisor.
    let server = Server::supervised(1, "twice");
    let worker = *server.started(1).iter().next().unwrap();
    let address = server.address();
    let slow = std::thread::spawn(move || get(address, "/slow"));
    // Both signals only once the request is being served (it sleeps 500 ms).
    server.wait_for_slow_request();
    for _ in 0..2 {
        let status = Command::new("kill")
            .args(["-TERM", &worker.to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }
    assert_eq!(
        slow.join().unwrap(),
        Ok(worker),
        "the request in flight is answered; log:\n{}",
        server.log()
    );
}

#[test]
fn the_systemd_units_verify_and_serve_under_socket_activation() {
    let units = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/systemd");
    let service = read(&units.join("wsgiref-hello.service"));
    let socket = read(&units.join("wsgiref-hello.socket"));
    let hello = example_binary("hello");
    // systemd's own check of both files, with ExecStart naming the hello example.
    let dir = std::env::temp_dir().join(format!("wsgiref-units-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("wsgiref-hello.socket"), &socket).unwrap();
    std::fs::write(
        dir.join("wsgiref-hello.service"),
        service.replace("/usr/local/bin/hello", hello.to_str().unwrap()),
    )
    .unwrap();
    let verify = Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .arg(dir.join("wsgiref-hello.socket"))
        .arg(dir.join("wsgiref-hello.service"))
        .output()
        .expect("run systemd-analyze (Debian package systemd; .ci/run installs it)");
    let _ = std::fs::remove_dir_all(&dir);
    let complaints = String::from_utf8_lossy(&verify.stderr).into_owned()
        + &String::from_utf8_lossy(&verify.stdout);
    assert!(
        verify.status.success() && complaints.trim().is_empty(),
        "systemd-analyze verify: {complaints}"
    );
    // The service's command line, given the socket's address (on a free port), as systemd
    // would start it.
    let exec = service
        .lines()
        .find_map(|l| l.strip_prefix("ExecStart="))
        .expect("ExecStart= in the service");
    let listen = socket
        .lines()
        .find_map(|l| l.strip_prefix("ListenStream="))
        .expect("ListenStream= in the socket");
    let (host, _) = listen.rsplit_once(':').expect("ListenStream=HOST:PORT");
    let workers: usize = exec
        .split_once("--workers ")
        .and_then(|(_, n)| n.split_whitespace().next()?.parse().ok())
        .expect("ExecStart= runs workers");
    let port = free_port();
    let mut command = Command::new("/usr/bin/systemd-socket-activate");
    command
        .args(["-l", &format!("{host}:{port}")])
        .arg(&hello)
        .args(exec.split_whitespace().skip(1));
    let probe = std::thread::spawn(move || {
        let deadline = Instant::now() + PATIENCE;
        loop {
            match fetch(SocketAddr::from(([127, 0, 0, 1], port)), "/") {
                Ok(body) => return Ok(body),
                Err(e) if Instant::now() > deadline => return Err(e),
                Err(_) => std::thread::sleep(Duration::from_millis(50)),
            }
        }
    });
    let mut server = Server::start(command, "units");
    assert_eq!(server.port, port);
    assert_eq!(probe.join().unwrap().as_deref(), Ok("Hello World!"));
    let log = server.log();
    assert!(
        log.contains(&format!("starting {workers} worker(s)")),
        "{log}"
    );
    // systemctl stop: SIGTERM to the main process (KillMode=mixed).
    server.signal("TERM");
    assert_eq!(server.wait(), Some(0), "log:\n{}", server.log());
}

#[test]
fn a_socket_activated_unix_socket_is_refused_with_a_clear_error() {
    let path = std::env::temp_dir().join(format!("wsgiref-activate-{}.sock", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let mut child = Command::new("/usr/bin/systemd-socket-activate")
        .arg("-l")
        .arg(&path)
        .arg(example_binary("hello"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("systemd-socket-activate (Debian package systemd; .ci/run installs it)");
    // It starts the server at the first connection.
    let deadline = Instant::now() + PATIENCE;
    let mut connected = None;
    while connected.is_none() {
        connected = std::os::unix::net::UnixStream::connect(&path).ok();
        if connected.is_none() {
            assert!(Instant::now() < deadline, "no socket at {}", path.display());
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    let deadline = Instant::now() + PATIENCE;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the server did not exit");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let _ = std::fs::remove_file(&path);
    assert!(!status.success());
    assert!(
        stderr.contains("is a Unix socket: the HTTP server listens on TCP only"),
        "{stderr}"
    );
}

/// One keep-alive client, as a browser or a proxy's upstream pool behaves: requests one after
/// another on one connection, a new connection when a response says `Connection: close`.
/// Returns (answered, failures): a failure is a request sent and not answered.
fn keep_alive_client(address: SocketAddr, stop: &AtomicBool) -> (usize, Vec<String>) {
    let mut answered = 0;
    let mut failures = Vec::new();
    let mut connection: Option<BufReader<TcpStream>> = None;
    for _ in 0..100_000 {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let reader = match &mut connection {
            Some(reader) => reader,
            None => {
                let stream = TcpStream::connect_timeout(&address, PATIENCE).expect("connect");
                stream.set_read_timeout(Some(PATIENCE)).unwrap();
                connection.insert(BufReader::new(stream))
            }
        };
        let sent = reader
            .get_mut()
            .write_all(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
        let answer = sent.map_err(|e| e.to_string()).and_then(|()| {
            let mut head = String::new();
            let mut length = None;
            let mut close = false;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).map_err(|e| e.to_string())? == 0 {
                    return Err(format!("end of stream after {head:?}"));
                }
                let lower = line.to_ascii_lowercase();
                if let Some(n) = lower.strip_prefix("content-length:") {
                    length = n.trim().parse::<usize>().ok();
                }
                close |= lower.starts_with("connection:") && lower.contains("close");
                head.push_str(&line);
                if line == "\r\n" {
                    break;
                }
            }
            let mut body = vec![0; length.ok_or("no Content-Length")?];
            reader.read_exact(&mut body).map_err(|e| e.to_string())?;
            if !head.starts_with("HTTP/1.1 200 ") {
                return Err(head);
            }
            Ok(close)
        });
        match answer {
            Ok(close) => {
                answered += 1;
                if close {
                    connection = None;
                }
            }
            Err(e) => {
                failures.push(e);
                connection = None;
            }
        }
    }
    (answered, failures)
}

#[test]
fn sighup_fails_no_request_of_keep_alive_clients() {
    let server = Server::supervised(2, "hup-keepalive");
    let old = server.started(2);
    server.worker_pids(2);
    let address = server.address();
    let stop = AtomicBool::new(false);
    let (answered, failures) = std::thread::scope(|scope| {
        let clients: Vec<_> = (0..4)
            .map(|_| scope.spawn(|| keep_alive_client(address, &stop)))
            .collect();
        server.signal("HUP");
        wait_until_gone(&old, || server.log());
        // Some more requests on the new workers, then stop.
        server.worker_pids(2);
        stop.store(true, Ordering::Relaxed);
        clients.into_iter().map(|c| c.join().unwrap()).fold(
            (0, Vec::new()),
            |(n, mut f), (a, e)| {
                f.extend(e);
                (n + a, f)
            },
        )
    });
    assert!(
        failures.is_empty(),
        "{} of {} keep-alive requests failed: {:?}; log:\n{}",
        failures.len(),
        answered + failures.len(),
        &failures[..failures.len().min(5)],
        server.log()
    );
}
